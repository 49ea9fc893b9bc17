#!/usr/bin/env bash
# Installs libonnxruntime.so from the PyPI onnxruntime wheel into .ort/lib (git-ignored), the one place
# the binaries look by default (ORT_DYLIB_PATH overrides). Idempotent; nothing else is downloaded.
# ort 2.0.0-rc.15 (api-31) needs ONNX Runtime >= 1.31.
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION="${ORT_VERSION:-1.31.1}"
lib_dir=.ort/lib
if [ -f "$lib_dir/libonnxruntime.so.$ORT_VERSION" ] && [ -L "$lib_dir/libonnxruntime.so" ]; then
  exit 0
fi
wheel_dir=$(mktemp -d)
trap 'rm -rf "$wheel_dir"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: "onnxruntime==$ORT_VERSION" -d "$wheel_dir"
mkdir -p "$lib_dir"
python3 - "$wheel_dir" "$lib_dir" "$ORT_VERSION" <<'PY'
import pathlib, shutil, sys, zipfile
wheel_dir, lib_dir, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
wheel = next(wheel_dir.glob("onnxruntime-*.whl"))
with zipfile.ZipFile(wheel) as z:
    libs = [n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime") and ".so" in n]
    if not libs:
        sys.exit(f"no libonnxruntime in {wheel.name}")
    for name in libs:
        target = lib_dir / pathlib.Path(name).name
        with z.open(name) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
main = lib_dir / f"libonnxruntime.so.{version}"
if not main.exists():
    sys.exit(f"{wheel.name} has no libonnxruntime.so.{version}: {sorted(p.name for p in lib_dir.iterdir())}")
link = lib_dir / "libonnxruntime.so"
if link.is_symlink() or link.exists():
    link.unlink()
link.symlink_to(main.name)
print(f"installed {main} from {wheel.name}")
PY
