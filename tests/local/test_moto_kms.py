"""The emulation's KMS signing with the evidence key's kind (ECC_NIST_P256): a `DIGEST` message is signed as the
prehashed digest it is (moto 5.2 would hash it again), so the signature verifies over the original message as KMS's
does; a `RAW` message over KMS's 4096 bytes is refused as KMS refuses it; the key's public half reads back as DER."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from local.aws import KMS_RAW_MESSAGE_MAX_BYTES, AwsEmulator

MESSAGE = b'{"files": []}\n' * 500  # longer than a RAW message may be


def test_a_digest_is_signed_as_kms_signs_it_and_a_long_raw_message_is_refused(aws: AwsEmulator) -> None:
    kms = aws.client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert isinstance(public_key, ec.EllipticCurvePublicKey)

    # A DIGEST: the signature verifies over the whole message
    digest = hashlib.sha256(MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    public_key.verify(signature["Signature"], MESSAGE, ec.ECDSA(hashes.SHA256()))

    # A short RAW message still signs as before
    raw = kms.sign(KeyId=key_id, Message=b"short", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    public_key.verify(raw["Signature"], b"short", ec.ECDSA(hashes.SHA256()))

    # A digest of the wrong length, and a RAW message over 4096 bytes, are refused
    with pytest.raises(ClientError, match="ValidationException"):
        kms.sign(KeyId=key_id, Message=digest[:20], MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    assert len(MESSAGE) > KMS_RAW_MESSAGE_MAX_BYTES
    with pytest.raises(ClientError, match="ValidationException"):
        kms.sign(KeyId=key_id, Message=MESSAGE, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
