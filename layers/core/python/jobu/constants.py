"""Every environment variable the functions read, in one place.

The template (template.yaml) sets these; a test checks that the two agree.
"""

from typing import Final

# Database: a URL (postgresql://, mysql://, sqlite:///) or, on AWS, a Secrets Manager secret in the
# RDS secret format ({"engine", "host", "port", "username", "password", "dbname"}).
DATABASE_URL: Final = "JOBU_DATABASE_URL"
DATABASE_SECRET_ARN: Final = "JOBU_DATABASE_SECRET_ARN"

# The SQS queue that carries work from the dispatchers (and retries) to the worker.
WORK_QUEUE_URL: Final = "JOBU_WORK_QUEUE_URL"
# Its dead-letter queue: the worker keeps a message it can never parse there at once (with the
# reason), and the admin API reads and redrives it.
DEAD_LETTER_QUEUE_URL: Final = "JOBU_DEAD_LETTER_QUEUE_URL"

# The worker function's own Timeout: a cron job whose timeout cannot fit in it is refused.
WORKER_TIMEOUT_SECONDS: Final = "JOBU_WORKER_TIMEOUT_SECONDS"

# Read by Powertools itself (Logger, Metrics, Tracer).
POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"

# Not set by us: boto3 honours it, and it selects an emulator (moto server, LocalStack) locally.
AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
