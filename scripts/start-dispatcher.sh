# Sourced by the bench scripts: `start_dispatcher WORK [VAR=value ...]` starts the release
# dispatcher on a free loopback port with a throw-away store under WORK (no API key, RUST_LOG=warn,
# extra variables as given), waits for /health, and sets `dispatcher_pid`, `port` and `base`. The
# caller stops it (`kill "$dispatcher_pid"`).
start_dispatcher() {
  local work=$1
  shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  mkdir -p "$work/runs" "$work/uploads" "$work/rounds" "$work/bags" "$work/config"
  env -u REQUIRE_API_KEY -u APP_ENV -u STAGING PORT="$port" RUST_LOG=warn \
    RUN_STORE_DIR="$work/runs" RUNS_UPLOAD_DIR="$work/uploads" GOLFIQ_ROUNDS_DIR="$work/rounds" \
    GOLFIQ_BAGS_DIR="$work/bags" FEATURE_FLAGS_CONFIG_PATH="$work/config/feature_flags.json" "$@" \
    "${CARGO_TARGET_DIR:-$PWD/target}/release/dispatcher" >"$work/dispatcher.log" 2>&1 &
  dispatcher_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$base/health" 2>/dev/null && return 0
    kill -0 "$dispatcher_pid" 2>/dev/null || { cat "$work/dispatcher.log" >&2; return 1; }
    sleep 0.2
  done
  curl -fsS -o /dev/null "$base/health"
}

# `bench_workdir [CARGO ARGS ...]`: builds the release dispatcher (plus whatever CARGO ARGS name),
# sets `work` to a throw-away directory, and on exit stops the dispatcher and removes `work`.
bench_workdir() {
  cargo build -q --release -p local --bin dispatcher "$@"
  work=$(mktemp -d)
  dispatcher_pid=""
  trap '[ -z "$dispatcher_pid" ] || kill "$dispatcher_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
}
