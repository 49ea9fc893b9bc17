"""The golf ball: shaded sphere with dimples, range-ball stripe, specular highlight, ground shadow and
motion streak, its label box (streak extent or disc), and the ball-diameter distribution."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .raster import composite, line_kernel

# Label of a streaked ball: "extent" (the streak's visible extent) or "disc" (before 2026-11-30); --streak-box.
DEFAULT_STREAK_BOX = "extent"


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
