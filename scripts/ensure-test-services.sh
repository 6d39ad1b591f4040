#!/usr/bin/env bash
# Installs what the tests need beyond Python: Debian's headless Chromium for the report test.
# Idempotent; costs nothing once chromium is on the machine.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: chromium is missing and cannot be installed here (need root and apt-get);" \
       "the browser test will fail. Install Debian's 'chromium' package." >&2
  exit 0
fi
echo "Installing Debian's chromium for the report test..."
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
