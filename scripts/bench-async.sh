#!/usr/bin/env bash
# Asynchronous submit against synchronous analysis (docs/PERFORMANCE.md, "Asynchronous analyses"):
# the release dispatcher with its in-process queue; one 1280x720 golden frame POSTed to
# /cv/analyze N times synchronously (baseline: the wall time of an analysis), then N times with
# Prefer: respond-async back to back (the 202's wall time), then the time until every queued run
# is finished. Prints medians and ratios to the synchronous median.
#
#   scripts/bench-async.sh [N]      (N = 10 by default; under a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10}"
# shellcheck source=scripts/start-dispatcher.sh
. scripts/start-dispatcher.sh
bench_workdir
start_dispatcher "$work"
img=models/train/golden/golden_00.jpg
post() { curl -s -o "$work/last.json" -w '%{time_total}\n' -H 'content-type: image/jpeg' "$@" --data-binary "@$img" "$base/cv/analyze"; }
post >/dev/null # warm-up: loads the model
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
sync=$(for _ in $(seq "$n"); do post; done | median)
t0=$(date +%s.%N)
ids=()
times=()
for _ in $(seq "$n"); do
  times+=("$(post -H 'prefer: respond-async')")
  ids+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$work/last.json")")
done
accepted=$(printf '%s\n' "${times[@]}" | median)
for id in "${ids[@]}"; do
  until curl -s "$base/runs/v1/$id" | grep -q '"status":"succeeded"\|"status":"failed"'; do sleep 0.05; done
done
drained=$(python3 -c "import time; print(time.time() - $t0)")
ratio() { python3 -c "print(f'{$1 / $sync:.3f}x')"; }
printf 'synchronous analysis, median s: %.3f (1.000x)\n' "$sync"
printf '202 Accepted, median s:         %.4f (%s)\n' "$accepted" "$(ratio "$accepted")"
printf '%d queued runs all finished, s:  %.2f (%s of one synchronous analysis)\n' "$n" "$drained" "$(ratio "$drained")"
