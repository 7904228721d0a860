"""Where pipeline files live: a local path or s3://bucket/key, read and written the same way.

A step reads and writes open files, never paths. Inputs are opened in place when local and
downloaded into the run's scratch directory (under the system temp dir: /tmp on Lambda, the only
writable place there) when on S3. Outputs are written to a staging file first and published
whole when the step has succeeded: renamed into place locally, uploaded on S3. A failed step
therefore never leaves a half-written output.

Every path is checked against the operators' configuration (jobu.access) before anything is
opened: local files only under the data root, S3 objects only under the allowed locations. A
local file is then opened from a descriptor of the data root, folder by folder, without following
a link (jobu.access.LocalFolder), and its staging file is created, renamed and removed in the
folder held open: a name swapped for a symbolic link after the check leads nowhere.

boto3 finds its endpoint the usual way (AWS_ENDPOINT_URL for moto server or LocalStack).
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from jobu.access import DataAccess, LocalFolder
from jobu_handlers.pipeline.errors import (
    EmptyInputError,
    InputNotFoundError,
    PipelineError,
    StepCancelledError,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_S3_PREFIX = "s3://"
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})


@dataclass(frozen=True)
class Location:
    """A parsed path: exactly one of `local` or (`bucket`, `key`) is set."""

    path: str
    local: Path | None = None
    bucket: str = ""
    key: str = ""

    @classmethod
    def parse(cls, path: str) -> Location:
        if not path.startswith(_S3_PREFIX):
            return cls(path, local=Path(path))
        bucket, _, key = path[len(_S3_PREFIX) :].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise PipelineError(f"not an S3 object path (expected s3://bucket/key): {path!r}")
        return cls(path, bucket=bucket, key=key)

    @property
    def is_s3(self) -> bool:
        return self.local is None

    @property
    def name(self) -> str:
        return self.local.name if self.local is not None else self.key.rsplit("/", 1)[-1]


def s3_client() -> S3Client:
    """A new S3 client (one per run: cheap next to the transfer, and tests can mock it).

    From a session of its own: steps create clients in worker threads, and boto3's default
    session is not safe to create clients from in several threads at once.
    """
    import boto3

    return boto3.session.Session().client("s3")


class Files:
    """A step's file access: a scratch directory, opened inputs, staged outputs, and an S3 client
    when needed.

    Use as a context manager: on exit the inputs are closed, and the scratch directory and every
    unpublished staging file are removed, so a failed step leaves nothing behind.
    """

    def __init__(
        self,
        access: DataAccess,
        client: S3Client | None = None,
        *,
        cancelled: threading.Event | None = None,
    ) -> None:
        self.access = access
        self._client = client
        self._cancelled = cancelled
        self._scratch = tempfile.TemporaryDirectory(prefix="jobu-pipeline-")
        self.scratch = Path(self._scratch.name)
        self._inputs: list[BinaryIO] = []
        self._outputs: list[Output] = []

    def __enter__(self) -> Files:
        return self

    def __exit__(self, *_: object) -> None:
        for output in self._outputs:
            output.discard()
        for stream in self._inputs:
            stream.close()
        self._scratch.cleanup()

    @property
    def s3(self) -> S3Client:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def locate(self, path: str) -> Location:
        """The location `path` names, if the operators allow it (AccessDeniedError otherwise);
        a local location carries the resolved path that was checked."""
        location = Location.parse(path)
        if location.local is None:
            self.access.s3_object(location.bucket, location.key)
            return location
        return replace(location, local=self.access.local_path(path))

    def fetch(self, path: str) -> tuple[BinaryIO, int]:
        """The input, opened for reading (closed with this object), and its size; refuses a
        missing or empty input."""
        location = self.locate(path)
        if location.local is not None:
            try:
                stream = self.access.open_file(location.local)
            except FileNotFoundError:
                raise InputNotFoundError(f"input file not found: {path}") from None
        else:
            local = self.scratch / f"in-{uuid.uuid4().hex}-{location.name}"
            self._download(location, local)
            stream = local.open("rb")
        self._inputs.append(stream)
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            raise EmptyInputError(f"input file is empty (0 bytes): {path}")
        return stream, size

    def _download(self, location: Location, local: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.download_file(location.bucket, location.key, str(local))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND_CODES:
                raise InputNotFoundError(f"input object not found: {location.path} ({code})") from None
            raise PipelineError(f"cannot read {location.path}: {error}") from error

    def output(self, path: str) -> Output:
        """A staged output for `path`: write to its `stream`, then `publish` it."""
        location = self.locate(path)
        output: Output
        if location.local is not None:
            # staged beside the destination, in the folder held open, so publishing is an atomic rename
            folder = self.access.open_folder(location.local.parent, create=True)
            try:
                output = LocalOutput(location, folder, f".{location.local.name}.{uuid.uuid4().hex}.tmp")
            except BaseException:
                folder.close()
                raise
        else:
            output = S3Output(location, self.scratch / f"out-{uuid.uuid4().hex}-{location.name}")
        self._outputs.append(output)
        return output

    def publish(self, *outputs: Output) -> int:
        """Publish all of `outputs` or none of them; returns the bytes written.

        Refused once `cancelled` is set: the run has timed out, and its outputs must not appear
        after the worker has recorded that.
        """
        if self._cancelled is not None and self._cancelled.is_set():
            raise StepCancelledError(
                "the run was cancelled (timed out) before publishing: nothing was written"
            )
        done: list[Output] = []
        try:
            for output in outputs:
                output.publish(self)
                done.append(output)
        except Exception:
            for output in done:
                output.retract(self)
            raise
        return sum(output.size for output in outputs)


class Output(ABC):
    """One output file: written to `stream` (its staging file), then published in one piece."""

    stream: BinaryIO

    def __init__(self, location: Location) -> None:
        self.location = location
        self.size = 0
        self.published = False

    def publish(self, files: Files) -> None:
        self.stream.flush()
        self.size = os.fstat(self.stream.fileno()).st_size
        self.stream.close()
        self._publish(files)
        self.published = True

    def retract(self, files: Files) -> None:
        """Undo a publish (best effort), when another output of the same step failed."""
        self._retract(files)
        self.published = False

    def discard(self) -> None:
        """Close the staging file and remove it, unless published."""
        self.stream.close()

    @abstractmethod
    def _publish(self, files: Files) -> None:
        """Put the closed staging file in place."""

    @abstractmethod
    def _retract(self, files: Files) -> None:
        """Remove the published file."""


class LocalOutput(Output):
    """Staged as a hidden file beside the destination, in the destination's folder held open."""

    def __init__(self, location: Location, folder: LocalFolder, staging_name: str) -> None:
        super().__init__(location)
        assert location.local is not None
        self.folder = folder
        self.name = location.local.name
        self.staging_name = staging_name
        self.stream = folder.create(staging_name)

    def _publish(self, files: Files) -> None:
        self.folder.replace(self.staging_name, self.name)

    def _retract(self, files: Files) -> None:
        self.folder.remove(self.name)

    def discard(self) -> None:
        super().discard()
        if not self.published:
            self.folder.remove(self.staging_name)
        self.folder.close()


class S3Output(Output):
    """Staged in the run's scratch directory, then uploaded."""

    def __init__(self, location: Location, staging: Path) -> None:
        super().__init__(location)
        self.staging = staging
        self.stream = staging.open("wb")

    def _publish(self, files: Files) -> None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import ClientError

        try:
            files.s3.upload_file(str(self.staging), self.location.bucket, self.location.key)
        except (ClientError, S3UploadFailedError) as error:
            raise PipelineError(f"cannot write {self.location.path}: {error}") from error
        self.staging.unlink()

    def _retract(self, files: Files) -> None:
        files.s3.delete_object(Bucket=self.location.bucket, Key=self.location.key)

    def discard(self) -> None:
        super().discard()
        self.staging.unlink(missing_ok=True)
