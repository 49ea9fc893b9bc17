#!/usr/bin/env bash
# The Python side of the benchmarks (onnxruntime of the same version as .ort/lib, numpy) into
# .tools/bench (git-ignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .tools/bench/bin/python ] && .tools/bench/bin/python -c "import onnxruntime, numpy" 2>/dev/null && exit 0
python3 -m venv .tools/bench
.tools/bench/bin/pip install --quiet 'onnxruntime==1.31.1' numpy
