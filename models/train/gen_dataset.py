#!/usr/bin/env python3
"""Deterministic synthetic golf-scene generator for the 2-class detector.

Classes (YOLO ids):  0 = golf_ball, 1 = club_head

Writes YOLO-format data:
    OUT/images/<split>/<split>_<idx>.jpg
    OUT/labels/<split>/<split>_<idx>.txt     "cls cx cy w h" normalised to [0, 1]
    OUT/golf.yaml                             dataset file for ultralytics (absolute path)

Usage:
    python gen_dataset.py --out DIR --n 600 --seed 0 --split train
    python gen_dataset.py --out DIR --n 120 --seed 0 --split val
    python gen_dataset.py --out DIR --golden            # 6 golden frames + ground_truth.json
    python gen_dataset.py --out DIR --n 800 --offset 600 --streak-rate 0.6 --split train
                                      # fresh images (indices 600..1399), more streaked balls
    python gen_dataset.py ... --streak-box disc   # the streak label of datasets before 2026-11-30
    python gen_dataset.py ... --flight-share 0.5  # half the frames sky / outdoor: more airborne balls
    python gen_dataset.py ... --ball-min-d640 10  # balls 10-40 px only: more long (large-ball) streaks

The datasets made before 2026-11-30 (`golf`, `golf2`, `streakval` in models/experiments/) come from this
file at commit dc83794: the blurred loose hands added since draw from the random stream, so today's
images for the same indices differ (the golden frames, which have no distractors, are unchanged).

Determinism: every image gets its own RNG seeded with
numpy.random.SeedSequence([seed, SPLIT_CODE[split], index]).  The split code is part of
the entropy, so train (1), val (2) and golden (3) streams are disjoint by construction
for any --seed; golden frames additionally default to seed 9001.  The same
(numpy, opencv) versions give byte-identical output.

Scene content (all procedural, no external assets):
  * backgrounds: mown grass (stripes, blade texture), range mat (fibre grid, rubber
    edge), sky (gradient + clouds) with a tree line, indoor net / impact screen;
  * golf balls, diameter 3-40 px *at 640 px on the long side* (log-uniform, so small
    balls dominate); the diameter is multiplied by long_side/640 so that the ball keeps
    3-40 px after the trainer's letterbox to 640.  Sphere shading, specular highlight,
    dimple noise, optional stripe (range ball), ground shadow, optional ball on a tee.
    ~22 % of airborne balls (diameter >= 4 px; --streak-rate) are motion-blurred into a streak
    1.5-6 diameters long.  LABEL CHOICE: a streaked ball's box is the streak's visible extent
    (the disc swept along the streak), centred on the streak midpoint, i.e. the ball position at
    mid-exposure.  The box centre stays the best estimate of the ball centre, which is all the
    pipeline reads.  (Datasets before 2026-11-30 boxed only the un-blurred disc at the midpoint,
    --streak-box disc: a disc-sized box somewhere along a uniform streak is ambiguous to a
    convolutional detector, and the models found long streaks poorly with it);
  * club heads: driver (rounded, toe taller than heel) and iron (blade with hosel)
    silhouettes in black / grey / silver / blue / red with gradient shading,
    specular highlight, grooves on big irons, attached to a shaft + grip + hands.
    ~35 % are motion-blurred along the swing direction.  LABEL: bounding box of the
    head (incl. hosel, excl. shaft) where its (blurred) coverage >= 0.3;
  * distractors: tees, divots, white line markings, hand/glove blobs (white gloves
    are deliberate hard negatives for the ball; half are motion-blurred, negatives for the
    blurred club head), white litter specks, clutter shapes;
  * photometric: gain, gamma, colour temperature, gradient shadow, vignette, defocus
    blur, sensor noise, JPEG quality 70-95;
  * frame sizes: 640x640, 1280x720, 960x540, 640x360.

The rendering lives in synth/ beside this file, one module per job (synth/__init__.py lists them); this
file is the command line: the per-image RNG streams, the output layout and the dataset metadata.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synth.labels import CLASS_NAMES, write_yaml, yolo_lines  # noqa: E402
from synth.scene import DEFAULT_STREAK_BOX, DEFAULT_STREAK_RATE, GOLDEN_CFGS, make_scene  # noqa: E402

SPLIT_CODE = {"train": 1, "val": 2, "golden": 3}
GOLDEN_SEED = 9001


def image_rng(seed: int, split: str, idx: int):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SPLIT_CODE[split], idx])))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=["train", "val"], default="train")
    ap.add_argument("--golden", action="store_true",
                    help="write 6 golden frames + ground_truth.json (split code 3, seed default 9001)")
    ap.add_argument("--offset", type=int, default=0,
                    help="first image index: --offset 600 --n 800 makes images 600..1399, disjoint from 0..599")
    ap.add_argument("--streak-rate", type=float, default=DEFAULT_STREAK_RATE,
                    help="probability that an airborne ball (>= 4 px at 640) is motion-streaked")
    ap.add_argument("--streak-box", choices=["extent", "disc"], default=DEFAULT_STREAK_BOX,
                    help="label of a streaked ball: its visible extent, or the un-blurred disc at mid-exposure "
                         "(the label of the datasets made before 2026-11-30)")
    ap.add_argument("--quality", type=int, default=None, help="fixed JPEG quality (default random 70-95)")
    ap.add_argument("--flight-share", type=float, default=0.0,
                    help="share of frames forced to a ball-flight background (60 %% sky only, 40 %% outdoor with "
                         "sky): more airborne, streaked, low-contrast balls than the default mix's ~12 %% sky")
    ap.add_argument("--ball-min-d640", type=float, default=3.0,
                    help="smallest ball diameter (px at 640 on the long side; log-uniform up to --ball-max-d640): a set of "
                         "mid and large balls, whose long streaks the default mix of mostly small balls seldom draws")
    ap.add_argument("--ball-max-d640", type=float, default=40.0,
                    help="largest ball diameter (px at 640): with --flight-share 1 a set of small, faint sky "
                         "streaks like golden_03's, which a fine-tune on long streaks loses first")
    a = ap.parse_args(argv)
    out: Path = a.out
    t0 = time.perf_counter()
    if a.golden:
        seed = a.seed if a.seed != 0 else GOLDEN_SEED
        out.mkdir(parents=True, exist_ok=True)
        gt = {"generator": "models/train/gen_dataset.py --golden", "seed": seed, "split_code": SPLIT_CODE["golden"],
              "classes": CLASS_NAMES, "note": "ball centre = disc centre at mid-exposure (px, origin top-left "
              "corner of the top-left pixel); club_head box = x1,y1,x2,y2 px of head coverage >= 0.3",
              "frames": []}
        for i, cfg in enumerate(GOLDEN_CFGS):
            rng = image_rng(seed, "golden", i)
            u8, labels, meta = make_scene(rng, cfg)
            name = f"golden_{i:02d}.jpg"  # JPEG q95 keeps the repo small; ground truth is the rendered geometry
            cv2.imwrite(str(out / name), cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
            b = meta["balls"][0]
            c = meta["clubs"][0] if meta["clubs"] else None
            gt["frames"].append({
                "file": name, "width": meta["size"][0], "height": meta["size"][1], "background": meta["bg"],
                "ball": {"cx": round(b["cx"], 3), "cy": round(b["cy"], 3), "diameter": round(b["diameter"], 3),
                         "streak_px": round(b["streak_px"], 3)},
                "club_head": None if c is None else {"box": [round(v, 2) for v in c["box"]], "kind": c["kind"],
                                                     "colour": c["colour"], "blur_px": c["blur_px"]},
                "yolo_labels": yolo_lines(labels, *meta["size"]),
            })
        (out / "ground_truth.json").write_text(json.dumps(gt, indent=2) + "\n")
        print(f"wrote {len(GOLDEN_CFGS)} golden frames to {out} in {time.perf_counter() - t0:.2f}s")
        return
    idir = out / "images" / a.split
    ldir = out / "labels" / a.split
    idir.mkdir(parents=True, exist_ok=True)
    ldir.mkdir(parents=True, exist_ok=True)
    counts = [0, 0]
    for i in range(a.offset, a.offset + a.n):
        rng = image_rng(a.seed, a.split, i)
        bg_force = None
        if a.flight_share > 0:  # draws only when asked, so datasets made without it keep their images
            if rng.random() < a.flight_share:
                bg_force = 0.95 if rng.random() < 0.6 else 0.1  # make_background: sky only / outdoor
        u8, labels, meta = make_scene(rng, streak_rate=a.streak_rate, streak_box=a.streak_box, bg_force=bg_force,
                                      ball_d_min=a.ball_min_d640, ball_d_max=a.ball_max_d640)
        q = a.quality or int(rng.integers(70, 96))
        name = f"{a.split}_{i:06d}"
        cv2.imwrite(str(idir / f"{name}.jpg"), cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
        lines = yolo_lines(labels, *meta["size"])
        for ln in lines:
            counts[int(ln[0])] += 1
        (ldir / f"{name}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    write_yaml(out)
    dt = time.perf_counter() - t0
    meta_p = out / "dataset.json"
    dmeta = json.loads(meta_p.read_text()) if meta_p.exists() else {}
    dmeta["generator"] = "models/train/gen_dataset.py"
    dmeta.setdefault("splits", {})[a.split] = {"n": a.n, "seed": a.seed, "split_code": SPLIT_CODE[a.split],
                                               "offset": a.offset, "streak_rate": a.streak_rate, "streak_box": a.streak_box,
                                               "flight_share": a.flight_share, "ball_min_d640": a.ball_min_d640,
                                               "ball_max_d640": a.ball_max_d640,
                                               "boxes": {"golf_ball": counts[0], "club_head": counts[1]},
                                               "seconds": round(dt, 1)}
    meta_p.write_text(json.dumps(dmeta, indent=2) + "\n")
    print(f"wrote {a.n} {a.split} images to {out} (seed {a.seed}) in {dt:.1f}s "
          f"({1000 * dt / max(a.n, 1):.1f} ms/img); boxes: golf_ball={counts[0]} club_head={counts[1]}")


if __name__ == "__main__":
    sys.exit(main())
