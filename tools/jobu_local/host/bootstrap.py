"""The inside of one local "Lambda container": a long-lived process running one function.

Started by jobu_local.function_process with the function's environment from template.yaml and
PYTHONPATH = its CodeUri + its layers' python/ folders (as /var/task and /opt/python on Lambda).
It imports the handler once (the INIT phase, timed for "Init Duration"), then serves invocations
read from stdin, one JSON line each, and answers each on a private pipe (the process's original
stdout). Everything the function prints, to stdout or stderr, goes to the log pipe (fd 2): after
each invocation a marker line tells the parent that the invocation's log lines are complete.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from jobu_local.host.context import LambdaContext

END_MARKER = "\x1ejobu-local-end "
Handler = Callable[[dict[str, Any], LambdaContext], Any]


def max_memory_used_mb() -> int:
    # ru_maxrss is in KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024) + 1


def error_payload(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def load_handler(spec: str) -> Handler:
    module_name, _, attribute = spec.rpartition(".")
    module = importlib.import_module(module_name)
    function: Handler = getattr(module, attribute)
    return function


def context_for(request: dict[str, Any]) -> LambdaContext:
    env = os.environ
    return LambdaContext(
        aws_request_id=request["request_id"],
        function_name=env["AWS_LAMBDA_FUNCTION_NAME"],
        function_version=env["AWS_LAMBDA_FUNCTION_VERSION"],
        invoked_function_arn=env["JOBU_LOCAL_FUNCTION_ARN"],
        memory_limit_in_mb=int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
        log_group_name=env["AWS_LAMBDA_LOG_GROUP_NAME"],
        log_stream_name=env["AWS_LAMBDA_LOG_STREAM_NAME"],
        deadline_ms=request["deadline_ms"],
    )


def invoke(function: Handler, request: dict[str, Any]) -> dict[str, Any]:
    try:
        result = function(request["event"], context_for(request))
        return {"ok": True, "result": json.loads(json.dumps(result))}
    except Exception as error:
        return {"ok": False, "error": error_payload(error)}


def send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, default=str) + "\n")
    channel.flush()


def finish_logs(request_id: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    sys.stderr.write(f"{END_MARKER}{request_id}\n")
    sys.stderr.flush()


def serve(channel: TextIO, handler_spec: str) -> None:
    started = time.perf_counter()
    try:
        function = load_handler(handler_spec)
    except Exception as error:
        finish_logs("init")
        send(channel, {"ready": False, "error": error_payload(error, "Runtime.ImportModuleError")})
        return
    init_ms = (time.perf_counter() - started) * 1000
    finish_logs("init")
    send(channel, {"ready": True, "init_ms": init_ms})
    for line in sys.stdin:
        request = json.loads(line)
        began = time.perf_counter()
        answer = invoke(function, request)
        answer["duration_ms"] = (time.perf_counter() - began) * 1000
        answer["max_memory_used_mb"] = max_memory_used_mb()
        finish_logs(request["request_id"])
        send(channel, answer)


def main() -> None:
    handler_spec = sys.argv[1]
    # The parent reads answers from our original stdout; the function's own prints go to the log pipe.
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.path[:] = function_path(sys.path, os.environ.get("PYTHONPATH", ""))
    serve(channel, handler_spec)


def function_path(path: list[str], python_path: str) -> list[str]:
    """sys.path as the function sees it on Lambda: its code, its layers, the runtime's packages.

    This package is on PYTHONPATH only to start the host, and a development install may put the
    repository's folders on every interpreter's path (a .pth file): both are removed, so that one
    function never imports another's code (the dispatchers never see the worker's handlers).
    """
    tools_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    repo = os.path.dirname(tools_dir)
    allowed = {os.path.abspath(entry) for entry in python_path.split(os.pathsep) if entry} - {tools_dir}

    def keep(entry: str) -> bool:
        absolute = os.path.abspath(entry or ".")
        if absolute in allowed:
            return True
        inside_repo = absolute == repo or absolute.startswith(repo + os.sep)
        return not inside_repo or any(part.startswith(".venv") for part in absolute.split(os.sep))

    return [entry for entry in path if keep(entry)]


if __name__ == "__main__":
    main()
