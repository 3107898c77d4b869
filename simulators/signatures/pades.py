"""PAdES signatures with pyHanko, and the one-byte tamper a fault applies.

- `sign_pdf(pdf, credential, ...)`: `pdf` plus one incremental update holding a new signature field and its
  PAdES signature (`ETSI.CAdES.detached`, SHA-256, the certificate chain embedded, an RFC 3161 signature timestamp
  from `timestamper`). Earlier revisions are left byte for byte as they were, so earlier signatures stay valid.
  `label` (optional) is appended to the document information's `/SignBridgeStamp` (and set as `/Subject`), a
  marker tests read; an `/Info` update is an allowed change after a signature.
- `tamper(pdf)`: the same file with one byte changed inside every signature's signed range (the minor version
  digit of the `%PDF-1.x` header, at offset 7); the file still parses, its digests no longer match.
"""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.timestamps import TimeStamper

from simulators.signatures.pki import Credential

TAMPERED_OFFSET = 7  # "%PDF-1.7": the minor version digit

# Room for the CMS signature in the file, in hex digits (two per DER byte): the certificates (the signer's and its
# chain, the TSA's) and the timestamp token make about 5 KB of DER, 10 000 digits. Giving it saves pyHanko a dry-run
# signature (and a dummy timestamp) to estimate the size.
BYTES_RESERVED = 16 * 1024


def sign_pdf(
    pdf: bytes,
    credential: Credential,
    *,
    timestamper: TimeStamper,
    name: str,
    reason: str,
    location: str | None = None,
    label: str | None = None,
) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    field_name = f"Signature{sum(1 for _ in enumerate_sig_fields(writer.prev)) + 1}"
    if label:
        _record_label(writer, label)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        name=name,
        reason=reason,
        location=location,
    )
    output = signers.sign_pdf(
        writer, metadata, signer=credential.signer(), timestamper=timestamper, bytes_reserved=BYTES_RESERVED
    )
    return bytes(output.getvalue())


def tamper(pdf: bytes) -> bytes:
    changed = bytearray(pdf)
    changed[TAMPERED_OFFSET] = ord("4") if changed[TAMPERED_OFFSET] != ord("4") else ord("5")
    return bytes(changed)


def _record_label(writer: IncrementalPdfFileWriter, label: str) -> None:
    try:
        reference = writer.trailer.raw_get("/Info")
    except KeyError:
        reference = None
    if isinstance(reference, generic.IndirectObject):
        info = reference.get_object()
        previous = str(info.get("/SignBridgeStamp", ""))
        writer.mark_update(reference)
    else:
        info, previous = generic.DictionaryObject(), ""
        writer.set_info(info)
    info[generic.NameObject("/Subject")] = generic.TextStringObject(label)
    info[generic.NameObject("/SignBridgeStamp")] = generic.TextStringObject(
        f"{previous} | {label}" if previous else label
    )
