#!/usr/bin/env python3
"""Extract the real-photo sources documented in models/DATA.md from their git mirrors (issue 28).

    python real_data.py [--out /work/.cache/golfiq-train/real] [--mirrors /work/.mirror] [--val-pct 15]
                        [--near-dup-bits 24] [--clean]

Reads every source straight out of its mirror (``git ls-tree`` / ``git cat-file`` at the pinned commit;
nothing is checked out), converts labels to YOLO txt with our class ids (golf_ball=0, club_head=1; other
classes dropped), dedupes images by SHA-256 of their bytes across all sources (held-out sources are read
first, so a photo that is also in a training source stays held out and leaves the training pool), also drops a
training image whose 256-bit difference hash (dHash of the whole frame, blind to Roboflow's stretch-resize and
re-encoding) is within ``--near-dup-bits`` of a held-out image, groups training images that are the same source
frame (same Roboflow original name, or dHash within the threshold) so a group never straddles train/val, and writes

    <out>/<source>/{images,labels}/<sha16>.<ext|txt>   training sources (not held out)
    <out>/heldout/<source>/{images,labels}/...          held-out sources: acceptance only, never training,
                                                        thresholds or checkpoint choice
    <out>/split/{train,val}/{images,labels}/            symlinks: deterministic split of the non-held-out
                                                        images by group hash (sha256 of the group's smallest
                                                        image sha256, as an integer mod 100 < val-pct -> val),
                                                        so a photo and its near-duplicates never change side
                                                        when sources are added
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
import re
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


_RF_SUFFIX = re.compile(r"_(jpe?g|png|bmp|webp)\.rf\.[0-9a-f]+$", re.I)


def roboflow_stem(name: str) -> str:
    """The original upload name of a Roboflow export file: 'x_jpg.rf.<hash>.jpg' -> 'x'."""
    base = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return _RF_SUFFIX.sub("", base)


def _scene_golfball_crji6(rel: str) -> str:
    """Provenance guess from the original file name (see DATA.md): these differ in licence quality."""
    x = roboflow_stem(rel)
    if re.match(r"^n\d{8}_", x):
        return "imagenet"
    if re.match(r"^[0-9a-f]{16}$", x):
        return "openimages"
    if re.match(r"^(WIN_|20\d\d[-_]?\d\d|frame\d|IMG|VID|PXL|left\d|\d{13}-)", x):
        return "camera"
    if re.match(r"^images-", x) or re.search(r"(?i)stock|alamy|getty|shutter|dreamstime|123rf", x):
        return "web"
    return "other"


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
    # ---- training sources ------------------------------------------------------------------------------------
    {
        "name": "golfball_crji6",
        "repo": "bc005007/YOLO_GOLF",
        "commit": "f8739a168b6dcd919387f826cb994526404b43a3",  # HEAD 2024-11-05; folder identical since 17318a9
        "path": "golfball-1",
        "layout": "roboflow",
        # data.yaml names: 0 Ball, 1 Chromesoft_x_ls, 2 Golf-ball, 3 Prov1, 4 Prov1x, 5 TARGET, 6 Tp5, 7 Tp5x,
        # 8 ball, 9 'balle blanche', 10 'balle jaune', 11 blueBall, 12 golf, 13 'golf ball', 14 golfball.
        # 1/3/4/6/7 box the brand TEXT printed on a ball (the whole ball is class 0 in the same image): dropped.
        # 11 is a blue rubber stress ball, not a golf ball: dropped (its images stay as plain background).
        # 5 'TARGET' is a lime-green golf ball held up to a webcam; 9/10 white/yellow golf balls.
        "class_map": {0: 0, 2: 0, 5: 0, 8: 0, 9: 0, 10: 0, 12: 0, 13: 0, 14: 0},
        "balls_only": True,
        "held_out": False,
        # ImageNet (n03445777 = 'golf ball') images are under ImageNet's non-commercial terms, not the
        # uploader's CC BY 4.0; one file is named as an iStock photo.  Both left out.
        "exclude": [r"(^|/)n\d{8}_", r"(?i)istockphoto"],
        "licence": "CC BY 4.0 (Roboflow export: golfball-1/README.dataset.txt 'License: CC BY 4.0' and "
                   "golfball-1/data.yaml roboflow.license); uploader's claim, mixed-provenance images, see DATA.md",
        "attribution": "golfball v1 (school-eihku/golfball-crji6), https://universe.roboflow.com/school-eihku/"
                       "golfball-crji6/dataset/1, Provided by a Roboflow user, CC BY 4.0; mirrored in "
                       "github.com/bc005007/YOLO_GOLF",
        "scene": _scene_golfball_crji6,
    },
    {
        "name": "apex_minigolf",
        "repo": "wengmister/Apex-Putter",
        "commit": "611caffc1d07f81467f9e9a2ade5b466b64a3762",  # HEAD 2024-12-12
        "path": "model/mini_golf_rs.v1i.yolov11",
        "layout": "roboflow",
        "class_map": {0: 0},  # 'golf_balls'; balls only
        "balls_only": True,
        "held_out": False,
        "licence": "CC BY 4.0 (Roboflow export: model/mini_golf_rs.v1i.yolov11/README.dataset.txt and data.yaml "
                   "roboflow.license); repository code MIT (LICENSE)",
        "attribution": "mini_golf_rs v1 (minigolf-b4fbr/mini_golf_rs), https://universe.roboflow.com/minigolf-b4fbr/"
                       "mini_golf_rs/dataset/1, Provided by a Roboflow user, CC BY 4.0; mirrored in "
                       "github.com/wengmister/Apex-Putter",
        "scene": lambda rel: "putting_mat_lab",
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


def decode(data: bytes):
    import cv2
    import numpy as np

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def dhash256(im) -> int:
    """256-bit difference hash of the whole frame (17x16 grey, horizontal gradient signs).  Resizing the whole
    frame first makes it blind to Roboflow's stretch-to-640x640 and to re-encoding."""
    import cv2

    g = cv2.resize(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), (17, 16), interpolation=cv2.INTER_AREA).astype("int16")
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    v = 0
    for b in bits:
        v = (v << 1) | int(b)
    return v


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


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


def _size_hist(rows):
    """Longest ball side in the original image, in px, binned."""
    edges = [0, 8, 16, 32, 64, 128, 256, 100000]
    counts = [0] * (len(edges) - 1)
    for r in rows:
        for b in r["balls_px"]:
            for k in range(len(edges) - 1):
                if edges[k] <= b[2] < edges[k + 1]:
                    counts[k] += 1
                    break
    return ", ".join(f"{edges[k]}-{edges[k + 1] if edges[k + 1] < 100000 else ''}: {counts[k]}"
                     for k in range(len(counts)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--val-pct", type=int, default=15)
    ap.add_argument("--near-dup-bits", type=int, default=24,
                    help="dHash (256-bit) Hamming distance at or below which two images count as the same frame "
                         "(default 24)")
    ap.add_argument("--clean", action="store_true", help="remove --out first")
    a = ap.parse_args(argv)

    if a.clean and a.out.exists():
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True, exist_ok=True)
    index, seen, summary = [], {}, []
    heldout_dh = []  # (dhash, "source:path") of every held-out image
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
        excl = [re.compile(x) for x in src.get("exclude", [])]
        n_img = n_dup = n_near = n_excl = n_nolab = n_ball = n_head = n_drop = 0
        for img_path, lab_path, rel in list_pairs(mirror, src):
            if any(x.search(rel) for x in excl):
                n_excl += 1
                continue
            data = git(mirror, "cat-file", "blob", f"{src['commit']}:{img_path}", binary=True)
            if data.startswith(b"version https://git-lfs"):
                print(f"[{src['name']}] LFS pointer, skipped: {img_path}")
                continue
            sha = hashlib.sha256(data).hexdigest()
            if sha in seen:
                n_dup += 1
                print(f"[{src['name']}] duplicate of {seen[sha]}: {img_path}")
                continue
            im = decode(data)
            if im is None:
                print(f"[{src['name']}] unreadable image, skipped: {img_path}")
                continue
            h, w = im.shape[:2]
            dh = dhash256(im)
            if src["held_out"]:
                heldout_dh.append((dh, f"{src['name']}:{img_path}"))
            else:
                near = next((who for hd, who in heldout_dh if hamming(dh, hd) <= a.near_dup_bits), None)
                if near:
                    n_near += 1
                    print(f"[{src['name']}] near-duplicate of held-out {near}: {img_path}")
                    continue
            seen[sha] = f"{src['name']}:{img_path}"
            text = git(mirror, "cat-file", "blob", f"{src['commit']}:{lab_path}") if lab_path else ""
            n_nolab += lab_path is None
            lines, balls, heads, dropped = convert_labels(text, src["class_map"], w, h)
            ext = Path(img_path).suffix.lower()
            key = sha[:16]
            (base / "images" / f"{key}{ext}").write_bytes(data)
            (base / "labels" / f"{key}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
            index.append({
                "key": key, "sha256": sha, "source": src["name"], "held_out": src["held_out"],
                "split": "heldout" if src["held_out"] else None, "scene": src["scene"](rel),
                "repo": src["repo"], "commit": src["commit"], "path": img_path,
                "image": str((base / "images" / f"{key}{ext}").relative_to(a.out)),
                "width": w, "height": h, "balls_px": balls, "club_heads": heads,
                "balls_only_labels": src["balls_only"],
                "orig_name": roboflow_stem(img_path) if src["layout"] == "roboflow" else None,
                "dhash": f"{dh:064x}",
            })
            n_img += 1
            n_ball += len(balls)
            n_head += heads
            n_drop += dropped
        summary.append((src["name"], src["held_out"], n_img, n_ball, n_head, n_dup, n_near, n_excl, n_nolab, n_drop))

    # group the training pool: same source + same Roboflow original name, or dHash within the threshold
    pool = [r for r in index if not r["held_out"]]
    parent = list(range(len(pool)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i, j):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_name = {}
    for i, r in enumerate(pool):
        if r["orig_name"]:
            k = (r["source"], r["orig_name"])
            if k in by_name:
                union(i, by_name[k])
            else:
                by_name[k] = i
    dhs = [int(r["dhash"], 16) for r in pool]
    for i in range(len(pool)):
        for j in range(i + 1, len(pool)):
            if hamming(dhs[i], dhs[j]) <= a.near_dup_bits:
                union(i, j)
    groups = {}
    for i, r in enumerate(pool):
        groups.setdefault(find(i), []).append(r)
    for members in groups.values():
        gsha = min(m["sha256"] for m in members)
        gkey = hashlib.sha256(gsha.encode()).hexdigest()
        split = "val" if int(gkey, 16) % 100 < a.val_pct else "train"
        for m in members:
            m["group"] = gsha[:16]
            m["split"] = split

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
        "generator": "models/train/real_data.py", "val_pct": a.val_pct, "near_dup_bits": a.near_dup_bits,
        "split_rule": "images grouped by (source, Roboflow original name) and dHash-256 Hamming <= near_dup_bits; "
                      "int(sha256(group's smallest image sha256), 16) % 100 < val_pct -> val (non-held-out only)",
        "sources": [{k: v for k, v in s.items() if k != "scene"} for s in SOURCES],
        "images": index,
    }
    (a.out / "index.json").write_text(json.dumps(meta, indent=1, default=str))

    print(f"\n{'source':20s} {'held-out':8s} {'images':>6s} {'balls':>6s} {'heads':>6s} {'dups':>5s} "
          f"{'near-ho':>7s} {'excl':>5s} {'nolabel':>7s} {'dropped':>7s}")
    for name, ho, n, b, hd, dup, near, ex, nl, dr in summary:
        print(f"{name:20s} {str(ho):8s} {n:6d} {b:6d} {hd:6d} {dup:5d} {near:7d} {ex:5d} {nl:7d} {dr:7d}")
    print(f"training pool: {len(pool)} images in {len(groups)} groups (same frame / near-duplicates)")
    for sp in ("train", "val", "heldout"):
        rows = [r for r in index if r["split"] == sp]
        n_bg = sum(1 for r in rows if not r["balls_px"])
        print(f"split {sp:8s}: {len(rows)} images ({n_bg} without a ball), "
              f"{sum(len(r['balls_px']) for r in rows)} balls; longest side px {_size_hist(rows)}")
    print(f"wrote {a.out}")

if __name__ == "__main__":
    sys.exit(main())
