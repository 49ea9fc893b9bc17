#!/usr/bin/env python3
"""Reference pre/post-processing for models/weights/<variant>/model.onnx, checked on the golden frames.

    python onnx_check.py --variant yolov11 [--golden models/train/golden] [--conf 0.25]

Prints the output shape, then per golden frame: the top golf_ball detection's centre error (px, in
original-frame coordinates) against ground_truth.json, and the top club_head detection's IoU with the
ground-truth head box.  This mirrors what the Rust side has to do: letterbox to 640 (pad 114), RGB/255
NCHW, then decode ([1,300,6] for yolov10, [1,6,8400] + NMS for yolov11) and undo the letterbox.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent


def letterbox_canvas(img_bgr, size=640):
    """The BGR uint8 size x size letterbox (pad 114) with its scale and left / top padding."""
    h, w = img_bgr.shape[:2]
    r = min(size / h, size / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    px, py = (size - nw) / 2, (size - nh) / 2
    out = np.full((size, size, 3), 114, np.uint8)
    left, top = int(round(px - 0.1)), int(round(py - 0.1))
    out[top:top + nh, left:left + nw] = cv2.resize(img_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, r, left, top


def letterbox(img_bgr, size=640):
    out, r, left, top = letterbox_canvas(img_bgr, size)
    x = out[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(x), r, left, top


def decode(out, variant, conf, iou=0.5):
    """Returns array [N, 6] = x1, y1, x2, y2, score, cls in letterboxed 640 px.

    Both layouts get per-class NMS at ``iou``, as the server does (models/src/decode.rs): the yolov10
    one-to-one head still emits lower-scored near-copies of a box at low thresholds."""
    if variant == "yolov10":
        d = out[0]
        d = d[d[:, 4] >= conf]
        return nms_per_class(d[:, :4], d[:, 4], d[:, 5].round().astype(int), conf, iou)
    p = out[0].T  # [8400, 6]: cx, cy, w, h, s0, s1
    cls = p[:, 4:].argmax(1)
    sc = p[:, 4:].max(1)
    keep = sc >= conf
    p, cls, sc = p[keep], cls[keep], sc[keep]
    boxes = np.stack([p[:, 0] - p[:, 2] / 2, p[:, 1] - p[:, 3] / 2, p[:, 0] + p[:, 2] / 2, p[:, 1] + p[:, 3] / 2], 1)
    return nms_per_class(boxes, sc, cls, conf, iou)


def nms_per_class(boxes, sc, cls, conf, iou):
    """[N, 6] = x1, y1, x2, y2, score, cls: per-class NMS of xyxy boxes, highest score first."""
    res = []
    for c in (0, 1):
        m = cls == c
        if not m.any():
            continue
        b, s = boxes[m], sc[m]
        idx = cv2.dnn.NMSBoxes([[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in b],
                               s.tolist(), conf, iou)
        for i in np.array(idx).reshape(-1):
            res.append([*b[i], s[i], c])
    res.sort(key=lambda r: -r[4])
    return np.array(res, np.float32).reshape(-1, 6)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", required=True, choices=["yolov10", "yolov11"])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--golden", type=Path, default=HERE / "golden")
    ap.add_argument("--conf", type=float, default=0.25)
    a = ap.parse_args(argv)
    model = a.model or HERE.parent / "weights" / a.variant / "model.onnx"
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    gt = json.loads((a.golden / "ground_truth.json").read_text())
    print(f"onnxruntime {ort.__version__}; {model}")
    for f in gt["frames"]:
        img = cv2.imread(str(a.golden / f["file"]))
        x, r, left, top = letterbox(img)
        out = sess.run(None, {inp: x})[0]
        det = decode(out, a.variant, a.conf)
        det[:, [0, 2]] = (det[:, [0, 2]] - left) / r
        det[:, [1, 3]] = (det[:, [1, 3]] - top) / r
        msg = [f"{f['file']} out{list(out.shape)}"]
        balls = det[det[:, 5] == 0]
        if len(balls):
            b = balls[balls[:, 4].argmax()]
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            err = float(np.hypot(cx - f["ball"]["cx"], cy - f["ball"]["cy"]))
            msg.append(f"ball score {b[4]:.2f} centre err {err:.1f}px (d={f['ball']['diameter']:.0f})")
        else:
            msg.append("ball: none")
        heads = det[det[:, 5] == 1]
        if len(heads) and f.get("club_head"):
            h = heads[heads[:, 4].argmax()]
            msg.append(f"head score {h[4]:.2f} IoU {iou(h[:4], f['club_head']['box']):.2f}")
        else:
            msg.append("head: none")
        print("  " + "; ".join(msg))


if __name__ == "__main__":
    main()
