#!/usr/bin/env python3
"""List the real training photos a detector still gets wrong, so a data yaml can show them twice (issue 28).

    python hard_examples.py --onnx cand.onnx --conf 0.1 --out /work/.cache/golfiq-train/real/hard/train.txt \
        [--folders real/split/train,real/negatives,real/domains] [--iou 0.3] [--threads 2]

Why: at the rule threshold the fine-tuned yolov10 still calls ~0.5 things per real val photo a ball, and
most of them are plain background (text, white plastic, coloured toy balls, monitor edges), not a box
misplaced on a true ball (models/experiments/2026-12-06-hard1.md). A uniform epoch spends most of its
batches on photos the model already gets right. Hard-example mining (the idea of OHEM and of the
bootstrapping used for pedestrian detectors) re-weights the epoch towards the photos that still produce a
false ball or miss a labelled one. Ultralytics reads a ``.txt`` of image paths as a train entry and keeps
duplicate paths, so listing this file beside the folders doubles those photos' weight, with their own
labels: the false balls become background where they stand, at the scale they fire, and the missed balls
stay positives. Cutting crops around the false balls instead would show them at another scale and risk
an unlabelled ball becoming a negative.

Only training folders are read (under ``$GOLFIQ_TRAIN_CACHE``, default /work/.cache/golfiq-train); the
val split and the held-out sets play no part. Matching is ``real_eval.py``'s (greedy by score, IoU >=
``--iou``, native letterbox). The list is sorted, one absolute path a line; a summary goes to stderr and,
with ``--out-json``, to a file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_eval  # noqa: E402
from train import CACHE  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, required=True, help="the yolov10 ONNX export that mines")
    ap.add_argument("--conf", type=float, required=True, help="ball score from which a prediction counts")
    ap.add_argument("--out", type=Path, required=True, help="the list file to write")
    ap.add_argument("--folders", default="real/split/train,real/negatives,real/domains",
                    help="comma list of training folders (each with images/ and labels/), relative to the cache")
    ap.add_argument("--iou", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out-json", type=Path)
    a = ap.parse_args()

    model = real_eval.Model("yolov10", a.onnx, a.conf, a.threads)
    hard, summary = [], {}
    for rel in a.folders.split(","):
        folder = CACHE / rel
        if "split/val" in rel or "heldout" in rel:
            raise SystemExit(f"{rel}: only training folders may be mined")
        index = real_eval.find_index(folder)
        n = n_fp = n_miss = n_hard = fp_total = 0
        for path in real_eval.list_images(folder):
            case = real_eval.load_case(path, index)
            if case is None:
                continue
            img, gt, _source, _scene, r0, _longs, _longs_in = case
            pred = model.balls(img, r0)
            hits, fp = real_eval.match(pred, gt, a.iou)
            missed = len(hits) - sum(hits)
            n += 1
            fp_total += fp
            n_fp += fp > 0
            n_miss += missed > 0
            if fp or missed:
                n_hard += 1
                hard.append(str(path.resolve()))
        summary[rel] = {"images": n, "with_false_ball": n_fp, "with_missed_ball": n_miss, "hard": n_hard,
                        "false_balls": fp_total}
        print(f"{rel}: {n_hard} of {n} hard ({n_fp} with a false ball, {n_miss} with a missed ball; "
              f"{fp_total} false balls)", file=sys.stderr)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("".join(p + "\n" for p in sorted(hard)))
    report = {"onnx": str(a.onnx), "conf": a.conf, "iou": a.iou, "hard": len(hard), "folders": summary}
    if a.out_json:
        a.out_json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{a.out}: {len(hard)} hard photos", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
