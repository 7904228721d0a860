"""Moved to jobu.operations.cron_jobs; these names stay for tools/jobu_local until the CLI calls the
operations layer itself."""

from jobu.operations.cron_jobs import WORKER_MARGIN_SECONDS, parse_spec, set_enabled, validate_spec
from jobu.operations.cron_jobs import create as create_cron_job

__all__ = ["WORKER_MARGIN_SECONDS", "create_cron_job", "parse_spec", "set_enabled", "validate_spec"]
