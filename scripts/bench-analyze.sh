#!/usr/bin/env bash
# The analyze benchmark (docs/PERFORMANCE.md, "Analyze: a phone clip end to end"): a rendered 4 s,
# 120 fps, 1280x720 phone clip of a whole swing with the shot 2.8 s in (tests/src/bin/make_clip.rs
# --phone), and the same shot trimmed to start 0.25 s before launch, POSTed to /cv/analyze/video of
# the release dispatcher; beside them, in the same run, the Python baseline
# (models/bench/analyze_baseline.py: cv2 decode, the same letterbox, onnxruntime, every frame) on
# the full clip. ROUNDS rounds, each [full, trimmed, Python], interleaved so every side sees the same
# background load; one cold request first (its model load is not counted). Prints two figures:
#   lead-in cost = ours on the full clip / ours on the trimmed clip       (goal <= 1.3x)
#   speed-up     = the Python baseline on the full clip / ours on it      (goal >= 8x)
#   tracer cost  = the tracer's time / the rest of the analysis, full clip (goal <= 0.3x)
# Ratios within one run, never absolute times: the machine is shared.
#
#   scripts/bench-analyze.sh          (make bench runs it; about 10 minutes on 2 shared cores)
#   ROUNDS=1 VARIANT=yolov10 PY_LAYOUT=2x1 scripts/bench-analyze.sh
#
# PY_LAYOUT is the baseline's layout SESSIONSxTHREADS (the fastest Python layout measured here was
# 1x2: one session of two intra-op threads, spinning off, frames pipelined from a decode thread).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ROUNDS="${ROUNDS:-3}"
VARIANT="${VARIANT:-yolov11}"
PY_LAYOUT="${PY_LAYOUT:-1x2}"
SECONDS_LONG=4
IMPACT_S=2.8
FPS=120
target="${CARGO_TARGET_DIR:-$root/target}"
bench_dir="$target/bench"
full="$bench_dir/phone-1280x720-${FPS}fps-${SECONDS_LONG}s-impact${IMPACT_S}.mp4"
trimmed="${full%.mp4}-trimmed.mp4"
py="$root/.tools/bench/bin/python"

./scripts/setup-bench.sh
./scripts/setup-ort.sh
cargo build --release -p local --bin dispatcher -p golfiq-tests --bin make_clip
mkdir -p "$bench_dir"
field() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
if [ ! -s "$full.json" ] || [ "$target/release/make_clip" -nt "$full" ]; then
  echo "rendering and encoding the clips (a few minutes)..." >&2
  "$target/release/make_clip" "$full" --phone "$SECONDS_LONG" "$IMPACT_S" >"$full.json"
  impact=$(field "$full.json" impact_frame)
  from=$((impact + 1 - FPS / 4))
  "$target/release/make_clip" "$trimmed" --phone "$SECONDS_LONG" "$IMPACT_S" --from-frame "$from" >"$trimmed.json"
fi
ref_m=$(field "$full.json" ref_len_m)
ref_px=$(field "$full.json" ref_len_px)

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

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cores: $(nproc)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "full clip:    $(cat "$full.json")"
  echo "trimmed clip: $(cat "$trimmed.json")"
} | tee "$work/conditions.txt"

# shellcheck source=scripts/start-dispatcher.sh
. scripts/start-dispatcher.sh
start_dispatcher "$work" MODEL_VARIANT="$VARIANT"

# One POST of clip $2 (kind $1); appends its record to $results.
post() {
  local kind=$1 clip=$2 resp="$work/resp.json" line code wall
  line=$(curl -sS --max-time 1800 -o "$resp" -w '%{http_code} %{time_total}' \
    -F "video=@$clip;type=video/mp4" -F "ref_len_m=$ref_m" -F "ref_len_px=$ref_px" \
    -F "model_variant=$VARIANT" "$base/cv/analyze/video")
  read -r code wall <<<"$line"
  if [ "$code" != 200 ]; then
    echo "POST /cv/analyze/video ($kind) answered $code:" >&2
    cat "$resp" >&2
    exit 1
  fi
  "$py" - "$resp" "$kind" "$wall" >>"$results" <<'EOF'
import json, sys
resp, kind, wall = sys.argv[1:]
r = json.load(open(resp))
m = r.get("metrics") or {}
print(json.dumps({"record": "rust", "kind": kind, "wall_s": float(wall), "shot": r.get("shot"),
                  "scan": r.get("scan"), "video": r.get("video"), "ball_speed_mps": m.get("ball_speed_mps"),
                  "launch_deg": m.get("launch_deg"), "impact_frame": m.get("impact_frame"),
                  "total_ms": (r.get("inference_timing") or {}).get("total_ms"), "tracer": r.get("tracer")}))
EOF
  echo "  rust $kind: ${wall}s" >&2
}

baseline() {
  local layout=raw model="$root/models/weights/$VARIANT/model.onnx" out frames
  [ "$VARIANT" = yolov10 ] && layout=e2e
  frames=$(field "$full.json" frames)
  out=$("$py" models/bench/analyze_baseline.py "$full" --model "$model" --layout "$layout" --max-frames "$frames" \
    --ort tuned --sessions "${PY_LAYOUT%x*}" --threads "${PY_LAYOUT#*x}" --spinning 0)
  echo "$out" | "$py" -c 'import json,sys; d=json.load(sys.stdin); d["record"]="python"; print(json.dumps(d))' >>"$results"
  echo "  python $PY_LAYOUT: $(tail -n1 "$results" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["wall_s"])')s" >&2
}

post cold "$full"
for r in $(seq 1 "$ROUNDS"); do
  echo " round $r/$ROUNDS" >&2
  post full "$full"
  post trimmed "$trimmed"
  baseline
done

cp "$results" "$bench_dir/analyze-results.jsonl"
echo
cat "$work/conditions.txt"
"$py" - "$results" "$full.json" "$trimmed.json" "$VARIANT" "$PY_LAYOUT" <<'EOF'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
full_clip, trim_clip = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
variant, layout = sys.argv[4], sys.argv[5]
med = statistics.median
def rows(kind):
    return [r for r in recs if r["record"] == "rust" and r["kind"] == kind]
full, trim = rows("full"), rows("trimmed")
py = [r for r in recs if r["record"] == "python"]
f, t, p = med(r["wall_s"] for r in full), med(r["wall_s"] for r in trim), med(r["wall_s"] for r in py)
print(f"variant {variant}; truth {full_clip['ball_speed_mps']:.2f} m/s, {full_clip['launch_deg']:.2f} deg, impact frame {full_clip['impact_frame']}")
print()
print("| clip | frames | median s | detector calls | frames decoded | ball m/s | launch deg | impact frame |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, rs, clip, offset in (("full (4 s, shot at 2.8 s)", full, full_clip, 0), ("trimmed (0.25 s before launch)", trim, trim_clip, trim_clip["from_frame"])):
    w = rs[-1]
    imp = w["impact_frame"]
    print(f"| {name} | {clip['frames']} | {med(r['wall_s'] for r in rs):.2f} | {w['scan']['detector_calls']} | "
          f"{w['video']['frames_decoded']} | {w['ball_speed_mps']} | {w['launch_deg']} | {None if imp is None else imp + offset} |")
print(f"| Python baseline {layout}, full clip, every frame | {full_clip['frames']} | {p:.2f} | {py[-1].get('frames')} | - | - | - | - |")
print()
print(f"lead-in cost: {f / t:.2f}x (full clip / trimmed; goal <= 1.3x)")
print(f"speed-up over the Python baseline on the full clip: {p / f:.1f}x (goal >= 8x)")
traced = [r for r in full if r.get("tracer")]
if traced:
    tr = traced[-1]["tracer"]
    share = med(r["tracer"]["ms"] / (r["total_ms"] - r["tracer"]["ms"]) for r in traced)
    print(f"tracer cost: {share:.2f}x the rest of the analysis, median {med(r['tracer']['ms'] for r in traced):.0f} ms "
          f"for clip frames {tr['frames'][0]}-{tr['frames'][1]} ({tr['frames'][1] - tr['frames'][0] + 1} frames; goal <= 0.3x)")
else:
    print("tracer cost: no tracer on the full clip")
EOF
