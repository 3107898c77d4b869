"""A small test PKI made in memory, and PDFs signed with it by pyHanko: for the verifier's tests and its cost figure.

root -> issuing CA -> signers (natural persons: given name, surname, serialNumber IDCES-..., and the qualified
statements QcCompliance, QcSSCD, QcType esign) and a timestamping authority (RFC 3161, pyHanko's in-process
`DummyTimeStamper`, RSA: the only key type it takes). A second root ("Untrusted Root") issues certificates no
verifier trusts. Other keys are P-256, made fresh per PKI: nothing is written to disk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.qualified_asn1 import QcCertificateType, QcStatement, QcStatements
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))

    @property
    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        der = self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return asn1_keys.PrivateKeyInfo.load(der)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def qc_statements_der(*, esign: bool = True) -> bytes:
    """QcCompliance, QcSSCD and QcType esign (ETSI EN 319 412-5), DER."""
    statements = [QcStatement({"statement_id": "qc_compliance"}), QcStatement({"statement_id": "qc_sscd"})]
    if esign:
        statements.append(QcStatement({"statement_id": "qc_type", "statement_info": QcCertificateType(["qct_esign"])}))
    return bytes(QcStatements(statements).dump())


def _issue(
    subject: x509.Name,
    issuer: Issued | None,
    *,
    ca: bool = False,
    timestamping: bool = False,
    qualified: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    now = datetime.now(UTC)
    # pyHanko's in-process TSA signs with RSA only; every other key is P-256
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if timestamping
        else ec.generate_private_key(ec.SECP256R1())
    )
    issuer_name = issuer.certificate.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=30))
        .not_valid_after(not_after or now + timedelta(days=3650 if ca else 365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and not timestamping,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if timestamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    if qualified:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(QC_STATEMENTS_OID, qc_statements_der()), critical=False
        )
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SignBridge Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def person_name(given_name: str, surname: str, id_number: str) -> x509.Name:
    """A natural person's subject as a qualified certificate carries it (ETSI EN 319 412-2 §4.2.4)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
            x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IDCES-{id_number}"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname}"),
        ]
    )


@dataclass
class TestPki:
    """root -> issuing CA -> signers and the TSA; `untrusted_root` -> `untrusted_ca` beside them."""

    __test__ = False  # not a pytest test class

    root: Issued = field(init=False)
    issuing: Issued = field(init=False)
    tsa: Issued = field(init=False)
    untrusted_root: Issued = field(init=False)
    untrusted_ca: Issued = field(init=False)

    def __post_init__(self) -> None:
        self.root = _issue(_ca_name("SignBridge Test Root"), None, ca=True)
        self.issuing = _issue(_ca_name("SignBridge Test Issuing CA"), self.root, ca=True)
        self.tsa = _issue(_ca_name("SignBridge Test TSA"), self.issuing, timestamping=True)
        self.untrusted_root = _issue(_ca_name("Untrusted Root"), None, ca=True)
        self.untrusted_ca = _issue(_ca_name("Untrusted Issuing CA"), self.untrusted_root, ca=True)

    @property
    def trust_anchors_pem(self) -> bytes:
        return self.root.pem

    def signer(
        self,
        given_name: str,
        surname: str,
        id_number: str,
        *,
        untrusted: bool = False,
        qualified: bool = True,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        issuer = self.untrusted_ca if untrusted else self.issuing
        return _issue(
            person_name(given_name, surname, id_number),
            issuer,
            qualified=qualified,
            not_before=not_before,
            not_after=not_after,
        )

    def chain_of(self, signer: Issued) -> list[Issued]:
        """The CA certificates embedded with a signature by `signer`."""
        issuer_name = signer.certificate.issuer
        if issuer_name == self.untrusted_ca.certificate.subject:
            return [self.untrusted_ca, self.untrusted_root]
        return [self.issuing, self.root]

    def timestamper(self, *, untrusted: bool = False) -> DummyTimeStamper:
        """The test TSA; `untrusted`: a TSA under the untrusted root instead."""
        if untrusted:
            tsa = _issue(_ca_name("Untrusted TSA"), self.untrusted_ca, timestamping=True)
            chain = [self.untrusted_ca.asn1, self.untrusted_root.asn1]
        else:
            tsa, chain = self.tsa, [self.issuing.asn1, self.root.asn1]
        return DummyTimeStamper(
            tsa_cert=tsa.asn1, tsa_key=tsa.asn1_key, certs_to_embed=SimpleCertificateStore.from_certs(chain)
        )

    def sign(
        self,
        pdf: bytes,
        signer: Issued,
        *,
        field_name: str = "Signature1",
        timestamp: bool = True,
        untrusted_tsa: bool = False,
    ) -> bytes:
        """`pdf` signed by `signer` (PAdES, an incremental update), with an RFC 3161 timestamp unless told not to."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        metadata = signers.PdfSignatureMetadata(field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES)
        simple = signers.SimpleSigner(
            signing_cert=signer.asn1,
            signing_key=signer.asn1_key,
            cert_registry=SimpleCertificateStore.from_certs([issued.asn1 for issued in self.chain_of(signer)]),
        )
        output = io.BytesIO()
        signers.sign_pdf(
            writer,
            metadata,
            signer=simple,
            timestamper=self.timestamper(untrusted=untrusted_tsa) if timestamp else None,
            output=output,
        )
        return output.getvalue()
