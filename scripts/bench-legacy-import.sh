#!/usr/bin/env bash
# Importing the original server's runs (docs/PERFORMANCE.md, "Importing the original server's
# runs"): writes N records in its format (<dir>/<uuid4>/run.json, created over 60 days, a mix of
# statuses and sources), then times, on the same disk:
#   baseline   cp -r of the original directory followed by sync (moving the files as they are)
#   import     golfiq-admin runs import <dir> into an empty file store (every write fsynced)
#   re-import  the same command again (everything already imported: the ledger answers)
# and prints each with its ratio to the baseline, plus one page of GET /runs/v1 over the result.
#
#   scripts/bench-legacy-import.sh [N]      (N = 10000 by default; about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
# shellcheck source=scripts/start-dispatcher.sh
. scripts/start-dispatcher.sh
bench_workdir -p admin --bin golfiq-admin
python3 - "$work/original" "$n" <<'PY'
import json, os, random, sys, time, uuid
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
now = time.time()
for _ in range(n):
    rid, ts = str(uuid.uuid4()), now - random.random() * 60 * 86400
    status = random.choice(["succeeded", "succeeded", "failed", "processing"])
    source_type = random.choice(["analyze", "analyze_video", "range"])
    kind = {"analyze": "zip", "analyze_video": "video", "range": "range"}[source_type]
    done = status != "processing"
    record = {
        "run_id": rid, "created_ts": ts, "updated_ts": ts + 1.2, "status": status, "source": "real",
        "source_type": source_type, "mode": "detector", "started_ts": ts + 0.05,
        "finished_ts": ts + 1.2 if done else None, "params": {"fps": 120.0},
        "metrics": {"ballSpeedMps": 60.0} if status == "succeeded" else {}, "events": [],
        "model_variant_requested": None, "model_variant_selected": random.choice(["yolov10", "yolov11"]),
        "override_source": "env_default",
        "inference_timing": {"total_ms": 800.0, "avg_ms_per_frame": 6.2, "frame_count": 128} if done else None,
        "error_code": "VIDEO_DECODE_ERROR" if status == "failed" else None,
        "error_message": "could not decode video" if status == "failed" else None,
        "input_ref": {"filename": "swing.mp4", "type": kind}, "impact_preview": None, "metadata": {},
    }
    os.makedirs(f"{root}/{rid}")
    with open(f"{root}/{rid}/run.json", "w") as f:
        json.dump(record, f, indent=2)
PY
sync
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"; }
export RUN_STORE_DIR="$work/store" RUNS_UPLOAD_DIR="$work/uploads" FEATURE_FLAGS_CONFIG_PATH="$work/config/flags.json"
base=$(seconds sh -c "cp -r '$work/original' '$work/copy' && sync")
import=$(seconds target/release/golfiq-admin runs import "$work/original")
again=$(seconds target/release/golfiq-admin runs import "$work/original")
printf '%-10s %8s %8s\n' step seconds ratio
for row in "baseline $base" "import $import" "re-import $again"; do
  set -- $row
  printf '%-10s %8.2f %7.2fx\n' "$1" "$2" "$(python3 -c "print($2 / $base)")"
done
start_dispatcher "$work/dispatcher" RUN_STORE_DIR="$work/store"
for q in "limit=50" "limit=50&kind=video" "limit=50&status=failed&kind=range"; do
  curl -s -o /dev/null "$base/runs/v1?$q"
  curl -s -o /dev/null -w "GET /runs/v1?$q: %{time_total} s\n" "$base/runs/v1?$q"
done
