"""Tiny PDF helpers for the simulators and tests: make a valid one-page PDF, and "sign" a PDF by appending a page.

API (kept small on purpose; both simulators use it):

- `make_pdf(text) -> bytes`: a valid one-page A4 PDF showing `text` (one line per `\\n`), Helvetica, WinAnsi.
- `stamp_pdf(pdf, label) -> bytes`: the same pages plus a last page reading `label`, and the label in the document
  information (`/Subject`, `/SignBridgeStamp`). Always a valid PDF that differs from the input, so a test can tell
  a "signed" file from its original. Stamping twice appends two pages.

Neither is a real signature: no certificate, no `/Sig` field. They only need to look like PDFs to code that checks
the `%PDF` magic, parses the file, or compares digests.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from pypdf import PdfReader, PdfWriter

PAGE_WIDTH = 595  # A4 in points
PAGE_HEIGHT = 842
_FONT_SIZE = 12
_LINE_HEIGHT = 16
_MARGIN = 56


def make_pdf(text: str) -> bytes:
    """A valid single-page PDF whose page shows `text`. Characters outside Latin-1 are shown as `?`."""
    lines = text.splitlines() or [""]
    operations = [f"BT /F1 {_FONT_SIZE} Tf {_LINE_HEIGHT} TL {_MARGIN} {PAGE_HEIGHT - _MARGIN} Td"]
    for index, line in enumerate(lines):
        if index:
            operations.append("T*")
        operations.append(f"({_escape(line)}) Tj")
    operations.append("ET")
    stream = "\n".join(operations).encode("latin-1")

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ).encode("ascii"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode("ascii") + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode("ascii")
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode("ascii")
    return bytes(out)


def stamp_pdf(pdf: bytes, label: str) -> bytes:
    """`pdf` with one more page showing `label`, and `label` recorded in the document information."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in PdfReader(io.BytesIO(make_pdf(label))).pages:
        writer.add_page(page)
    previous: Mapping[str, Any] = writer.metadata or {}
    stamps = str(previous.get("/SignBridgeStamp", ""))
    writer.add_metadata(
        {
            "/Subject": label,
            "/SignBridgeStamp": f"{stamps} | {label}" if stamps else label,
            "/Producer": "SignBridge simulator",
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _escape(line: str) -> str:
    encoded = line.encode("latin-1", errors="replace").decode("latin-1")
    return encoded.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("\r", "")
