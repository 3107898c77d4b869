"""The composition root: the concrete `Services` on AWS (DynamoDB, S3, SQS, Secrets Manager) and the providers.

Only the handlers (and tests, and the operator CLI) import this module; the workflow sees `Services` through its
ports. The provider clients are made on first use from the credentials in Secrets Manager, and made again when a
credential changes (a rotated ZapSign token takes effect without a cold start). One set of services per warm Lambda.

The services' clock (what the use cases decide with: the One-Shot resend minute, deadlines, staleness) is the wall
clock, read through `use_clock`'s hook: on AWS nothing sets it; the local stack points it at the One-Shot simulator's
clock, so that moving the simulator's time (`POST /_sim/oneshot/clock`) moves SignBridge's rules with it and a test
can check "a resend after the minute" without waiting a minute.

Cold start: importing this module imports the stores only. A provider's client (`requests`, its models) is imported
the first time a step asks for it, in the method that makes it, so a handler that never calls a provider (the
webhooks, intake, the scheduled ones) never loads one (`tests/unit/test_cold_imports.py` pins this per handler).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from signbridge import telemetry
from signbridge.config import Settings, get_settings
from signbridge.domain.models import utc_now
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import DeadLetterQueues, QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.seal import KmsSealer
from signbridge.storage.secrets import SecretStore
from signbridge.workflow.ports import SignatureVerifier
from signbridge.workflow.services import Services

if TYPE_CHECKING:  # imported where they are made (see the module docstring)
    from pyhanko.sign.timestamps import TimeStamper

    from signbridge.providers.downloads import FileDownloads
    from signbridge.providers.oneshot import OneShotClient
    from signbridge.providers.zapsign import ZapSignClient

FILE_DOWNLOAD_PROVIDER = "zapsign-files"
TSA_TIMEOUT_SECONDS = 10

_clock: Callable[[], datetime] = utc_now


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """The clock every `AwsServices` of this process reads from now on (None: the wall clock again). For the local
    stack, which shares the One-Shot simulator's time with the functions; Lambda never calls it."""
    global _clock  # noqa: PLW0603 - one process-wide hook, read on every call
    _clock = clock or utc_now


def services_now() -> datetime:
    """The current time as the services see it (`use_clock`)."""
    return _clock()


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
            clock=services_now,
            # The KMS client is made on the first seal: only the worker's evidence step ever seals.
            sealer=KmsSealer(settings.evidence_key_id) if settings.evidence_key_id else None,
        )

    def zapsign(self) -> ZapSignClient:
        from signbridge.providers import zapsign as zapsign_provider  # noqa: PLC0415 - on first use (cold start)
        from signbridge.providers.http import ProviderHttp  # noqa: PLC0415

        token = self.secrets.zapsign().api_token.get_secret_value()
        with self._lock:
            if self._zapsign is None or self._zapsign[0] != token:
                base_url = self.settings.zapsign_base_url
                http = ProviderHttp(zapsign_provider.PROVIDER, base_url, observer=telemetry.provider_call)
                self._zapsign = (token, zapsign_provider.ZapSignClient(base_url, token, http=http))
            return self._zapsign[1]

    def oneshot(self) -> OneShotClient:
        from signbridge.providers import oneshot as oneshot_provider  # noqa: PLC0415 - on first use (cold start)
        from signbridge.providers.http import ProviderHttp  # noqa: PLC0415

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
                client = oneshot_provider.OneShotClient(
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
        from signbridge.providers.downloads import FileDownloads  # noqa: PLC0415 - on first use (cold start)
        from signbridge.providers.http import ProviderHttp, new_session  # noqa: PLC0415

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
