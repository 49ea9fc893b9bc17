#!/usr/bin/env python3
"""Ball-centre recall by streak length: the golden bar (centre within 3 px of the truth, in the
frame's own pixels) measured over a whole val split instead of six frames.

Run by hand, like the rest of models/train/ (needs the training venv). Each weights file (a .pt, or
an exported model.onnx, which ultralytics runs through onnxruntime) sees every image of the split
on the same 640x640 letterbox the Rust pipeline uses. For every labelled ball it takes the
best-scoring predicted ball whose centre lies within half the label box's long side (at least 6 px)
and counts a hit when that prediction is within --max-dist px at a score of at least each
--thresholds value (default 0.10 and 0.077, the shipped yolov10's calibrated ball threshold; yolov11's
is 0.151, see each manifest.json). A yolov10 .pt is run on its one-to-one head (nms=False), the one its
model.onnx export runs; ultralytics' default would be the one-to-many head with NMS.
Balls are binned by the label box's long side at 640 scale, which on a streaked
split such as `streakval3` (every airborne ball streaked) is the streak's length; labels that touch
the frame edge (streaks cut by it) are counted in their own line, since their extent box is not
where the visible streak's middle is.

    $C/venv/bin/python models/train/streak_eval.py --data $C/data/streakval3 \
        models/weights/yolov10/model.onnx $C/runs/<run>/weights/best.pt
"""
import argparse
import glob
import math
import os

BINS = [(0, 8), (8, 20), (20, 40), (40, 80), (80, math.inf)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--data", required=True, help="dataset dir with images/val and labels/val")
    ap.add_argument("--split", default="val")
    ap.add_argument("--max-dist", type=float, default=3.0)
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.10, 0.077])
    a = ap.parse_args()

    import cv2
    import numpy as np
    import torch
    from onnx_check import letterbox_canvas  # the Rust pipeline's letterbox, as onnx_check mirrors it
    from ultralytics import YOLO
    from train import shipped_head, variant_of_yaml

    torch.set_num_threads(1)
    images = sorted(glob.glob(os.path.join(a.data, "images", a.split, "*.jpg")))
    for weights in a.weights:
        model = YOLO(weights, task="detect")
        # A .pt names the yaml it was built from, and so its variant; an exported model.onnx runs one head.
        head = shipped_head(variant_of_yaml(model.model.yaml.get("yaml_file", ""))) if weights.endswith(".pt") else {}
        rows = {key: [] for key in BINS + ["edge"]}  # per ball: (score, dist) of the match, or None
        for path in images:
            im = cv2.imread(path)
            h, w = im.shape[:2]
            canvas, s, px, py = letterbox_canvas(im)
            r = model.predict(canvas, imgsz=640, conf=0.03, device="cpu", verbose=False, **head)[0]
            balls = [(sc, ((b[0] + b[2]) / 2 - px) / s, ((b[1] + b[3]) / 2 - py) / s)
                     for b, c, sc in zip(r.boxes.xyxy.tolist(), r.boxes.cls.tolist(), r.boxes.conf.tolist())
                     if int(c) == 0]
            label = path.replace(f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}").rsplit(".", 1)[0] + ".txt"
            for line in open(label):
                cls, cx, cy, bw, bh = map(float, line.split())
                if int(cls) != 0:
                    continue
                gx, gy, gw, gh = cx * w, cy * h, bw * w, bh * h
                at_edge = gx - gw / 2 <= 0.5 or gy - gh / 2 <= 0.5 or gx + gw / 2 >= w - 0.5 or gy + gh / 2 >= h - 0.5
                long_side = max(gw, gh) * s
                key = "edge" if at_edge else next(b for b in BINS if b[0] <= long_side < b[1])
                radius = max(6.0, max(gw, gh) / 2)
                near = [(sc, math.hypot(x - gx, y - gy)) for sc, x, y in balls if math.hypot(x - gx, y - gy) <= radius]
                rows[key].append(max(near) if near else None)
        print(weights)
        for key, found in rows.items():
            if not found:
                continue
            name = "at the frame edge" if key == "edge" else f"box {key[0]:>2}-{key[1]:<3} px"
            hits = "  ".join(
                f">={t:g}: {sum(1 for m in found if m and m[1] <= a.max_dist and m[0] >= t) / len(found):6.1%}"
                for t in a.thresholds)
            dists = [m[1] for m in found if m]
            median = f"{np.median(dists):5.1f}" if dists else "  -  "
            print(f"  {name:<18} n {len(found):3d}  within {a.max_dist:g} px {hits}  median dist {median} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
