"""Bare onnxruntime session.run on a 1x3xSxS float32 input: the baseline the Rust detector bench
compares its whole per-frame pipeline with. Prints one JSON line.

    python ort_baseline.py MODEL --threads 1 --iters 30 [--spinning 0|1]
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--iters", type=int, default=30)
ap.add_argument("--spinning", type=int, default=0)
a = ap.parse_args()
so = ort.SessionOptions()
so.intra_op_num_threads = a.threads
so.add_session_config_entry("session.intra_op.allow_spinning", str(a.spinning))
sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
size = inp.shape[2]
x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
for _ in range(3):
    sess.run(None, {inp.name: x})
samples = []
for _ in range(a.iters):
    t = time.perf_counter()
    sess.run(None, {inp.name: x})
    samples.append((time.perf_counter() - t) * 1000)
print(json.dumps({"onnxruntime": ort.__version__, "threads": a.threads, "median_ms": statistics.median(samples)}))
