"""The one base of the `jobu` tools' errors: a message a person can act on.

`jobu` prints any JobuToolError as one line, `jobu: <message>`, and exits with its `exit_status`:
2 for a refusal (the command or its input must change), 1 for a failure (the same command may work
later, or something has to be started first).
"""

from __future__ import annotations


class JobuToolError(Exception):
    """An error with a message for the user."""

    exit_status = 1


class Refusal(JobuToolError):
    """The command or its input is wrong; the message says what to change."""

    exit_status = 2
