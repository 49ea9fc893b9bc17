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

The datasets made before 2026-11-30 (`golf`, `golf2`, `streakval` in models/README.md) come from this
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
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

cv2.setNumThreads(1)

CLASS_NAMES = ["golf_ball", "club_head"]
# Share of airborne balls (>= 4 px at 640) drawn as motion streaks; --streak-rate overrides it.
DEFAULT_STREAK_RATE = 0.22
# Label of a streaked ball: "extent" (the streak's visible extent) or "disc" (before 2026-11-30); --streak-box.
DEFAULT_STREAK_BOX = "extent"
SPLIT_CODE = {"train": 1, "val": 2, "golden": 3}
FRAME_SIZES = [((640, 640), 0.35), ((1280, 720), 0.30), ((960, 540), 0.15), ((640, 360), 0.20)]  # (w, h)
HEAD_COLOURS = {
    "black": (0.06, 0.06, 0.07),
    "grey": (0.40, 0.40, 0.42),
    "silver": (0.74, 0.75, 0.77),
    "blue": (0.10, 0.25, 0.72),
    "red": (0.76, 0.10, 0.10),
}
GOLDEN_SEED = 9001


# --------------------------------------------------------------------------- helpers
def hsv(h: float, s: float, v: float) -> np.ndarray:
    """HSV (all in [0,1]) -> RGB float32."""
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, np.float32)


def lowfreq(rng, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth noise with feature size ~cell px, zero mean, unit-ish std."""
    gh = max(2, int(h / cell) + 2)
    gw = max(2, int(w / cell) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised linear motion-blur kernel."""
    k = int(math.ceil(length)) | 1
    k = max(k, 3)
    ker = np.zeros((k, k), np.float32)
    c = (k - 1) / 2.0
    dx, dy = math.cos(angle) * length / 2.0, math.sin(angle) * length / 2.0
    s = 16
    cv2.line(ker, (int(round((c - dx) * s)), int(round((c - dy) * s))),
             (int(round((c + dx) * s)), int(round((c + dy) * s))), 1.0, 1, cv2.LINE_AA, shift=4)
    tot = ker.sum()
    if tot <= 0:
        ker[int(c), int(c)] = 1.0
        tot = 1.0
    return ker / tot


def composite(img: np.ndarray, x0: int, y0: int, prgb: np.ndarray, alpha: np.ndarray) -> None:
    """Premultiplied 'over' of a patch whose top-left is (x0, y0); clips to the image."""
    H, W = img.shape[:2]
    ph, pw = alpha.shape
    xa, ya = max(0, x0), max(0, y0)
    xb, yb = min(W, x0 + pw), min(H, y0 + ph)
    if xa >= xb or ya >= yb:
        return
    a = alpha[ya - y0:yb - y0, xa - x0:xb - x0, None]
    c = prgb[ya - y0:yb - y0, xa - x0:xb - x0]
    region = img[ya:yb, xa:xb]
    region *= (1.0 - a)
    region += c


def fill_poly_mask(shape, polys, offset) -> np.ndarray:
    """Anti-aliased polygon coverage mask (float32 0..1) in patch coordinates."""
    m = np.zeros(shape, np.uint8)
    pts = [np.round((np.asarray(p, np.float64) - offset) * 16).astype(np.int32) for p in polys]
    cv2.fillPoly(m, pts, 255, cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255.0


# --------------------------------------------------------------------------- backgrounds
def bg_grass(rng, h, w, s):
    hue = rng.uniform(0.17, 0.33)
    base = hsv(hue, rng.uniform(0.35, 0.8), rng.uniform(0.28, 0.62))
    t = 0.13 * lowfreq(rng, h, w, max(h, w) / rng.uniform(2, 5)) + 0.05 * lowfreq(rng, h, w, 18 * s)
    blades = rng.standard_normal((max(2, h // int(rng.integers(2, 6))), w)).astype(np.float32)
    t += rng.uniform(0.04, 0.12) * cv2.resize(blades, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.55:  # mowing stripes
        th = rng.uniform(0, math.pi)
        period = rng.uniform(60, 220) * s
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        proj = xx * math.cos(th) + yy * math.sin(th)
        t += rng.uniform(0.04, 0.12) * np.tanh(4 * np.sin(2 * math.pi * proj / period))
    img = base[None, None, :] * (1.0 + t)[..., None]
    img[..., 0] *= 1.0 + 0.05 * lowfreq(rng, h, w, 60 * s)
    return img


def bg_mat(rng, h, w, s):
    r = rng.random()
    if r < 0.7:
        base = hsv(rng.uniform(0.27, 0.42), rng.uniform(0.35, 0.75), rng.uniform(0.22, 0.5))
    elif r < 0.85:
        base = hsv(rng.uniform(0.5, 0.62), rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.45))
    else:
        base = np.full(3, rng.uniform(0.15, 0.45), np.float32)
    p = rng.uniform(2.5, 6.0) * s
    xs = np.cos(2 * math.pi * np.arange(w, dtype=np.float32) / p)
    ys = np.cos(2 * math.pi * np.arange(h, dtype=np.float32) / p)
    t = rng.uniform(0.03, 0.08) * (xs[None, :] + ys[:, None])
    fib = np.empty((h, w), np.float32)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
    cv2.randn(fib, 0.0, rng.uniform(0.04, 0.1))
    t = t + fib
    t += 0.1 * lowfreq(rng, h, w, max(h, w) / 3)
    return base[None, None, :] * (1.0 + t)[..., None]


def bg_sky(rng, h, w, s, horizon):
    top = np.array([0.22, 0.42, 0.85], np.float32) * rng.uniform(0.7, 1.1)
    bot = np.array([0.72, 0.82, 0.93], np.float32) * rng.uniform(0.85, 1.05)
    if rng.random() < 0.25:  # overcast
        g = rng.uniform(0.55, 0.85)
        top = np.array([g, g, g + 0.03], np.float32)
        bot = top * 1.08
    y = np.clip(np.arange(h, dtype=np.float32) / max(1.0, horizon), 0, 1)[:, None, None]
    img = np.broadcast_to(top * (1 - y) + bot * y, (h, w, 3)).copy()
    if rng.random() < 0.7:
        c = lowfreq(rng, h, w, max(h, w) / rng.uniform(3, 8)) + 0.4 * lowfreq(rng, h, w, 30 * s)
        thr = rng.uniform(-0.2, 1.2)
        m = np.clip((c - thr) / 0.8, 0, 1)[..., None] * rng.uniform(0.5, 1.0)
        cloud = np.float32(rng.uniform(0.8, 1.0))
        img = img * (1 - m) + cloud * m
    return img


def bg_net(rng, h, w, s):
    if rng.random() < 0.35:  # impact screen: bright, smooth
        v = rng.uniform(0.55, 0.9)
        img = np.full((h, w, 3), v, np.float32)
        img *= (1 + 0.08 * lowfreq(rng, h, w, max(h, w) / 2))[..., None]
        return img
    v = rng.uniform(0.04, 0.3)
    img = np.full((h, w, 3), v, np.float32) * (1 + 0.15 * lowfreq(rng, h, w, max(h, w) / 3))[..., None]
    p = int(rng.uniform(6, 22) * s) + 2
    lc = v + rng.uniform(0.05, 0.25)
    img[::p, :, :] = lc
    img[:, ::p, :] = lc
    return img


def tree_line(rng, img, horizon, s):
    h, w = img.shape[:2]
    height = rng.uniform(8, 60) * s
    prof = lowfreq(rng, 1, w, rng.uniform(10, 60) * s)[0]
    top = horizon - height * (0.6 + 0.4 * np.tanh(prof))
    r0 = max(0, int(top.min()) - 1)
    r1 = min(h, int(horizon) + 1)
    if r1 <= r0:
        return
    yy = np.arange(r0, r1, dtype=np.float32)[:, None]
    m = np.clip(yy - top[None, :] + 0.5, 0, 1)[..., None]
    col = hsv(rng.uniform(0.22, 0.4), rng.uniform(0.3, 0.7), rng.uniform(0.08, 0.3))
    tex = (1 + 0.25 * lowfreq(rng, r1 - r0, w, 6 * s))[..., None]
    img[r0:r1] = img[r0:r1] * (1 - m) + col * tex * m


def make_background(rng, h, w, s, force=None):
    """Returns (img float32 HxWx3, ground_top row, kind)."""
    r = rng.random() if force is None else force
    if r < 0.30:  # outdoor: sky, trees, grass (+ maybe mat at the bottom)
        hz = int(h * rng.uniform(0.15, 0.55))
        img = bg_grass(rng, h, w, s)
        img[:hz] = bg_sky(rng, hz, w, s, hz)
        tree_line(rng, img, hz, s)
        ground = hz
        if rng.random() < 0.4:
            my = int(h * rng.uniform(0.6, 0.85))
            img[my:] = bg_mat(rng, h - my, w, s)
            img[my:my + max(1, int(3 * s))] *= 0.4
        return img, ground, "outdoor"
    if r < 0.55:  # driving-range bay: mat at bottom, range or net behind
        my = int(h * rng.uniform(0.35, 0.75))
        if rng.random() < 0.6:
            img = bg_grass(rng, h, w, s)
            hz = int(my * rng.uniform(0.2, 0.7))
            img[:hz] = bg_sky(rng, hz, w, s, hz)
            tree_line(rng, img, hz, s)
        else:
            img = bg_net(rng, h, w, s)
        img[my:] = bg_mat(rng, h - my, w, s)
        img[my:my + max(1, int(rng.uniform(2, 8) * s))] *= rng.uniform(0.2, 0.6)
        return img, my, "bay"
    if r < 0.75:  # ground only (looking down)
        if rng.random() < 0.6:
            return bg_grass(rng, h, w, s), 0, "grass"
        return bg_mat(rng, h, w, s), 0, "mat"
    if r < 0.88:  # indoor simulator
        my = int(h * rng.uniform(0.45, 0.8))
        img = bg_net(rng, h, w, s)
        img[my:] = bg_mat(rng, h - my, w, s)
        return img, my, "indoor"
    return bg_sky(rng, h, w, s, h * rng.uniform(0.8, 1.6)), h, "sky"  # ball flight


# --------------------------------------------------------------------------- distractors
def draw_tee(rng, img, x, y, s, colour=None, top=None, ball_d=None):
    """Tee standing on the ground at (x, y) (bottom); if `top` is given the cup is at that row."""
    if ball_d is not None:  # tee under a ball: scaled to the ball
        tw = max(1.0, ball_d * rng.uniform(0.15, 0.25))
        th = ball_d * rng.uniform(0.2, 0.9)
    else:
        tw = max(1.5, rng.uniform(1.5, 4) * s)
        th = rng.uniform(6, 22) * s
    if top is not None:
        y = top + th + tw
    col = colour if colour is not None else [
        np.array([0.95, 0.95, 0.93]), np.array([0.95, 0.55, 0.1]), np.array([0.95, 0.85, 0.15]),
        np.array([0.6, 0.42, 0.25]), np.array([0.2, 0.6, 0.9]), np.array([0.9, 0.2, 0.3])][int(rng.integers(6))]
    col = np.asarray(col, np.float32)
    poly = [(x - tw / 2, y), (x + tw / 2, y), (x + tw / 2, y - th), (x + tw * 1.3, y - th - tw),
            (x - tw * 1.3, y - th - tw), (x - tw / 2, y - th)]
    stamp_poly(img, [poly], col)
    return y - th - tw  # top of tee


def stamp_poly(img, polys, col, shade=None):
    allp = np.concatenate([np.asarray(p, np.float64) for p in polys])
    x0, y0 = np.floor(allp.min(0)).astype(int) - 2
    x1, y1 = np.ceil(allp.max(0)).astype(int) + 2
    H, W = img.shape[:2]
    if x1 < 0 or y1 < 0 or x0 >= W or y0 >= H:
        return
    m = fill_poly_mask((y1 - y0, x1 - x0), polys, np.array([x0, y0]))
    c = np.broadcast_to(np.asarray(col, np.float32), m.shape + (3,))
    if shade is not None:
        c = c * shade
    composite(img, x0, y0, c * m[..., None], m)


def stamp_ellipse(img, cx, cy, ax, ay, ang, col, alpha=1.0, soft=0.0, blur=None):
    """Ellipse with semi-axes (ax, ay) rotated by ang; soft = Gaussian edge sigma; blur = (length, angle)
    of a linear motion blur."""
    pts = cv2.ellipse2Poly((0, 0), (1000, 1000), 0, 0, 360, 10).astype(np.float64) / 1000.0
    ca, sa = math.cos(ang), math.sin(ang)
    px = pts[:, 0] * ax
    py = pts[:, 1] * ay
    poly = np.stack([cx + px * ca - py * sa, cy + px * sa + py * ca], 1)
    margin = 2 + int(soft * 3) + (int(math.ceil(blur[0] / 2)) + 1 if blur else 0)
    x0, y0 = np.floor(poly.min(0)).astype(int) - margin
    x1, y1 = np.ceil(poly.max(0)).astype(int) + margin
    m = fill_poly_mask((y1 - y0, x1 - x0), [poly], np.array([x0, y0]))
    if soft > 0:
        m = cv2.GaussianBlur(m, (0, 0), soft)
    if blur:
        m = cv2.filter2D(m, -1, line_kernel(*blur), borderType=cv2.BORDER_CONSTANT)
    m *= alpha
    col = np.asarray(col, np.float32)
    composite(img, x0, y0, m[..., None] * col, m)


def add_distractors(rng, img, ground, s, protect=()):
    H, W = img.shape[:2]
    gh = H - ground
    if gh > 10:
        for _ in range(int(rng.poisson(1.0))):  # divots
            cx, cy = rng.uniform(0, W), rng.uniform(ground, H)
            col = hsv(rng.uniform(0.06, 0.12), rng.uniform(0.3, 0.6), rng.uniform(0.15, 0.4))
            stamp_ellipse(img, cx, cy, rng.uniform(6, 35) * s, rng.uniform(3, 12) * s, rng.uniform(-0.3, 0.3),
                          col, rng.uniform(0.6, 1.0), soft=rng.uniform(0.5, 2.0) * s)
        for _ in range(int(rng.poisson(0.7))):  # tees lying around / standing
            draw_tee(rng, img, rng.uniform(0, W), rng.uniform(ground + 5, H), s)
        if rng.random() < 0.3:  # white line marking
            th = rng.uniform(2, 12) * s
            x_a, x_b = rng.uniform(-0.2 * W, 1.2 * W, 2)
            y_a, y_b = rng.uniform(ground, H, 2)
            d = np.array([x_b - x_a, y_b - y_a])
            n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6) * th / 2
            poly = [(x_a + n[0], y_a + n[1]), (x_b + n[0], y_b + n[1]), (x_b - n[0], y_b - n[1]), (x_a - n[0], y_a - n[1])]
            wv = rng.uniform(0.75, 0.98)
            stamp_poly(img, [poly], (wv, wv, wv * rng.uniform(0.95, 1.0)))
    for _ in range(int(rng.poisson(0.6))):  # loose hand / glove blobs, half of them motion-blurred
        blur_len = rng.uniform(4, 45) * s if rng.random() < 0.5 else 0.0
        draw_hand(rng, img, rng.uniform(0, W), rng.uniform(0, H), rng.uniform(12, 40) * s, blur_len)
    for _ in range(int(rng.poisson(0.8))):  # white litter specks (non-round)
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
        a, b = rng.uniform(2, 14) * s, rng.uniform(0.7, 3) * s
        wv = rng.uniform(0.8, 1.0)
        stamp_ellipse(img, cx, cy, a, b, rng.uniform(0, math.pi), (wv, wv, wv))
    for _ in range(int(rng.poisson(0.7))):  # generic clutter (shoes, bags, markers), muted colours
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
        grey = rng.uniform(0.05, 0.6)
        col = np.clip(grey + rng.uniform(-0.12, 0.12, 3), 0, 1)
        if rng.random() < 0.5:
            stamp_ellipse(img, cx, cy, rng.uniform(4, 40) * s, rng.uniform(4, 25) * s, rng.uniform(0, math.pi), col,
                          soft=0.7)
        else:
            w2, h2 = rng.uniform(4, 45) * s, rng.uniform(4, 45) * s
            stamp_poly(img, [[(cx, cy), (cx + w2, cy), (cx + w2, cy + h2), (cx, cy + h2)]], col)


def hand_colour(rng):
    r = rng.random()
    if r < 0.45:
        return hsv(rng.uniform(0.03, 0.09), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))  # skin
    if r < 0.8:
        v = rng.uniform(0.85, 0.98)
        return np.array([v, v, v * 0.97], np.float32)  # white glove
    return np.full(3, rng.uniform(0.05, 0.2), np.float32)  # dark glove


def draw_hand(rng, img, cx, cy, size, blur_len=0.0):
    """A hand / glove blob; with blur_len > 0 it is motion-blurred along a random direction, like the
    hands on a swinging grip, so that a blurred glove alone is a negative and not read as a club head."""
    ax, ay, ang, col = size, size * rng.uniform(0.55, 0.9), rng.uniform(0, math.pi), hand_colour(rng)
    blur = (blur_len, rng.uniform(0, math.pi)) if blur_len > 0 else None
    stamp_ellipse(img, cx, cy, ax, ay, ang, col, soft=0.6, blur=blur)


# --------------------------------------------------------------------------- golf ball
def render_ball(rng, img, cx, cy, d, streak_len=0.0, streak_ang=0.0, light=None, shadow_dy=None,
                streak_box=DEFAULT_STREAK_BOX):
    """Draws a ball centred (at mid-exposure) on (cx, cy); returns the label box (x1,y1,x2,y2).

    A streak's box is its visible extent (streak_box="extent": the disc swept along the streak) or the
    un-blurred disc at mid-exposure ("disc", the label of the datasets before 2026-11-30).  Both are
    centred on (cx, cy), the only part of the box the pipeline reads."""
    r = d / 2.0
    pad = int(math.ceil(r + streak_len / 2 + 3))
    x0, y0 = int(math.floor(cx)) - pad, int(math.floor(cy)) - pad
    n = 2 * pad + 2
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    dx = xx + x0 + 0.5 - cx
    dy = yy + y0 + 0.5 - cy
    dist = np.sqrt(dx * dx + dy * dy)
    alpha = np.clip(r - dist + 0.5, 0, 1)
    if shadow_dy is not None and streak_len == 0:
        sh = np.clip(1 - ((dx / (r * 1.1)) ** 2 + ((dy - shadow_dy) / (r * 0.45)) ** 2), 0, 1) * 0.55
        sh = sh * (1 - alpha)
        H, W = img.shape[:2]
        xa, ya, xb, yb = max(0, x0), max(0, y0), min(W, x0 + n), min(H, y0 + n)
        if xa < xb and ya < yb:
            img[ya:yb, xa:xb] *= (1 - sh[ya - y0:yb - y0, xa - x0:xb - x0, None])
    nx, ny = dx / max(r, 0.5), dy / max(r, 0.5)
    nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
    lx, ly, lz = light if light is not None else (-0.4, -0.6, 0.7)
    ln = math.sqrt(lx * lx + ly * ly + lz * lz)
    lam = np.clip((nx * lx + ny * ly + nz * lz) / ln, 0, 1)
    amb = rng.uniform(0.35, 0.6)
    shade = amb + (1 - amb) * lam
    base = rng.uniform(0.82, 1.0)
    tint = np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.9, 1.0)], np.float32)
    if d > 10:  # dimples
        shade = shade * (1 - 0.06 * np.abs(rng.standard_normal(shade.shape).astype(np.float32)))
    col = (base * shade)[..., None] * tint
    if d > 8 and rng.random() < 0.15:  # range-ball stripe
        sc = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.3, 0.8]][int(rng.integers(3))], np.float32)
        band = (np.abs(ny * 0.8 + nx * 0.2) < 0.15)[..., None]
        col = np.where(band, sc * shade[..., None], col)
    spec = np.clip(1 - ((nx - lx * 0.5) ** 2 + (ny - ly * 0.5) ** 2) / 0.05, 0, 1) * rng.uniform(0.1, 0.4)
    col = np.clip(col + spec[..., None], 0, 1.2)
    prgb = col * alpha[..., None]
    if streak_len > 0:
        k = line_kernel(streak_len, streak_ang)
        prgb = cv2.filter2D(prgb, -1, k, borderType=cv2.BORDER_CONSTANT)
        alpha = cv2.filter2D(alpha, -1, k, borderType=cv2.BORDER_CONSTANT)
    composite(img, x0, y0, prgb.astype(np.float32), alpha.astype(np.float32))
    if streak_len > 0 and streak_box == "extent":
        hx = abs(math.cos(streak_ang)) * streak_len / 2 + r
        hy = abs(math.sin(streak_ang)) * streak_len / 2 + r
        return (cx - hx, cy - hy, cx + hx, cy + hy)
    return (cx - r, cy - r, cx + r, cy + r)


def sample_ball_diameter(rng, s, d_min=3.0, d_max=40.0):
    # One uniform draw whatever the range is, so a dataset made with the defaults keeps its images.
    return float(math.exp(rng.uniform(math.log(d_min), math.log(d_max)))) * s


# --------------------------------------------------------------------------- club
def head_polygon(rng, kind):
    """Local polygon, heel at x=0, toe at x=1, sole at y=0, +y up; returns (head_poly, hosel_top)."""
    if kind == "driver":
        t = np.linspace(0, 2 * math.pi, 36, endpoint=False)
        hr = rng.uniform(0.45, 0.85)
        x = 0.5 + 0.5 * np.cos(t)
        y = hr * 0.5 * (1 + np.sin(t)) * (0.75 + 0.3 * x)
        y = np.where(np.sin(t) < 0, y * 0.7 + 0.0, y)  # flatter sole
        poly = np.stack([x, y], 1)
        top = float(y.max())
        hosel = np.array([(0.06, top * 0.55), (0.16, top * 0.55), (0.13, top * 1.05), (0.08, top * 1.05)])
        return [poly, hosel], np.array([0.105, top * 1.05])
    hr = rng.uniform(0.8, 1.2)
    poly = np.array([(0.0, 0.05), (0.1, 0.0), (0.9, 0.0), (1.0, 0.08), (1.02, 0.3), (0.97, 0.45), (0.88, 0.5),
                     (0.2, 0.3), (0.12, 0.34), (0.1, 0.62), (0.04, 0.62), (0.02, 0.3)], np.float64)
    poly[:, 1] *= hr
    return [poly], np.array([0.07, 0.62 * hr])


def render_club(rng, img, hx, hy, width, s, blur=None, colour=None, kind=None, angle=None):
    """Club head with its centre near (hx, hy), head width `width` px.

    Returns dict with label box (x1,y1,x2,y2) of the head (None if invisible) and metadata.
    """
    kind = kind or ("driver" if rng.random() < 0.5 else "iron")
    cname = colour or list(HEAD_COLOURS)[int(rng.integers(len(HEAD_COLOURS)))]
    base = np.array(HEAD_COLOURS[cname], np.float32) * rng.uniform(0.85, 1.15)
    polys, hosel = head_polygon(rng, kind)
    ang = rng.uniform(-math.pi, math.pi) if angle is None else angle
    flip = rng.random() < 0.5
    ca, sa = math.cos(ang), math.sin(ang)

    def to_img(p):
        p = np.asarray(p, np.float64)
        x = (p[..., 0] - 0.5) * width
        y = -(p[..., 1] - 0.25) * width
        if flip:
            x = -x
        return np.stack([hx + x * ca - y * sa, hy + x * sa + y * ca], -1)

    head_img = [to_img(p) for p in polys]
    hosel_img = to_img(hosel)
    # shaft: up and towards the heel in head coordinates (lie angle ~ 50-70 deg)
    lie = math.radians(rng.uniform(100, 130))
    sdir_local = np.array([math.cos(lie), math.sin(lie)])
    sd = np.array([sdir_local[0] * (-1 if flip else 1), -sdir_local[1]])
    sd = np.array([sd[0] * ca - sd[1] * sa, sd[0] * sa + sd[1] * ca])
    slen = rng.uniform(120, 450) * s
    sw = max(1.2, rng.uniform(1.5, 4.5) * s * (width / (60 * s)) ** 0.3)
    shaft_end = hosel_img + sd * slen
    grip_start = hosel_img + sd * slen * rng.uniform(0.7, 0.8)
    blur_len = 0.0
    if blur is None:
        blur = rng.random() < 0.35
    if blur:
        blur_len = rng.uniform(4, 45) * s
    blur_ang = math.atan2(sd[1], sd[0]) + math.pi / 2 + rng.uniform(-0.35, 0.35)
    pts = np.concatenate(head_img + [shaft_end[None], hosel_img[None]])
    pad = int(blur_len / 2 + 40 * s + 6)
    x0, y0 = np.floor(pts.min(0)).astype(int) - pad
    x1, y1 = np.ceil(pts.max(0)).astype(int) + pad
    H, W = img.shape[:2]
    # keep the patch bounded to the frame (plus margin)
    x0, y0 = max(x0, -pad), max(y0, -pad)
    x1, y1 = min(x1, W + pad), min(y1, H + pad)
    if x1 <= x0 + 2 or y1 <= y0 + 2:
        return {"box": None}
    shape = (y1 - y0, x1 - x0)
    off = np.array([x0, y0], np.float64)
    C = np.zeros(shape + (3,), np.float32)
    A = np.zeros(shape, np.float32)

    def over(mask, col):
        nonlocal C, A
        m = mask[..., None]
        C = C * (1 - m) + col * m
        A = A * (1 - mask) + mask

    def seg_poly(p, q, wid):
        d = q - p
        n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9) * wid / 2
        return [p + n, q + n, q - n, p - n]

    shaft_col = np.array([[0.75, 0.75, 0.78], [0.1, 0.1, 0.1], [0.45, 0.45, 0.5]][int(rng.integers(3))], np.float32)
    over(fill_poly_mask(shape, [seg_poly(hosel_img, grip_start, sw)], off), shaft_col)
    over(fill_poly_mask(shape, [seg_poly(grip_start, shaft_end, sw * 1.6)], off),
         np.full(3, rng.uniform(0.03, 0.25), np.float32))
    if rng.random() < 0.8:  # hands on the grip
        hs = rng.uniform(14, 32) * s
        hc = shaft_end - sd * hs * 0.6
        hcol = hand_colour(rng)
        for k in range(2):
            c = hc - sd * hs * 0.9 * k
            pts_e = cv2.ellipse2Poly((0, 0), (1000, 1000), 0, 0, 360, 12).astype(np.float64) / 1000.0
            a2 = math.atan2(sd[1], sd[0])
            e = np.stack([pts_e[:, 0] * hs, pts_e[:, 1] * hs * 0.7], 1)
            e = np.stack([c[0] + e[:, 0] * math.cos(a2) - e[:, 1] * math.sin(a2),
                          c[1] + e[:, 0] * math.sin(a2) + e[:, 1] * math.cos(a2)], 1)
            over(fill_poly_mask(shape, [e], off), hcol * rng.uniform(0.9, 1.05))
    hm = fill_poly_mask(shape, head_img, off)
    # head shading: gradient across head + specular spot (+ grooves for irons)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    ga = rng.uniform(0, 2 * math.pi)
    ramp = ((xx + x0 - hx) * math.cos(ga) + (yy + y0 - hy) * math.sin(ga)) / max(width, 1)
    shade = 0.85 + rng.uniform(0.2, 0.6) * ramp
    hcol = base[None, None, :] * shade[..., None]
    if cname != "black" or rng.random() < 0.5:
        sx, sy = hx + rng.uniform(-0.3, 0.3) * width, hy + rng.uniform(-0.15, 0.15) * width
        spec = np.exp(-(((xx + x0 - sx) ** 2 + (yy + y0 - sy) ** 2) / (2 * (0.12 * width) ** 2)))
        hcol = hcol + (rng.uniform(0.15, 0.5) * spec)[..., None]
    if kind == "iron" and width > 40 * s:
        for g in range(int(rng.integers(4, 9))):
            yl = 0.06 + g * 0.045
            gp = seg_poly(to_img(np.array([0.25, yl])), to_img(np.array([0.85, yl])), max(1.0, 0.012 * width))
            gm = fill_poly_mask(shape, [gp], off) * hm
            hcol = hcol * (1 - 0.35 * gm[..., None])
    over(hm, np.clip(hcol, 0, 1.2))
    if blur_len > 0:
        k = line_kernel(blur_len, blur_ang)
        C = cv2.filter2D(C, -1, k, borderType=cv2.BORDER_CONSTANT)
        A = cv2.filter2D(A, -1, k, borderType=cv2.BORDER_CONSTANT)
        hm = cv2.filter2D(hm, -1, k, borderType=cv2.BORDER_CONSTANT)
    composite(img, int(x0), int(y0), C, A)
    ys, xs = np.nonzero(hm >= 0.3)
    if len(xs) == 0:
        return {"box": None}
    box = (float(xs.min() + x0), float(ys.min() + y0), float(xs.max() + x0 + 1), float(ys.max() + y0 + 1))
    full_area = (box[2] - box[0]) * (box[3] - box[1])
    cb = (max(0.0, box[0]), max(0.0, box[1]), min(float(W), box[2]), min(float(H), box[3]))
    if cb[2] <= cb[0] or cb[3] <= cb[1]:
        return {"box": None}
    vis = (cb[2] - cb[0]) * (cb[3] - cb[1]) / max(full_area, 1e-6)
    return {"box": cb if vis >= 0.4 else None, "full_box": box, "kind": kind, "colour": cname,
            "blur_px": round(blur_len, 2), "angle_rad": round(ang, 4)}


# --------------------------------------------------------------------------- photometric
def finish(rng, img, s):
    H, W = img.shape[:2]
    gain = rng.uniform(0.55, 1.35)
    temp = rng.uniform(-0.08, 0.08)
    img *= np.array([gain * (1 + temp), gain, gain * (1 - temp)], np.float32)
    if rng.random() < 0.4:  # gradient shadow / uneven light
        th = rng.uniform(0, 2 * math.pi)
        xs = np.linspace(-1, 1, W, dtype=np.float32)
        ys = np.linspace(-1, 1, H, dtype=np.float32)
        g = 1 + rng.uniform(0.1, 0.35) * (xs[None, :] * math.cos(th) + ys[:, None] * math.sin(th))
        img *= g[..., None]
    if rng.random() < 0.3:  # vignette
        xs = np.linspace(-1, 1, W, dtype=np.float32)
        ys = np.linspace(-1, 1, H, dtype=np.float32)
        v = 1 - rng.uniform(0.15, 0.45) * (xs[None, :] ** 2 + ys[:, None] ** 2) / 2
        img *= v[..., None]
    np.clip(img, 0, 1, out=img)
    gamma = rng.uniform(0.8, 1.25)
    if abs(gamma - 1) > 0.03:
        cv2.pow(img, gamma, dst=img)
    if rng.random() < 0.2:  # defocus
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.3) * s)
    sigma = rng.uniform(0.004, 0.035)
    noise = np.empty(img.shape, np.float32)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))  # cv2's RNG, seeded from the per-image stream
    cv2.randn(noise, 0.0, sigma)
    img += noise
    u8 = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return u8


# --------------------------------------------------------------------------- scene
def make_scene(rng, golden_cfg=None, streak_rate=DEFAULT_STREAK_RATE, streak_box=DEFAULT_STREAK_BOX, bg_force=None,
               ball_d_min=3.0, ball_d_max=40.0):
    g = golden_cfg or {}
    if "size" in g:
        W, H = g["size"]
    else:
        sizes, probs = zip(*FRAME_SIZES)
        W, H = sizes[int(rng.choice(len(sizes), p=np.array(probs) / sum(probs)))]
    s = max(W, H) / 640.0
    img, ground, bgkind = make_background(rng, H, W, s, g.get("bg", bg_force))
    if not golden_cfg:
        add_distractors(rng, img, ground, s)
    labels = []  # (cls, x1, y1, x2, y2)
    meta = {"bg": bgkind, "size": [W, H], "balls": [], "clubs": []}

    # balls
    if golden_cfg:
        nballs = 1
    else:
        r = rng.random()
        nballs = 0 if r < 0.1 else (1 if r < 0.78 else int(rng.integers(2, 5)))
    balls = []
    for i in range(nballs):
        d = g.get("ball_d640", None)
        d = d * s if d is not None else sample_ball_diameter(rng, s, ball_d_min, ball_d_max)
        margin = d if golden_cfg else -d * 0.3
        on_ground = (ground < H - d * 2) and (rng.random() < 0.65 or g.get("ball_ground", False))
        if "ball_xy" in g:
            cx, cy = g["ball_xy"][0] * W, g["ball_xy"][1] * H
        elif on_ground:
            cx, cy = rng.uniform(margin, W - margin), rng.uniform(max(ground + d, margin), H - margin)
        else:
            cx, cy = rng.uniform(margin, W - margin), rng.uniform(margin, H - margin)
        streak = g.get("ball_streak", None)
        if streak is None:
            streak = d / s >= 4 and rng.random() < streak_rate and not on_ground
            streak = rng.uniform(1.5, 6) * d if streak else 0.0
        else:
            streak = streak * d
        balls.append(dict(cx=cx, cy=cy, d=d, streak=streak, ang=rng.uniform(0, math.pi), on_ground=on_ground))

    # club(s): often near the first ball (address / impact)
    if golden_cfg:
        nclubs = 1
    else:
        r = rng.random()
        nclubs = 0 if r < 0.15 else (1 if r < 0.95 else 2)
    club_first = rng.random() < 0.25 and not golden_cfg
    pending_clubs = []
    for j in range(nclubs):
        width = g.get("head_w640", None)
        width = width * s if width is not None else rng.uniform(18, 110) * s
        if "head_xy" in g:
            hx, hy = g["head_xy"][0] * W, g["head_xy"][1] * H
        elif balls and j == 0 and rng.random() < 0.55:
            b = balls[0]
            side = -1 if rng.random() < 0.5 else 1
            hx = b["cx"] + side * (width * rng.uniform(0.7, 1.6) + b["d"] / 2)
            hy = b["cy"] + rng.uniform(-0.3, 0.3) * width
        else:
            hx, hy = rng.uniform(0.03 * W, 0.97 * W), rng.uniform(0.03 * H, 0.97 * H)
        pending_clubs.append(dict(hx=hx, hy=hy, width=width))

    def draw_clubs():
        for c in pending_clubs:
            res = render_club(rng, img, c["hx"], c["hy"], c["width"], s, blur=g.get("head_blur"),
                              colour=g.get("head_colour"), kind=g.get("head_kind"), angle=g.get("head_angle"))
            if res["box"] is not None:
                labels.append((1,) + tuple(res["box"]))
                meta["clubs"].append({k: v for k, v in res.items()})

    if club_first:
        draw_clubs()
    light = (rng.uniform(-0.8, 0.8), rng.uniform(-0.9, -0.2), rng.uniform(0.5, 1.0))
    for b in balls:
        if b["on_ground"] and rng.random() < 0.3 and not golden_cfg:
            draw_tee(rng, img, b["cx"], 0, s, top=b["cy"] + b["d"] * 0.35, ball_d=b["d"])
        box = render_ball(rng, img, b["cx"], b["cy"], b["d"], b["streak"], b["ang"], light,
                          shadow_dy=(b["d"] * 0.45) if b["on_ground"] else None, streak_box=streak_box)
        cb = (max(0.0, box[0]), max(0.0, box[1]), min(float(W), box[2]), min(float(H), box[3]))
        if 0 <= b["cx"] < W and 0 <= b["cy"] < H and cb[2] > cb[0] and cb[3] > cb[1]:
            labels.append((0,) + cb)
            meta["balls"].append({"cx": b["cx"], "cy": b["cy"], "diameter": b["d"], "streak_px": b["streak"],
                                  "streak_angle_rad": b["ang"], "box": list(box)})
    if not club_first:
        draw_clubs()
    u8 = finish(rng, img, s)
    return u8, labels, meta


def yolo_lines(labels, W, H):
    out = []
    for c, x1, y1, x2, y2 in labels:
        w, h = x2 - x1, y2 - y1
        if w < 1 or h < 1:
            continue
        out.append(f"{c} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} {w / W:.6f} {h / H:.6f}")
    return out


def write_yaml(out: Path):
    txt = (f"# generated by models/train/gen_dataset.py\npath: {out.resolve()}\ntrain: images/train\n"
           f"val: images/val\nnc: 2\nnames:\n  0: golf_ball\n  1: club_head\n")
    (out / "golf.yaml").write_text(txt)


def image_rng(seed: int, split: str, idx: int):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SPLIT_CODE[split], idx])))


GOLDEN_CFGS = [
    dict(size=(1280, 720), bg=0.1, ball_d640=6.0, ball_xy=(0.52, 0.70), ball_streak=0.0, ball_ground=True,
         head_w640=70.0, head_xy=(0.40, 0.70), head_blur=False, head_colour="black", head_kind="driver", head_angle=0.0),
    dict(size=(1280, 720), bg=0.4, ball_d640=12.0, ball_xy=(0.55, 0.80), ball_streak=0.0, ball_ground=True,
         head_w640=55.0, head_xy=(0.45, 0.79), head_blur=False, head_colour="silver", head_kind="iron", head_angle=0.0),
    dict(size=(640, 640), bg=0.6, ball_d640=20.0, ball_xy=(0.5, 0.5), ball_streak=0.0,
         head_w640=90.0, head_xy=(0.25, 0.55), head_blur=True, head_colour="blue", head_kind="driver", head_angle=0.3),
    dict(size=(640, 360), bg=0.95, ball_d640=10.0, ball_xy=(0.62, 0.35), ball_streak=2.0,
         head_w640=40.0, head_xy=(0.3, 0.6), head_blur=True, head_colour="red", head_kind="iron", head_angle=-0.8),
    dict(size=(1280, 720), bg=0.8, ball_d640=4.0, ball_xy=(0.7, 0.75), ball_streak=0.0, ball_ground=True,
         head_w640=30.0, head_xy=(0.6, 0.74), head_blur=False, head_colour="grey", head_kind="iron", head_angle=0.1),
    dict(size=(960, 540), bg=0.1, ball_d640=30.0, ball_xy=(0.3, 0.3), ball_streak=2.5,
         head_w640=100.0, head_xy=(0.7, 0.65), head_blur=True, head_colour="silver", head_kind="driver", head_angle=2.5),
]


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
