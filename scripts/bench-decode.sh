#!/usr/bin/env bash
# Decode speed against ffmpeg (docs/PERFORMANCE.md, "Video decode"): a 3 s 720p 120 fps H.264 clip
# and a 2 s 1080p 240 fps HEVC clip (ffmpeg's testsrc2 pattern with per-frame noise, so the streams
# carry real residuals; a keyframe a second), decoded by `analyze::video` to upright RGB
# (functions/analyze/examples/decode_speed.rs) and by ffmpeg on one thread, both to nothing
# (`-f null`, decode only) and to RGB (`-pix_fmt rgb24 -f null`, decode and conversion), best of
# ROUNDS each, interleaved in the same run. Prints frames/s and ours / ffmpeg as a ratio (goal >= 0.8
# of ffmpeg's single-threaded decode). Ratios within one run only: the machine is shared.
#
#   scripts/bench-decode.sh      (about 3 minutes on 2 shared cores; ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
./scripts/setup-ffmpeg.sh
target="${CARGO_TARGET_DIR:-$PWD/target}"
dir="$target/bench/decode"
mkdir -p "$dir"
h264="$dir/h264-1280x720-120fps-3s.mp4"
hevc="$dir/hevc-1920x1080-240fps-2s.mov"
[ -s "$h264" ] || ffmpeg -v error -y -f lavfi -i "testsrc2=s=1280x720:r=120,noise=alls=12:allf=t" -t 3 \
  -c:v libx264 -preset veryfast -crf 20 -g 120 -pix_fmt yuv420p "$h264"
[ -s "$hevc" ] || ffmpeg -v error -y -f lavfi -i "testsrc2=s=1920x1080:r=240,noise=alls=12:allf=t" -t 2 \
  -c:v libx265 -preset ultrafast -crf 22 -x265-params log-level=error:keyint=240 -tag:v hvc1 -pix_fmt yuv420p "$hevc"
cargo build -q --release -p analyze --example decode_speed
best_ffmpeg() { # seconds, best of ROUNDS: ffmpeg single-threaded decode of $1 with extra output args
  local clip=$1; shift
  local best=999999
  for _ in $(seq "$ROUNDS"); do
    local s e
    s=$(date +%s.%N)
    ffmpeg -v error -threads 1 -i "$clip" -an "$@" -f null -
    e=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $e - $s))")
  done
  echo "$best"
}
printf '%-8s %7s %12s %14s %16s %10s %10s\n' clip frames "ours fps" "ffmpeg null" "ffmpeg rgb24" "vs null" "vs rgb24"
for clip in "$h264" "$hevc"; do
  read -r _ frames ours < <(ROUNDS=$ROUNDS "$target/release/examples/decode_speed" "$clip")
  null=$(best_ffmpeg "$clip")
  rgb=$(best_ffmpeg "$clip" -pix_fmt rgb24)
  python3 - "$(basename "$clip" | cut -d- -f1)" "$frames" "$ours" "$null" "$rgb" <<'PY'
import sys
name, frames, ours, null, rgb = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
fps = lambda s: frames / s
print(f"{name:<8} {frames:>7} {fps(ours):>12.1f} {fps(null):>14.1f} {fps(rgb):>16.1f} {null / ours:>10.2f} {rgb / ours:>10.2f}")
PY
done
