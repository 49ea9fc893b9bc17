#!/usr/bin/env bash
# Test tools from PyPI into .tools/venv (git-ignored): moto[server], the S3-compatible server the S3
# backend tests start on 127.0.0.1. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/venv
if [ -x "$venv/bin/moto_server" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet 'moto[server]==5.2.*'
echo "installed $("$venv/bin/pip" show moto | grep -i '^version') into $venv"
