#!/usr/bin/env python3
"""Seeds the fuzzed dispatcher with real data, through its own API, before schemathesis runs.

Usage: seed.py BASE_URL API_KEY ADMIN_TOKEN OUT_DIR

Makes a few runs of every kind and outcome (frames zip, single image, range, an asynchronous one,
failed ones with a run id), upload tickets, a live event with a heartbeat and a running stream, and
a stored flag config; then writes libFuzzer-style dictionaries (one quoted value a line) to OUT_DIR
for schemathesis.toml to bind to the path parameters, so that the fuzz reaches stored data instead
of 404s. Standard library only (frames.py writes the PNGs).
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

from frames import frames_zip, png

BASE, API_KEY, ADMIN_TOKEN, OUT = sys.argv[1:5]
EVENT = "fuzz-live"


def call(method, path, body=None, headers=None, expect=(200,)):
    req = urllib.request.Request(BASE + path, data=body, method=method)
    req.add_header("x-api-key", API_KEY)
    req.add_header("x-admin-token", ADMIN_TOKEN)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    if status not in expect:
        sys.exit(f"seed: {method} {path}: {status} (expected {expect}): {data[:500]!r}")
    return json.loads(data) if data and not data.startswith(b"\x89PNG") else status


def post_json(path, obj, expect=(200,), headers=None):
    return call("POST", path, json.dumps(obj).encode(), {"content-type": "application/json", **(headers or {})}, expect)


def multipart(path, parts, expect=(200,)):
    boundary = uuid.uuid4().hex
    body = b""
    for name, (filename, data) in parts.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\ncontent-disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return call("POST", path, body, {"content-type": f"multipart/form-data; boundary={boundary}"}, expect)


runs = []
# Succeeded runs: a frames zip (motion analysis), one image (detections only), the range route.
runs.append(multipart("/cv/analyze?run_name=fuzz-frames", {"frames_zip": ("swing.zip", frames_zip())})["run_id"])
runs.append(call("POST", "/cv/analyze", png(96, 64, 40), {"content-type": "image/png"})["run_id"])
zip_b64 = base64.b64encode(frames_zip()).decode()
runs.append(post_json("/range/practice/analyze", {"frames_zip_b64": zip_b64, "mission_id": "m1"})["run_id"])
# Failed runs that carry their run id: a zip that is not one, an unknown model variant.
runs.append(multipart("/cv/analyze", {"frames_zip": ("bad.zip", b"not a zip")}, expect=(400,))["run_id"])
runs.append(post_json("/range/practice/analyze", {"frames_zip_b64": zip_b64, "model_variant": "yolov9"}, (400,))["run_id"])
# An asynchronous run, polled until it is terminal.
accepted = multipart("/cv/analyze?async=true", {"frames_zip": ("swing.zip", frames_zip())}, expect=(202,))
runs.append(accepted["run_id"])
for _ in range(600):
    if call("GET", accepted["status_url"])["status"] in ("succeeded", "failed"):
        break
    time.sleep(0.1)
else:
    sys.exit("seed: the asynchronous run never finished")
# A video run through the upload flow: the bytes are no MP4, so it ends failed VIDEO_DECODE_FAILED.
ticket = post_json("/runs/v1/uploads", {"filename": "swing.mp4", "content_type": "video/mp4"}, (201,))
call("PUT", f"/runs/v1/uploads/{ticket['upload_key']}", b"not an mp4", {"content-type": "video/mp4"})
failed_video = post_json("/cv/analyze/video", {"upload_key": ticket["upload_key"]}, (400,))
runs.append(failed_video["run_id"])
# Tickets left open for the fuzz's PUTs (and the one already used).
upload_keys = [ticket["upload_key"]]
for name in ("clip.mp4", "frames.zip", None):
    upload_keys.append(post_json("/runs/v1/uploads", {"filename": name} if name else {}, (201,))["upload_key"])

# A live event: a heartbeat with a viewer URL (viewer-token, refresh) and a running stream (token,
# status, viewer_link, exchange_invite).
post_json(f"/events/{EVENT}/live/heartbeat", {"streamId": "s1", "viewerUrl": "https://media.example/hls/fuzz/index.m3u8"})
post_json(f"/events/{EVENT}/live/start", {"source": "mock"})
token = post_json(f"/events/{EVENT}/live/token", {"ttl": 3600})["token"]
invite = call("GET", f"/events/{EVENT}/live/viewer_link")["url"].rsplit("invite=", 1)[1]

# A stored flag config with every field set, and an allowlist entry.
call("PUT", "/api/admin/feature-flags/config", json.dumps({"roundFlowV2": {"rolloutPercent": 10, "allowlist": ["u1"], "force": None}, "practiceGrowthV1": {"force": "force_on"}}).encode(), {"content-type": "application/json"})
post_json("/api/admin/feature-flags/modelVariantYolov11/allowlist:add", {"userId": "u2"})

previews = sum(1 for r in runs if call("GET", f"/runs/v1/{r}/preview.png", expect=(200, 404)) == 200)


def write(name, values):
    with open(f"{OUT}/{name}.dict", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(v) + "\n" for v in values)


write("run_ids", runs)
write("upload_keys", upload_keys)
write("event_ids", [EVENT])
write("flags", ["roundFlowV2", "practiceGrowthV1", "modelVariantYolov11"])
write("viewer_tokens", [token])
write("invites", [invite])
print(f"seeded {len(runs)} runs ({previews} with a preview), {len(upload_keys)} upload tickets, live event {EVENT}, flag config")
