#!/usr/bin/env python3
"""Train one detector variant (golf_ball=0, club_head=1) on CPU from a random init.

    python train.py --variant yolov11 --data /work/.cache/golfiq-train/data/golf/golf.yaml --epochs 10
    python train.py --variant yolov11 --time 1.6              # as many epochs as fit in 1.6 h
    python train.py --variant yolov11 --resume-from models/train/checkpoints/yolov11/last.pt --epochs 20

Variants: yolov11 -> ultralytics 'yolo11n.yaml', yolov10 -> 'yolov10n.yaml'.  The model is always
built from the yaml (random init); no pretrained checkpoint is ever loaded or downloaded.

--resume-from PATH:
  * a last.pt of an interrupted run (still holds optimizer state, epoch >= 0): exact resume
    (ultralytics resume=True; epochs/LR schedule of the original run; --time/--imgsz/--batch may change);
  * any other .pt (finished run, or the optimizer-stripped copy in models/train/checkpoints/):
    warm start: weights are loaded, a new run of --epochs epochs starts (fresh optimizer + warmup).
A lineage.json is written next to each run's weights/ (cumulative epochs, init, data) and is
carried over by export.py so the manifest can state the full history.

Network: YOLO_OFFLINE=1, YOLO_AUTOINSTALL=0, plots=False, amp=False; YOLO_CONFIG_DIR points to a
scratch dir holding 'Arial.ttf' (a copy of matplotlib's bundled DejaVuSans.ttf) so ultralytics'
check_font() finds a local file and never tries to download one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("GOLFIQ_TRAIN_CACHE", "/work/.cache/golfiq-train"))
VARIANTS = {"yolov11": "yolo11n.yaml", "yolov10": "yolov10n.yaml"}
ALIASES = {"yolo11": "yolov11", "yolo11n": "yolov11", "yolov11n": "yolov11", "yolov10n": "yolov10", "yolo10": "yolov10"}


def offline_env() -> None:
    """Must run before ultralytics is imported."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    cfg = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(CACHE / "yolo_config")))
    cfg.mkdir(parents=True, exist_ok=True)
    font = cfg / "Arial.ttf"
    if not font.exists():
        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        shutil.copyfile(src, font)


def read_lineage(pt: Path) -> dict | None:
    for cand in (pt.parent / "lineage.json", pt.parent.parent / "lineage.json"):
        if cand.exists():
            return json.loads(cand.read_text())
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", required=True)
    ap.add_argument("--data", type=Path, default=CACHE / "data" / "golf" / "golf.yaml")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--time", type=float, default=None, help="training budget in hours (overrides --epochs)")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--resume-from", type=Path, default=None)
    ap.add_argument("--project", type=Path, default=CACHE / "runs")
    ap.add_argument("--name", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="ram", help="ultralytics image cache: ram|disk|none")
    ap.add_argument("--scale", type=float, default=0.25, help="scale augmentation (kept small: tiny balls)")
    ap.add_argument("--fraction", type=float, default=1.0, help="use a fraction of the train set (timing runs)")
    ap.add_argument("--save-period", type=int, default=0,
                    help="also keep weights/epochN.pt every N epochs (0-based N, with the optimizer: an exact resume)")
    ap.add_argument("--no-val", action="store_true", help="skip per-epoch validation (final val still runs)")
    ap.add_argument("--lr0", type=float, default=None,
                    help="fine-tune: AdamW at this initial LR (default: ultralytics' auto optimizer and LR)")
    ap.add_argument("--lrf", type=float, default=0.01, help="final LR as a fraction of the initial one")
    ap.add_argument("--warmup-epochs", type=float, default=1.0)
    ap.add_argument("--centre-loss", type=float, default=0.0,
                    help="gain of an extra ball-centre loss in pixels (see patch_centre_loss); 0 leaves ultralytics' loss")
    ap.add_argument("--centre-loss-min-px", type=float, default=0.0,
                    help="apply the centre loss only to ball boxes whose long side at 640 is at least this")
    ap.add_argument("--mosaic", type=float, default=1.0,
                    help="mosaic probability; 0 trains on whole letterboxed frames, as inference sees them")
    a = ap.parse_args(argv)
    variant = ALIASES.get(a.variant, a.variant)
    if variant not in VARIANTS:
        ap.error(f"--variant must be one of {sorted(VARIANTS)}")

    offline_env()
    import torch

    torch.set_num_threads(a.threads)
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    if a.centre_loss > 0:
        patch_centre_loss(a.centre_loss, a.centre_loss_min_px)
    yaml_name = VARIANTS[variant]
    name = a.name or f"{variant}-{time.strftime('%Y%m%d-%H%M%S')}"
    data_info = {"yaml": str(a.data)}
    meta = a.data.parent / "dataset.json"
    if meta.exists():
        data_info.update(json.loads(meta.read_text()))

    common = dict(device="cpu", workers=a.workers, plots=False, amp=False, verbose=True)
    if a.time:
        common["time"] = a.time
    if a.save_period:
        common["save_period"] = a.save_period

    lineage = {"variant": variant, "yaml": yaml_name, "data": data_info, "imgsz": a.imgsz, "batch": a.batch,
               "threads": a.threads, "prior_epochs": 0, "init": f"none: random init from {yaml_name}", "history": []}

    if a.resume_from:
        import torch as _t

        ck = _t.load(a.resume_from, map_location="cpu", weights_only=False)
        prev = read_lineage(a.resume_from) or {}
        interrupted = ck.get("optimizer") is not None and int(ck.get("epoch", -1)) >= 0
        if interrupted:
            print(f"[train] exact resume of interrupted run {a.resume_from} (epoch {ck['epoch'] + 1} done)")
            model = YOLO(str(a.resume_from))
            if prev:
                lineage = prev
            lineage["history"] = lineage.get("history", []) + [f"exact resume from {a.resume_from}"]
            cb_lineage(model, lineage)
            model.train(resume=True, data=str(a.data), **common)
            return 0
        done = (int(prev.get("prior_epochs", 0))
                + int(prev.get("epochs_completed_this_run", prev.get("epochs_this_run", 0)))) if prev else None
        print(f"[train] warm start from {a.resume_from} (cumulative epochs so far: {done})")
        lineage["init"] = prev.get("init", f"unknown (warm start from {a.resume_from})") if prev else \
            f"unknown lineage (warm start from {a.resume_from})"
        lineage["prior_epochs"] = done or 0
        lineage["history"] = (prev.get("history", []) if prev else []) + [f"warm start from {a.resume_from}"]
        model = YOLO(str(a.resume_from))
        pretrained = True
    else:
        model = YOLO(yaml_name)  # random init, nc overridden to 2 from the data yaml by the trainer
        pretrained = False

    lineage["epochs_this_run"] = a.epochs
    lineage["schedule"] = {"lr0": a.lr0 or "auto", "lrf": a.lrf, "warmup_epochs": a.warmup_epochs, "mosaic": a.mosaic,
                           "centre_loss": a.centre_loss, "centre_loss_min_px": a.centre_loss_min_px}
    cb_lineage(model, lineage)
    model.train(
        data=str(a.data), epochs=a.epochs, imgsz=a.imgsz, batch=a.batch, project=str(a.project), name=name,
        exist_ok=False, pretrained=pretrained, seed=a.seed, cache=(False if a.cache == "none" else a.cache),
        # auto ignores lr0; a fine-tune names AdamW (what auto picks for runs this short) to set it.
        optimizer="auto" if a.lr0 is None else "AdamW", lr0=a.lr0 or 0.01, lrf=a.lrf,
        warmup_epochs=a.warmup_epochs, close_mosaic=max(1, a.epochs // 10) if a.mosaic > 0 else 0,
        patience=1000, scale=a.scale, degrees=0.0, mosaic=a.mosaic, mixup=0.0, fliplr=0.5,
        fraction=a.fraction, val=not a.no_val,
        **shipped_head(variant),  # per-epoch val (and so best.pt) on the head the export ships
        **common,
    )
    return 0


def variant_of_yaml(yaml_file: str) -> str | None:
    """The variant whose model yaml a checkpoint was built from (its `model.yaml["yaml_file"]`)."""
    return next((v for v, y in VARIANTS.items() if Path(y).name == Path(yaml_file).name), None)


def shipped_head(variant: str) -> dict:
    """ultralytics val / predict arguments that select the head the ONNX export ships. YOLOv10 trains a
    one-to-many head (needs NMS) and a one-to-one head (NMS-free); the export (nms=False) ships the
    second, but ultralytics validates and predicts with the first unless told nms=False. Both heads
    train either way."""
    return {"nms": False} if variant == "yolov10" else {}


def patch_centre_loss(gain: float, min_px: float = 0.0) -> None:
    """Adds a ball-centre term, in pixels of the 640 input, to ultralytics' box loss.

    The golden bar and the shot measurements judge a ball by its centre error in pixels, but CIoU is
    scale-free: a 3 px centre miss on a 100 px streak box costs it about a tenth of what the same miss
    costs on a 10 px ball, so long streaks are fitted loosely (streak_eval: about a quarter of >= 80 px
    streaks within 3 px). The extra term is gain * log1p(err / 2 px) per foreground anchor, weighted
    by its ball target score (club heads untouched) and normalised like the CIoU term it is added to,
    so box gain scales it too. log1p keeps a far-off anchor from dominating and pulls hardest in the
    0-5 px range the bar cares about. Patches the class, so both yolov10 heads (one-to-many and
    one-to-one) and yolo11's single head get it. With `min_px`, only ball boxes whose long side at 640
    is at least that get it: over all sizes the term cost the faintest and smallest balls.
    """
    import torch
    from ultralytics.utils import loss as ul_loss

    original = ul_loss.BboxLoss.forward

    def forward(self, pred_dist, pred_bboxes, anchor_points, target_bboxes, target_scores, target_scores_sum,
                fg_mask, imgsz, stride):
        loss_iou, loss_dfl = original(self, pred_dist, pred_bboxes, anchor_points, target_bboxes, target_scores,
                                      target_scores_sum, fg_mask, imgsz, stride)
        batch_idx, anchor_idx = fg_mask.nonzero(as_tuple=True)
        if anchor_idx.numel() == 0:
            return loss_iou, loss_dfl
        px_per_unit = stride[anchor_idx]  # boxes here are in grid units of each anchor's level
        pred, target = pred_bboxes[batch_idx, anchor_idx], target_bboxes[batch_idx, anchor_idx]
        delta = ((pred[:, :2] + pred[:, 2:]) - (target[:, :2] + target[:, 2:])) / 2 * px_per_unit
        err_px = torch.sqrt((delta ** 2).sum(-1) + 1e-6)
        ball_weight = target_scores[batch_idx, anchor_idx, 0]
        if min_px > 0:
            long_side_px = (target[:, 2:] - target[:, :2]).amax(-1) * px_per_unit.squeeze(-1)
            ball_weight = ball_weight * (long_side_px >= min_px)
        loss_centre = (torch.log1p(err_px / 2.0) * ball_weight).sum() / target_scores_sum
        return loss_iou + gain * loss_centre, loss_dfl

    ul_loss.BboxLoss.forward = forward


def cb_lineage(model, lineage: dict) -> None:
    """Write lineage.json into the run dir when training starts, and update epochs as they finish."""

    def write(trainer):
        lin = dict(lineage)
        lin["epochs_this_run"] = int(trainer.epochs)
        csv_p = Path(trainer.save_dir) / "results.csv"  # one row per finished epoch (final_eval re-fires this hook)
        lin["epochs_completed_this_run"] = max(0, len(csv_p.read_text().splitlines()) - 1) if csv_p.exists() else 0
        lin["run_dir"] = str(trainer.save_dir)
        Path(trainer.save_dir).mkdir(parents=True, exist_ok=True)
        (Path(trainer.save_dir) / "lineage.json").write_text(json.dumps(lin, indent=2) + "\n")

    model.add_callback("on_train_start", write)
    model.add_callback("on_fit_epoch_end", write)


if __name__ == "__main__":
    sys.exit(main())
