#!/usr/bin/env python3
"""Extract the real-photo sources documented in models/DATA.md from their git mirrors (issue 28).

    python real_data.py [--out /work/.cache/golfiq-train/real] [--mirrors /work/.mirror] [--val-pct 15]

Reads every source straight out of its mirror (``git ls-tree`` / ``git cat-file`` at the pinned commit;
nothing is checked out), converts labels to YOLO txt with our class ids (golf_ball=0, club_head=1; other
classes dropped), dedupes images by SHA-256 of their bytes across all sources (held-out sources are read
first, so a photo that is also in a training source stays held out and leaves the training pool), and writes

    <out>/<source>/{images,labels}/<sha16>.<ext|txt>   training sources (not held out)
    <out>/heldout/<source>/{images,labels}/...          held-out sources: acceptance only, never training,
                                                        thresholds or checkpoint choice
    <out>/split/{train,val}/{images,labels}/            symlinks: deterministic split of the non-held-out
                                                        images by hash (sha256 as an integer mod 100 < val-pct
                                                        -> val), so a photo never changes side when sources
                                                        are added
    <out>/index.json                                    per image: source, scene, split, original path,
                                                        sha256, size, ball sizes in px (w, h, longest side)
    <out>/golf.yaml                                     ultralytics yaml over split/train + split/val

When a mirror is missing it prints the ``fetch`` to run (the sandbox tool that mirrors a GitHub repository)
and skips that source.  Images never go into git: the output is outside the repository.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_OUT = Path(os.environ.get("GOLFIQ_TRAIN_CACHE", "/work/.cache/golfiq-train")) / "real"
IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp")


def _scene_izzrieq(name: str) -> str:
    if name.startswith("frame_"):
        return "video_frame"
    for tok in ("ProcessingBall", "Locking", "Completed"):
        if tok in name:
            return "machine_" + tok
    return "other"


def _scene_pitrac(rel: str) -> str:
    parts = rel.split("/")
    return parts[-2] if len(parts) >= 2 else "other"


# Every source: the mirror's owner+name, the pinned commit, the folder inside the repo, the layout
# ("roboflow": <split>/{images,labels}/..., "parallel": images/<sub>/x.png <-> labels/<sub>/x.txt),
# the source class id -> our class id (None = drop), licence and where it was read.  See models/DATA.md.
SOURCES = [
    {
        "name": "izzrieq_golfball",
        "repo": "Izzrieq/Driving-Range-Detection-AI",
        "commit": "2d986a0d72f186a58c3264514b4197592bf4cd28",
        "path": "golfball-dataset",
        "layout": "roboflow",
        "class_map": {0: 0},  # 'golfball' -> golf_ball; balls only, no club heads
        "balls_only": True,
        "held_out": True,
        "licence": "Public Domain (Roboflow export: golfball-dataset/README.dataset.txt and data.yaml)",
        "scene": lambda rel: _scene_izzrieq(rel.rsplit("/", 1)[-1]),
    },
    {
        "name": "pitrac_yolo",
        "repo": "jeshernandez/PiTrac",
        # branch feature/distance (= PR 32); the folder is not on main any more.  The same tree is in
        # ecc31a8f6c0c9ee055ccf1c02a173da2759064ba (PR 34).
        "commit": "7b96ed2d5af4b7d2cd2a6304bf027e0126083925",
        "path": "Software/GroundTruthAnnotator/yolo",
        "layout": "parallel",
        "class_map": {0: 0},  # 'golf_ball'; balls only
        "balls_only": True,
        "held_out": True,
        "licence": "GPL-2.0 (repository LICENSE at that commit; LICENSE.MODEL.md covers weights only)",
        "scene": _scene_pitrac,
    },
]


def git(mirror: Path, *args: str, binary: bool = False):
    out = subprocess.run(["git", "-C", str(mirror), *args], check=True, capture_output=True)
    return out.stdout if binary else out.stdout.decode()


def mirror_dir(root: Path, repo: str) -> Path:
    return root / repo.replace("/", "+") / "repo"


def list_pairs(mirror: Path, src: dict):
    """(image path, label path or None, relative path for scene) at the pinned commit."""
    files = git(mirror, "ls-tree", "-r", "--name-only", src["commit"], "--", src["path"]).splitlines()
    fileset = set(files)
    pairs = []
    for f in sorted(files):
        if not f.lower().endswith(IMG_EXT):
            continue
        rel = f[len(src["path"]) + 1:]
        stem = f.rsplit(".", 1)[0]
        if src["layout"] == "roboflow":
            if "/images/" not in f:
                continue
            lab = stem.replace("/images/", "/labels/") + ".txt"
        else:  # parallel
            if not rel.startswith("images/"):
                continue
            lab = src["path"] + "/labels/" + rel[len("images/"):].rsplit(".", 1)[0] + ".txt"
        pairs.append((f, lab if lab in fileset else None, rel))
    return pairs


def image_size(data: bytes):
    import cv2
    import numpy as np

    im = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if im is None:
        return None
    return int(im.shape[1]), int(im.shape[0])


def convert_labels(text: str, class_map: dict, w: int, h: int):
    """YOLO lines in our class ids (+ ball sizes in px).  Polygon rows (Roboflow segment exports) become
    their bounding box."""
    lines, balls, heads, dropped = [], [], 0, 0
    for row in text.splitlines():
        p = row.split()
        if not p:
            continue
        c = int(float(p[0]))
        v = [float(x) for x in p[1:]]
        if len(v) > 4:  # polygon
            xs, ys = v[0::2], v[1::2]
            v = [(min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys)]
        if len(v) != 4:
            dropped += 1
            continue
        ours = class_map.get(c)
        if ours is None:
            dropped += 1
            continue
        lines.append(f"{ours} {v[0]:.6f} {v[1]:.6f} {v[2]:.6f} {v[3]:.6f}")
        if ours == 0:
            bw, bh = v[2] * w, v[3] * h
            balls.append([round(bw, 2), round(bh, 2), round(max(bw, bh), 2)])
        else:
            heads += 1
    return lines, balls, heads, dropped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--val-pct", type=int, default=15)
    ap.add_argument("--clean", action="store_true", help="remove --out first")
    a = ap.parse_args(argv)

    if a.clean and a.out.exists():
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True, exist_ok=True)
    index, seen, summary = [], {}, []
    # held-out sources first: a duplicate found later in a training source is dropped from training
    for src in sorted(SOURCES, key=lambda s: not s["held_out"]):
        mirror = mirror_dir(a.mirrors, src["repo"])
        if not (mirror / "HEAD").exists() and not (mirror / "objects").exists():
            print(f"[{src['name']}] mirror missing: run  fetch github:{src['repo']}  (expects {mirror}); skipped")
            continue
        try:
            git(mirror, "cat-file", "-e", src["commit"] + "^{commit}")
        except subprocess.CalledProcessError:
            print(f"[{src['name']}] commit {src['commit']} not in {mirror}: run  fetch github:{src['repo']}  again; skipped")
            continue
        base = a.out / ("heldout" if src["held_out"] else "") / src["name"]
        if base.exists():
            shutil.rmtree(base)
        (base / "images").mkdir(parents=True)
        (base / "labels").mkdir(parents=True)
        n_img = n_dup = n_nolab = n_ball = n_head = n_drop = 0
        for img_path, lab_path, rel in list_pairs(mirror, src):
            data = git(mirror, "cat-file", "blob", f"{src['commit']}:{img_path}", binary=True)
            if data.startswith(b"version https://git-lfs"):
                print(f"[{src['name']}] LFS pointer, skipped: {img_path}")
                continue
            sha = hashlib.sha256(data).hexdigest()
            if sha in seen:
                n_dup += 1
                print(f"[{src['name']}] duplicate of {seen[sha]}: {img_path}")
                continue
            size = image_size(data)
            if size is None:
                print(f"[{src['name']}] unreadable image, skipped: {img_path}")
                continue
            w, h = size
            seen[sha] = f"{src['name']}:{img_path}"
            text = git(mirror, "cat-file", "blob", f"{src['commit']}:{lab_path}") if lab_path else ""
            n_nolab += lab_path is None
            lines, balls, heads, dropped = convert_labels(text, src["class_map"], w, h)
            ext = Path(img_path).suffix.lower()
            key = sha[:16]
            (base / "images" / f"{key}{ext}").write_bytes(data)
            (base / "labels" / f"{key}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
            if src["held_out"]:
                split = "heldout"
            else:
                split = "val" if int(sha, 16) % 100 < a.val_pct else "train"
            index.append({
                "key": key, "sha256": sha, "source": src["name"], "held_out": src["held_out"],
                "split": split, "scene": src["scene"](rel), "repo": src["repo"], "commit": src["commit"],
                "path": img_path, "image": str((base / "images" / f"{key}{ext}").relative_to(a.out)),
                "width": w, "height": h, "balls_px": balls, "club_heads": heads,
                "balls_only_labels": src["balls_only"],
            })
            n_img += 1
            n_ball += len(balls)
            n_head += heads
            n_drop += dropped
        summary.append((src["name"], src["held_out"], n_img, n_ball, n_head, n_dup, n_nolab, n_drop))

    # deterministic split of the non-held-out pool, as symlink folders
    for sp in ("train", "val"):
        d = a.out / "split" / sp
        if d.exists():
            shutil.rmtree(d)
        (d / "images").mkdir(parents=True)
        (d / "labels").mkdir(parents=True)
    for r in index:
        if r["split"] in ("train", "val"):
            img = a.out / r["image"]
            d = a.out / "split" / r["split"]
            (d / "images" / img.name).symlink_to(img)
            (d / "labels" / f"{r['key']}.txt").symlink_to(img.parent.parent / "labels" / f"{r['key']}.txt")
    (a.out / "golf.yaml").write_text(
        f"path: {a.out}\ntrain: split/train/images\nval: split/val/images\nnc: 2\nnames:\n  0: golf_ball\n  1: club_head\n")
    meta = {
        "generator": "models/train/real_data.py", "val_pct": a.val_pct,
        "split_rule": "int(sha256(image bytes), 16) % 100 < val_pct -> val (non-held-out sources only)",
        "sources": [{k: v for k, v in s.items() if k != "scene"} for s in SOURCES],
        "images": index,
    }
    (a.out / "index.json").write_text(json.dumps(meta, indent=1, default=str))

    print(f"\n{'source':20s} {'held-out':8s} {'images':>6s} {'balls':>6s} {'heads':>6s} {'dups':>5s} {'nolabel':>7s} {'dropped':>7s}")
    for name, ho, n, b, hd, dup, nl, dr in summary:
        print(f"{name:20s} {str(ho):8s} {n:6d} {b:6d} {hd:6d} {dup:5d} {nl:7d} {dr:7d}")
    for sp in ("train", "val", "heldout"):
        rows = [r for r in index if r["split"] == sp]
        print(f"split {sp:8s}: {len(rows)} images, {sum(len(r['balls_px']) for r in rows)} balls")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
