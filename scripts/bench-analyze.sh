#!/usr/bin/env bash
# The analyze benchmark (docs/PERFORMANCE.md, "Analyze: a 3 s 120 fps 720p clip end to end"): a
# rendered 1280x720, 120 fps, 360-frame swing (tests/src/bin/make_clip.rs) POSTed to
# /cv/analyze/video of the release dispatcher, beside the Python baseline
# (models/bench/analyze_baseline.py: cv2 decode, the same letterbox, onnxruntime, the same decoding)
# on the same clip and weights, in the same run. Per variant: one cold request (the first for that
# variant: includes its model load), then ROUNDS rounds of [one warm request, each Python
# configuration], interleaved so that both sides see the same background load. Prints the table.
#
#   scripts/bench-analyze.sh          (make bench runs it; about 25 minutes on 2 shared cores)
#   ROUNDS=1 VARIANTS=yolov10 FRAMES=40 scripts/bench-analyze.sh      (a quick check of the script)
#
# PY_TUNED lists the tuned Python layouts as SESSIONSxTHREADS (intra-op threads per session,
# spinning off; more than one session runs frames in parallel from a thread pool).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ROUNDS="${ROUNDS:-3}"
VARIANTS="${VARIANTS:-yolov10 yolov11}"
PY_TUNED="${PY_TUNED:-1x2 2x1}"
FRAMES="${FRAMES:-360}"
target="${CARGO_TARGET_DIR:-$root/target}"
bench_dir="$target/bench"
clip="$bench_dir/swing-1280x720-120fps-${FRAMES}.mp4"
py="$root/.tools/bench/bin/python"

./scripts/setup-bench.sh
cargo build --release -p local --bin dispatcher -p golfiq-tests --bin make_clip
mkdir -p "$bench_dir"
if [ ! -s "$clip" ] || [ ! -s "$clip.json" ] || [ "$target/release/make_clip" -nt "$clip" ]; then
  echo "rendering and encoding the clip (about a minute)..." >&2
  "$target/release/make_clip" "$clip" --frames "$FRAMES" >"$clip.json"
fi
field() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
ref_m=$(field "$clip.json" ref_len_m)
ref_px=$(field "$clip.json" ref_len_px)

work=$(mktemp -d)
results="$work/results.jsonl"
dispatcher_pid=""
cleanup() {
  if [ -n "$dispatcher_pid" ] && kill -0 "$dispatcher_pid" 2>/dev/null; then
    kill "$dispatcher_pid" 2>/dev/null || true
    wait "$dispatcher_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Machine conditions, for the record.
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cores: $(nproc)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "clip: $(sha256sum "$clip" | cut -c1-16) $(cat "$clip.json")"
  # shellcheck disable=SC2009 # ps | grep on purpose: any training job, whoever started it
  ps -eo pid,ni,pcpu,args | grep -E '[t]rain\.py' | cut -c1-150 || echo "no training job running"
} | tee "$work/conditions.txt"

# The per-frame stages of the Rust side on one thread (decode, quality, letterbox, session.run).
for v in $VARIANTS; do
  "$target/release/make_clip" --time-stages "$clip" --frames "$FRAMES" --variant "$v" --detect-frames 30 |
    "$py" -c 'import json,sys; d=json.load(sys.stdin); d["record"]="stages"; print(json.dumps(d))' >>"$results"
done

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
mkdir -p "$work/runs" "$work/uploads" "$work/rounds" "$work/bags" "$work/config"
env -u REQUIRE_API_KEY -u APP_ENV -u STAGING \
  PORT="$port" MODEL_VARIANT=yolov10 RUST_LOG=warn \
  RUN_STORE_DIR="$work/runs" RUNS_UPLOAD_DIR="$work/uploads" GOLFIQ_ROUNDS_DIR="$work/rounds" \
  GOLFIQ_BAGS_DIR="$work/bags" FEATURE_FLAGS_CONFIG_PATH="$work/config/feature_flags.json" \
  ANALYZE_MAX_VIDEO_FRAMES="$FRAMES" \
  "$target/release/dispatcher" >"$work/dispatcher.log" 2>&1 &
dispatcher_pid=$!

# Liveness only: /ready loads the default model, which would take the model load out of the cold
# request. /ready is checked right after the first request instead.
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "$base/health" 2>/dev/null && break
  kill -0 "$dispatcher_pid" 2>/dev/null || { cat "$work/dispatcher.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null "$base/health"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$dispatcher_pid/stat"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$dispatcher_pid/status"; }
# The whole machine's CPU ticks (user nice system idle iowait irq softirq steal) and the time, so
# that every record says how much of the 2 cores other processes took meanwhile.
sys_ticks() { awk '/^cpu / {print $2, $3, $4, $5, $6, $7, $8, $9}' /proc/stat; }
now() { date +%s.%N; }

# One POST of the clip; appends its record to $results.
post() {
  local variant=$1 kind=$2 resp="$work/resp.json" before after line code wall sys0 sys1 t0 t1
  sys0=$(sys_ticks)
  t0=$(now)
  before=$(cpu_ticks)
  line=$(curl -sS --max-time 1800 -o "$resp" -w '%{http_code} %{time_total}' \
    -F "video=@$clip;type=video/mp4" -F fps_fallback=120 -F "ref_len_m=$ref_m" -F "ref_len_px=$ref_px" \
    -F smoothing_window=3 -F "model_variant=$variant" "$base/cv/analyze/video")
  after=$(cpu_ticks)
  t1=$(now)
  sys1=$(sys_ticks)
  read -r code wall <<<"$line"
  if [ "$code" != 200 ]; then
    echo "POST /cv/analyze/video ($variant) answered $code:" >&2
    cat "$resp" >&2
    exit 1
  fi
  "$py" - "$resp" "$variant" "$kind" "$wall" "$((after - before))" "$ticks" "$sys0" "$sys1" "$t0" "$t1" \
    >>"$results" <<'EOF'
import json, sys
resp, variant, kind, wall, cpu, ticks, sys0, sys1, t0, t1 = sys.argv[1:]
r = json.load(open(resp))
t = r["inference_timing"]
print(json.dumps({
    "record": "rust", "variant": variant, "kind": kind, "wall_s": float(wall),
    "own_cpu_s": int(cpu) / int(ticks), "sys0": sys0, "sys1": sys1, "t0": float(t0), "t1": float(t1),
    "ticks": int(ticks),
    "frames": t["frame_count"], "total_ms": t["total_ms"], "avg_ms_per_frame": t["avg_ms_per_frame"],
    "cpu_ms_per_frame": round(int(cpu) / int(ticks) * 1000 / max(t["frame_count"], 1), 1),
    "detections_per_class": r["detections_per_class"], "video": r.get("video"),
    "ball_speed_mps": (r.get("metrics") or {}).get("ball_speed_mps"),
    "launch_deg": (r.get("metrics") or {}).get("launch_deg"),
    "native_crops": r.get("native_crops"), "stopped_after_flight": r.get("stopped_after_flight"),
}))
EOF
  echo "  rust $variant $kind: ${wall}s" >&2
}

baseline() {
  local variant=$1 layout=raw model="$root/models/weights/$1/model.onnx" out sys0 sys1 t0 t1
  [ "$variant" = yolov10 ] && layout=e2e
  shift
  sys0=$(sys_ticks)
  t0=$(now)
  out=$("$py" models/bench/analyze_baseline.py "$clip" --model "$model" --layout "$layout" --max-frames "$FRAMES" "$@")
  t1=$(now)
  sys1=$(sys_ticks)
  "$py" - "$out" "$variant" "$sys0" "$sys1" "$t0" "$t1" "$ticks" >>"$results" <<'EOF'
import json, sys
out, variant, sys0, sys1, t0, t1, ticks = sys.argv[1:]
d = json.loads(out)
d.update(record="python", variant=variant, own_cpu_s=d["process_cpu_s"], sys0=sys0, sys1=sys1,
         t0=float(t0), t1=float(t1), ticks=int(ticks))
print(json.dumps(d))
EOF
  echo "  python $variant $*: $(tail -n1 "$results" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["wall_s"])')s" >&2
}

first=1
for v in $VARIANTS; do
  echo "$v:" >&2
  post "$v" cold
  if [ "$first" = 1 ]; then
    curl -fsS -o /dev/null "$base/ready" || { echo "/ready is not 200 after the first analysis" >&2; exit 1; }
    first=0
  fi
  for r in $(seq 1 "$ROUNDS"); do
    echo " round $r/$ROUNDS" >&2
    post "$v" warm
    baseline "$v" --ort default
    for layout in $PY_TUNED; do
      baseline "$v" --ort tuned --sessions "${layout%x*}" --threads "${layout#*x}" --spinning 0
    done
  done
  echo "{\"record\": \"rss\", \"after\": \"$v\", \"vmhwm_kb\": $(hwm_kb)}" >>"$results"
done

cp "$results" "$bench_dir/analyze-results.jsonl"
echo
cat "$work/conditions.txt"
"$py" - "$results" "$clip" <<'EOF'
import json, statistics, sys
from collections import defaultdict

recs = [json.loads(l) for l in open(sys.argv[1])]
print(f"clip: {sys.argv[2]} (raw records: target/bench/analyze-results.jsonl)")
rss = {r["after"]: r["vmhwm_kb"] for r in recs if r["record"] == "rss"}
variants = list(dict.fromkeys(r["variant"] for r in recs if r["record"] in ("rust", "python")))
med = statistics.median


def others(r):
    """Cores other processes used during the record: at nice 0, and niced (the training job)."""
    a = [int(x) for x in r["sys0"].split()]
    b = [int(x) for x in r["sys1"].split()]
    d = [(y - x) / r["ticks"] for x, y in zip(a, b)]
    wall = r["t1"] - r["t0"]
    busy = d[0] + d[2] + d[5] + d[6]  # user, system, irq, softirq (nice is separate)
    return max(busy - r["own_cpu_s"], 0) / wall, d[1] / wall


def load(rs):
    o = [others(r) for r in rs]
    return f"{med(x for x, _ in o):.2f} / {med(y for _, y in o):.2f}"


print()
print("| variant | side | configuration | cold s | warm s | frames/s | ours ÷ this | CPU ms/frame | peak RSS MB | "
      "others' cores: nice 0 / niced | detections (ball/head) |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
for v in variants:
    rust = [r for r in recs if r["record"] == "rust" and r["variant"] == v]
    cold = [r for r in rust if r["kind"] == "cold"]
    warm = [r for r in rust if r["kind"] == "warm"]
    ours_fps = med(r["frames"] / r["wall_s"] for r in warm)
    d = warm[-1]["detections_per_class"]
    # The dispatcher's peak after this variant's runs (the earlier variants stay loaded).
    peak = rss.get(v)
    print(f"| {v} | Rust dispatcher | 2 sessions x 1 thread (default) | {cold[0]['wall_s']:.1f} | "
          f"{med(r['wall_s'] for r in warm):.1f} | {ours_fps:.2f} | 1.00x | "
          f"{med(r['cpu_ms_per_frame'] for r in warm):.0f} | {peak / 1024:.0f} | {load(warm)} | "
          f"{d['golf_ball']}/{d['club_head']} |")
    py = defaultdict(list)
    for r in recs:
        if r["record"] == "python" and r["variant"] == v:
            cfg = ("ORT defaults, 1 frame at a time" if r["ort"] == "default" else
                   f"{r['sessions']} session{'s' if r['sessions'] > 1 else ''} x {r['intra_threads']} thread{'s' if r['intra_threads'] > 1 else ''}, no spin, pipelined")
            py[cfg].append(r)
    for cfg, rs in py.items():
        fps = med(r["fps"] for r in rs)
        d = rs[-1]["detections_per_class"]
        print(f"| {v} | Python | {cfg} | {rs[0]['load_s'] + rs[0]['wall_s']:.1f} | {med(r['wall_s'] for r in rs):.1f} | "
              f"{fps:.2f} | {ours_fps / fps:.2f}x | {med(r['cpu_ms_per_frame'] for r in rs):.0f} | "
              f"{max(r['peak_rss_kb'] for r in rs) / 1024:.0f} | {load(rs)} | {d['golf_ball']}/{d['club_head']} |")
print()
for v in variants:
    warm = [r for r in recs if r["record"] == "rust" and r["variant"] == v and r["kind"] == "warm"]
    if warm:
        w = warm[-1]
        clip_frames = (w.get("video") or {}).get("frames_total", w["frames"])
        print(f"{v}, Rust: {w['frames']} of {clip_frames} frames detected (stopped after the flight: "
              f"{w.get('stopped_after_flight')}), {w.get('native_crops')} native crops, clip frames/s "
              f"{med(clip_frames / r['wall_s'] for r in warm):.1f}, ball {w['ball_speed_mps']} m/s, launch {w.get('launch_deg')} deg")
print()
print("Per frame, ms (Rust: one thread, one session, stages one after another (make_clip --time-stages);")
print("endpoint: avg_ms_per_frame = letterbox+run+post per frame with 2 sessions running at once, and total_ms):")
print()
print("| variant | side | decode | quality | letterbox | session.run | post | endpoint avg_ms_per_frame | endpoint total_ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for v in variants:
    s = next((r for r in recs if r["record"] == "stages" and r["variant"] == v), None)
    warm = [r for r in recs if r["record"] == "rust" and r["variant"] == v and r["kind"] == "warm"]
    if s:
        print(f"| {v} | Rust | {s['decode_ms']:.2f} | {s['quality_ms']:.2f} | {s['letterbox_ms']:.2f} | {s['run_ms']:.1f} | "
              f"{s['post_ms']:.3f} | {med(r['avg_ms_per_frame'] for r in warm):.1f} | {med(r['total_ms'] for r in warm):.0f} |")
    py = defaultdict(list)
    for r in recs:
        if r["record"] == "python" and r["variant"] == v:
            py[(r["ort"], r["sessions"], r["intra_threads"])].append(r)
    for (o, n, t), rs in py.items():
        label = "Python, ORT defaults" if o == "default" else f"Python, {n}x{t}"
        print(f"| {v} | {label} | {med(r['decode_ms'] for r in rs):.2f} | - | {med(r['letterbox_ms'] for r in rs):.2f} | "
              f"{med(r['run_ms'] for r in rs):.1f} | {med(r['post_ms'] for r in rs):.2f} | - | - |")
EOF
