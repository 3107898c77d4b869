"""Real signatures for the simulators: a test PKI made at start-up, qualified certificates, PAdES with timestamps.

- `pki`: `TestPki` (root → qualified issuing CA, a TSA, ZapSign's platform certificate, an untrusted hierarchy).
- `qualified`: a natural person's subject (ETSI EN 319 412-1/-2) and the QCStatements extension (EN 319 412-5).
- `pades`: `sign_pdf` (an incremental PAdES signature with an RFC 3161 timestamp) and `tamper`.
- `Signatures` (below): what a simulator signs with, and the signing faults it applies (`SigningFaults`).

Both simulators hold a `Signatures` (`simulator.signatures`) and answer, besides their own control routes:
`GET /_sim/trust-anchors` (the root certificates, PEM), `GET|POST /_sim/signing-faults` and `POST /_sim/tsa` (the
test TSA over RFC 3161 HTTP). docs/simulators.md has the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from simulators.signatures.pades import sign_pdf, tamper
from simulators.signatures.pki import WRONG_PERSON, Credential, TestPki
from simulators.signatures.qualified import NaturalPerson


@dataclass
class SigningFaults:
    """Switches for the signatures a simulator makes (all off by default; `POST /_sim/reset` turns them off).

    tamper: the signed file has one byte changed inside the signed range (`pades.tamper`).
    wrong_signer: One-Shot's certificate names another person (`pki.WRONG_PERSON`); ZapSign's names another
        organisation.
    untrusted_root: the signing certificate chains to a root no verifier trusts.
    expired_certificate: the signing certificate expired a day before it signs.
    """

    tamper: bool = False
    wrong_signer: bool = False
    untrusted_root: bool = False
    expired_certificate: bool = False

    @classmethod
    def from_json(cls, body: Any) -> SigningFaults:
        if not isinstance(body, dict):
            raise ValueError("a JSON object is expected")
        known = {item.name for item in fields(cls)}
        for key, value in body.items():
            if key not in known:
                raise ValueError(f"unknown signing fault {key!r} (known: {', '.join(sorted(known))})")
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        return cls(**body)

    def to_json(self) -> dict[str, bool]:
        return dict(vars(self))


class Signatures:
    """Signs for a simulator with its PKI, applying the signing faults in force."""

    def __init__(self, pki: TestPki | None = None) -> None:
        self.pki = pki or TestPki.shared()
        self.faults = SigningFaults()
        self._timestamper = self.pki.timestamper()

    def sign_as_person(
        self, person: NaturalPerson, pdfs: Iterable[bytes], *, label: str
    ) -> tuple[list[bytes], Credential]:
        """One single-use qualified certificate for `person`, and each of `pdfs` signed with it (One-Shot)."""
        faults = self.faults
        holder = WRONG_PERSON if faults.wrong_signer else person
        credential = self.pki.issue_natural_person(
            holder, expired=faults.expired_certificate, untrusted=faults.untrusted_root
        )
        signed = [
            self._finish(
                sign_pdf(
                    pdf,
                    credential,
                    timestamper=self._timestamper,
                    name=holder.common_name,
                    reason="One-Shot qualified signature",
                    location=holder.country,
                    label=label,
                )
            )
            for pdf in pdfs
        ]
        return signed, credential

    def sign_as_platform(self, pdf: bytes) -> bytes:
        """The platform's own signature (ZapSign's signed files)."""
        faults = self.faults
        credential = (
            self.pki.platform
            if not (faults.wrong_signer or faults.untrusted_root or faults.expired_certificate)
            else self.pki.platform_credential(
                expired=faults.expired_certificate, untrusted=faults.untrusted_root, wrong_identity=faults.wrong_signer
            )
        )
        return self._finish(
            sign_pdf(pdf, credential, timestamper=self._timestamper, name="ZapSign", reason="Assinado via ZapSign")
        )

    def _finish(self, signed: bytes) -> bytes:
        return tamper(signed) if self.faults.tamper else signed


__all__ = ["NaturalPerson", "Signatures", "SigningFaults", "TestPki"]
