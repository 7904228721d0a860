"""What the command modules share: the refusal they raise, common options, the handler names."""

from __future__ import annotations

import argparse


class CommandError(Exception):
    """A refusal with a message for the user (exit status 2)."""


def add_common(parser: argparse.ArgumentParser, *, database: bool = False) -> None:
    parser.add_argument(
        "--template", help="the SAM template (default: template.yaml, or the running runtime's)"
    )
    if database:
        parser.add_argument(
            "--database-url",
            help="postgresql://, mysql:// or sqlite:/// (default: JOBU_DATABASE_URL, the runtime's)",
        )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")


def known_handlers() -> frozenset[str]:
    from jobu.handler_manifest import known_handler_names

    return known_handler_names()
