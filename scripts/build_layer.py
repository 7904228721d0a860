"""Build one Lambda layer for `sam build` (the layers' BuildMethod is makefile: see layers/Makefile).

1. pip installs the layer's pinned requirements for Lambda's platform (python3.12 on the template's
   architecture, binary wheels only) into <artifacts>/python, under the project's lock
   (constraints.txt), so the layer holds the versions the tests ran against;
2. copies the layer's own code (layers/core/python/*) beside them;
3. removes the AWS SDK, which Lambda's python3.12 runtime already provides (aws-xray-sdk pulls
   botocore in) and what never runs there: test suites, C/C++
   headers and Cython sources, the pyarrow modules the pipeline handlers do not use (Arrow Flight,
   the C++ test module) and second copies of pyarrow's shared libraries under link-time names;
4. strips debug symbols from native modules when an ELF strip tool for that architecture is found;
5. compiles every module to bytecode. Lambda's /opt is read-only, so a layer without .pyc files is
   compiled from source at every cold start, each module a function imports (measured on the queue
   dispatcher's imports: 1.7-2.8 s from source, 0.4-0.6 s from bytecode). The .pyc files are for
   CPython 3.12 (the runtime's) and checked by nothing (unchecked-hash): a layer never changes, and
   the source times a zip keeps are not exact enough for time-based checks.

Each removal is listed in TRIMS / RUNTIME_PROVIDED with its reason; `make sizes` measures the result.
"""

from __future__ import annotations

import argparse
import compileall
import platform
import py_compile
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PLATFORMS = {
    # manylinux2014 and the newer glibc tags Lambda's python3.12 image (Amazon Linux 2023, glibc 2.34)
    # satisfies; pip picks the best wheel each package publishes.
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"],
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"],
}

# The AWS SDK the python3.12 runtime ships in /var/runtime: a second copy in a layer only adds size
# (31 MB). Their small dependencies (jmespath, urllib3, dateutil) stay: Powertools imports them itself.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})

# Paths (globs relative to the layer's python/ folder) that are never imported on Lambda.
TRIMS: dict[str, tuple[str, ...]] = {
    "test suites": (
        "pandas/tests",
        "numpy/*/tests",
        "numpy/tests",
        "pyarrow/tests",
        "pyarrow/_pyarrow_cpp_tests*.so",
        "pyarrow/_pyarrow_cpp_tests.p*",
    ),
    "C/C++ headers and Cython sources (only for building extensions)": (
        "pyarrow/include",
        "pyarrow/src",
        "pyarrow/**/*.pyx",
        "pyarrow/**/*.pxd",
        "pyarrow/**/*.pxi",
        "numpy/_core/include",
        "numpy/**/*.pyx",
        "numpy/**/*.pxd",
        "pandas/**/*.pyx",
        "pandas/**/*.pxd",
        "asyncpg/**/*.pyx",
        "asyncpg/**/*.pxd",
        "asyncmy/**/*.pyx",
        "asyncmy/**/*.pxd",
        "asyncmy/**/*.c",
    ),
    "console scripts (a layer's bin/ is not on PATH for Python code)": ("bin",),
    "Arrow Flight RPC (the pipeline handlers read and write files, never Flight servers)": (
        "pyarrow/flight.py",
        "pyarrow/_flight*.so",
        "pyarrow/libarrow_flight.so*",
        "pyarrow/libarrow_python_flight.so*",
    ),
}


def pip_install(requirements: Path, constraints: Path | None, target: Path, architecture: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        "3.12",
        "--target",
        str(target),
        "--requirement",
        str(requirements),
    ]
    for tag in PLATFORMS[architecture]:
        command += ["--platform", tag]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    subprocess.run(command, check=True)


def remove(path: Path) -> int:
    """Delete a file or folder; returns the bytes freed."""
    if path.is_symlink() or path.is_file():
        size = path.lstat().st_size
        path.unlink()
        return size
    if path.is_dir():
        size = tree_size(path)
        shutil.rmtree(path)
        return size
    return 0


def tree_size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _distribution_name(dist_info: Path) -> str:
    for line in (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Name:"):
            return line.split(":", 1)[1].strip().lower().replace("_", "-")
    return ""


def drop_runtime_provided(site: Path) -> int:
    """Remove every file of the runtime-provided distributions, as listed in their RECORD."""
    freed = 0
    for dist_info in sorted(site.glob("*.dist-info")):
        if _distribution_name(dist_info) not in RUNTIME_PROVIDED:
            continue
        for line in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
            relative = line.rsplit(",", 2)[0]
            if relative and not relative.startswith(".."):
                freed += remove(site / relative)
        freed += remove(dist_info)
    for folder in sorted(site.iterdir()):  # package folders the RECORDs emptied
        if folder.is_dir() and not any(p.is_file() for p in folder.rglob("*")):
            shutil.rmtree(folder)
    return freed


def duplicate_libraries(site: Path) -> Iterable[Path]:
    """pyarrow's wheel holds libX.so, libX.so.N and libX.so.N.M.P as three full copies (wheels have
    no symlinks). The loader asks for the SONAME libX.so.N only; the others are link-time names."""
    for library in sorted(site.glob("pyarrow/lib*.so.*")):
        stem, _, version = library.name.partition(".so.")
        if version.isdigit():
            unversioned = library.with_name(f"{stem}.so")
            yield from (
                p for p in [unversioned, *library.parent.glob(f"{stem}.so.{version}.*")] if p.exists()
            )


def trim(site: Path) -> int:
    freed = 0
    for patterns in TRIMS.values():
        for pattern in patterns:
            for path in sorted(site.glob(pattern), reverse=True):
                freed += remove(path)
    for path in list(duplicate_libraries(site)):
        freed += remove(path)
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        freed += remove(cache)
    return freed


def strip_tool(architecture: str) -> list[str] | None:
    """llvm-strip reads every ELF architecture; GNU strip only the host's."""
    if shutil.which("llvm-strip"):
        return ["llvm-strip", "--strip-debug"]
    host = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}.get(
        platform.machine().lower()
    )
    if host == architecture and shutil.which("strip"):
        return ["strip", "--strip-debug"]
    return None


def strip_native(site: Path, architecture: str) -> int:
    tool = strip_tool(architecture)
    if tool is None:
        print("build_layer: no strip tool for this architecture; native modules keep their debug symbols")
        return 0
    native = sorted(p for p in site.rglob("*.so*") if p.is_file() and not p.is_symlink())
    before = sum(p.stat().st_size for p in native)
    for chunk_start in range(0, len(native), 200):
        subprocess.run([*tool, *map(str, native[chunk_start : chunk_start + 200])], check=True)
    return before - sum(p.stat().st_size for p in native)


def compile_bytecode(site: Path) -> int:
    """Compile every .py under `site` for this interpreter (3.12: Lambda's); returns the bytes added."""
    if sys.version_info[:2] != (3, 12):
        raise SystemExit(
            f"build_layer: bytecode must be compiled by Python 3.12 (Lambda's), not {sys.version}"
        )
    before = tree_size(site)
    compileall.compile_dir(
        site, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    return tree_size(site) - before


def build(args: argparse.Namespace) -> None:
    site = Path(args.out) / "python"
    site.mkdir(parents=True, exist_ok=True)
    pip_install(
        Path(args.requirements), Path(args.constraints) if args.constraints else None, site, args.arch
    )
    if args.source:
        shutil.copytree(
            args.source, site, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    freed = {"runtime-provided": drop_runtime_provided(site), "trimmed": trim(site)}
    freed["debug symbols"] = strip_native(site, args.arch)
    added = compile_bytecode(site)
    summary = ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in freed.items())
    print(
        f"build_layer: {site} is {tree_size(site) / 2**20:.1f} MiB "
        f"(removed: {summary}; bytecode added: {added / 2**20:.1f} MiB)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requirements", required=True, help="the layer's requirements.txt")
    parser.add_argument("--constraints", help="the project's lock (constraints.txt)")
    parser.add_argument("--source", help="a folder whose contents go into python/ (the layer's own code)")
    parser.add_argument(
        "--out", required=True, help="the layer's artifacts folder (sam build's ARTIFACTS_DIR)"
    )
    parser.add_argument("--arch", choices=sorted(PLATFORMS), required=True)
    build(parser.parse_args(argv))


if __name__ == "__main__":
    main()
