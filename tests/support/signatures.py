"""Reading the signatures of a signed PDF in tests: pyHanko's validation against the simulators' trust anchors.

statuses = validate_signatures(pdf, simulator.signatures.pki.trust_anchors())
assert [status.bottom_line for status in statuses] == [True, True]
signer_names(pdf)  # the common names of the signing certificates, in signing order
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from simulators.signatures.pki import as_asn1


def validation_context(trust_anchors: Iterable[x509.Certificate]) -> ValidationContext:
    """Trust only `trust_anchors`; fetch nothing (no revocation sources exist for the test PKI)."""
    return ValidationContext(trust_roots=[as_asn1(cert) for cert in trust_anchors], allow_fetching=False)


def validate_signatures(pdf: bytes, trust_anchors: Iterable[x509.Certificate]) -> list[PdfSignatureStatus]:
    """Each embedded signature's status, in signing order."""
    context = validation_context(trust_anchors)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return [validate_pdf_signature(signature, context) for signature in reader.embedded_signatures]


def signer_names(pdf: bytes) -> list[str]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    return [str(signature.signer_cert.subject.native["common_name"]) for signature in reader.embedded_signatures]
