"""What a qualified certificate for a natural person says about its holder (ETSI EN 319 412-1/-2/-5).

- `NaturalPerson`: the holder's name, ID document and e-mail, as the One-Shot request form gives them.
- `subject_name(person)`: C, givenName, surname, serialNumber (the ETSI semantics identifier `IDCES-12345678Z`:
  ID type, country, `-`, number) and commonName, as EN 319 412-2 §4.2.4 asks of a natural person's certificate.
- `qc_statements_extension()`: the QCStatements extension (EN 319 412-5): QcCompliance (EU qualified), QcSSCD (the
  key is in a qualified signature creation device) and QcType esign (an electronic signature, not a seal). The ASN.1
  types are pyHanko's (`pyhanko.sign.ades.qualified_asn1`); `cryptography` carries the DER as an unrecognised
  extension, since it has no API of its own for QCStatements.
- `QCP_N_QSCD`: the certificate policy of a qualified certificate for a natural person on a QSCD (EN 319 411-2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.sign.ades import qualified_asn1

QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")  # id-pe-qcStatements (RFC 3739)

QCP_N_QSCD = x509.ObjectIdentifier("0.4.0.194112.1.2")  # EN 319 411-2: QCP-n-qscd

QC_STATEMENT_IDS = ("qc_compliance", "qc_sscd", "qc_type")  # what `qc_statements_extension` declares, in order


@dataclass(frozen=True)
class NaturalPerson:
    """A certificate holder. `id_type` is the One-Shot `id_document_type` (IDC, PAS, PNO, TIN, CI, CE)."""

    given_name: str
    surnames: str
    id_type: str
    country: str
    id_number: str
    email: str | None = None

    @classmethod
    def from_oneshot_fields(cls, fields: Mapping[str, str]) -> NaturalPerson:
        """The holder named by a One-Shot request form (`given_name`, `surname_1`, `surname_2`, `id_document_type`,
        `id_document_country`, `serial_number`, `email`)."""
        surnames = " ".join(part for part in (fields.get("surname_1"), fields.get("surname_2")) if part)
        return cls(
            given_name=fields.get("given_name", ""),
            surnames=surnames,
            id_type=fields.get("id_document_type") or "IDC",
            country=(fields.get("id_document_country") or "ES").upper(),
            id_number=fields.get("serial_number", ""),
            email=fields.get("email") or None,
        )

    @property
    def common_name(self) -> str:
        return f"{self.given_name} {self.surnames}".strip()

    @property
    def serial_number(self) -> str:
        """The ETSI EN 319 412-1 §5.1.3 semantics identifier: `IDC` + `ES` + `-` + `12345678Z`. (`CI` and `CE` are
        One-Shot's own type codes; they are written the same way.)"""
        return f"{self.id_type}{self.country}-{self.id_number}"


def subject_name(person: NaturalPerson) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, person.country),
            x509.NameAttribute(NameOID.GIVEN_NAME, person.given_name),
            x509.NameAttribute(NameOID.SURNAME, person.surnames),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, person.serial_number),
            x509.NameAttribute(NameOID.COMMON_NAME, person.common_name),
        ]
    )


def qc_statements_extension() -> x509.UnrecognizedExtension:
    statements = qualified_asn1.QcStatements(
        [
            qualified_asn1.QcStatement({"statement_id": "qc_compliance"}),
            qualified_asn1.QcStatement({"statement_id": "qc_sscd"}),
            qualified_asn1.QcStatement(
                {"statement_id": "qc_type", "statement_info": qualified_asn1.QcCertificateType(["qct_esign"])}
            ),
        ]
    )
    return x509.UnrecognizedExtension(QC_STATEMENTS_OID, statements.dump())
