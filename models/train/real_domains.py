#!/usr/bin/env python3
"""Make the real training photos look like the cameras the pool lacks: compressed video, infrared strobes (issue 28).

    python real_domains.py [--split .../real/split/train] [--negatives .../real/negatives]
                           [--out .../real/domains] [--video 500] [--gray 200] [--zoom 500]
                           [--strobe 400] [--seed 0] [--clean]

The real training pool is mostly phone photos and close-ups. Two kinds of camera that golf balls are
filmed with are missing from every licence-clean source found (models/DATA.md):

* **compressed video frames**: a 1080p range or garage camera, blocky JPEG/H.264 artefacts, soft focus,
  a white ball on a light mat or floor (low contrast);
* **infrared launch monitors**: one grey-scale frame, a dark scene, several strobed exposures of the
  same ball along its path, bright because the ball reflects the strobe.

This script derives such images from the *train* split only (the val split and the held-out sets are
never read), so nothing here is new photography, only new looks for the same balls:

``video``  a train photo, downscaled and upscaled (soft), lifted towards white and flattened in
           contrast (light floors), then re-encoded at JPEG quality 12-40. Labels unchanged.
``gray``   a train photo in grey scale, darkened with a gamma and a gain, with sensor noise: the
           infrared look without the strobe. Labels unchanged.
``zoom``   a train photo shrunk so that its largest ball is 24-96 px, pasted (feathered edge) at a
           random place on a ball-free real texture of a 16:9 or 4:3 frame; half of them also get the
           ``video`` look. The pool is mostly close-ups (balls >= 128 px); this is the mid-size range a
           ball on a mat or floor has in a 1080p frame.
``strobe`` a ball-free real texture (a `real_negatives.py` crop) in dark grey scale, with 3-8
           exposures of one real ball (cut from a train photo with a feathered round mask) pasted
           along a gently curved path, 0.9-2.2 diameters apart, so neighbours may touch; each exposure
           is labelled.

Written as YOLO data, ``<out>/images/<kind>_<stem>.jpg`` + ``<out>/labels/...``. Deterministic for a
seed and the same inputs.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
from pathlib import Path

import cv2
import numpy as np
from real_negatives import list_images, prepare_out, read_labels

CACHE = Path(os.environ.get("GOLFIQ_TRAIN_CACHE", "/work/.cache/golfiq-train"))


def write_labels(path: Path, rows) -> None:
    path.write_text("".join(f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in rows))


def write_image(out: Path, stem: str, img: np.ndarray) -> None:
    cv2.imwrite(str(out / "images" / f"{stem}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])


def video_look(im: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = im.shape[:2]
    f = rng.uniform(0.3, 0.7)
    small = cv2.resize(im, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    # Lift towards white and flatten: a white ball on a light mat has little contrast left.
    lift = rng.uniform(0.0, 0.35)
    gain = rng.uniform(0.6, 0.95)
    out = out * gain + 255.0 * lift * (1.0 - gain) + (out.mean() * (1.0 - gain) * (1.0 - lift))
    out = np.clip(out, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(12, 40)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else out


def ir_background(im: np.ndarray, rng: random.Random) -> np.ndarray:
    g = cv2.cvtColor(im, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    g = np.power(g, rng.uniform(1.3, 2.6)) * rng.uniform(0.25, 0.7)
    g += np.random.default_rng(rng.randrange(1 << 30)).normal(0.0, rng.uniform(0.005, 0.03), g.shape)
    return np.clip(g * 255.0, 0, 255).astype(np.uint8)


def gray_look(im: np.ndarray, rng: random.Random) -> np.ndarray:
    # Balls keep more of their brightness than the scene: a gamma darkens mid-tones more than whites.
    return cv2.cvtColor(ir_background(im, rng), cv2.COLOR_GRAY2BGR)


def ball_sprites(labels: dict[Path, list], rng: random.Random, limit: int = 600):
    """Round grey ball cut-outs from single-ball train photos whose ball is big enough to shrink."""
    images = list(labels)
    rng.shuffle(images)
    sprites = []
    for path in images:
        if len(sprites) >= limit:
            break
        rows = labels[path]
        if len(rows) != 1:
            continue
        im = cv2.imread(str(path))
        if im is None:
            continue
        h, w = im.shape[:2]
        _, cx, cy, bw, bh = rows[0]
        pw, ph = bw * w, bh * h
        # Stretched exports make ellipses; keep near-round balls, wholly inside the frame.
        if min(pw, ph) < 40 or max(pw, ph) / min(pw, ph) > 1.2:
            continue
        side = int(round(max(pw, ph)))
        x0, y0 = int(round(cx * w - side / 2)), int(round(cy * h - side / 2))
        if x0 < 0 or y0 < 0 or x0 + side > w or y0 + side > h:
            continue
        sprites.append(cv2.cvtColor(im[y0:y0 + side, x0:x0 + side], cv2.COLOR_BGR2GRAY))
    return sprites


def paste_strobes(bg: np.ndarray, sprite: np.ndarray, rng: random.Random):
    """Paste 3-8 exposures of one ball along a curved path; return the image and YOLO rows."""
    H, W = bg.shape[:2]
    d = rng.randint(20, 70)
    n = rng.randint(3, 8)
    step = d * rng.uniform(0.9, 2.2)
    ang = rng.uniform(-0.6, 0.6) + (math.pi if rng.random() < 0.5 else 0.0)
    curve = rng.uniform(-0.08, 0.08)
    if step * (n - 1) + d >= W - 4:
        n = max(2, int((W - 4 - d) // step) + 1)
    dx, dy = math.cos(ang), math.sin(ang)
    xs = [dx * step * k for k in range(n)]
    ys = [dy * step * k + curve * (step * k) ** 2 / max(d, 1) * 0.1 for k in range(n)]
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    if maxx - minx + d >= W or maxy - miny + d >= H:
        return None, []
    # Start so the whole path stays inside the frame.
    ox = rng.uniform(d / 2 - minx + 1, W - d / 2 - maxx - 1)
    oy = rng.uniform(d / 2 - miny + 1, H - d / 2 - maxy - 1)
    ball = cv2.resize(sprite, (d, d), interpolation=cv2.INTER_AREA).astype(np.float32)
    # Infrared-lit ball: bright, dimples flattened.
    ball = np.clip(ball * rng.uniform(0.9, 1.4) + rng.uniform(20, 80), 0, 255)
    yy, xx = np.mgrid[0:d, 0:d]
    r = np.hypot(xx - (d - 1) / 2, yy - (d - 1) / 2)
    alpha = np.clip((d / 2 - r) / 1.5, 0.0, 1.0)
    out = bg.astype(np.float32)
    rows = []
    fade = rng.uniform(0.6, 1.0)
    for k in range(n):
        cx, cy = ox + xs[k], oy + ys[k]
        x0, y0 = int(round(cx - d / 2)), int(round(cy - d / 2))
        # Later exposures may be dimmer (the strobe's falloff or the ball leaving the light).
        gain = 1.0 - (1.0 - fade) * k / max(1, n - 1)
        region = out[y0:y0 + d, x0:x0 + d]
        region[:] = region * (1 - alpha) + ball * gain * alpha
        rows.append((0, (x0 + d / 2) / W, (y0 + d / 2) / H, d / W, d / H))
    if rng.random() < 0.3:
        # A little motion along the path.
        kl = rng.choice((3, 5))
        kern = np.zeros((kl, kl), np.float32)
        kern[kl // 2, :] = 1.0 / kl
        rot = cv2.getRotationMatrix2D((kl / 2 - 0.5, kl / 2 - 0.5), math.degrees(ang), 1.0)
        kern = cv2.warpAffine(kern, rot, (kl, kl))
        kern /= max(kern.sum(), 1e-6)
        out = cv2.filter2D(out, -1, kern)
    return np.clip(out, 0, 255).astype(np.uint8), rows


def zoom_out(im: np.ndarray, rows, texture: np.ndarray, rng: random.Random):
    """Shrink a photo so its biggest ball is 24-96 px and paste it into a texture frame; None if it cannot."""
    h, w = im.shape[:2]
    boxes = [(c, x * w, y * h, bw * w, bh * h) for c, x, y, bw, bh in rows]
    biggest = max(max(b[3], b[4]) for b in boxes)
    s = rng.uniform(24, 96) / biggest
    if s >= 0.9:
        return None, []
    W, H = 640, rng.choice((360, 480))
    sw, sh = max(1, int(w * s)), max(1, int(h * s))
    small = cv2.resize(im, (sw, sh), interpolation=cv2.INTER_AREA)
    # Where the photo lands: if it is bigger than the frame, a frame-sized window of it that holds a
    # ball whole; balls the window cuts make the photo unusable (a half ball would be unlabelled).
    ball = rng.choice(boxes)
    cw, ch = min(sw, W), min(sh, H)
    bx0, by0 = (ball[1] - ball[3] / 2) * s, (ball[2] - ball[4] / 2) * s
    bx1, by1 = (ball[1] + ball[3] / 2) * s, (ball[2] + ball[4] / 2) * s
    lo_x, hi_x = max(0, int(bx1) + 1 - cw), min(sw - cw, int(bx0))
    lo_y, hi_y = max(0, int(by1) + 1 - ch), min(sh - ch, int(by0))
    if lo_x > hi_x or lo_y > hi_y:
        return None, []
    wx, wy = rng.randint(lo_x, hi_x), rng.randint(lo_y, hi_y)
    px, py = rng.randint(0, W - cw), rng.randint(0, H - ch)
    out_rows = []
    for c, x, y, bw, bh in boxes:
        x0, y0, x1, y1 = (x - bw / 2) * s - wx, (y - bh / 2) * s - wy, (x + bw / 2) * s - wx, (y + bh / 2) * s - wy
        inside = x0 >= 0 and y0 >= 0 and x1 <= cw and y1 <= ch
        outside = x1 <= 0 or y1 <= 0 or x0 >= cw or y0 >= ch
        if not (inside or outside):
            return None, []
        if inside:
            out_rows.append((c, (px + (x0 + x1) / 2) / W, (py + (y0 + y1) / 2) / H, (x1 - x0) / W, (y1 - y0) / H))
    frame = cv2.resize(texture, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32)
    patch = small[wy:wy + ch, wx:wx + cw].astype(np.float32)
    # Feather the paste so the photo's border is not a hard line the model can learn.
    yy, xx = np.mgrid[0:ch, 0:cw]
    edge = np.minimum(np.minimum(xx, cw - 1 - xx), np.minimum(yy, ch - 1 - yy)).astype(np.float32)
    alpha = np.clip(edge / 6.0, 0.0, 1.0)[..., None]
    region = frame[py:py + ch, px:px + cw]
    region[:] = region * (1 - alpha) + patch * alpha
    return np.clip(frame, 0, 255).astype(np.uint8), out_rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", type=Path, default=CACHE / "real/split/train")
    ap.add_argument("--negatives", type=Path, default=CACHE / "real/negatives")
    ap.add_argument("--out", type=Path, default=CACHE / "real/domains")
    ap.add_argument("--video", type=int, default=500, help="compressed-video looks of train photos")
    ap.add_argument("--gray", type=int, default=200, help="grey infrared looks of train photos")
    ap.add_argument("--zoom", type=int, default=500, help="photos shrunk onto real textures (mid-size balls)")
    ap.add_argument("--strobe", type=int, default=400, help="strobed-ball composites on real textures")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clean", action="store_true")
    a = ap.parse_args(argv)

    prepare_out(a.out, a.clean)
    rng = random.Random(a.seed)

    photos = list_images(a.split / "images")
    labels = {p: read_labels(a.split / "labels" / (p.stem + ".txt")) for p in photos}
    with_balls = [p for p in photos if labels[p]]
    counts = {"video": 0, "gray": 0, "zoom": 0, "strobe": 0}
    for kind, n, look in (("video", a.video, video_look), ("gray", a.gray, gray_look)):
        for path in rng.sample(with_balls, min(n, len(with_balls))):
            im = cv2.imread(str(path))
            if im is None:
                continue
            stem = f"{kind}_{path.stem}"
            write_image(a.out, stem, look(im, random.Random(f"{a.seed}:{stem}")))
            shutil.copyfile(a.split / "labels" / (path.stem + ".txt"), a.out / "labels" / f"{stem}.txt")
            counts[kind] += 1

    backgrounds = list_images(a.negatives / "images")
    if backgrounds:
        for path in rng.sample(with_balls, min(2 * a.zoom, len(with_balls))):
            if counts["zoom"] >= a.zoom:
                break
            im = cv2.imread(str(path))
            if im is None:
                continue
            stem = f"zoom_{path.stem}"
            r = random.Random(f"{a.seed}:{stem}")
            img, rows = zoom_out(im, labels[path], cv2.imread(str(r.choice(backgrounds))), r)
            if img is None:
                continue
            if r.random() < 0.5:
                img = video_look(img, r)
            write_image(a.out, stem, img)
            write_labels(a.out / "labels" / f"{stem}.txt", rows)
            counts["zoom"] += 1

    sprites = ball_sprites(labels, random.Random(f"{a.seed}:sprites"))
    if sprites and backgrounds and a.strobe:
        for k in range(a.strobe):
            r = random.Random(f"{a.seed}:strobe:{k}")
            bg = cv2.imread(str(r.choice(backgrounds)))
            if bg is None:
                continue
            # Launch-monitor frames are wider than tall; cut a 4:3 band so the letterbox matches.
            H, W = bg.shape[:2]
            band = int(W * 0.75)
            y0 = r.randint(0, max(0, H - band))
            img, rows = paste_strobes(ir_background(bg[y0:y0 + band], r), r.choice(sprites), r)
            if img is None:
                continue
            stem = f"strobe_{k:04d}"
            write_image(a.out, stem, img)
            write_labels(a.out / "labels" / f"{stem}.txt", rows)
            counts["strobe"] += 1
    print(f"{counts} from {len(with_balls)} train photos, {len(sprites)} ball sprites, "
          f"{len(backgrounds)} textures -> {a.out}")


if __name__ == "__main__":
    main()
