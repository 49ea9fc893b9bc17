"""Procedural backgrounds: mown grass, range mat, sky with clouds, indoor net / impact screen, tree line,
and make_background, which picks one scene type (outdoor, bay, ground, indoor, sky) and composes it."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .raster import hsv, lowfreq


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
