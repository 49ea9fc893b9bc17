#!/usr/bin/env bash
# Peak memory of a long phone clip (docs/PERFORMANCE.md, "Video decode"): a 10 s 1920x1080 240 fps
# HEVC .mov (2400 frames, ANALYZE_MAX_VIDEO_FRAMES; grass-green with sensor noise and a slowly
# panning grid, so there is no ball and the watch decodes every frame: the worst case) POSTed to
# /cv/analyze/video of the release
# dispatcher. Prints the dispatcher's peak RSS (VmHWM) after start-up and after the analysis, the
# clip's size and the answer's scan. Goal: peak under 600 MB.
#
#   scripts/bench-memory.sh      (about 3 minutes on 2 shared cores, most of it encoding the clip)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-ffmpeg.sh
./scripts/setup-ort.sh
target="${CARGO_TARGET_DIR:-$PWD/target}"
dir="$target/bench/decode"
mkdir -p "$dir"
clip="$dir/hevc-1920x1080-240fps-10s-grass.mov"
[ -s "$clip" ] || nice ffmpeg -v error -y -f lavfi -i "color=c=0x3a7d3a:s=1920x1080:r=240,drawgrid=w=160:h=160:t=2:c=0x2f662f,scroll=h=0.0005,noise=alls=10:allf=t" -t 10 \
  -c:v libx265 -preset ultrafast -crf 20 -x265-params log-level=error:keyint=240 -tag:v hvc1 -pix_fmt yuv420p "$clip"
# shellcheck source=scripts/start-dispatcher.sh
. scripts/start-dispatcher.sh
bench_workdir
start_dispatcher "$work"
hwm() { awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$dispatcher_pid/status"; }
echo "clip: $(basename "$clip"), $(du -m "$clip" | cut -f1) MB"
echo "dispatcher peak RSS after start-up: $(hwm)"
start=$(date +%s.%N)
code=$(curl -sS --max-time 1800 -o "$work/resp.json" -w '%{http_code}' -F "video=@$clip;type=video/quicktime" \
  -F model_variant=yolov11 "$base/cv/analyze/video")
end=$(date +%s.%N)
echo "answer: HTTP $code in $(python3 -c "print(round($end - $start, 1))") s; $(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print("shot", b.get("shot"), "scan", b.get("scan"), "video", {k: b.get("video", {}).get(k) for k in ("codec", "frames_total", "frames_decoded")})' "$work/resp.json")"
echo "dispatcher peak RSS after the analysis: $(hwm)"
