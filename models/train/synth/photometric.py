"""Photometric finish of a rendered frame: gain, colour temperature, uneven light, vignette, gamma,
defocus, sensor noise, and the conversion to 8-bit RGB."""
from __future__ import annotations

import math

import cv2
import numpy as np


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
