"""Small, valid analysis inputs made with the standard library: grey PNG frames and a zip of them.
Shared by seed.py (the seeded runs) and hooks.py (the fuzz's analyze cases)."""

import io
import struct
import zipfile
import zlib


def png(width=96, height=64, shade=0):
    """An 8-bit grey PNG: a horizontal gradient, offset by shade."""
    rows = b"".join(b"\x00" + bytes((x * 255 // width + shade) % 256 for x in range(width)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def frames_zip(count=2):
    """A zip of `count` PNG frames, named in order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(count):
            z.writestr(f"frame_{i:03d}.png", png(96, 64, i * 8))
    return buf.getvalue()
