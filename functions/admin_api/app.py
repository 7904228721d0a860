"""Admin API: invoked by the API Gateway HTTP API (IAM authorization) with payload format 2.0 events.

Routes, validation, errors and the OpenAPI document live in the core (jobu.api, over jobu.operations).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobu.api.resolver import create_resolver, resolve
from jobu.api.services import LambdaServices
from jobu.config import AdminConfig
from jobu.lambda_runtime import Container
from jobu.observability import logger, metrics, traced

ENVIRONMENT = AdminConfig.ENVIRONMENT
REQUIRED_ENVIRONMENT = AdminConfig.REQUIRED_ENVIRONMENT

container = Container(AdminConfig)
services = LambdaServices(container)
api = create_resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return container.run(resolve(api, services, event, context))
