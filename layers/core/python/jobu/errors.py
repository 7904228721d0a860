"""The project's exceptions. Store backends translate their driver's errors into these."""


class JobuError(Exception):
    """Base of every error jobu raises on purpose."""


class NonRetryableError(JobuError):
    """The run cannot succeed however often it is tried: raise it from a handler (bad params, a
    path or table operators did not allow) and the worker ends the run FAILED at once, whatever
    max_retry says. The message becomes the run's error_message."""


class RetryAfter(JobuError):
    """Raise it from a handler to fail this attempt and retry after `seconds` (instead of the
    backoff), e.g. when a service answered "429, retry in 60 s". Retries still count against
    max_retry; with none left the run ends FAILED."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        if not 0 <= seconds <= 86_400:
            raise ValueError(f"RetryAfter takes 0 to 86400 seconds, not {seconds}")
        super().__init__(f"retry after {seconds:g}s" + (f": {reason}" if reason else ""))
        self.seconds = seconds


class ConfigurationError(NonRetryableError):
    """A required setting is missing or invalid; the message names the variable.

    Non-retryable: a handler that finds its configuration wrong cannot succeed until an operator
    redeploys."""


class AccessDeniedError(NonRetryableError):
    """A handler was asked for a path, bucket, database or table that operators did not allow.
    The message names what was refused and never quotes any content."""


class InvalidCronJobError(JobuError):
    """A cron job definition was refused (bad expression, unknown handler, impossible timeout).

    `field` names the field of the definition at fault when one is (a form shows the message next
    to it); None when the refusal is about the job as a whole."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidNotificationRuleError(JobuError):
    """A notification rule was refused (an unknown handler, a destination that cannot be used)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidRequestError(JobuError):
    """A run request (the enqueue API) that cannot be a run; `field` names the field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLimitsError(JobuError):
    """A handler's limits (PUT /api/limits/{name}) that cannot be; `field` names the field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownHandlerError(JobuError):
    """No handler is registered under the given name."""


class StoreUnavailableError(JobuError):
    """The database could not be reached; the caller should retry later (nothing was decided)."""


class ConnectionLostError(StoreUnavailableError):
    """A pooled connection broke under a statement (the server restarted, failed over, or cut it).
    The connector discards it and the connections idle beside it; a fresh connection may work."""


class TransactionConflictError(StoreUnavailableError):
    """The database rolled a transaction back to break a deadlock, or a lock wait timed out. Nothing
    it did was kept, and running it again usually works; the connector does, a few times."""


class DatabaseAuthenticationError(StoreUnavailableError):
    """The database refused the credentials (a wrong or rotated password). The message names the
    host, user and database, never the password."""


class DuplicateError(JobuError):
    """A row with the same unique key exists already."""


class NotFoundError(JobuError):
    """The row asked for does not exist."""


class InvalidStateError(JobuError):
    """The row exists, but its current state does not allow the operation (e.g. retrying a run that
    succeeded, deleting a run that is still running); the message says which state and why."""


class QueueError(JobuError):
    """An SQS call the operation needed failed (permissions, throttling, the service itself)."""
