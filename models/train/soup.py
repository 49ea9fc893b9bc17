#!/usr/bin/env python3
"""Average the weights of several checkpoints of one training trajectory into one checkpoint (issue 28).

    python soup.py OUT.pt A.pt B.pt [C.pt ...]

Why: on CPU the real-photo fine-tune moves ~2.5 epochs a session and its held-out recall swings by
+-0.06 between neighbouring checkpoints (models/experiments/2026-12-06-direct4.md). A uniform average of
checkpoints from the same run ("model soup" / stochastic weight averaging) sits nearer the middle of the
basin those checkpoints circle: steadier than any one of them. Measured here it was not better than its
best ingredient on real val (experiments/2026-12-06-hard1.md), so a soup is a steady warm start or a
tie-breaker, not a way past the bar. It only makes sense for checkpoints that share a lineage (one
warm-start chain); averaging unrelated models gives noise.

Each input may be a stripped checkpoint (``model`` set) or an epoch checkpoint (``ema`` set; the EMA is
what ultralytics validates and exports, so that is what is averaged). Floating-point tensors, BatchNorm
running statistics included, are averaged in float32; integer buffers (``num_batches_tracked``) are taken
from the first input. The output is written the way ``strip_optimizer`` writes ``last.pt`` (half
precision, no optimizer), so ``export.py`` / ``check_candidate.sh`` take it unchanged, and it records its
inputs under ``soup_of``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")

import torch  # noqa: E402


def net(ckpt: dict):
    """The network a checkpoint ships: the EMA when present (epoch checkpoints), else ``model``."""
    m = ckpt.get("ema") or ckpt.get("model")
    if m is None:
        raise SystemExit("checkpoint holds neither 'ema' nor 'model'")
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("inputs", type=Path, nargs="+")
    a = ap.parse_args()
    if len(a.inputs) < 2:
        ap.error("give at least two checkpoints to average")
    ckpts = [torch.load(p, map_location="cpu", weights_only=False) for p in a.inputs]
    states = [net(c).float().state_dict() for c in ckpts]
    keys = states[0].keys()
    for p, s in zip(a.inputs[1:], states[1:]):
        if s.keys() != keys or any(s[k].shape != states[0][k].shape for k in keys):
            raise SystemExit(f"{p} does not have the first checkpoint's architecture")
    avg = {}
    for k in keys:
        t0 = states[0][k]
        avg[k] = torch.stack([s[k] for s in states]).mean(0) if t0.is_floating_point() else t0.clone()
    model = net(ckpts[0]).float()
    model.load_state_dict(avg)
    first = ckpts[0]
    out = {
        "date": dt.datetime.now().isoformat(),
        "version": first.get("version"),
        "license": first.get("license"),
        "docs": first.get("docs"),
        "epoch": -1,
        "best_fitness": None,
        "model": model.half(),
        "ema": None,
        "updates": None,
        "optimizer": None,
        "train_args": first.get("train_args", {}),
        "soup_of": [str(p) for p in a.inputs],
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, a.out)
    print(f"{a.out}: uniform average of {len(a.inputs)} checkpoints ({len(keys)} tensors)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
