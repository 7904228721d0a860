"""The project's exceptions. Store backends translate their driver's errors into these."""


class JobuError(Exception):
    """Base of every error jobu raises on purpose."""


class ConfigurationError(JobuError):
    """A required setting is missing or invalid; the message names the variable."""


class InvalidCronJobError(JobuError):
    """A cron job definition was refused (bad expression, unknown handler, impossible timeout)."""


class UnknownHandlerError(JobuError):
    """No handler is registered under the given name."""


class StoreUnavailableError(JobuError):
    """The database could not be reached; the caller should retry later (nothing was decided)."""


class DuplicateError(JobuError):
    """A row with the same unique key exists already."""


class NotFoundError(JobuError):
    """The row asked for does not exist."""


class InvalidStateError(JobuError):
    """The row exists, but its current state does not allow the operation (e.g. retrying a run that
    succeeded, deleting a run that is still running); the message says which state and why."""


class QueueError(JobuError):
    """An SQS call the operation needed failed (permissions, throttling, the service itself)."""
