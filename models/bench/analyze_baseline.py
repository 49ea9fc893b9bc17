"""The Python baseline of the analyze benchmark (scripts/bench-analyze.sh): the per-frame job the
Rust analyze endpoint does, written the way a Python developer would, on the same MP4 and the same
weights. Prints one JSON line.

Per frame: decode with cv2.VideoCapture (FFmpeg), letterbox exactly as models/src/letterbox.rs
(scale r = min(S/h, S/w), resize to round(w*r) x round(h*r) bilinear, pad offsets
round(pad/2 - 0.1) with grey 114, BGR->RGB, /255, NCHW float32), session.run, decode the output as
models/src/decode.rs with Thresholds::default() (score 0.25, IoU 0.5, at most 100 boxes;
yolov10: threshold the [1,300,6] rows; yolov11: best class per anchor of [1,6,8400], threshold,
class-aware NMS) and map the boxes back to the frame (minus pad, / scale, clamped, empty dropped).
No tracking or shot metrics: on the Rust side they cost well under a millisecond per clip.

    python analyze_baseline.py CLIP.mp4 --model models/weights/yolov10/model.onnx --layout e2e
        [--ort default | --ort tuned --sessions 2 --threads 1 --spinning 0] [--cv-threads N]
        [--max-frames 360]

--ort default: onnxruntime.SessionOptions() as it comes (the library's thread pool: one intra-op
thread per physical core, spinning on) and one frame at a time: decode, letterbox, run, decode.
--ort tuned: SESSIONS sessions of THREADS intra-op threads each; the main thread decodes, and a
thread pool of SESSIONS workers letterboxes, runs and decodes (session.run, cv2 and the large
numpy operations release the GIL), with at most 2 x SESSIONS decoded frames in flight: the layout
the Rust side uses.
"""
import argparse
import json
import math
import queue
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import onnxruntime as ort

SCORE, IOU, MAX_DET = 0.25, 0.5, 100
PAD = 114


def rnd(x):
    """Rust's f32::round (half away from zero) for the non-negative values used here."""
    return int(math.floor(x + 0.5))


def letterbox(bgr, size):
    h, w = bgr.shape[:2]
    r = min(size / h, size / w)
    nw, nh = min(max(rnd(w * r), 1), size), min(max(rnd(h * r), 1), size)
    px, py = max(rnd((size - nw) / 2 - 0.1), 0), max(rnd((size - nh) / 2 - 0.1), 0)
    resized = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), PAD, dtype=np.uint8)
    canvas[py : py + nh, px : px + nw] = resized
    x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(x), (r, px, py, w, h)


def nms(boxes, scores, classes, iou):
    order = np.argsort(-scores, kind="stable")
    kept = []
    for i in order:
        ok = True
        for k in kept:
            if classes[k] != classes[i]:
                continue
            b, c = boxes[i], boxes[k]
            iw = max(min(b[2], c[2]) - max(b[0], c[0]), 0.0)
            ih = max(min(b[3], c[3]) - max(b[1], c[1]), 0.0)
            inter = iw * ih
            area = lambda z: max(z[2] - z[0], 0.0) * max(z[3] - z[1], 0.0)  # noqa: E731
            union = area(b) + area(c) - inter
            if union > 0 and inter / union > iou:
                ok = False
                break
        if ok:
            kept.append(i)
    return np.array(kept, dtype=np.int64)


def decode(out, layout):
    """Detections in model-input pixels: (boxes [n,4] x1y1x2y2, scores [n], classes [n])."""
    if layout == "e2e":
        rows = out[0]
        keep = (rows[:, 4] >= SCORE) & np.isfinite(rows[:, 4])
        rows = rows[keep]
        cls = np.maximum(np.round(rows[:, 5]), 0).astype(np.int64)
        rows, cls = rows[cls < 2], cls[cls < 2]
        order = np.argsort(-rows[:, 4], kind="stable")[:MAX_DET]
        return rows[order, :4], rows[order, 4], cls[order]
    raw = out[0]  # [4 + nc, anchors]
    scores = raw[4:]
    cls = scores.argmax(axis=0)
    best = scores.max(axis=0)
    keep = (best >= SCORE) & np.isfinite(best)
    cx, cy, w, h = raw[0, keep], raw[1, keep], raw[2, keep], raw[3, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    best, cls = best[keep], cls[keep]
    kept = nms(boxes, best, cls, IOU)[:MAX_DET]
    return boxes[kept], best[kept], cls[kept]


def map_back(boxes, scores, classes, geom):
    r, px, py, w, h = geom
    b = boxes.copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - px) / r, 0, w)
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - py) / r, 0, h)
    area = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    keep = area > 0
    return b[keep], scores[keep], classes[keep]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clip")
    ap.add_argument("--model", required=True)
    ap.add_argument("--layout", choices=["e2e", "raw"], required=True)
    ap.add_argument("--ort", choices=["default", "tuned"], default="default")
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--spinning", type=int, default=0)
    ap.add_argument("--cv-threads", type=int, default=-1, help="cv2.setNumThreads; -1 leaves OpenCV's default")
    ap.add_argument("--max-frames", type=int, default=360)
    a = ap.parse_args()
    if a.cv_threads >= 0:
        cv2.setNumThreads(a.cv_threads)

    t_load = time.perf_counter()
    if a.ort == "default":
        sessions = [ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])]
    else:
        sessions = []
        for _ in range(a.sessions):
            so = ort.SessionOptions()
            so.intra_op_num_threads = a.threads
            so.add_session_config_entry("session.intra_op.allow_spinning", str(a.spinning))
            sessions.append(ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"]))
    load_s = time.perf_counter() - t_load
    inp = sessions[0].get_inputs()[0]
    size = inp.shape[2]

    def detect(sess, bgr):
        t0 = time.perf_counter()
        x, geom = letterbox(bgr, size)
        t1 = time.perf_counter()
        out = sess.run(None, {inp.name: x})[0]
        t2 = time.perf_counter()
        dets = map_back(*decode(out, a.layout), geom)
        t3 = time.perf_counter()
        return dets, (t1 - t0, t2 - t1, t3 - t2)

    def cpu_s():
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime

    decode_s, results = [], []
    cpu0 = cpu_s()
    started = time.perf_counter()
    cap = cv2.VideoCapture(a.clip)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {a.clip}")

    def read():
        t = time.perf_counter()
        ok, bgr = cap.read()
        decode_s.append(time.perf_counter() - t)
        return bgr if ok else None

    if a.ort == "default":
        sess = sessions[0]
        while len(results) < a.max_frames:
            bgr = read()
            if bgr is None:
                break
            results.append(detect(sess, bgr))
    else:
        free = queue.SimpleQueue()
        for s in sessions:
            free.put(s)

        def work(bgr):
            s = free.get()
            try:
                return detect(s, bgr)
            finally:
                free.put(s)

        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            pending = []
            frames = 0
            while frames < a.max_frames:
                # At most 2 x sessions frames decoded and not yet detected.
                while len(pending) >= 2 * len(sessions):
                    results.append(pending.pop(0).result())
                bgr = read()
                if bgr is None:
                    break
                pending.append(pool.submit(work, bgr))
                frames += 1
            results.extend(f.result() for f in pending)
    cap.release()
    wall_s = time.perf_counter() - started
    cpu_job = cpu_s() - cpu0
    n = len(results)
    per_class = {"golf_ball": 0, "club_head": 0}
    for (boxes, scores, classes), _ in results:
        per_class["golf_ball"] += int((classes == 0).sum())
        per_class["club_head"] += int((classes == 1).sum())
    pre = [t[0] * 1000 for _, t in results]
    run = [t[1] * 1000 for _, t in results]
    post = [t[2] * 1000 for _, t in results]
    dec = [t * 1000 for t in decode_s[:n]]
    mean = lambda v: round(statistics.fmean(v), 2) if v else None  # noqa: E731
    print(
        json.dumps(
            {
                "model": a.model,
                "ort": a.ort,
                "sessions": len(sessions),
                "intra_threads": a.threads if a.ort == "tuned" else "default",
                "spinning": a.spinning if a.ort == "tuned" else "default",
                "cv_threads": cv2.getNumThreads(),
                "onnxruntime": ort.__version__,
                "opencv": cv2.__version__,
                "frames": n,
                "load_s": round(load_s, 3),
                "wall_s": round(wall_s, 3),
                "fps": round(n / wall_s, 2) if wall_s > 0 else None,
                "cpu_ms_per_frame": round(cpu_job * 1000 / n, 1) if n else None,
                "decode_ms": mean(dec),
                "letterbox_ms": mean(pre),
                "run_ms": mean(run),
                "run_median_ms": round(statistics.median(run), 2) if run else None,
                "post_ms": mean(post),
                "detections_per_class": per_class,
                "process_cpu_s": round(cpu_s(), 3),
                "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main()
