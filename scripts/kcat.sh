#!/usr/bin/env bash
# kcat (librdkafka's command-line client): the README's first Kafka example produces with it, and
# the e2e tests produce with it as users do. Installed with apt when it is missing.
set -euo pipefail
if ! command -v kcat >/dev/null 2>&1; then
  echo "kcat: installing (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
fi
kcat -V >/dev/null
