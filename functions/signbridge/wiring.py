"""The composition root: the concrete `Services` on AWS (DynamoDB, S3, SQS, Secrets Manager) and the providers.

Only the handlers (and tests, and the operator CLI) import this module; the workflow sees `Services` through its
ports. The provider clients are made on first use from the credentials in Secrets Manager, and made again when a
credential changes (a rotated ZapSign token takes effect without a cold start). One set of services per warm Lambda.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from signbridge import telemetry
from signbridge.config import Settings, get_settings
from signbridge.providers import oneshot as oneshot_provider
from signbridge.providers import zapsign as zapsign_provider
from signbridge.providers.downloads import FileDownloads
from signbridge.providers.http import ProviderHttp, new_session
from signbridge.providers.oneshot import OneShotClient
from signbridge.providers.zapsign import ZapSignClient
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import DeadLetterQueues, QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.secrets import SecretStore
from signbridge.workflow.ports import SignatureVerifier
from signbridge.workflow.services import Services

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

FILE_DOWNLOAD_PROVIDER = "zapsign-files"
TSA_TIMEOUT_SECONDS = 10


@dataclass
class AwsServices(Services):
    """`Services` on AWS. `secrets` must be the concrete `SecretStore`: the provider clients are made from it."""

    secrets: SecretStore
    _zapsign: tuple[str, ZapSignClient] | None = field(default=None, repr=False)
    _oneshot: tuple[str, OneShotClient] | None = field(default=None, repr=False)
    _downloads: FileDownloads | None = field(default=None, repr=False)
    _verifier: SignatureVerifier | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsServices:
        return cls(
            settings=settings,
            records=RecordStore.from_settings(settings),
            files=FileStore.from_settings(settings),
            queues=QueueSender.from_settings(settings),
            secrets=SecretStore.from_settings(settings),
            idempotency=IdempotencyStore.from_settings(settings),
            dead_letters=DeadLetterQueues.from_settings(settings),
        )

    def zapsign(self) -> ZapSignClient:
        token = self.secrets.zapsign().api_token.get_secret_value()
        with self._lock:
            if self._zapsign is None or self._zapsign[0] != token:
                base_url = self.settings.zapsign_base_url
                http = ProviderHttp(zapsign_provider.PROVIDER, base_url, observer=telemetry.provider_call)
                self._zapsign = (token, ZapSignClient(base_url, token, http=http))
            return self._zapsign[1]

    def oneshot(self) -> OneShotClient:
        credentials = self.secrets.oneshot()
        # The values themselves (SecretStr dumps as "**********", so a dump would hide a rotation); compared in
        # memory only, never logged.
        fingerprint = json.dumps(
            {name: value.get_secret_value() if isinstance(value, SecretStr) else value for name, value in credentials},
            sort_keys=True,
        )
        with self._lock:
            if self._oneshot is None or self._oneshot[0] != fingerprint:
                base_url = self.settings.oneshot_base_url
                client = OneShotClient(
                    base_url,
                    credentials,
                    http=ProviderHttp(oneshot_provider.PROVIDER, base_url, observer=telemetry.provider_call),
                    env=self.settings.oneshot_env,
                    max_file_bytes=self.settings.max_file_bytes,
                )
                self._oneshot = (fingerprint, client)
            return self._oneshot[1]

    def downloads(self) -> FileDownloads:
        """The session that fetches provider file links (ZapSign's presigned S3 links, evidence images)."""
        with self._lock:
            if self._downloads is None:
                self._downloads = FileDownloads(
                    ProviderHttp(
                        FILE_DOWNLOAD_PROVIDER,
                        "https://invalid/",
                        session=new_session(),
                        observer=telemetry.provider_call,
                    )
                )
            return self._downloads

    def verifier(self) -> SignatureVerifier:
        """The PDF signature verifier, made on first use (pyHanko is imported here, only by the functions that
        verify) with the trust anchors of `trust_anchors_file` (local stack, tests) or of the S3 object
        `trust_anchors_key` (on AWS), read once per warm Lambda, and the TSA of `tsa_url` when one is set (the
        long-term copies' archive timestamps)."""
        with self._lock:
            if self._verifier is None:
                from signbridge.verification.pdf import PdfSignatureVerifier, load_trust_anchors  # noqa: PLC0415

                settings = self.settings
                if settings.trust_anchors_file:
                    anchors = load_trust_anchors(Path(settings.trust_anchors_file).read_bytes())
                elif settings.trust_anchors_key:
                    with self.files.open_stream(settings.trust_anchors_key) as stream:
                        anchors = load_trust_anchors(stream.read())
                else:
                    raise TrustAnchorsMissingError
                self._verifier = PdfSignatureVerifier(anchors, timestamper=_timestamper(settings.tsa_url))
            return self._verifier


def _timestamper(tsa_url: str | None) -> TimeStamper | None:
    """pyHanko's RFC 3161 client for the configured TSA (`Settings.tsa_url`), None without one."""
    if tsa_url is None:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: PLC0415

    return HTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT_SECONDS)


class TrustAnchorsMissingError(RuntimeError):
    """Neither a trust anchors file nor an S3 key is configured: no signed PDF can be verified, so none is archived."""

    def __init__(self) -> None:
        super().__init__(
            "no trust anchors configured (SIGNBRIDGE_TRUST_ANCHORS_FILE or SIGNBRIDGE_TRUST_ANCHORS_KEY; "
            "docs/evidence.md, 'Trust anchors')"
        )


@lru_cache(maxsize=4)
def _services_for(settings: Settings) -> AwsServices:
    return AwsServices.from_settings(settings)


def get_services() -> AwsServices:
    """The services of this process, for its current settings (one set per warm Lambda)."""
    return _services_for(get_settings())
