"""Moved to jobu.operations.cron_jobs; these names stay for tools/jobu_local until the CLI calls the
operations layer itself."""

from jobu.models import WORKER_MARGIN_SECONDS
from jobu.operations.cron_jobs import create as create_cron_job
from jobu.operations.cron_jobs import parse_spec, set_enabled, validate_spec

__all__ = ["WORKER_MARGIN_SECONDS", "create_cron_job", "parse_spec", "set_enabled", "validate_spec"]
