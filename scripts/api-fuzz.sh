#!/usr/bin/env bash
# Schema-driven API fuzz (`make test-api-fuzz`): schemathesis generates requests from
# docs/openapi.yaml against a dispatcher with a throw-away store and checks that no answer is a 5xx
# and that every answer's status code, content type, headers and body are as the document says.
#
# - schemathesis (PyPI, pinned) goes into its own venv, .tools/schemathesis (git-ignored),
#   installed when missing or of another version (idempotent, like scripts/setup-tools.sh).
# - The dispatcher is $GOLFIQ_DISPATCHER, else the debug build under $CARGO_TARGET_DIR (or
#   ./target), which the Makefile target builds first. It runs with an API key, an admin token,
#   the live signing keys and a LiveKit ingest URL set (never contacted), so that every route is
#   reachable: a 503 for a missing setting is the deployment's answer, not the fuzz's finding.
# - scripts/api-fuzz/seed.py seeds runs, upload tickets, a live event and a flag config through the
#   API; schemathesis.toml binds the seeded identifiers to the path parameters, hooks.py gives
#   every other synchronous analyze case valid frames.
# - Bounded and reproducible: a fixed seed (API_FUZZ_SEED), one worker, at most
#   API_FUZZ_MAX_EXAMPLES cases per operation and phase, no example database. POST /runs/v1/prune
#   runs last, on its own, so that it does not delete the seeded runs from under the other routes.
# - Reports (JUnit, HAR of every request) and the dispatcher's log go to tests/artifacts/api-fuzz/.
#   A failure prints a curl command that reproduces it.
# Arguments go to both schemathesis runs: `API_FUZZ_TIMEOUT=900 scripts/api-fuzz.sh --max-examples
# 300 --seed 1` for a longer hunt, `--checks all` for the stricter checks (positive_data_acceptance,
# ...). API_FUZZ_TIMEOUT (default 240 s) bounds the main run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=4.32.5
venv=.tools/schemathesis
st=$venv/bin/schemathesis
if [ "$("$st" --version 2>/dev/null)" != "schemathesis, version $version" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  # hypothesis pinned too: the cases a seed draws depend on its version.
  "$venv/bin/pip" install --quiet "schemathesis==$version" 'hypothesis==6.170.27'
  echo "installed schemathesis $version into $venv"
fi

dispatcher=${GOLFIQ_DISPATCHER:-${CARGO_TARGET_DIR:-$root/target}/debug/dispatcher}
[ -x "$dispatcher" ] || { echo "no dispatcher at $dispatcher (cargo build -p local --bin dispatcher)" >&2; exit 1; }
seed=${API_FUZZ_SEED:-27}
max_examples=${API_FUZZ_MAX_EXAMPLES:-50}
artifacts=$root/tests/artifacts/api-fuzz
rm -rf "$artifacts" && mkdir -p "$artifacts"

work=$(mktemp -d)
dispatcher_pid=""
cleanup() {
  [ -z "$dispatcher_pid" ] || kill "$dispatcher_pid" 2>/dev/null || true
  [ ! -f "$work/dispatcher.log" ] || cp "$work/dispatcher.log" "$artifacts/"
  rm -rf "$work"
}
trap cleanup EXIT

export GOLFIQ_FUZZ_API_KEY=fuzz-api-key GOLFIQ_FUZZ_ADMIN_TOKEN=fuzz-admin-token
export GOLFIQ_FUZZ_HOOKS=$root/scripts/api-fuzz/hooks.py
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
mkdir -p "$work/runs" "$work/uploads" "$work/rounds" "$work/bags" "$work/config" "$work/seeds"
env -u APP_ENV -u STAGING -u RUNS_PRUNE_LOCKED -u PROD_LOCK -u ANALYZE_QUEUE_URL -u RUN_STORE_BACKEND \
  PORT="$port" RUST_LOG=warn REQUIRE_API_KEY=1 API_KEY="$GOLFIQ_FUZZ_API_KEY" \
  ADMIN_TOKEN="$GOLFIQ_FUZZ_ADMIN_TOKEN" LIVE_VIEWER_SIGN_KEY=fuzz-viewer-key LIVE_SIGN_SECRET=fuzz-sign-secret \
  LIVEKIT_WHIP_URL=http://127.0.0.1:9/whip RUNS_PRUNE_ENABLED=true \
  RUN_STORE_DIR="$work/runs" RUNS_UPLOAD_DIR="$work/uploads" GOLFIQ_ROUNDS_DIR="$work/rounds" \
  GOLFIQ_BAGS_DIR="$work/bags" FEATURE_FLAGS_CONFIG_PATH="$work/config/feature_flags.json" \
  "$dispatcher" >"$work/dispatcher.log" 2>&1 &
dispatcher_pid=$!
# Ready, not just up: the models load and the video decoder is there (else analyses answer 503).
ready=0
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "$base/ready" 2>/dev/null && { ready=1; break; }
  kill -0 "$dispatcher_pid" 2>/dev/null || { cat "$work/dispatcher.log" >&2; exit 1; }
  sleep 0.2
done
checks=$(curl -sS "$base/ready")
if [ "$ready" = 0 ] || grep -q '"unavailable"' <<<"$checks"; then
  echo "api-fuzz: the dispatcher is not fully ready (make setup-ort setup-ffmpeg): $checks" >&2
  exit 1
fi

python3 scripts/api-fuzz/seed.py "$base" "$GOLFIQ_FUZZ_API_KEY" "$GOLFIQ_FUZZ_ADMIN_TOKEN" "$work/seeds"
# The config names its dictionaries relative to itself; schemathesis and Hypothesis keep their
# caches in the working directory: both are the throw-away one.
cp scripts/api-fuzz/schemathesis.toml "$work/"

status=0
fuzz() { # NAME TIMEOUT_S ARGS...: one schemathesis run; its failures are reported, not fatal yet
  local name=$1 limit=$2 rc=0
  shift 2
  (cd "$work" && timeout --kill-after=10 "$limit" "$root/$st" --config-file schemathesis.toml run \
    "$root/docs/openapi.yaml" --url "$base" --seed "$seed" --max-examples "$max_examples" \
    --report junit,har --report-junit-path "$artifacts/$name.junit.xml" \
    --report-har-path "$artifacts/$name.har.json" "$@") || rc=$?
  [ "$rc" = 124 ] && echo "api-fuzz: $name ran past ${limit}s" >&2
  [ "$rc" = 0 ] || status=1
}
fuzz routes "${API_FUZZ_TIMEOUT:-240}" --exclude-operation-id pruneRuns "$@"
fuzz prune 60 --include-operation-id pruneRuns "$@"

# A panic the answer did not show (a background task, the run's own task) still fails the fuzz.
if grep -n 'panicked at' "$work/dispatcher.log" >&2; then
  echo "api-fuzz: the dispatcher panicked (log: $artifacts/dispatcher.log)" >&2
  status=1
fi
kill -0 "$dispatcher_pid" 2>/dev/null || { echo "api-fuzz: the dispatcher died" >&2; status=1; }
[ "$status" = 0 ] && echo "api-fuzz: passed (reports in $artifacts)"
exit "$status"
