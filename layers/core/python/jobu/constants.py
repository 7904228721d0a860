"""Every environment variable the functions read, in one place.

The template (template.yaml) sets these; a test checks that the two agree.
"""

from typing import Final

# Database: a URL (postgresql://, mysql://, sqlite:///; TLS in its query: ?sslmode=verify-full&
# sslrootcert=/path/ca.pem) or, on AWS, a Secrets Manager secret: RDS-managed ({"username",
# "password"}) or the full RDS format (+ "engine", "host", "port", "dbname").
DATABASE_URL: Final = "JOBU_DATABASE_URL"
DATABASE_SECRET_ARN: Final = "JOBU_DATABASE_SECRET_ARN"
# With the secret: where the database is (each one, when set, wins over the secret's field, so
# an RDS Proxy endpoint can stand in for the instance the secret names) ...
DATABASE_ENGINE: Final = "JOBU_DATABASE_ENGINE"
DATABASE_HOST: Final = "JOBU_DATABASE_HOST"
DATABASE_PORT: Final = "JOBU_DATABASE_PORT"
DATABASE_NAME: Final = "JOBU_DATABASE_NAME"
# ... and TLS: "verify-full" (the server's certificate checked against the CA bundle, and its
# name against the host) or "disable".
DATABASE_TLS: Final = "JOBU_DATABASE_TLS"
DATABASE_CA_BUNDLE: Final = "JOBU_DATABASE_CA_BUNDLE"
# Connections each container's pool may open (the template derives it from the connection budget).
DATABASE_POOL_SIZE: Final = "JOBU_DATABASE_POOL_SIZE"

# What handlers may touch, named by operators (jobu.access; docs/security.md). Each must be set;
# an empty value allows nothing of its kind.
# Local files: only under this folder (resolved: symlinks and `..` cannot leave it).
DATA_ROOT: Final = "JOBU_DATA_ROOT"
# S3 objects: only under these s3://bucket/prefix locations (comma-separated).
DATA_S3_LOCATIONS: Final = "JOBU_DATA_S3_LOCATIONS"
# Databases a loader may write to, by name: name=<secret ARN or URL>, comma-separated. The name
# "jobstore" is always the job store's own database.
LOAD_DATABASES: Final = "JOBU_LOAD_DATABASES"
# Tables a loader may write to: database:table or database:schema.table, comma-separated. The job
# store's own tables are never allowed, whatever this says.
LOAD_TABLES: Final = "JOBU_LOAD_TABLES"
# The four together (jobu.access reads them; the worker declares them without importing it).
DATA_ACCESS_SETTINGS: Final = frozenset({DATA_ROOT, DATA_S3_LOCATIONS, LOAD_DATABASES, LOAD_TABLES})

# The SQS queue that carries work from the dispatchers (and retries) to the default pool's worker.
# Each other worker pool (jobu.pools) has its own, in the same variable with the pool's name in
# capitals after an underscore (JOBU_WORK_QUEUE_URL_PIPELINE); so have the next two settings.
WORK_QUEUE_URL: Final = "JOBU_WORK_QUEUE_URL"
# Its dead-letter queue: the worker keeps a message it can never parse there at once (with the
# reason), and the admin API reads and redrives it.
DEAD_LETTER_QUEUE_URL: Final = "JOBU_DEAD_LETTER_QUEUE_URL"
# The pool a worker function runs (unset: the default pool).
WORKER_POOL: Final = "JOBU_WORKER_POOL"

# The sweeper (cron dispatcher): how long a PENDING run's sender may still be at work before its
# unsent message is sent again, and how long a sent message may go unclaimed before it counts as lost.
REQUEUE_GRACE_SECONDS: Final = "JOBU_REQUEUE_GRACE_SECONDS"
REQUEUE_STUCK_SECONDS: Final = "JOBU_REQUEUE_STUCK_SECONDS"

# Retry backoff (worker, and the sweeper for abandoned runs): base x 2^n seconds with jitter, capped.
RETRY_BACKOFF_SECONDS: Final = "JOBU_RETRY_BACKOFF_SECONDS"
RETRY_BACKOFF_MAX_SECONDS: Final = "JOBU_RETRY_BACKOFF_MAX_SECONDS"

# Run history retention (cron dispatcher): finished runs older than this many days are deleted; 0 keeps them.
RUN_RETENTION_DAYS: Final = "JOBU_RUN_RETENTION_DAYS"
# The audit trail's retention (cron dispatcher): operator actions older than this many days are
# deleted; 0 keeps them. Its own setting: an audit trail is kept longer than the runs it speaks of.
AUDIT_RETENTION_DAYS: Final = "JOBU_AUDIT_RETENTION_DAYS"

# The worker function's own Timeout: a cron job whose timeout cannot fit in it is refused (per pool,
# like the work queue).
WORKER_TIMEOUT_SECONDS: Final = "JOBU_WORKER_TIMEOUT_SECONDS"

# Read by Powertools itself (Logger, Metrics, Tracer).
POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
# Read by pydantic: "__all__" skips its search of every installed distribution's entry points for
# plugins (jobu uses none), made when the first model class is built, at every cold start.
PYDANTIC_DISABLE_PLUGINS: Final = "PYDANTIC_DISABLE_PLUGINS"
# "true": no X-Ray SDK subsegments (and no SDK import: jobu.observability.traced); Lambda's active
# tracing still traces each invocation.
POWERTOOLS_TRACE_DISABLED: Final = "POWERTOOLS_TRACE_DISABLED"

# "allow": notification webhooks may be plain http to this machine (the local runtime sets it; on
# AWS a webhook is https or nothing).
NOTIFY_LOOPBACK_HTTP: Final = "JOBU_NOTIFY_LOOPBACK_HTTP"

# Not set by us: boto3 honours it, and it selects an emulator (moto server, LocalStack) locally.
AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
