"""The seal of the evidence package: an AWS KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY) the stack creates.

`KmsSealer.sign_digest` sends KMS the SHA-256 digest of the manifest (`MessageType=DIGEST`: KMS takes at most 4096
bytes of RAW message) and answers the DER signature; `public_key_pem` reads the key's public half once per process
(`GetPublicKey`). The private key never leaves KMS. The KMS client is made on first use, and the package's models
imported then, so a function that never seals pays nothing for it at a cold start.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from signbridge.config import Settings
from signbridge.storage.clients import kms_client


class _KmsClient(Protocol):
    def sign(self, **kwargs: Any) -> dict[str, Any]: ...

    def get_public_key(self, **kwargs: Any) -> dict[str, Any]: ...


class SealKeyNotConfiguredError(RuntimeError):
    """The deployment names no evidence key (`SIGNBRIDGE_EVIDENCE_KEY_ID`)."""


class KmsSealer:
    def __init__(self, key_id: str, *, client: _KmsClient | None = None) -> None:
        self._key_id = key_id
        self._client = client
        self._public_key_pem: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> KmsSealer:
        if not settings.evidence_key_id:
            raise SealKeyNotConfiguredError("no evidence key is configured (SIGNBRIDGE_EVIDENCE_KEY_ID)")
        return cls(settings.evidence_key_id)

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign_digest(self, digest: bytes) -> tuple[str, bytes]:
        """(the key's ARN as KMS names it, the DER ECDSA signature) of a SHA-256 `digest`."""
        # Imported here: every handler's services hold a sealer, only the worker's evidence step uses it (the
        # package's models stay out of the other functions' cold start).
        from signbridge.domain.evidence import MESSAGE_TYPE, SIGNING_ALGORITHM  # noqa: PLC0415

        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        response = self._kms().sign(
            KeyId=self._key_id, Message=digest, MessageType=MESSAGE_TYPE, SigningAlgorithm=SIGNING_ALGORITHM
        )
        return str(response["KeyId"]), bytes(response["Signature"])

    def public_key_pem(self) -> str:
        """The key's public half as PEM (SubjectPublicKeyInfo), read once."""
        if self._public_key_pem is None:
            from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - only a sealing step needs it

            der = bytes(self._kms().get_public_key(KeyId=self._key_id)["PublicKey"])
            key = serialization.load_der_public_key(der)
            self._public_key_pem = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
        return self._public_key_pem

    def _kms(self) -> _KmsClient:
        with self._lock:
            if self._client is None:
                self._client = kms_client()
            return self._client
