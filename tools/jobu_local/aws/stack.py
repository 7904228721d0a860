"""A deployed stack's outputs (CloudFormation DescribeStacks): where its admin API and logs are.

The `jobu` CLI's --stack-name and `jobu dashboard --stack-name` both read them here.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from jobu.client import ADMIN_API_URL_OUTPUT as ADMIN_API_URL
from jobu_local.errors import Refusal

LOG_GROUP_SUFFIX = "LogGroupName"


class StackError(Refusal, RuntimeError):
    """The stack or the output asked for cannot be read; the message says which and why."""


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """{OutputKey: OutputValue} of the stack, from a CloudFormation client of its region."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except NoRegionError:
        raise StackError(
            f"which region is stack {stack_name!r} in? pass --region or set AWS_REGION"
        ) from None
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise StackError(f"cannot read stack {stack_name!r}: {message}") from None
    except BotoCoreError as error:  # no credentials, the endpoint unreachable, an unknown profile
        raise StackError(f"cannot read stack {stack_name!r}: {error}") from None
    outputs = stacks[0].get("Outputs", []) if stacks else []
    return {output["OutputKey"]: output.get("OutputValue", "") for output in outputs}


def admin_api_url(outputs: dict[str, str], stack_name: str, region: str | None = None) -> str:
    if outputs.get(ADMIN_API_URL):
        return outputs[ADMIN_API_URL]
    where = f" ({region})" if region else ""
    has = f"; it has: {', '.join(sorted(outputs))}" if outputs else ""
    raise StackError(f"stack {stack_name!r}{where} has no {ADMIN_API_URL} output{has}: is it a jobu stack?")


def function_log_groups(outputs: dict[str, str]) -> dict[str, str]:
    """{log group: the output's name without LogGroupName} for every log group output."""
    return {
        value: key.removesuffix(LOG_GROUP_SUFFIX)
        for key, value in sorted(outputs.items())
        if key.endswith(LOG_GROUP_SUFFIX)
    }
