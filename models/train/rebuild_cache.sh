#!/usr/bin/env bash
# Rebuilds the training cache ($C) on a fresh machine: venv, real photo sets, rendered sets, derived sets, data yamls.
#
# The cache (/work/.cache/golfiq-train, or GOLFIQ_TRAIN_CACHE) is not part of the repository and does not
# survive a new machine. This script recreates everything the detector runs of issue 28 read, in order, and
# skips any step whose output is already there, so it can be rerun after an interruption. It downloads only
# from PyPI; the four photo sources come from GitHub mirrors that the sandbox's `fetch` tool brings (the
# script stops and names the missing ones). Runs, checkpoints and logs are not recreated: training is
# described in models/README.md and the experiment records.
#
#   bash models/train/rebuild_cache.sh [--screen-weights PT] [--hard-onnx ONNX --hard-conf T] [--hard2-onnx ONNX]
#
# --screen-weights: a detector that has seen real balls, to drop negative crops holding an unlabelled ball
# (real_negatives.py). Default: no screen. The committed checkpoint has seen rendered balls only: as a
# screen it dropped 314 of 1014 crops, mostly the textures it takes for balls, which are the negatives
# wanted most.
# --hard-onnx / --hard-conf: the detector and ball score that mine the hard-example list realmix6 adds
# (hard_examples.py); without them there is no list and no realmix6 / realmix7. Mine with the newest
# real-trained candidate (check_candidate.sh's OUT/cand.onnx) at about 0.1: the shipped weights call 7 things
# a photo a ball, so they would list nearly every photo. The list yolov10-hard1 trained on came from a soup
# of direct3/direct4 checkpoints (experiments/2026-12-06-hard1.md), which a lost cache cannot recreate.
# --hard2-onnx: a later candidate that mines the list again (real/hard/train2.txt, at --hard-conf), for
# realmix8. A list goes stale as the model moves; yolov10-hard2 trained on one mined with hard1's last
# checkpoint (experiments/2026-12-06-hard2.md).
# About 13 minutes on two cores: pip ~4, the rendered sets ~5, the rest ~4, mining hard examples ~7 more.
set -euo pipefail

cd "$(dirname "$0")/../.."
C=${GOLFIQ_TRAIN_CACHE:-/work/.cache/golfiq-train}
SCREEN= HARD_ONNX= HARD2_ONNX= HARD_CONF=0.1
while [[ $# -gt 0 ]]; do
  case $1 in
    --screen-weights) SCREEN=$2; shift 2 ;;
    --hard-onnx) HARD_ONNX=$2; shift 2 ;;
    --hard2-onnx) HARD2_ONNX=$2; shift 2 ;;
    --hard-conf) HARD_CONF=$2; shift 2 ;;
    *) echo "usage: $0 [--screen-weights PT] [--hard-onnx ONNX --hard-conf T] [--hard2-onnx ONNX]" >&2; exit 2 ;;
  esac
done

export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=0 YOLO_CONFIG_DIR=$C/yolo_config GOLFIQ_TRAIN_CACHE=$C
PY=$C/venv/bin/python
G=models/train/gen_dataset.py
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
mkdir -p "$C/logs" "$C/data"

step "venv"
if [[ ! -x $PY ]] || ! $PY -c 'import ultralytics, onnxruntime, cv2' 2>/dev/null; then
  python3 -m venv "$C/venv"
  nice -n 19 "$C/venv/bin/pip" install -q ultralytics onnx 'onnxruntime==1.23.*' onnxslim opencv-python-headless
fi

step "mirrors"
missing=0
for repo in Izzrieq+Driving-Range-Detection-AI jeshernandez+PiTrac bc005007+YOLO_GOLF wengmister+Apex-Putter; do
  if [[ ! -d /work/.mirror/$repo ]]; then
    echo "missing mirror: fetch github:${repo/+//}"
    missing=1
  fi
done
[[ $missing = 0 ]] || exit 1

step "real photo sets (real_data.py)"
[[ -f $C/real/index.json ]] || nice -n 19 $PY models/train/real_data.py --clean

step "rendered sets (gen_dataset.py)"
render() { # name, then gen_dataset's arguments
  local name=$1; shift
  [[ -f $C/data/$name/golf.yaml ]] || nice -n 19 $PY $G --out "$C/data/$name" "$@"
}
render golf3 --n 120 --split val
render golf10 --n 1000 --offset 8400 --streak-rate 0.8 --flight-share 0.5 --split train
render golf11 --n 600 --offset 9400 --streak-rate 1.0 --flight-share 0.5 --ball-min-d640 20 --split train
render golf12 --n 600 --offset 10000 --streak-rate 1.0 --flight-share 1.0 --ball-min-d640 6 --ball-max-d640 16 --split train
# golf13: small balls that do not move (teed, on the ground, unstreaked in the air), golden_04's kind
render golf13 --n 600 --offset 10600 --streak-rate 0.0 --flight-share 0 --ball-min-d640 4 --ball-max-d640 16 --split train
if [[ ! -f $C/data/cal/golf.yaml ]]; then
  nice -n 19 $PY $G --out "$C/data/cal" --n 600 --offset 3000 --split val
  sed -i "s#^path:.*#path: $C/data#; s#^val:.*#val: [golf3/images/val, cal/images/val]#; s#^train:.*#train: golf3/images/val#" \
    "$C/data/cal/golf.yaml"
fi

step "real negatives (real_negatives.py, screen: ${SCREEN:-none})"
[[ -d $C/real/negatives/images ]] || nice -n 19 $PY models/train/real_negatives.py --clean \
  --per-image 1 --limit 700 --max-balls 3 ${SCREEN:+--screen-weights "$SCREEN"}

step "camera looks (real_domains.py)"
[[ -d $C/real/domains/images ]] || nice -n 19 $PY models/train/real_domains.py --clean

step "hard examples (hard_examples.py at $HARD_CONF: first list ${HARD_ONNX:-no miner given}, second ${HARD2_ONNX:-no miner given})"
mine() { # list name under real/hard, then the miner's ONNX (none: no list)
  [[ -f $C/real/hard/$1.txt || -z $2 ]] || nice -n 19 $PY models/train/hard_examples.py --onnx "$2" \
    --conf "$HARD_CONF" --out "$C/real/hard/$1.txt" --out-json "$C/real/hard/$1.json"
}
mine train "$HARD_ONNX"
mine train2 "$HARD2_ONNX"

step "data yamls"
mix() { # name, then the train folders (relative to $C)
  local name=$1 list n=0 d; shift
  list=$(printf '%s, ' "$@")
  mkdir -p "$C/data/$name"
  printf 'path: %s\ntrain: [%s]\nval: real/split/val/images\nnc: 2\nnames:\n  0: golf_ball\n  1: club_head\n' \
    "$C" "${list%, }" > "$C/data/$name/golf.yaml"
  for d in "$@"; do # a folder of images, or a list file of image paths
    if [[ -d $C/$d ]]; then n=$((n + $(find -L "$C/$d" -maxdepth 1 -type f | wc -l))); else n=$((n + $(wc -l < "$C/$d"))); fi
  done
  echo "$name: $n training images"
}
SYNTH=(data/golf10/images/train data/golf11/images/train data/golf12/images/train)
mix realmix2 real/split/train/images real/negatives/images "${SYNTH[@]}"
mix realmix4 real/split/train/images real/negatives/images real/domains/images "${SYNTH[@]}"
# realmix5 lists the two streak sets twice: ultralytics keeps duplicate image paths, so they count twice
# an epoch (the rendered side's weight, up from 2200 to 3400 of 7806 images; experiments/2026-12-06-direct4.md)
mix realmix5 real/split/train/images real/negatives/images real/domains/images "${SYNTH[@]}" "${SYNTH[@]:1}"
if [[ -f $C/real/hard/train.txt ]]; then
  # realmix6 adds the mined hard photos once more (their own labels): the epoch leans towards the photos
  # that still give a false ball or miss one (experiments/2026-12-06-hard1.md)
  mix realmix6 real/split/train/images real/negatives/images real/domains/images "${SYNTH[@]}" "${SYNTH[@]:1}" \
    real/hard/train.txt
  # realmix7 adds golf13: the real fine-tune lost small still balls first (golden_04, teed balls at 360p)
  mix realmix7 real/split/train/images real/negatives/images real/domains/images "${SYNTH[@]}" "${SYNTH[@]:1}" \
    real/hard/train.txt data/golf13/images/train
else
  echo "no hard-example list: realmix6 and realmix7 skipped (--hard-onnx)"
fi
if [[ -f $C/real/hard/train2.txt ]]; then
  # realmix8: the list mined again with a newer candidate in place of the first, and the club-head-rich
  # golf10 twice: the hard-example runs lost pre-impact club heads (experiments/2026-12-06-hard2.md)
  mix realmix8 real/split/train/images real/negatives/images real/domains/images "${SYNTH[0]}" "${SYNTH[@]}" \
    "${SYNTH[@]:1}" real/hard/train2.txt data/golf13/images/train
else
  echo "no second hard-example list: realmix8 skipped (--hard2-onnx)"
fi
