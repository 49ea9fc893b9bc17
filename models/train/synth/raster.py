"""Raster primitives every synth module draws with: HSV colour, smooth noise, motion-blur kernels,
anti-aliased polygon / ellipse stamping, and premultiplied compositing onto a float32 RGB image."""
from __future__ import annotations

import math

import cv2
import numpy as np

# Single-threaded opencv, as the generator has always run: set here because every synth module imports this one.
cv2.setNumThreads(1)


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
