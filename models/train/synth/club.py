"""The club head: driver / iron silhouettes on a shaft with grip and hands, shading, specular spot, iron
grooves, swing motion blur, and the head's label box (where its coverage >= 0.3)."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .distractors import hand_colour
from .raster import composite, fill_poly_mask, line_kernel

HEAD_COLOURS = {
    "black": (0.06, 0.06, 0.07),
    "grey": (0.40, 0.40, 0.42),
    "silver": (0.74, 0.75, 0.77),
    "blue": (0.10, 0.25, 0.72),
    "red": (0.76, 0.10, 0.10),
}


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
