#!/usr/bin/env bash
# Starts LocalStack on 127.0.0.1:4566 from its own Python 3.13 virtual environment (.venv-localstack,
# pinned by requirements-localstack.txt) if it is not already answering, and waits until it is ready.
# Without Docker LocalStack runs on the host; its Lambda service cannot run functions, which is why
# the project's local runtime (tools/jobu_local) invokes them. Fails loudly: tests never skip it.
#   scripts/localstack.sh          start (or find running) and wait
#   scripts/localstack.sh stop     stop the LocalStack this script started
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${LOCALSTACK_PORT:-4566}
HEALTH="http://127.0.0.1:${PORT}/_localstack/health"
VENV=.venv-localstack
STATE=.jobu
PIDFILE=$STATE/localstack.pid
LOG=$STATE/localstack.log
find_python313() {  # a python3.13 that runs (pyenv's shim exists but fails when 3.12 is selected)
  local candidate
  for candidate in "${PYTHON313:-}" /root/.pyenv/versions/3.13*/bin/python3.13 "$(command -v python3.13 || true)"; do
    if [[ -n $candidate ]] && "$candidate" --version >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  echo "localstack: no working python3.13 found (set PYTHON313)" >&2
  return 1
}

# One caller at a time (the test run's workers, a benchmark beside them): two that both find it down
# would both start one, and the second would fail on the port. LocalStack itself does not keep fd 9.
mkdir -p $STATE
exec 9>>"$STATE/localstack.lock"
flock 9

if [[ "${1:-start}" == "stop" ]]; then
  if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill -TERM -- "-$(cat "$PIDFILE")" 2>/dev/null || kill -TERM "$(cat "$PIDFILE")"
    echo "localstack: stopped"
  fi
  rm -f "$PIDFILE"
  exit 0
fi

if curl -fsS "$HEALTH" >/dev/null 2>&1; then
  echo "localstack: up at http://127.0.0.1:${PORT}"
  exit 0
fi

if [[ ! -f $VENV/.installed ]] || [[ requirements-localstack.txt -nt $VENV/.installed ]]; then
  echo "localstack: installing into $VENV (about 35 s from a warm cache)"
  test -x $VENV/bin/python || "$(find_python313)" -m venv $VENV
  $VENV/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-localstack.txt
  touch $VENV/.installed
fi

echo "localstack: starting on 127.0.0.1:${PORT} (log: $LOG)"
# hypercorn, not LocalStack's default twisted gateway: twisted binds the port on every interface
# whatever GATEWAY_LISTEN says (its TCP4ServerEndpoint is given no interface); hypercorn binds loopback.
GATEWAY_SERVER=hypercorn GATEWAY_LISTEN=127.0.0.1:${PORT} SERVICES=sqs,events,scheduler,logs,s3,secretsmanager,iam,sts \
  setsid $VENV/bin/python -m localstack.runtime.main >"$LOG" 2>&1 < /dev/null 9>&- &
echo $! > "$PIDFILE"

for _ in $(seq 1 120); do
  if curl -fsS "$HEALTH" >/dev/null 2>&1; then
    echo "localstack: up at http://127.0.0.1:${PORT}"
    exit 0
  fi
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "localstack: exited while starting; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
echo "localstack: not ready after 60 s; see $LOG" >&2
exit 1
