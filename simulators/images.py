"""Small valid PNG images: the fake ID photos and selfies of the simulators and the demo.

A PNG only needs to be an image by its magic bytes and structure for SignBridge and the providers' checks; these are
solid colours, optionally with a few pixels derived from a `salt` so that each signer's photo differs.
"""

from __future__ import annotations

import hashlib
import struct
import zlib


def png_image(width: int, height: int, rgb: tuple[int, int, int], salt: str | None = None) -> bytes:
    """A `width` x `height` RGB PNG of colour `rgb`; with `salt`, a few pixels are shaded from its hash."""
    noise = hashlib.sha256(salt.encode()).digest() if salt is not None else b""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            shade = noise[(x * 7 + y * 13) % len(noise)] // 8 if noise and (x + y) % 9 == 0 else 0
            rows += bytes(min(255, channel + shade) for channel in rgb)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows)))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
