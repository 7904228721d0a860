#!/usr/bin/env bash
# What the dashboard's browser tests need: Debian's Chromium (Playwright's own browser download is not
# reachable here) and axe-core, pinned in tests/e2e/browser/package-lock.json, for the accessibility
# check. Installs what is missing; fails loudly if it cannot, so no browser test ever skips.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "browser: installing chromium (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version 2>/dev/null | head -n1

if [ ! -f tests/e2e/browser/node_modules/axe-core/axe.min.js ] \
   || [ tests/e2e/browser/package-lock.json -nt tests/e2e/browser/node_modules/.package-lock.json ]; then
  echo "browser: installing axe-core (npm ci)"
  (cd tests/e2e/browser && npm ci --no-audit --no-fund --ignore-scripts --silent)
fi
echo "browser: axe-core $(node -p 'require("./tests/e2e/browser/node_modules/axe-core/package.json").version')"
