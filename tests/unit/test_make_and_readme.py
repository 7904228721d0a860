"""What a new user reads and runs first: the README and `make help` speak of the project, not of its
internal issue numbers, and `make demo` and `make local` install kcat, which the README's first
Kafka example uses."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import REPO_ROOT

ISSUE_NUMBER = re.compile(r"\bissues?[ -]?\d+|#\d+\b", re.IGNORECASE)


def make(*argv: str) -> str:
    done = subprocess.run(
        ["make", *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_the_readme_and_make_help_name_no_issue_numbers() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert ISSUE_NUMBER.findall(readme) == []
    assert ISSUE_NUMBER.findall(make("help")) == []


@pytest.mark.parametrize("target", ["demo", "local"])
def test_demo_and_local_install_kcat_first(target: str) -> None:
    recipe = make("--dry-run", "--always-make", target).splitlines()
    assert "scripts/kcat.sh" in recipe
    assert recipe.index("scripts/kcat.sh") < next(i for i, line in enumerate(recipe) if "bin/jobu" in line)
    assert "kcat -b 127.0.0.1:PORT -t jobu-events -P" in (REPO_ROOT / "README.md").read_text()
