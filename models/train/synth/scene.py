"""Scene composition: one frame (size, background, distractors, balls, clubs, photometric finish) drawn
from its own RNG, with its labels and metadata; and the golden frames' fixed scene configs."""
from __future__ import annotations

import math

import numpy as np

from .backgrounds import make_background
from .ball import DEFAULT_STREAK_BOX, render_ball, sample_ball_diameter
from .club import render_club
from .distractors import add_distractors, draw_tee
from .photometric import finish

# Share of airborne balls (>= 4 px at 640) drawn as motion streaks; --streak-rate overrides it.
DEFAULT_STREAK_RATE = 0.22
FRAME_SIZES = [((640, 640), 0.35), ((1280, 720), 0.30), ((960, 540), 0.15), ((640, 360), 0.20)]  # (w, h)


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


# The golden frames (gen_dataset.py --golden): make_scene's golden_cfg, one per frame.
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
