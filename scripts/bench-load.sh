#!/usr/bin/env bash
# The mixed load test (docs/PERFORMANCE.md, "Mixed load"; issue #27): the release dispatcher on
# loopback, driven by wrk (Debian's package; installed here when missing), one wrk per route, each
# with one thread (scripts/load/*.lua tally the statuses and print the percentiles):
#   - POST /cv/analyze/video with ANALYSES connections (4: four analyses always in flight), each
#     POSTing a short low-resolution phone clip with a real shot: the analyze benchmark's trimmed
#     clip (make_clip --phone 4 2.8, from 0.25 s before launch: 173 frames at 120 fps) scaled to
#     640x360 with ffmpeg;
#   - GET /runs/v1/{id} (a seeded run), GET /runs/v1?limit=50 and GET /api/feature-flags, one
#     connection each, pausing READ_DELAY_MS between a response and the next request (a steady
#     stream of at most 1000/READ_DELAY_MS requests a second per route).
# Phases: SEED_RUNS synchronous analyses (the store's first runs; they also load the model), then
# IDLE_SECONDS of the three read streams alone (the idle baseline, same tool, same pacing), then
# LOAD_SECONDS of the reads beside the analyses. Reports per route and phase: throughput, p50/p99,
# statuses and errors; the ratio of GET /runs/v1/{id}'s p99 under load to its idle p99 (goal <= 10x,
# reported, not asserted: the machine is shared); the dispatcher's peak RSS (VmHWM). Exits non-zero
# only on unexpected errors: a status outside 2xx other than a 429 OVERLOADED, or a connection,
# read, write or timeout error.
#
#   scripts/bench-load.sh                     (make bench-load; about 3 minutes)
#   LOAD_SECONDS=15 IDLE_SECONDS=10 scripts/bench-load.sh
#   SKIP_BUILD=1 ...                          (use target/release/dispatcher as it is)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

LOAD_SECONDS="${LOAD_SECONDS:-120}"
IDLE_SECONDS="${IDLE_SECONDS:-30}"
ANALYSES="${ANALYSES:-4}"
READ_DELAY_MS="${READ_DELAY_MS:-10}"
SEED_RUNS="${SEED_RUNS:-4}"
target="${CARGO_TARGET_DIR:-$root/target}"
bench_dir="$target/bench"
src="$bench_dir/phone-1280x720-120fps-4s-impact2.8-trimmed.mp4"
clip="$bench_dir/load-640x360-120fps-impact2.8-trimmed.mp4"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench-load: wrk is missing; install it (apt-get install wrk) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
./scripts/setup-ffmpeg.sh
./scripts/setup-ort.sh
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build -q --release -p local --bin dispatcher

# The clip: the analyze benchmark's trimmed phone clip (rendered as scripts/bench-analyze.sh does,
# when missing), scaled to 640x360 (the reference length in pixels halves with it).
mkdir -p "$bench_dir"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
if [ ! -s "$src.json" ]; then
  echo "rendering the phone clip (a minute or two)..." >&2
  cargo build -q --release -p golfiq-tests --bin make_clip
  full="$bench_dir/phone-1280x720-120fps-4s-impact2.8.mp4"
  "$target/release/make_clip" "$full" --phone 4 2.8 >"$full.json"
  "$target/release/make_clip" "$src" --phone 4 2.8 --from-frame $(($(field "$full.json" impact_frame) + 1 - 120 / 4)) >"$src.json"
fi
if [ ! -s "$clip" ] || [ "$src" -nt "$clip" ]; then
  ffmpeg -v error -y -i "$src" -vf scale=640:360 -c:v libx264 -preset veryfast -crf 18 -g 120 -pix_fmt yuv420p -an "$clip"
fi
ref_m=$(field "$src.json" ref_len_m)
ref_px=$(python3 -c "print($(field "$src.json" ref_len_px) / 2)")

work=$(mktemp -d)
dispatcher_pid=""
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$dispatcher_pid" ] && kill -0 "$dispatcher_pid" 2>/dev/null; then
    kill "$dispatcher_pid" 2>/dev/null || true
    wait "$dispatcher_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

dispatcher="$target/release/dispatcher"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cores: $(nproc)  memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'); dispatcher built $(date -u -r "$dispatcher" +%Y-%m-%dT%H:%MZ)"
  echo "tool: $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2); clip: $(basename "$clip"), $(stat -c %s "$clip") bytes, 640x360, $(field "$src.json" frames) frames at 120 fps"
  echo "phases: $SEED_RUNS seed analyses, ${IDLE_SECONDS} s idle reads, ${LOAD_SECONDS} s load ($ANALYSES analysis connections; reads: 1 connection per route, ${READ_DELAY_MS} ms pause between requests)"
} | tee "$work/conditions.txt"

# shellcheck source=scripts/start-dispatcher.sh
. scripts/start-dispatcher.sh
start_dispatcher "$work"
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$dispatcher_pid/status"; }

# Seed: synchronous analyses of the clip, one after another; the first run is the one GET reads.
run_id=""
for i in $(seq 1 "$SEED_RUNS"); do
  line=$(curl -sS --max-time 300 -o "$work/seed.json" -w '%{http_code} %{time_total}' -F "video=@$clip;type=video/mp4" \
    -F "ref_len_m=$ref_m" -F "ref_len_px=$ref_px" -F run_name=seed "$base/cv/analyze/video")
  if [ "${line%% *}" != 200 ]; then
    echo "seed analysis $i answered ${line%% *}:" >&2
    cat "$work/seed.json" >&2
    exit 1
  fi
  echo "seed $i: ${line#* } s, $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print("run", b["run_id"], "shot", b.get("shot"), "detector calls", (b.get("scan") or {}).get("detector_calls"))' "$work/seed.json")" >&2
  [ -n "$run_id" ] || run_id=$(field "$work/seed.json" run_id)
done
hwm_seeded=$(status_kb VmHWM)

# One wrk: NAME PHASE CONNECTIONS SECONDS TIMEOUT SCRIPT URL [wrk options...]; output in $work.
wrk_pids=()
wrk_start() {
  local name=$1 phase=$2 conns=$3 secs=$4 timeout=$5 script=$6 url=$7
  shift 7
  wrk -t1 -c"$conns" -d"${secs}s" --timeout "$timeout" -s "$script" "$@" "$url" \
    >"$work/$phase.$name.out" 2>"$work/$phase.$name.err" &
  wrk_pids+=($!)
}
reads() {
  local phase=$1 secs=$2
  export LOAD_DELAY_MS=$READ_DELAY_MS
  wrk_start get "$phase" 1 "$secs" 30s scripts/load/report.lua "$base/runs/v1/$run_id"
  wrk_start list "$phase" 1 "$secs" 30s scripts/load/report.lua "$base/runs/v1?limit=50"
  wrk_start flags "$phase" 1 "$secs" 30s scripts/load/report.lua "$base/api/feature-flags" -H 'x-user-id: load-user'
  unset LOAD_DELAY_MS
}
wrk_wait() {
  for p in "${wrk_pids[@]}"; do wait "$p" || echo "a wrk exited with status $?" >&2; done
  wrk_pids=()
}

echo "idle: ${IDLE_SECONDS} s of reads alone..." >&2
reads idle "$IDLE_SECONDS"
wrk_wait
hwm_idle=$(status_kb VmHWM)

echo "load: ${LOAD_SECONDS} s of $ANALYSES analyses beside the reads..." >&2
(while kill -0 "$dispatcher_pid" 2>/dev/null; do
  echo "$(status_kb VmRSS) $(status_kb Threads)"
  sleep 1
done) >"$work/rss.txt" 2>/dev/null &
bg_pids+=($!)
LOAD_CLIP=$clip LOAD_REF_LEN_M=$ref_m LOAD_REF_LEN_PX=$ref_px \
  wrk_start analyze load "$ANALYSES" "$LOAD_SECONDS" 300s scripts/load/analyze.lua "$base/cv/analyze/video"
reads load "$LOAD_SECONDS"
wrk_wait
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# wrk stops with analyses in flight; their runs finish on their own. Wait for them (up to 2
# minutes), then count the runs by status and the failed runs' codes.
alive=yes
for _ in $(seq 1 240); do
  kill -0 "$dispatcher_pid" 2>/dev/null || { alive=no; break; }
  q=$(curl -sS "$base/runs/v1?status=queued&limit=1") p=$(curl -sS "$base/runs/v1?status=processing&limit=1")
  [[ "$q$p" == *'"items":[]'*'"items":[]'* ]] && break
  sleep 0.5
done
if [ "$alive" = yes ]; then
  hwm_end=$(status_kb VmHWM)
  curl -sS "$base/metrics" >"$work/metrics.txt"
  curl -sS "$base/runs/v1?status=failed&limit=200" >"$work/failed.json"
  curl -fsS -o /dev/null "$base/health" || alive="no (/health failed)"
else
  hwm_end=""
  echo '{}' >"$work/failed.json"
  : >"$work/metrics.txt"
fi
log_problems=$(grep -ciE 'panic|error' "$work/dispatcher.log" || true)

for f in "$work"/*.err; do
  [ -s "$f" ] && { echo "--- wrk stderr, $(basename "$f" .err):"; head -n 20 "$f"; } >&2
done
echo
cat "$work/conditions.txt"
echo "load average at the end: $load_end"
python3 - "$work" "$alive" "$hwm_seeded" "$hwm_idle" "${hwm_end:-0}" "$log_problems" "$ANALYSES" <<'EOF'
import glob, json, os, re, sys
work, alive, hwm_seeded, hwm_idle, hwm_end, log_problems, analyses = sys.argv[1:]
res = {}
for path in glob.glob(os.path.join(work, "*.out")):
    phase, name = os.path.basename(path)[:-4].split(".")
    lines = [l for l in open(path) if l.startswith("LOAD_RESULT ")]
    res[(phase, name)] = json.loads(lines[-1][len("LOAD_RESULT "):]) if lines else None
routes = [("analyze", "POST /cv/analyze/video", analyses), ("get", "GET /runs/v1/{id}", "1"),
          ("list", "GET /runs/v1?limit=50", "1"), ("flags", "GET /api/feature-flags", "1")]
unexpected = 0
print()
print("| phase | route | conns | requests | req/s | p50 ms | p99 ms | max ms | statuses | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
for phase in ("idle", "load"):
    for key, route, conns in routes:
        if (phase, key) not in res:
            continue
        r = res[(phase, key)]
        if r is None:
            print(f"| {phase} | {route} | {conns} | no result (wrk failed: see its output) | | | | | | |")
            unexpected += 1
            continue
        errs = r["errors"]
        nerr = sum(errs.values())
        unexpected += r["unexpected_status"] + nerr
        st = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
        er = ", ".join(f"{k} {v}" for k, v in errs.items() if v) or "none"
        print(f"| {phase} | {route} | {conns} | {r['requests']} | {r['rps']:.1f} | {r['p50_ms']:.2f} | "
              f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} | {st} | {er} |")
print()
idle, load = res.get(("idle", "get")), res.get(("load", "get"))
if idle and load and idle["p99_ms"] > 0:
    ratio = load["p99_ms"] / idle["p99_ms"]
    verdict = "met" if ratio <= 10 else "NOT met"
    print(f"GET /runs/v1/{{id}} p99: idle {idle['p99_ms']:.2f} ms, under load {load['p99_ms']:.2f} ms: "
          f"{ratio:.1f}x (goal <= 10x: {verdict})")
an = res.get(("load", "analyze"))
if an:
    print(f"analyses answered: {an['statuses'].get('200', 0)} x 200, {an['overloaded']} x 429 OVERLOADED, "
          f"{an['requests'] / an['duration_s'] * 60:.1f} a minute, p50 {an['p50_ms'] / 1000:.1f} s each")
metrics = open(os.path.join(work, "metrics.txt")).read()
runs = dict(re.findall(r'^runs\{status="(\w+)"\} (\d+)', metrics, re.M))
if runs:
    print("runs in the store afterwards: " + ", ".join(f"{k} {v}" for k, v in sorted(runs.items())))
failed = json.load(open(os.path.join(work, "failed.json"))).get("items", [])
codes = {}
for item in failed:
    codes[item.get("error_code")] = codes.get(item.get("error_code"), 0) + 1
if codes:
    print("failed runs by code: " + ", ".join(f"{k} {v}" for k, v in sorted(codes.items(), key=str)))
    other = {k: v for k, v in codes.items() if k != "OVERLOADED"}
    if other:
        print(f"WARNING: runs failed with codes other than OVERLOADED: {other}")
rss = [int(l.split()[0]) for l in open(os.path.join(work, "rss.txt")) if l.split()]
mb = lambda kb: f"{int(kb) / 1024:.0f} MB"
print(f"dispatcher peak RSS (VmHWM): {mb(hwm_seeded)} after the seed analyses, {mb(hwm_idle)} after the idle "
      f"phase, {mb(hwm_end)} at the end; highest VmRSS sampled each second under load {mb(max(rss or [0]))}")
print(f"dispatcher alive at the end: {alive}; log lines mentioning panic/error: {log_problems}")
print(f"unexpected errors: {unexpected}")
sys.exit(1 if unexpected or alive != "yes" else 0)
EOF
