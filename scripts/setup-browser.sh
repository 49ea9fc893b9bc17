#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, and only what is missing, so it is cheap to run
# every time: Debian's Chromium and chromedriver (apt) and playwright-core in tests/browser (npm, from
# the committed package-lock.json). Playwright never downloads a browser here: the tests drive
# /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "setup-browser: installing chromium and chromium-driver (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup-browser: node (20 or newer) and npm are needed" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup-browser: node $(node --version) is too old; the tests need node 20 or newer" >&2
  exit 1
fi

if [ ! -d tests/browser/node_modules ]; then
  echo "setup-browser: installing tests/browser packages (npm ci)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
