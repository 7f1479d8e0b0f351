#!/usr/bin/env bash
# The report tests render HTML in Debian's headless chromium. Install it when missing and
# we may (root with apt-get, as on our machines and in CI); otherwise say how.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the report tests (apt-get)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "the tests need chromium: sudo apt-get install -y chromium" >&2; exit 1; }
