"""What handlers may touch, as operators configured it: never what params ask for.

Whoever can produce to the Kafka topic chooses a handler and its params (docs/security.md), so
a path, bucket, database or table in params is a request, checked here against the operator's
configuration (jobu.constants: JOBU_DATA_ROOT, JOBU_DATA_S3_LOCATIONS, JOBU_LOAD_DATABASES,
JOBU_LOAD_TABLES). A refusal is an AccessDeniedError naming what was refused; the run fails at
once, without retries. Nothing is opened before it is allowed, so a refusal never reads a byte.

A params field that names such a thing is declared with one of the request schemas below
(`DATA_PATH`, `DATABASE_NAME`, `TABLE_NAME`; as pydantic types for params models:
jobu.access_fields' `DataPath`, `DatabaseName`, `TableName`): its JSON Schema says so
(`x-jobu-access`), and
tests/security/test_handler_params.py refuses any shipped handler whose params name a path, URL,
host, database or table without one.

A local file is opened the way it was checked: from a descriptor of the data root, one folder at
a time, never following a symbolic link (`LocalFolder`), so a name swapped for a link after the
check leads nowhere; and the data root and every folder on the way must be the worker's own and
writable by no one else (as sshd asks of the files it trusts).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final

from jobu import constants
from jobu.errors import AccessDeniedError, ConfigurationError
from jobu.store.tables import job_store_tables

# The name under which the job store's own database is a load target.
JOB_STORE_DATABASE = "jobstore"
# Never readable or writable by a handler, whatever the data root: the kernel's view of the
# process (/proc/self/environ holds the function role's credentials on Lambda), devices, the
# function's code and runtime (/var/task, /var/runtime) and its layers (/opt).
FORBIDDEN_ROOTS = tuple(
    Path(p) for p in ("/proc", "/sys", "/dev", "/etc", "/var/task", "/var/runtime", "/opt")
)
S3_SCHEME = "s3://"

# The JSON Schema keyword that marks a params field as a request jobu.access decides.
ACCESS_SCHEMA_KEY: Final = "x-jobu-access"


# The request schemas of params fields (a handler's params_schema), each a new dict to extend:
# a local path under the data root, or s3://bucket/key under the allowed locations;
def data_path_schema(**extra: Any) -> dict[str, Any]:
    return {"minLength": 1, "type": "string", ACCESS_SCHEMA_KEY: "data_path", **extra}


# a database by the name operators gave it (JOBU_LOAD_DATABASES), or "jobstore": a name, never a
# URL, host or path (refused at the edge by the pattern, before the name is looked up);
DATABASE_NAME_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


def database_name_schema(**extra: Any) -> dict[str, Any]:
    return {"pattern": DATABASE_NAME_PATTERN, "type": "string", ACCESS_SCHEMA_KEY: "database", **extra}


# a table (or schema.table) that JOBU_LOAD_TABLES allows on the run's database.
def table_name_schema(**extra: Any) -> dict[str, Any]:
    return {"minLength": 1, "type": "string", ACCESS_SCHEMA_KEY: "table", **extra}


def _present(environ: Mapping[str, str], name: str) -> str:
    """The variable's value; it must be set, and empty means "nothing of this kind"."""
    if name not in environ:
        raise ConfigurationError(
            f"environment variable {name} is not set (set it empty to allow nothing; docs/security.md)"
        )
    return environ[name].strip()


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_forbidden(path: Path) -> bool:
    return any(path == root or path.is_relative_to(root) for root in FORBIDDEN_ROOTS)


def _data_root(value: str) -> Path | None:
    if not value:
        return None
    root = Path(value)
    if not root.is_absolute():
        raise ConfigurationError(f"{constants.DATA_ROOT} must be an absolute path, not {value!r}")
    root = root.resolve()
    temp = Path(tempfile.gettempdir()).resolve()
    if _is_forbidden(root) or any(forbidden.is_relative_to(root) for forbidden in FORBIDDEN_ROOTS):
        raise ConfigurationError(f"{constants.DATA_ROOT} may not be or contain a system folder: {root}")
    if temp.is_relative_to(root):
        # the temp folder holds every run's scratch files; a root above it would expose them
        raise ConfigurationError(f"{constants.DATA_ROOT} must be a folder of its own, not {root}")
    return root


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" (the whole bucket) or ending with "/"

    @classmethod
    def parse(cls, value: str) -> S3Location:
        if not value.startswith(S3_SCHEME):
            raise ConfigurationError(f"{constants.DATA_S3_LOCATIONS}: not an s3://bucket/prefix: {value!r}")
        bucket, _, prefix = value[len(S3_SCHEME) :].partition("/")
        prefix = prefix.rstrip("/")
        if not bucket or (prefix and _bad_key(prefix)):
            raise ConfigurationError(f"{constants.DATA_S3_LOCATIONS}: not an s3://bucket/prefix: {value!r}")
        return cls(bucket, f"{prefix}/" if prefix else "")

    def holds(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix)

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}"


def _bad_key(key: str) -> bool:
    """Keys that mean something else to someone: dot segments, empty segments, a leading slash,
    backslashes and control characters (S3 stores them literally; HTTP layers may not)."""
    if not key or key.startswith("/") or "\\" in key:
        return True
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key):
        return True
    return any(segment in ("", ".", "..") for segment in key.split("/"))


@dataclass(frozen=True)
class LoadTable:
    """An allowed load target: the database's configured name and the table as params give it."""

    database: str
    table: str

    @property
    def table_name(self) -> str:
        return self.table.rsplit(".", 1)[-1]


def _is_store_table(table: str) -> bool:
    return table.rsplit(".", 1)[-1].lower() in job_store_tables()


def _load_databases(value: str) -> dict[str, str]:
    databases: dict[str, str] = {}
    for item in _items(value):
        name, sep, reference = item.partition("=")
        name, reference = name.strip(), reference.strip()
        if not sep or not name or not reference:
            raise ConfigurationError(
                f"{constants.LOAD_DATABASES}: expected name=<secret ARN or URL>, got {name!r}"
            )
        if not re.fullmatch(DATABASE_NAME_PATTERN, name):
            raise ConfigurationError(
                f"{constants.LOAD_DATABASES}: {name!r} is not a name (a letter, then up to 63 letters, "
                "digits, _ or -)"
            )
        if name == JOB_STORE_DATABASE:
            raise ConfigurationError(
                f"{constants.LOAD_DATABASES}: {JOB_STORE_DATABASE!r} is the job store's database already"
            )
        databases[name] = reference
    return databases


def _load_tables(value: str, databases: Mapping[str, str]) -> frozenset[LoadTable]:
    tables = set()
    for item in _items(value):
        database, sep, table = item.partition(":")
        if not sep or not table:
            raise ConfigurationError(f"{constants.LOAD_TABLES}: expected database:table, got {item!r}")
        if database != JOB_STORE_DATABASE and database not in databases:
            raise ConfigurationError(
                f"{constants.LOAD_TABLES}: {item!r} names database {database!r}, "
                f"which {constants.LOAD_DATABASES} does not define"
            )
        if _is_store_table(table):
            raise ConfigurationError(
                f"{constants.LOAD_TABLES}: {table!r} is a job store table: never a target"
            )
        tables.add(LoadTable(database, table))
    return frozenset(tables)


@dataclass(frozen=True)
class DataAccess:
    """The operator's answer to "may a handler touch this?"; read from the environment per run."""

    data_root: Path | None
    s3_locations: tuple[S3Location, ...]
    load_databases: Mapping[str, str]
    load_tables: frozenset[LoadTable]

    ENVIRONMENT = constants.DATA_ACCESS_SETTINGS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> DataAccess:
        databases = _load_databases(_present(environ, constants.LOAD_DATABASES))
        return cls(
            data_root=_data_root(_present(environ, constants.DATA_ROOT)),
            s3_locations=tuple(
                S3Location.parse(v) for v in _items(_present(environ, constants.DATA_S3_LOCATIONS))
            ),
            load_databases=databases,
            load_tables=_load_tables(_present(environ, constants.LOAD_TABLES), databases),
        )

    def local_path(self, path: str) -> Path:
        """The resolved file `path` names, if it is inside the data root (relative paths are
        relative to the root). Use the returned path: it is the one that was checked."""
        if self.data_root is None:
            raise AccessDeniedError(
                f"local path refused: {path!r} ({constants.DATA_ROOT} allows no local files)"
            )
        if "\x00" in path:
            raise AccessDeniedError(f"local path refused: {path!r} (it contains a NUL byte)")
        resolved = (self.data_root / path).resolve()
        if not resolved.is_relative_to(self.data_root) or _is_forbidden(resolved):
            raise AccessDeniedError(f"local path refused: {path!r} is outside the data root {self.data_root}")
        return resolved

    def s3_object(self, bucket: str, key: str) -> None:
        """Refuse an S3 object outside the configured locations."""
        where = f"{S3_SCHEME}{bucket}/{key}"
        if _bad_key(key):
            raise AccessDeniedError(f"S3 key refused: {where!r} (empty, dot or leading-slash segments)")
        if not any(location.holds(bucket, key) for location in self.s3_locations):
            allowed = (
                ", ".join(map(str, self.s3_locations)) or f"none ({constants.DATA_S3_LOCATIONS} is empty)"
            )
            raise AccessDeniedError(
                f"S3 object refused: {where!r} is outside the allowed locations: {allowed}"
            )

    def load_table(self, database: str, table: str) -> LoadTable:
        """The allowed target, or AccessDeniedError naming the refused database or table."""
        if _is_store_table(table):
            raise AccessDeniedError(f"table refused: {table!r} is one of the job store's own tables")
        self.database(database)
        target = LoadTable(database, table)
        if target not in self.load_tables:
            raise AccessDeniedError(
                f"table refused: {table!r} on database {database!r} is not in {constants.LOAD_TABLES}"
            )
        return target

    def database(self, name: str) -> str | None:
        """The secret ARN or URL of the database operators named `name`; None for the job store's
        own ("jobstore"); AccessDeniedError for any other name."""
        if name == JOB_STORE_DATABASE:
            return None
        if name not in self.load_databases:
            raise AccessDeniedError(
                f"database refused: {name!r} is not configured ({constants.LOAD_DATABASES})"
            )
        return self.load_databases[name]

    def open_folder(self, path: Path, *, create: bool = False) -> LocalFolder:
        """The folder `path` (a path `local_path` returned, or a folder above it), walked down from
        the data root one name at a time without following a symbolic link; `create` makes the
        missing folders (the data root 0700, the others 0755). FileNotFoundError when one is missing."""
        root = self._root(path)
        parts = path.relative_to(root).parts
        if create:
            os.makedirs(root, mode=0o700, exist_ok=True)
        try:
            fd = os.open(root, _FOLDER_FLAGS)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ConfigurationError(f"{constants.DATA_ROOT} {root} is no longer a folder") from None
            raise
        folder = LocalFolder(fd, root)
        try:
            folder.check_owned(f"{constants.DATA_ROOT} {root}", ConfigurationError)
            for part in parts:
                folder = folder.child(part, create=create)
        except BaseException:
            folder.close()
            raise
        return folder

    def open_file(self, path: Path) -> BinaryIO:
        """The regular file at `path` (a path `local_path` returned), opened for reading as
        `open_folder` walks; FileNotFoundError when it is not there."""
        with self.open_folder(path.parent) as folder:
            return folder.open_read(path.name)

    def _root(self, path: Path) -> Path:
        if self.data_root is None:
            raise AccessDeniedError(
                f"local path refused: {str(path)!r} ({constants.DATA_ROOT} allows no local files)"
            )
        if not path.is_absolute() or ".." in path.parts or not path.is_relative_to(self.data_root):
            raise AccessDeniedError(
                f"local path refused: {str(path)!r} is outside the data root {self.data_root}"
            )
        return self.data_root


_FOLDER_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted where a file was expected must not hang the open (it is refused after)
_READ_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# O_EXCL never follows a symbolic link, nor opens what someone else created under the name
_CREATE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class LocalFolder:
    """A folder under the data root, held by a descriptor. Its files are opened, created, renamed
    and removed relative to the descriptor, so nothing is looked up again from the root by name:
    a folder or file swapped for a symbolic link after the check is refused, not followed."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def __enter__(self) -> LocalFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def check_owned(self, what: str, refusal: type[Exception]) -> None:
        """Refuse a folder another user could write to: a name in it could be swapped at any time."""
        info = os.fstat(self.fd)
        if info.st_uid != os.geteuid():
            raise refusal(
                f"{what} belongs to uid {info.st_uid}, not to the worker's user (uid {os.geteuid()}): "
                "give it to that user (chown)"
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise refusal(
                f"{what} is writable by other users (mode {stat.S_IMODE(info.st_mode):o}): chmod go-w it"
            )

    def child(self, name: str, *, create: bool = False) -> LocalFolder:
        """The folder `name` in this one (this one is closed: the walk goes down)."""
        try:
            fd = self._open(name, _FOLDER_FLAGS)
        except FileNotFoundError:
            if not create:
                raise
            with suppress(FileExistsError):  # made meanwhile: opened (and checked) below like any other
                os.mkdir(name, 0o755, dir_fd=self.fd)
            fd = self._open(name, _FOLDER_FLAGS)
        child = LocalFolder(fd, self.path / name)
        self.close()
        try:
            child.check_owned(f"local path refused: folder {str(child.path)!r}", AccessDeniedError)
        except BaseException:
            child.close()
            raise
        return child

    def open_read(self, name: str) -> BinaryIO:
        """The regular file `name`, opened for reading."""
        fd = self._open(name, _READ_FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise AccessDeniedError(
                    f"local path refused: {str(self.path / name)!r} is not a regular file"
                )
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def create(self, name: str) -> BinaryIO:
        """A new file `name`, opened for writing; FileExistsError if the name is taken."""
        return os.fdopen(os.open(name, _CREATE_FLAGS, 0o666, dir_fd=self.fd), "wb")

    def replace(self, source: str, target: str) -> None:
        """Rename `source` to `target` in this folder, atomically (a link at `target` is replaced,
        never followed)."""
        os.replace(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def remove(self, name: str) -> None:
        with suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def _open(self, name: str, flags: int) -> int:
        if name in ("", ".", "..") or "/" in name:
            raise AccessDeniedError(f"local path refused: {name!r} is not a name in {str(self.path)!r}")
        try:
            return os.open(name, flags, dir_fd=self.fd)
        except OSError as error:
            if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            shown = str(self.path / name)
            if stat.S_ISLNK(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode):
                raise AccessDeniedError(
                    f"local path refused: {shown!r} is a symbolic link (links are not followed)"
                ) from None
            raise AccessDeniedError(f"local path refused: {shown!r} is not a folder") from None
