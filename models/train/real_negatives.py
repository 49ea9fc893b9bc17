#!/usr/bin/env python3
"""Cut ball-free crops out of the real training photos: real textures as negatives (issue 28).

    python real_negatives.py [--split /work/.cache/golfiq-train/real/split/train] [--out .../real/negatives]
                             [--per-image 2] [--min-side 128] [--margin 0.15] [--limit N]
                             [--seed 0] [--clean]

The detectors called turf, mats, carpet, shoes and lights balls because they had only seen rendered
backgrounds. No public, licence-clean set of plain golf-course textures could be found (models/DATA.md), but
the real training photos are full of them: everything around the labelled balls is real grass, putting
mat, carpet, floor or sky. This script samples square crops of each training photo that keep at least
``--margin`` (a fraction of the ball's size) clear of every labelled ball, resizes them to 640x640 (so a
256 px patch of carpet fills the model input the way a close-up does) and writes them with empty label
files, i.e. background images:

    <out>/images/<stem>_<k>.jpg
    <out>/labels/<stem>_<k>.txt      (empty)

Only the train split is read, so the val split stays an honest measurement. The risk is an unlabelled
ball inside a crop (range-ball baskets, balls out of focus): ``--max-balls`` skips photos with many balls,
and ``--screen-weights`` drops every crop in which a detector that has seen real balls finds one above
``--screen-conf``. The screen also drops the crops that fool it most, so keep its threshold high: it is
there for real balls, not for hard textures. Deterministic for a given seed, input and screen.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
from pathlib import Path

import cv2

CACHE = Path(os.environ.get("GOLFIQ_TRAIN_CACHE", "/work/.cache/golfiq-train"))


def read_labels(path: Path) -> list[tuple[int, float, float, float, float]]:
    """YOLO txt -> (class, cx, cy, w, h) rows, normalised; a missing file is a photo with nothing labelled."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5:
            rows.append((int(parts[0]), *map(float, parts[1:])))
    return rows


def read_boxes(label: Path, w: int, h: int):
    """YOLO txt -> pixel boxes (x0, y0, x1, y1) of every labelled object."""
    return [((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
            for _, cx, cy, bw, bh in read_labels(label)]


def list_images(folder: Path) -> list[Path]:
    """The photos in a folder, sorted so seeded runs see them in one order."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def prepare_out(out: Path, clean: bool) -> None:
    """A YOLO data folder (images/, labels/), emptied first with --clean."""
    if clean and out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)


def clear_of(crop, boxes, margin: float) -> bool:
    x0, y0, x1, y1 = crop
    for bx0, by0, bx1, by1 in boxes:
        m = margin * max(bx1 - bx0, by1 - by0)
        if x0 < bx1 + m and bx0 - m < x1 and y0 < by1 + m and by0 - m < y1:
            return False
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", type=Path, default=CACHE / "real/split/train")
    ap.add_argument("--out", type=Path, default=CACHE / "real/negatives")
    ap.add_argument("--per-image", type=int, default=2, help="crops kept per photo at most")
    ap.add_argument("--tries", type=int, default=40, help="random crops tried per photo")
    ap.add_argument("--min-side", type=int, default=128, help="smallest crop side in source pixels")
    ap.add_argument("--margin", type=float, default=0.15, help="clearance around each ball, in ball sizes")
    ap.add_argument("--max-balls", type=int, default=6, help="skip photos with more labelled balls")
    ap.add_argument("--size", type=int, default=640, help="side of the written crops")
    ap.add_argument("--limit", type=int, default=0, help="stop after this many crops (photos in seeded order); 0: all")
    ap.add_argument("--screen-weights", type=Path, default=None,
                    help="a .pt whose ball detections above --screen-conf drop a crop (unlabelled balls)")
    ap.add_argument("--screen-conf", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clean", action="store_true")
    a = ap.parse_args(argv)

    prepare_out(a.out, a.clean)
    images = list_images(a.split / "images")
    random.Random(a.seed).shuffle(images)
    screen = None
    if a.screen_weights:
        from ultralytics import YOLO
        screen = YOLO(str(a.screen_weights))
    screened = 0
    written = skipped = 0
    for path in images:
        if a.limit and written >= a.limit:
            break
        im = cv2.imread(str(path))
        if im is None:
            continue
        h, w = im.shape[:2]
        boxes = read_boxes(a.split / "labels" / (path.stem + ".txt"), w, h)
        if len(boxes) > a.max_balls:
            skipped += 1
            continue
        rng = random.Random(f"{a.seed}:{path.stem}")
        kept = []
        for _ in range(a.tries):
            if len(kept) >= a.per_image:
                break
            side = rng.randint(a.min_side, max(a.min_side, min(w, h) // 2))
            if side > min(w, h):
                break
            x0, y0 = rng.randint(0, w - side), rng.randint(0, h - side)
            crop = (x0, y0, x0 + side, y0 + side)
            # Two crops of one photo should not be the same patch twice.
            if clear_of(crop, boxes, a.margin) and all(clear_of(crop, [k], 0.0) for k in kept):
                kept.append(crop)
        for k, (x0, y0, x1, y1) in enumerate(kept):
            patch = cv2.resize(im[y0:y1, x0:x1], (a.size, a.size), interpolation=cv2.INTER_CUBIC)
            if screen is not None:
                r = screen.predict(patch, imgsz=a.size, conf=a.screen_conf, classes=[0], device="cpu", verbose=False)[0]
                if len(r.boxes):
                    screened += 1
                    continue
            stem = f"{path.stem}_{k}"
            cv2.imwrite(str(a.out / "images" / f"{stem}.jpg"), patch, [cv2.IMWRITE_JPEG_QUALITY, 92])
            (a.out / "labels" / f"{stem}.txt").write_text("")
            written += 1
    print(f"{written} negative crops from {len(images)} photos ({skipped} skipped: > {a.max_balls} balls, "
          f"{screened} crops dropped by the screen) -> {a.out}")


if __name__ == "__main__":
    main()
