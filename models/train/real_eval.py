#!/usr/bin/env python3
"""Ball recall and false balls of a shipped ONNX variant on a YOLO-format folder of real photos (issue 28).

    python real_eval.py --variant yolov10 --data /work/.cache/golfiq-train/real/heldout/izzrieq_golfball \
        [--modes native,oracle,pyramid] [--out-json r.json] [--out-md r.md]
    python real_eval.py --variant yolov10 --onnx cand.onnx --data .../real/split/val --sweep 0.05,0.077,0.1,0.15

Pre/post-processing is onnx_check.py's (imported): letterbox to 640 (pad 114), RGB/255, the variant's decode
(yolov10 [1,300,6] thresholded, yolov11 [1,6,8400]; both then per-class NMS, as the server does).  The score threshold is the shipped one
from weights/<variant>/manifest.json: ``class_score_thresholds.golf_ball`` when present, else
``score_threshold`` (else 0.25); ``--conf`` overrides it.  ``--onnx`` evaluates another file of the variant's
layout (a candidate) with the same pre/post-processing.

``--sweep`` (native mode only): one inference pass at the lowest listed threshold, then recall and false balls per
image at each listed threshold, overall and per scene: the table a ball threshold is chosen from.

A predicted golf_ball box is a hit when it matches a not yet matched true ball at IoU >= --iou (0.3),
greedily by score; every other predicted ball is a false ball.  Club heads are not scored (the real sets
label balls only).  Reported: recall and false balls per image, overall, per source / scene (from the
index.json that real_data.py writes, found above --data), and recall per ball-size bin, both by the
ball's longest side in the original image and in model-input pixels (after the native letterbox).

Modes (all share one model session; ``r0`` = 640 / long side, the native letterbox scale):
  native   the image letterboxed to 640 as the server does it.
  oracle   the image scaled by r = min(r0, --oracle-px / longest true ball) and pasted centred into the
           640 canvas (pad 114), so the largest true ball is ~24 px in the model input: an upper bound
           (it uses the truth), images without balls run at r0.
  pyramid  the image at r0 / k for k in --pyramid (1,4,8), each pasted into the 640 canvas; the ball
           boxes of all levels are merged with NMS (IoU 0.5) in original coordinates.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from onnx_check import decode, iou, letterbox_canvas  # noqa: E402

BINS = [0, 8, 16, 32, 64, 128, 256, float("inf")]
SIZE = 640


def bin_name(v):
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        if lo <= v < hi:
            return f"{lo}-{hi}" if hi != float("inf") else f">={lo}"
    return "?"


def bin_names():
    return [bin_name(lo) for lo in BINS[:-1]]


def shipped_threshold(manifest: dict):
    cls = manifest.get("class_score_thresholds") or {}
    if "golf_ball" in cls:
        return float(cls["golf_ball"]), "class_score_thresholds.golf_ball"
    if "score_threshold" in manifest:
        return float(manifest["score_threshold"]), "score_threshold"
    return 0.25, "default 0.25"


def canvas_at(img, r):
    """img resized by r and pasted centred into a 640 canvas (pad 114); r0 gives onnx_check's letterbox."""
    h, w = img.shape[:2]
    nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    px, py = (SIZE - nw) / 2, (SIZE - nh) / 2
    out = np.full((SIZE, SIZE, 3), 114, np.uint8)
    left, top = int(round(px - 0.1)), int(round(py - 0.1))
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    if abs(r - min(SIZE / h, SIZE / w)) < 1e-9:
        interp = cv2.INTER_LINEAR  # exactly onnx_check.letterbox_canvas
    out[top:top + nh, left:left + nw] = cv2.resize(img, (nw, nh), interpolation=interp)
    return out, left, top


class Model:
    def __init__(self, variant, model_path, conf, threads):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        self.inp = self.sess.get_inputs()[0].name
        self.variant, self.conf = variant, conf

    def balls(self, img, r):
        """[N, 5] x1, y1, x2, y2, score of golf_ball boxes in original-image pixels, image scaled by r."""
        can, left, top = canvas_at(img, r)
        x = np.ascontiguousarray(can[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        det = decode(self.sess.run(None, {self.inp: x})[0], self.variant, self.conf)
        det = det[det[:, 5] == 0][:, :5].astype(np.float64)
        det[:, [0, 2]] = (det[:, [0, 2]] - left) / r
        det[:, [1, 3]] = (det[:, [1, 3]] - top) / r
        return det


def nms_union(dets, thr=0.5):
    if not len(dets):
        return dets
    boxes = [[float(d[0]), float(d[1]), float(d[2] - d[0]), float(d[3] - d[1])] for d in dets]
    keep = np.array(cv2.dnn.NMSBoxes(boxes, dets[:, 4].tolist(), 0.0, thr)).reshape(-1)
    return dets[keep]


def match(pred, gt, thr):
    """Greedy by score.  Returns (matched flags per gt, number of false predictions)."""
    hit = [False] * len(gt)
    fp = 0
    for p in pred[np.argsort(-pred[:, 4])] if len(pred) else []:
        best, bi = thr, -1
        for i, g in enumerate(gt):
            if hit[i]:
                continue
            v = iou(p[:4], g)
            if v >= best:
                best, bi = v, i
        if bi >= 0:
            hit[bi] = True
        else:
            fp += 1
    return hit, fp


def read_gt(label_file: Path, w, h):
    boxes = []
    if label_file.exists():
        for row in label_file.read_text().splitlines():
            p = row.split()
            if len(p) >= 5 and int(float(p[0])) == 0:
                cx, cy, bw, bh = (float(v) for v in p[1:5])
                boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    return boxes


def find_index(data: Path):
    for d in [data, *data.resolve().parents]:
        f = d / "index.json"
        if f.exists():
            return {r["key"]: r for r in json.loads(f.read_text())["images"]}
    return {}


def list_images(data: Path):
    if data.is_file():  # a list of image paths, one a line
        return [Path(s) for s in data.read_text().split() if s]
    return sorted(p for p in (data / "images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))


class Acc:
    def __init__(self):
        self.n_img = self.n_gt = self.n_hit = self.n_fp = 0
        self.by_orig = {b: [0, 0] for b in bin_names()}
        self.by_input = {b: [0, 0] for b in bin_names()}

    def add(self, gts_long, gts_in, hits, fp):
        self.n_img += 1
        self.n_gt += len(hits)
        self.n_hit += sum(hits)
        self.n_fp += fp
        for lo, li, h in zip(gts_long, gts_in, hits):
            self.by_orig[bin_name(lo)][0] += 1
            self.by_orig[bin_name(lo)][1] += h
            self.by_input[bin_name(li)][0] += 1
            self.by_input[bin_name(li)][1] += h

    def out(self):
        rec = lambda n, h: round(h / n, 4) if n else None  # noqa: E731
        return {
            "images": self.n_img, "balls": self.n_gt, "hits": self.n_hit,
            "recall": rec(self.n_gt, self.n_hit), "false_balls": self.n_fp,
            "false_per_image": round(self.n_fp / self.n_img, 3) if self.n_img else None,
            "recall_by_longest_px_original": {k: {"n": n, "recall": rec(n, h)} for k, (n, h) in self.by_orig.items() if n},
            "recall_by_longest_px_model_input": {k: {"n": n, "recall": rec(n, h)} for k, (n, h) in self.by_input.items() if n},
        }


def load_case(path: Path, index):
    """(img, true balls, source, scene, native scale r0, longest sides original, longest sides at the input),
    or None for an unreadable image."""
    img = cv2.imread(str(path))
    if img is None:
        print(f"unreadable: {path}", file=sys.stderr)
        return None
    h, w = img.shape[:2]
    gt = read_gt(path.parent.parent / "labels" / (path.stem + ".txt"), w, h)
    meta = index.get(path.stem, {})
    r0 = min(SIZE / h, SIZE / w)
    longs = [max(g[2] - g[0], g[3] - g[1]) for g in gt]
    return img, gt, meta.get("source", path.parent.parent.name), meta.get("scene", "-"), r0, longs, [v * r0 for v in longs]


def evaluate(model, images, index, modes, a):
    accs = {m: {} for m in modes}
    t0 = time.time()
    for k, path in enumerate(images):
        case = load_case(path, index)
        if case is None:
            continue
        img, gt, source, scene, r0, longs, longs_in = case
        native = None
        for m in modes:
            if m == "native":
                pred = native = model.balls(img, r0) if native is None else native
            elif m == "oracle":
                r = min(r0, a.oracle_px / max(longs)) if longs else r0
                pred = model.balls(img, r)
            else:  # pyramid
                levels = []
                for s in a.pyramid:
                    if s == 1 and native is not None:
                        levels.append(native)
                        continue
                    d = model.balls(img, r0 / s)
                    if s == 1:
                        native = d
                    levels.append(d)
                pred = nms_union(np.concatenate(levels, 0) if levels else np.zeros((0, 5)))
            hits, fp = match(pred, gt, a.iou)
            for key in ("all", source, f"{source}/{scene}"):
                accs[m].setdefault(key, Acc()).add(longs, longs_in, hits, fp)
        if (k + 1) % 100 == 0:
            print(f"  {k + 1}/{len(images)} images, {time.time() - t0:.0f} s", file=sys.stderr)
    return {m: {key: acc.out() for key, acc in sorted(v.items())} for m, v in accs.items()}, time.time() - t0


def sweep(model, images, index, thresholds, iou_thr):
    """{threshold: {group: Acc.out()}} from one native pass at min(thresholds)."""
    cache = []
    for path in images:
        case = load_case(path, index)
        if case is not None:
            img, gt, source, scene, r0, longs, longs_in = case
            cache.append((gt, longs, longs_in, f"{source}/{scene}", model.balls(img, r0)))
    out = {}
    for t in thresholds:
        accs = {}
        for gt, longs, longs_in, group, pred in cache:
            hits, fp = match(pred[pred[:, 4] >= t], gt, iou_thr)
            for key in ("all", group):
                accs.setdefault(key, Acc()).add(longs, longs_in, hits, fp)
        out[t] = {key: acc.out() for key, acc in sorted(accs.items())}
    return out


def sweep_markdown(res, variant, data):
    groups = sorted({g for r in res.values() for g in r}, key=lambda g: (g != "all", g))
    out = [f"**{variant}** on `{data}`, native, IoU >= 0.3: recall / false balls per image by ball threshold", "",
           "| group | " + " | ".join(f"{t:g}" for t in res) + " |", "| --- |" + " ---: |" * len(res)]
    for g in groups:
        cells = []
        for t in res:
            r = res[t].get(g)
            cells.append("-" if r is None or r["recall"] is None else f"{r['recall']:.3f} / {r['false_per_image']:.2f}")
        out.append(f"| {g} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def markdown(res, variant, thr, thr_src, data, modes):
    out = [f"**{variant}** on `{data}` (ball score >= {thr} from `{thr_src}`, IoU >= 0.3)", ""]
    out += ["| mode | group | images | balls | recall | false balls / image |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for m in modes:
        for key, r in res[m].items():
            rec = "-" if r["recall"] is None else f"{r['recall']:.3f}"
            out.append(f"| {m} | {key} | {r['images']} | {r['balls']} | {rec} | {r['false_per_image']:.2f} |")
    for m in modes:
        allr = res[m]["all"]
        for kind, title in (("recall_by_longest_px_original", "longest side, original px"),
                            ("recall_by_longest_px_model_input", "longest side, model-input px (native letterbox)")):
            cols = [b for b in bin_names() if b in allr[kind]]
            out += ["", f"{m}, recall by ball size ({title}):", "",
                    "| " + " | ".join(cols) + " |", "|" + " ---: |" * len(cols),
                    "| " + " | ".join(f"{allr[kind][b]['recall']:.2f} (n={allr[kind][b]['n']})" for b in cols) + " |"]
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True, choices=["yolov10", "yolov11"])
    ap.add_argument("--data", type=Path, required=True, help="folder with images/ and labels/ (or a list file)")
    ap.add_argument("--modes", default="native", help="comma list of native, oracle, pyramid")
    ap.add_argument("--conf", type=float, default=None, help="override the manifest threshold")
    ap.add_argument("--onnx", type=Path, help="evaluate this ONNX file instead of the shipped one")
    ap.add_argument("--sweep", help="comma list of ball thresholds: one native pass, a table per threshold")
    ap.add_argument("--iou", type=float, default=0.3)
    ap.add_argument("--oracle-px", type=float, default=24.0)
    ap.add_argument("--pyramid", default="1,4,8", help="downscale factors relative to the native letterbox")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out-json", type=Path)
    ap.add_argument("--out-md", type=Path)
    a = ap.parse_args(argv)
    a.pyramid = [float(s) for s in a.pyramid.split(",")]
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    assert all(m in ("native", "oracle", "pyramid") for m in modes), modes

    wdir = HERE.parent / "weights" / a.variant
    manifest = json.loads((wdir / "manifest.json").read_text())
    thr, thr_src = shipped_threshold(manifest)
    if a.conf is not None:
        thr, thr_src = a.conf, "--conf"
    if a.sweep:
        thresholds = sorted(float(s) for s in a.sweep.split(","))
        thr, thr_src = thresholds[0], "--sweep"
    onnx_path = a.onnx or wdir / manifest["onnx"]["file"]
    model = Model(a.variant, onnx_path, thr, a.threads)

    # the native canvas is exactly onnx_check's letterbox
    probe = np.random.default_rng(0).integers(0, 255, (360, 500, 3), np.uint8)
    assert np.array_equal(canvas_at(probe, min(SIZE / 360, SIZE / 500))[0], letterbox_canvas(probe)[0])

    images = list_images(a.data)
    if a.limit:
        images = images[:a.limit]
    index = find_index(a.data if a.data.is_dir() else a.data.parent)
    sha = hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest()
    if a.sweep:
        t0 = time.time()
        res = sweep(model, images, index, thresholds, a.iou)
        md = sweep_markdown(res, a.variant, a.data)
        print(md)
        write_reports(a, {"variant": a.variant, "onnx_sha256": sha, "data": str(a.data), "iou": a.iou,
                          "sweep": thresholds, "onnxruntime": ort.__version__, "seconds": round(time.time() - t0, 1),
                          "command": " ".join(sys.argv), "results": {str(t): r for t, r in res.items()}}, md)
        return
    res, secs = evaluate(model, images, index, modes, a)
    report = {
        "variant": a.variant, "onnx_sha256": sha, "data": str(a.data),
        "threshold": thr, "threshold_source": thr_src, "iou": a.iou, "modes": modes,
        "oracle_px": a.oracle_px, "pyramid": a.pyramid, "onnxruntime": ort.__version__,
        "seconds": round(secs, 1), "command": " ".join(sys.argv), "results": res,
    }
    md = markdown(res, a.variant, thr, thr_src, a.data, modes)
    print(md)
    print(f"{len(images)} images in {secs:.0f} s", file=sys.stderr)
    write_reports(a, report, md)


def write_reports(a, report, md):
    if a.out_json:
        a.out_json.parent.mkdir(parents=True, exist_ok=True)
        a.out_json.write_text(json.dumps(report, indent=1))
    if a.out_md:
        a.out_md.parent.mkdir(parents=True, exist_ok=True)
        a.out_md.write_text(md)


if __name__ == "__main__":
    main()
