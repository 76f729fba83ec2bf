#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/browser) if it is missing. Idempotent and
# non-interactive: CI runs it before `make test`. Playwright drives this system browser; it never
# downloads one of its own.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing: install Debian's package (sudo apt-get install chromium) for the browser tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "installed $(chromium --version)"
