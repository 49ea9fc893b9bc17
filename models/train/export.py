#!/usr/bin/env python3
"""Export a trained run to ONNX and write models/weights/<variant>/{model.onnx,manifest.json}.

    python export.py --variant yolov11                       # newest run of that variant, best.pt
    python export.py --variant yolov10 --run /work/.cache/golfiq-train/runs/yolov10-main --weights last
    python export.py --variant yolov11 --run <the run the manifest names> --calibrate-only \
        --calibration-data /work/.cache/golfiq-train/data/cal/golf.yaml

--calibrate-only validates the .pt the committed model.onnx was exported from and writes only the
manifest's score thresholds (below); the ONNX file and everything else stay as they are. With --onnx
(and --data) it validates the committed model.onnx itself, as it ships, and rewrites the manifest's
validation metrics with the thresholds (for weights whose .pt is gone):

    python export.py --variant yolov10 --calibrate-only --onnx --data $C/data/golf3/golf.yaml \
        --calibration-data $C/data/cal/golf.yaml

YOLOv10 is validated with nms=False, i.e. on the one-to-one head the ONNX export runs (see validate()).
--calibration-data names a larger val set for the thresholds (models/README.md: golf3's 120 val
images + 600 more); mAP50 and mAP50-95 stay on the run's own val split, comparable across runs.

Steps: validate the chosen .pt on the val split (mAP50, mAP50-95 go into the manifest), export to
ONNX (static 1x3x640x640, opset 17, onnxslim simplify; YOLOv10 with nms=False -> NMS-free [1,300,6],
YOLO11 raw head [1,6,8400]), check it with onnxruntime, hash it, and copy the run's last.pt (optimizer
stripped when it is not already, so it stays small) to models/train/checkpoints/<variant>/last.pt with
its lineage.json when it is under 15 MB.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent
sys.path.insert(0, str(HERE))
from train import CACHE, VARIANTS, ALIASES, offline_env, shipped_head  # noqa: E402

CLASSES = ["golf_ball", "club_head"]
MAX_CKPT_BYTES = 15 * 1024 * 1024

LAYOUT = {
    "yolov10": {
        "output_name": "output0",
        "shape": [1, 300, 6],
        "description": "NMS-free end-to-end head (one-to-one branch, nms=False export): 300 rows sorted by score, "
                       "each [x1, y1, x2, y2, score, class_id] with box corners in pixels of the 640x640 letterboxed "
                       "input; score is the sigmoid class confidence; class_id is a float (0=golf_ball, 1=club_head). "
                       "Threshold on score, then class-aware NMS at IoU 0.5: at low thresholds the head still emits lower-scored near-copies of a box.",
    },
    "yolov11": {
        "output_name": "output0",
        "shape": [1, 6, 8400],
        "description": "Raw detection head, channel-major: for each of 8400 anchors (80x80 stride 8, 40x40 stride 16, "
                       "20x20 stride 32, in that order) channels [cx, cy, w, h, score_golf_ball, score_club_head]; "
                       "box in pixels of the 640x640 letterboxed input, scores are sigmoid class confidences. "
                       "Needs per-class (or class-agnostic) NMS, IoU ~0.45-0.7.",
    },
}
PREPROCESS = ("RGB, float32 in [0,1] (x/255), NCHW, letterbox: resize keeping aspect ratio so the long side is 640, "
              "pad centred with value 114/255; map boxes back by subtracting the pad and dividing by the scale")


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def short(p: Path) -> str:
    """A dataset yaml named relative to the training cache, so the manifest does not carry this machine's paths."""
    try:
        return str(Path(p).resolve().relative_to(CACHE / "data"))
    except ValueError:
        return str(p)


def newest_run(variant: str) -> Path:
    runs = sorted((CACHE / "runs").glob(f"{variant}-*"), key=lambda p: p.stat().st_mtime)
    runs = [r for r in runs if (r / "weights" / "last.pt").exists()]
    if not runs:
        sys.exit(f"no run with weights/last.pt for {variant} under {CACHE / 'runs'}")
    return runs[-1]


def results_rows(run: Path) -> list[dict]:
    p = run / "results.csv"
    if not p.exists():
        return []
    with open(p) as f:
        return [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]


F2_MARGIN = 0.01


def best_f2(box, margin: float = F2_MARGIN, source: str = "the val split") -> dict:
    """Each class's score threshold from its F2 curve over confidence. F-beta with beta = 2 counts
    recall twice as much as precision, because the tracker downstream rejects stray boxes off the
    ball's path but cannot invent a ball the detector did not report. The server uses it as the
    variant's default score threshold (manifest class_score_thresholds): an under-trained model
    scores its true boxes low, and one fixed threshold for every variant would cut most of them.

    The threshold is the lowest confidence whose smoothed F2 is within `margin` of the class's
    peak, not the peak itself: the top of the curve is flat (on golf3's 120-image val yolov11's
    ball F2 was 0.764 at 0.18 and 0.770 at its 0.24 peak), so the argmax wandered between runs of
    one model (0.189 -> 0.154 -> 0.24) and between val sets for one .pt (0.24 on 120 images, 0.288
    on 720). Thresholds inside the margin are indistinguishable on this data; of those the lowest
    keeps the most recall, which is what F2 already says we want."""
    from ultralytics.utils.metrics import smooth

    p, r = box.p_curve, box.r_curve
    f2_by_class = 5 * p * r / (4 * p + r + 1e-16)
    f2 = smooth(f2_by_class.mean(0), 0.1)
    i = int((f2 >= f2.max() - margin).argmax())
    per_class = {}
    for c, name in enumerate(CLASSES):
        fc = smooth(f2_by_class[c], 0.1)
        peak = int(fc.argmax())
        j = int((fc >= fc[peak] - margin).argmax())
        per_class[name] = {"confidence": round(float(box.px[j]), 3), "f2": round(float(fc[j]), 4),
                           "precision": round(float(p[c, j]), 4), "recall": round(float(r[c, j]), 4),
                           "peak": {"confidence": round(float(box.px[peak]), 3), "f2": round(float(fc[peak]), 4),
                                    "precision": round(float(p[c, peak]), 4), "recall": round(float(r[c, peak]), 4)}}
    return {"confidence": round(float(box.px[i]), 3), "f2": round(float(f2[i]), 4),
            "precision": [round(float(v), 4) for v in p[:, i]],
            "recall": [round(float(v), 4) for v in r[:, i]],
            "classes": CLASSES,
            "source": f"lowest confidence whose F2 (smoothed 0.1) is within {margin} of its peak, on {source}",
            "per_class": per_class}


def validate(weights: Path, data: Path, variant: str):
    """ultralytics val of `weights` (a .pt, or an exported model.onnx at batch 1) on `data`'s val split,
    on the head that ships. YOLOv10 has two heads: ultralytics validates (and predicts) with the
    one-to-many head plus NMS unless told `nms=False`, while the exported model.onnx runs the NMS-free
    one-to-one head, whose scores sit on another scale. Before the thirteenth session every yolov10
    mAP and threshold in the manifests was read from the head that is not shipped (the ball threshold
    0.158 from it, 0.113 from the shipped one)."""
    from ultralytics import YOLO

    batch = 1 if weights.suffix == ".onnx" else 8  # the export is static 1x3x640x640
    return YOLO(str(weights), task="detect").val(data=str(data), imgsz=640, batch=batch, device="cpu", plots=False,
                                                 verbose=False, workers=0, **shipped_head(variant))


def val_metrics(box, source: str) -> dict:
    """The manifest's validation figures from an ultralytics val result's `box` metrics."""
    per_class = {}
    for i, name in enumerate(CLASSES):
        try:
            p, r, ap50, ap = box.class_result(list(box.ap_class_index).index(i))
            per_class[name] = {"precision": round(float(p), 4), "recall": round(float(r), 4),
                               "mAP50": round(float(ap50), 4), "mAP50-95": round(float(ap), 4)}
        except ValueError:  # no label of the class in the split
            per_class[name] = None
    return {"source": source, "mAP50": round(float(box.map50), 4), "mAP50-95": round(float(box.map), 4),
            "precision": round(float(box.mp), 4), "recall": round(float(box.mr), 4), "per_class": per_class}


def class_thresholds(metrics: dict) -> dict | None:
    """The manifest's class_score_thresholds: each class's own F2 peak. The server prefers them to the
    class-mean threshold: a small ball scores on a lower scale than a club head, so one threshold
    either drops faint balls or lets in stray heads."""
    per_class = metrics.get("best_f2", {}).get("per_class")
    return {name: v["confidence"] for name, v in per_class.items()} if per_class else None


def calibrate_only(variant: str, run: Path, pt: Path, metrics: dict) -> int:
    path = MODELS / "weights" / variant / "manifest.json"
    manifest = json.loads(path.read_text())
    exported_from = manifest.get("onnx", {}).get("exported_from")
    if exported_from != f"{run.name}/weights/{pt.name}":
        sys.exit(f"the manifest's model was exported from {exported_from}, not {run.name}/weights/{pt.name}")
    manifest["score_threshold"] = metrics["best_f2"]["confidence"]
    manifest["class_score_thresholds"] = class_thresholds(metrics)
    validation = manifest.setdefault("validation", {})
    validation.pop("best_f1", None)
    validation["best_f2"] = metrics["best_f2"]
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"variant": variant, "score_threshold": manifest["score_threshold"],
                      "class_score_thresholds": manifest["class_score_thresholds"],
                      "mAP50 (re-validated)": metrics.get("mAP50")}))
    return 0


def calibrate_onnx(variant: str, data: Path, calibration_data: Path | None, margin: float) -> int:
    """--calibrate-only --onnx: the committed model.onnx, validated as it ships, sets the manifest's
    validation metrics and score thresholds; the ONNX file, its checksum and the training record stay.
    For weights whose .pt is gone, or whose metrics were read from a head the export does not run."""
    path = MODELS / "weights" / variant / "manifest.json"
    onnx_path = MODELS / "weights" / variant / "model.onnx"
    manifest = json.loads(path.read_text())
    if sha256(onnx_path) != manifest["onnx"]["sha256"]:
        sys.exit(f"{onnx_path} does not match its manifest's sha256")
    m = validate(onnx_path, data, variant)
    calib = validate(onnx_path, calibration_data, variant).box if calibration_data else m.box
    validation = manifest.setdefault("validation", {})
    validation.pop("best_f1", None)
    validation.update({
        **val_metrics(m.box, "ultralytics val of the committed model.onnx (as it ships) on the val split of "
                             f"{short(data)} at imgsz 640"),
        "best_f2": best_f2(calib, margin, f"the val split of {short(calibration_data or data)}"),
    })
    manifest["score_threshold"] = validation["best_f2"]["confidence"]
    manifest["class_score_thresholds"] = class_thresholds(validation)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"variant": variant, "mAP50": validation["mAP50"], "mAP50-95": validation["mAP50-95"],
                      "score_threshold": manifest["score_threshold"],
                      "class_score_thresholds": manifest["class_score_thresholds"]}))
    return 0


def export_onnx(pt: Path, variant: str, opset: int = 17) -> Path:
    """The ONNX the server runs, exported beside ``pt`` (check_candidate.sh exports through this too)."""
    from ultralytics import YOLO

    kw = dict(format="onnx", imgsz=640, opset=opset, simplify=True, dynamic=False, batch=1, device="cpu")
    kw["nms"] = False if variant == "yolov10" else None  # v10: NMS-free one-to-one head; v11: raw head
    return Path(YOLO(str(pt)).export(**kw))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", required=True)
    ap.add_argument("--run", type=Path, default=None)
    ap.add_argument("--weights", choices=["best", "last"], default="best")
    ap.add_argument("--data", type=Path, default=None, help="dataset yaml for validation (default: run's)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--skip-val", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calibration-data", type=Path, default=None,
                    help="dataset yaml whose val split sets the score thresholds (default: the validation data)")
    ap.add_argument("--f2-margin", type=float, default=F2_MARGIN,
                    help="threshold = lowest confidence within this F2 of the class's peak")
    ap.add_argument("--calibrate-only", action="store_true",
                    help="only (re)compute the score thresholds into the existing manifest")
    ap.add_argument("--onnx", action="store_true",
                    help="with --calibrate-only: validate the committed model.onnx itself (needs --data) instead of "
                         "the .pt it was exported from, and rewrite the manifest's validation metrics too")
    a = ap.parse_args(argv)
    if a.onnx and not (a.calibrate_only and a.data):
        sys.exit("--onnx goes with --calibrate-only and --data")
    if a.calibrate_only and a.skip_val:
        sys.exit("--calibrate-only needs the validation that --skip-val skips")
    variant = ALIASES.get(a.variant, a.variant)
    assert variant in VARIANTS, variant
    if a.onnx:
        offline_env()
        return calibrate_onnx(variant, a.data, a.calibration_data, a.f2_margin)
    run = (a.run or newest_run(variant)).resolve()
    pt = run / "weights" / f"{a.weights}.pt"
    if not pt.exists():
        pt = run / "weights" / "last.pt"
    lineage_p = run / "lineage.json"
    lineage = json.loads(lineage_p.read_text()) if lineage_p.exists() else {}

    offline_env()
    import torch

    torch.set_num_threads(a.threads)
    from ultralytics import settings

    settings.update({"sync": False})

    ck = torch.load(pt, map_location="cpu", weights_only=False)
    train_args = ck.get("train_args", {}) or {}
    data_yaml = a.data or Path(lineage.get("data", {}).get("yaml") or train_args.get("data"))

    rows = results_rows(run)
    epochs_done = len(rows)
    metrics = {"source": "not validated"}
    if not a.skip_val:
        m = validate(pt, data_yaml, variant)
        head = " (one-to-one head, nms=False, as exported)" if shipped_head(variant) else ""
        metrics = val_metrics(m.box, f"ultralytics val of {pt.name}{head} on the val split of {short(data_yaml)} "
                                     "at imgsz 640")
        calib_box, calib_source = m.box, f"the val split of {short(data_yaml)}"
        if a.calibration_data:
            calib_box = validate(pt, a.calibration_data, variant).box
            calib_source = f"the val split of {short(a.calibration_data)}"
        metrics["best_f2"] = best_f2(calib_box, a.f2_margin, calib_source)
    if a.calibrate_only:
        return calibrate_only(variant, run, pt, metrics)
    if rows:
        last = rows[-1]
        metrics["trainer_last_epoch"] = {"epoch": int(float(last.get("epoch", epochs_done))),
                                         "mAP50": float(last.get("metrics/mAP50(B)", "nan")),
                                         "mAP50-95": float(last.get("metrics/mAP50-95(B)", "nan"))}

    # ---- ONNX export
    onnx_path = export_onnx(pt, variant, a.opset)
    out_dir = MODELS / "weights" / variant
    out_dir.mkdir(parents=True, exist_ok=True)
    dst = out_dir / "model.onnx"
    shutil.copyfile(onnx_path, dst)

    # ---- onnxruntime check
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    outs = sess.get_outputs()
    res = sess.run(None, {inp.name: np.zeros((1, 3, 640, 640), np.float32)})
    shapes = [list(r.shape) for r in res]
    print(f"[export] onnxruntime {ort.__version__}: input {inp.name} {inp.shape}; outputs "
          + ", ".join(f"{o.name} {s}" for o, s in zip(outs, shapes)))
    expected = LAYOUT[variant]["shape"]
    if shapes[0] != expected:
        print(f"[export] WARNING: output shape {shapes[0]} != expected {expected}")

    # ---- checkpoint for later sessions
    ckpt_note = None
    last_pt = run / "weights" / "last.pt"
    ck_dir = HERE / "checkpoints" / variant
    lck = torch.load(last_pt, map_location="cpu", weights_only=False)
    stripped = lck.get("optimizer") is None
    tmp = CACHE / "tmp" / f"{variant}-last-stripped.pt"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if stripped:
        shutil.copyfile(last_pt, tmp)
    else:
        from ultralytics.utils.torch_utils import strip_optimizer

        strip_optimizer(last_pt, s=str(tmp))
    size = tmp.stat().st_size
    if size < MAX_CKPT_BYTES:
        ck_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp, ck_dir / "last.pt")
        lin = dict(lineage)
        lin["copied_from"] = str(last_pt)
        if epochs_done:
            lin["epochs_completed_this_run"] = epochs_done
        lin["note"] = ("EMA weights only (fp16), optimizer state stripped: resume with train.py --resume-from "
                       "<this file> = warm start (new optimizer, short warmup), not an exact resume")
        (ck_dir / "lineage.json").write_text(json.dumps(lin, indent=2) + "\n")
        ckpt_note = {"path": f"models/train/checkpoints/{variant}/last.pt", "bytes": size, "sha256": sha256(ck_dir / "last.pt")}
    else:
        print(f"[export] last.pt is {size} bytes >= 15 MB: not copied")

    prior = int(lineage.get("prior_epochs", 0))
    this_run = epochs_done or int(lineage.get("epochs_completed_this_run", 0))  # results.csv rows = finished epochs
    import importlib.metadata as md

    manifest = {
        "variant": variant,
        "architecture": VARIANTS[variant].replace(".yaml", "") + " (ultralytics yaml, nano scale), nc=2",
        "classes": {str(i): n for i, n in enumerate(CLASSES)},
        "input": {"name": inp.name, "shape": [1, 3, 640, 640], "dtype": "float32", "preprocess": PREPROCESS},
        "output": {"name": outs[0].name, "shape": shapes[0], "layout": LAYOUT[variant]["description"]},
        "onnx": {"file": "model.onnx", "sha256": sha256(dst), "bytes": dst.stat().st_size, "opset": a.opset,
                 "simplified": "onnxslim", "exported_from": f"{run.name}/weights/{pt.name}",
                 "ultralytics": md.version("ultralytics"), "torch": md.version("torch"),
                 "checked_with_onnxruntime": ort.__version__},
        "training": {
            "starting_checkpoint": lineage.get("init", f"none: random init from {VARIANTS[variant]}"),
            "history": lineage.get("history", []),
            "epochs_total": prior + this_run,
            "epochs_this_run": this_run,
            "imgsz": lineage.get("imgsz", train_args.get("imgsz")),
            "batch": lineage.get("batch", train_args.get("batch")),
            "device": f"cpu (2 cores, torch threads={lineage.get('threads', 'not recorded')}, nice 19)",
            "data": {
                "description": "synthetic golf scenes from models/train/gen_dataset.py (grass / range mat / sky / "
                               "indoor-net backgrounds, 3-40 px balls incl. motion streaks, driver+iron heads on "
                               "shafts, distractors); no real footage",
                **lineage.get("data", {}),
            },
        },
        "validation": metrics,
        "score_threshold": metrics.get("best_f2", {}).get("confidence"),
        "class_score_thresholds": class_thresholds(metrics),
        "resume_checkpoint": ckpt_note,
        "licence": ("Weights trained here from random init on synthetic data only (no third-party weights or data). "
                    "The training/export code is Ultralytics (AGPL-3.0); Ultralytics states that models trained with "
                    "it are subject to AGPL-3.0 unless an Ultralytics Enterprise licence is held, so treat this "
                    "model.onnx as AGPL-3.0 encumbered. The YOLOv10 architecture (THU-MIG) is also AGPL-3.0."),
        "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"variant": variant, "output_shape": shapes[0], "mAP50": metrics.get("mAP50"),
                      "mAP50-95": metrics.get("mAP50-95"), "onnx_bytes": dst.stat().st_size}, indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
