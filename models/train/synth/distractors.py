"""Distractors, the scene's hard negatives: tees, divots, line markings, loose hand / glove blobs, litter
specks and clutter; also the skin / glove palette that the hands on a club's grip share."""
from __future__ import annotations

import math

import numpy as np

from .raster import hsv, stamp_ellipse, stamp_poly


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
