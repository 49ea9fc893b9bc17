#!/usr/bin/env bash
# The Python side of the benchmarks (onnxruntime of the same version as .ort/lib, numpy, and
# OpenCV for the analyze baseline's video decoding) into .tools/bench (git-ignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .tools/bench/bin/python ] && .tools/bench/bin/python -c "import onnxruntime, numpy, cv2" 2>/dev/null && exit 0
[ -x .tools/bench/bin/python ] || python3 -m venv .tools/bench
.tools/bench/bin/pip install --quiet 'onnxruntime==1.31.1' 'numpy==2.4.6' 'opencv-python-headless==5.0.0.93'
