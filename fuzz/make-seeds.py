#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/): small valid inputs that the
fuzzer mutates. Deterministic except the MP4s and the JPEG, which ffmpeg writes (skipped with a
note when it is missing). The committed files are its output; run it again only to change them:

    python3 fuzz/make-seeds.py
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
# fuzz_targets/live_token.rs signs with the same key, for the same event.
KEY = b"golfiq-fuzz-viewer-key"
EVENT = "evt1"
FAR = 4_000_000_000


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def png(w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def npy(h, w, channels, fill, version=1):
    shape = f"({h}, {w}, 3)" if channels == 3 else f"({h}, {w})"
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"
    prefix = 10 if version == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + bytes([fill]) * (h * w * channels)


def zip_of(entries, stored=False):
    with tempfile.SpooledTemporaryFile() as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
        f.seek(0)
        return f.read()


def ffmpeg(args, out):
    if not shutil.which("ffmpeg"):
        print(f"ffmpeg is missing: {out} not written", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, out)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, "-map_metadata", "-1",
                        "-fflags", "+bitexact", "-flags:v", "+bitexact", path], check=True)
        with open(path, "rb") as f:
            return f.read()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(viewer, event, exp, key=KEY):
    sig = hmac.new(key, f"{viewer}|{event}|{exp}".encode(), hashlib.sha256).digest()
    return f"{viewer}.{exp}.{b64(sig)}"


def invite(event, exp, key=KEY):
    j = json.dumps({"event": event, "exp": exp, "type": "invite"}, separators=(",", ":"), sort_keys=True).encode()
    return f"{b64(j)}.{b64(hmac.new(key, j, hashlib.sha256).digest())}"


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)

    # cursor: created_ts:run_id (a UUIDv7 carries the same milliseconds).
    write("cursor", "v7", "1700000000000:018bcfe5-6800-7abc-8def-0123456789ab")
    write("cursor", "v4", "1699999999999:4f1c2a9e-7b3d-4e8f-9a0b-1c2d3e4f5a6b")
    write("cursor", "v7-mismatch", "1700000000001:018bcfe5-6800-7abc-8def-0123456789ab")
    write("cursor", "upper", "0:4F1C2A9E-7B3D-4E8F-9A0B-1C2D3E4F5A6B")

    # live_token: viewer tokens and invites signed with KEY.
    viewer = "0123456789abcdef0123456789abcdef"
    write("live_token", "token", token(viewer, EVENT, FAR))
    write("live_token", "token-expired", token(viewer, EVENT, 1000))
    write("live_token", "token-other-event", token(viewer, "evt2", FAR))
    write("live_token", "invite", invite(EVENT, FAR))
    write("live_token", "invite-expired", invite(EVENT, 1000))
    write("live_token", "invite-other-key", invite(EVENT, FAR, key=b"another-key"))

    # flag_config: stored documents (ours and the original server's) and admin update bodies.
    write("flag_config", "ours", '{"roundFlowV2": {"rolloutPercent": 10, "allowlist": ["a"], "force": "force_on"}, '
                                 '"meta": {"version": 3}}')
    write("flag_config", "original", '{"roundFlowV2":{"rolloutPercent":25,"allowlist":["u1","u2"],"force":null},'
                                     '"practiceGrowthV1":{"force":true,"notes":"x"}}')
    write("flag_config", "meta", '{"meta":{"updatedAt":"2024-01-01T00:00:00Z","updatedBy":"admin","version":7},'
                                 '"modelVariantYolov11":{"rolloutPercent":50,"allowlist":[]}}')
    write("flag_config", "update", '{"newFlag_1":{"rolloutPercent":100,"allowlist":null,"force":"force_off"}}')
    write("flag_config", "empty", "{}")

    # analysis_params: JSON parameters, calibrations, a range body, form fields.
    write("analysis_params", "plain", '{"fps":120,"ref_len_m":1.0,"ref_len_px":100,"smoothing_window":3}')
    write("analysis_params", "strings", '{"fps":"240","smoothing_window":"5","calibration":"{\\"metersPerPixel\\":0.002}"}')
    write("analysis_params", "points", '{"fps_fallback":30,"calibration":{"points":[[0,0],[100,0]],"distanceM":1.5}}')
    write("analysis_params", "range", json.dumps({
        "fps": 60, "frame_width": 1280, "frame_height": 720, "mission_id": "m1", "model_variant": "yolov11",
        "run_name": "r1", "calibration": {"points": [[10, 10], [10, 210]], "distance_m": 2},
        "frames_zip_b64": base64.b64encode(zip_of([("f_000.npy", npy(2, 2, 1, 7))], stored=True)).decode()}))
    write("analysis_params", "form", "fps=60&ref_len_m=2&ref_len_px=150&smoothing_window=7")
    write("analysis_params", "form-calibration", 'calibration={"metersPerPixel": 0.01}\nfps=30\nframe_width=64')

    # zip_frames: frame zips (PNG, JPEG, .npy, noise entries) and bare .npy arrays.
    green = png(4, 3, (40, 140, 40))
    write("zip_frames", "png-deflated.zip", zip_of([("f_000.png", green), ("f_001.png", png(4, 3, (40, 150, 40)))]))
    write("zip_frames", "stored.zip", zip_of([("f_000.png", green), ("f_001.npy", npy(3, 4, 3, 9))], stored=True))
    write("zip_frames", "noise.zip", zip_of([("__MACOSX/._f.png", b"x"), ("dir/", b""), ("dir/.hidden", b"x"),
                                             ("dir/f_000.npy", npy(2, 3, 1, 200))], stored=True))
    jpg = ffmpeg(["-f", "lavfi", "-i", "color=c=green:s=8x8", "-frames:v", "1"], "f.jpg")
    if jpg:
        write("zip_frames", "jpeg.zip", zip_of([("f_000.jpg", jpg), ("f_001.jpeg", jpg)], stored=True))
    write("zip_frames", "gray.npy", npy(3, 4, 1, 128))
    write("zip_frames", "rgb-v2.npy", npy(2, 2, 3, 50, version=2))

    # mp4_probe: 32x32 clips of 3 frames: H.264 MP4, fragmented, B-frames, QuickTime, HEVC.
    src = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=30", "-frames:v", "3", "-pix_fmt", "yuv420p"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "log-level=none"]
    clips = {
        "h264.mp4": src + x264 + ["-bf", "0"],
        "h264-bframes.mp4": src + ["-c:v", "libx264", "-preset", "medium", "-bf", "2", "-g", "3",
                                   "-x264-params", "log-level=none"],
        "h264-fragmented.mp4": src + x264 + ["-movflags", "frag_keyframe+empty_moov+default_base_moof"],
        "h264.mov": src + x264,
        "hevc.mp4": ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=30", "-frames:v", "2", "-pix_fmt", "yuv420p",
                     "-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "log-level=none"],
    }
    for name, args in clips.items():
        clip = ffmpeg(args, name)
        if clip:
            write("mp4_probe", name, clip)

    # multipart: Content-Type line, request-target line, body.
    def form(boundary, parts):
        out = b""
        for headers, body in parts:
            out += f"--{boundary}\r\n{headers}\r\n\r\n".encode() + body + b"\r\n"
        return out + f"--{boundary}--\r\n".encode()

    small_zip = zip_of([("f_000.npy", npy(2, 2, 3, 1)), ("f_001.npy", npy(2, 2, 3, 2))], stored=True)
    write("multipart", "frames-zip", b"multipart/form-data; boundary=XyZ\n/cv/analyze?include=detections\n" + form("XyZ", [
        ('Content-Disposition: form-data; name="fps"', b"120"),
        ('Content-Disposition: form-data; name="calibration"', b'{"metersPerPixel": 0.01}'),
        ('Content-Disposition: form-data; name="model_variant"', b"yolov11"),
        ('Content-Disposition: form-data; name="frames_zip"; filename="f.zip"\r\nContent-Type: application/zip', small_zip),
    ]))
    write("multipart", "image", b'multipart/form-data; boundary="a b"\n/cv/analyze?fps=60&run_name=r\n' + form("a b", [
        ('Content-Disposition: form-data; name="image"; filename="f.png"\r\nContent-Type: image/png', green),
    ]))
    clip = ffmpeg(src + x264 + ["-bf", "0"], "v.mp4")
    if clip:
        write("multipart", "video", b"multipart/form-data; boundary=----b\n/cv/analyze/video\n" + form("----b", [
            ('Content-Disposition: form-data; name="fps_fallback"', b"30"),
            ('Content-Disposition: form-data; name="run_name"', b"swing 1"),
            ('Content-Disposition: form-data; name="video"; filename="v.mp4"\r\nContent-Type: video/mp4', clip),
        ]))
    write("multipart", "video-json", 'application/json\n/cv/analyze/video?model_variant=yolov10\n'
                                     '{"upload_key":"uploads/abc.mp4","fps_fallback":"30","run_name":"r",'
                                     '"calibration":{"metersPerPixel":0.01},"model_variant":"yolov11"}')
    write("multipart", "png-body", b"image/png\n/cv/analyze?smoothing_window=5\n" + green)
    write("multipart", "zip-body", b"application/zip\n/cv/analyze?ref_len_m=2&ref_len_px=50\n" + small_zip)

    total = 0
    for root, _, files in os.walk(CORPUS):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print(f"wrote {CORPUS}: {total} bytes")


if __name__ == "__main__":
    main()
