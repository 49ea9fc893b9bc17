#!/usr/bin/env bash
# Tools the tests run, from PyPI into .tools/venv (git-ignored), idempotent:
# moto[server] (the S3-compatible server the S3 backend tests start on 127.0.0.1), aws-sam-cli
# (`sam validate --lint`), cargo-lambda (`cargo lambda watch|invoke|build`) and check-jsonschema
# (the compose file against the Compose schema).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/venv
need=0
for bin in moto_server sam cargo-lambda check-jsonschema; do
  [ -x "$venv/bin/$bin" ] || need=1
done
[ "$need" = 0 ] && exit 0
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet 'moto[server]==5.2.*' 'aws-sam-cli==1.170.*' 'cargo-lambda==1.9.*' 'check-jsonschema==0.*'
echo "installed test tools into $venv"
