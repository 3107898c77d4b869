"""The simulators' test PKI, made in memory when a simulator process starts; no private key is ever written out.

    pki = TestPki.shared()                       # one per process (both simulators of a local stack share it)
    pki.trust_anchors_pem()                      # the root a verifier trusts (PEM)
    holder = pki.issue_natural_person(person)    # a single-use qualified certificate (One-Shot's sign step)
    zapsign = pki.platform                       # ZapSign's own (test) signing certificate
    pki.timestamper()                            # the test TSA (RFC 3161 tokens, pyHanko's DummyTimeStamper)

The hierarchy (names fixed, keys random; EC P-256, but the TSA's RSA-2048 as pyHanko's test TSA signs with RSA):

    SignBridge Simulators Test Root CA                      <- the trust anchor
    ├── SignBridge Simulators Test Qualified CA             <- issues One-Shot's single-use certificates
    ├── SignBridge Simulators Test TSA                      <- timestamps (extended key usage timeStamping)
    └── ZapSign Document Signing (simulated)                <- ZapSign's platform signature
    Untrusted Test Root CA (not a SignBridge trust anchor)  <- the `untrusted_root` fault
    └── Untrusted Test Issuing CA

Validity runs on the real clock (not a simulator's adjustable one), so a verifier checking "now" agrees: the CAs
and the TSA for ten years, a holder's single-use certificate for `HOLDER_LIFETIME` from issue (GUESS,
docs/providers/oneshot.md §6.2: One-Shot's certificate lifetime is not documented), and an `expired` certificate ended a
day before it signs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from simulators.signatures.qualified import QCP_N_QSCD, NaturalPerson, qc_statements_extension, subject_name

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
Clock = Callable[[], datetime]

PKI_ORGANIZATION = "SignBridge simulators (test PKI, not for production)"
ROOT_NAME = "SignBridge Simulators Test Root CA"
QUALIFIED_CA_NAME = "SignBridge Simulators Test Qualified CA"
TSA_NAME = "SignBridge Simulators Test TSA"
PLATFORM_NAME = "ZapSign Document Signing (simulated)"
PLATFORM_ORGANIZATION = "ZapSign (simulated)"
WRONG_PLATFORM_NAME = "Another Platform Document Signing (simulated)"
WRONG_PLATFORM_ORGANIZATION = "Another Platform (simulated)"
UNTRUSTED_ROOT_NAME = "Untrusted Test Root CA (not a SignBridge trust anchor)"
UNTRUSTED_CA_NAME = "Untrusted Test Issuing CA"

# The holder a `wrong_signer` fault puts in the certificate instead of the request's signer.
WRONG_PERSON = NaturalPerson(
    given_name="Mallory", surnames="Impostor Falso", id_type="IDC", country="ES", id_number="00000000T"
)

CA_LIFETIME = timedelta(days=3650)
HOLDER_LIFETIME = timedelta(days=1)
BACKDATE = timedelta(minutes=5)  # clock skew between the simulator and a verifier


@dataclass(frozen=True)
class Credential:
    """A private key, its certificate and the issuers above it (the root last)."""

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    def signer(self) -> SimpleSigner:
        """A pyHanko signer that embeds the certificate and its whole chain in the CMS signature."""
        return SimpleSigner(
            signing_cert=as_asn1(self.certificate),
            signing_key=_asn1_key(self.key),
            cert_registry=SimpleCertificateStore.from_certs([as_asn1(cert) for cert in self.chain]),
        )

    @property
    def serial_hex(self) -> str:
        return f"{self.certificate.serial_number:X}"


class TestPki:
    """Root, qualified issuing CA, TSA, ZapSign's platform certificate and an untrusted hierarchy, made at once."""

    __test__ = False  # not a pytest test class
    _shared: ClassVar[TestPki | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self.root = _self_signed_ca(ROOT_NAME, self._now())
        self.qualified_ca = _issue_ca(QUALIFIED_CA_NAME, self.root, self._now())
        self.tsa = self._issue_tsa()
        self.platform = self.platform_credential()
        self.untrusted_root = _self_signed_ca(UNTRUSTED_ROOT_NAME, self._now())
        self.untrusted_ca = _issue_ca(UNTRUSTED_CA_NAME, self.untrusted_root, self._now())

    @classmethod
    def shared(cls) -> TestPki:
        """The PKI of this process, made on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    # -- what a verifier trusts -------------------------------------------------------------------------------------

    def trust_anchors(self) -> list[x509.Certificate]:
        return [self.root.certificate]

    def trust_anchors_pem(self) -> str:
        return pem_bundle(self.trust_anchors())

    # -- certificates issued on demand ----------------------------------------------------------------------------

    def issue_natural_person(
        self, person: NaturalPerson, *, expired: bool = False, untrusted: bool = False
    ) -> Credential:
        """A single-use qualified certificate for `person` (EC P-256 key), from the qualified CA (or the untrusted
        one), valid from now on for `HOLDER_LIFETIME` (or, `expired`, ended a day ago)."""
        issuer = self.untrusted_ca if untrusted else self.qualified_ca
        key = ec.generate_private_key(ec.SECP256R1())
        not_before, not_after = self._validity(HOLDER_LIFETIME, expired=expired)
        builder = (
            _builder(subject_name(person), key, issuer, not_before, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(QCP_N_QSCD, None)]),
                critical=False,
            )
            .add_extension(qc_statements_extension(), critical=False)
        )
        if person.email:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(person.email)]), False)
        return Credential(key, builder.sign(issuer.key, hashes.SHA256()), (issuer.certificate, *issuer.chain))

    def platform_credential(
        self, *, expired: bool = False, untrusted: bool = False, wrong_identity: bool = False
    ) -> Credential:
        """ZapSign's signing certificate (`self.platform` is the one made at start-up); the arguments make the
        faulty ones: expired, from the untrusted root, or naming another organisation."""
        issuer = self.untrusted_ca if untrusted else self.root
        organization = WRONG_PLATFORM_ORGANIZATION if wrong_identity else PLATFORM_ORGANIZATION
        common_name = WRONG_PLATFORM_NAME if wrong_identity else PLATFORM_NAME
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        key = ec.generate_private_key(ec.SECP256R1())
        not_before, not_after = self._validity(CA_LIFETIME, expired=expired)
        certificate = (
            _builder(subject, key, issuer, not_before, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
            .sign(issuer.key, hashes.SHA256())
        )
        return Credential(key, certificate, (issuer.certificate, *issuer.chain))

    def timestamper(self) -> DummyTimeStamper:
        """The test TSA: answers RFC 3161 requests with tokens signed by the TSA certificate (the chain embedded)."""
        return DummyTimeStamper(
            tsa_cert=as_asn1(self.tsa.certificate),
            tsa_key=_asn1_key(self.tsa.key),
            certs_to_embed=SimpleCertificateStore.from_certs([as_asn1(cert) for cert in self.tsa.chain]),
        )

    # -- internals ------------------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock()

    def _validity(self, lifetime: timedelta, *, expired: bool) -> tuple[datetime, datetime]:
        now = self._now()
        if expired:
            return now - timedelta(days=2), now - timedelta(days=1)
        return now - BACKDATE, now + lifetime

    def _issue_tsa(self) -> Credential:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = self._now()
        certificate = (
            _builder(_name(TSA_NAME), key, self.root, now - BACKDATE, now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(self.root.key, hashes.SHA256())
        )
        return Credential(key, certificate, (self.root.certificate,))


def as_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """The certificate as pyHanko and pyhanko-certvalidator take it."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def pem_bundle(certificates: Sequence[x509.Certificate]) -> str:
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for cert in certificates)


def _asn1_key(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def _name(common_name: str, organization: str = PKI_ORGANIZATION) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, key: PrivateKey, issuer: Credential, not_before: datetime, not_after: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )


def _self_signed_ca(common_name: str, now: datetime) -> Credential:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Credential(key, certificate, ())


def _issue_ca(common_name: str, issuer: Credential, now: datetime) -> Credential:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(_name(common_name), key, issuer, now - timedelta(days=1), now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )
    return Credential(key, certificate, (issuer.certificate, *issuer.chain))


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )
