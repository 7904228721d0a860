"""`pip install .` gives the `jobu` command: a wheel with the command, the core it uses (SQL files and
handler manifest included), and dependencies pinned as constraints.txt pins them."""

from __future__ import annotations

import email
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("jobu_serverless-*.whl")
    return built


def test_the_wheel_holds_the_command_and_the_core(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        metadata = email.message_from_bytes(archive.read(next(n for n in names if n.endswith("METADATA"))))

    assert "jobu = jobu_local.commands.cli:main" in entry_points
    assert {
        "jobu_local/commands/cli.py",
        "jobu_local/host/bootstrap.py",
        "jobu/handler_manifest.json",
    } <= names
    backends = {name.split("/")[3] for name in names if name.startswith("jobu/store/sql/")}
    assert backends == {"common", "postgres", "mysql", "sqlite"}
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = {normal(name): pin for name, _, pin in (line.partition("==") for line in lines) if pin}
    requirements = metadata.get_all("Requires-Dist") or []
    assert requirements
    for requirement in requirements:
        name, _, pinned = requirement.partition("==")
        assert pins[normal(name.split("[")[0].strip())] == pinned.strip(), requirement


def test_the_installed_command_answers_version(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = target / "bin" / "jobu"
    assert script.exists()
    # the installed copy first on the path; its dependencies are this environment's
    code = (
        f"import sys; sys.path.insert(0, {str(target)!r}); import jobu_local.commands.cli as cli; "
        "print(cli.__file__); sys.exit(cli.main(['--version']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    where, line = result.stdout.splitlines()
    assert where.startswith(str(target))
    assert line.startswith("jobu 0.1.0 (jobu-serverless, Python 3.12")
