#!/usr/bin/env bash
# The video decoder and the test clips' encoder, from Debian's archive only:
#  - .ffmpeg/lib/libavcodec.so.59 + libavutil.so.57 (git-ignored): FFmpeg 5.1 built from Debian's
#    bookworm source package with nothing but the H.264 and HEVC decoders (LGPL-2.1-or-later; no GPL
#    or non-free part is enabled). The binaries load them at run time (FFMPEG_LIB_DIR overrides;
#    the Lambda layer puts them in /opt/lib). About a minute on 2 cores, once.
#  - the `ffmpeg` program (Debian's package, with libx264 and libx265), which the tests and the
#    bench use to write phone-style clips and to check our decode against ffmpeg's own.
# Idempotent. Needs root for apt when something is missing. FFMPEG_CLI=0 skips the program (an
# image build needs only the libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
lib_dir=.ffmpeg/lib
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "setup-ffmpeg: need root to install $* with apt (or install them yourself)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
[ "${FFMPEG_CLI:-1}" = 0 ] || command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v nasm >/dev/null || missing+=(nasm)
command -v xz >/dev/null || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt_install "${missing[@]}"
fi

if [ -f "$lib_dir/libavcodec.so.59" ] && [ -f "$lib_dir/libavutil.so.57" ]; then
  exit 0
fi

# `apt-get source` needs the deb-src twin of the machine's Debian sources.
src_list=/etc/apt/sources.list.d/golfiq-debian-src.sources
if ! apt-get source --print-uris ffmpeg >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "setup-ffmpeg: need root to add Debian's deb-src sources" >&2; exit 1; }
  sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src_list"
  apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source --download-only -qq ffmpeg >/dev/null 2>&1)
orig=$(ls "$work"/ffmpeg_5.1.*.orig.tar.xz 2>/dev/null | head -1)
[ -n "$orig" ] || { echo "setup-ffmpeg: Debian's archive has no FFmpeg 5.1 source: $(ls "$work")" >&2; exit 1; }
tar -xf "$orig" -C "$work"
src=$(find "$work" -maxdepth 1 -type d -name 'ffmpeg-5.1*' | head -1)
prefix=$(pwd)/.ffmpeg
(
  cd "$src"
  ./configure --prefix="$prefix" --disable-everything --disable-programs --disable-doc --disable-debug \
    --disable-avdevice --disable-avformat --disable-swresample --disable-swscale --disable-postproc \
    --disable-avfilter --disable-network --disable-autodetect --enable-shared --disable-static --enable-pic \
    --enable-decoder=h264,hevc --enable-parser=h264,hevc >/dev/null
  grep -q '^#define CONFIG_GPL 0' config.h
  nice make -j"$(nproc)" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
  make install >/dev/null 2>&1
)
rm -rf "$prefix/include" "$prefix/lib/pkgconfig"
echo "installed $(ls "$lib_dir"/libav*.so.*.*) from $(basename "$orig") (LGPL-2.1-or-later)"
