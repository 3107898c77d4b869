"""What an operation may use: the stores and the provider clients, built once per warm Lambda.

Handlers call `get_services()`; tests build `Services` themselves (with moto-backed stores and simulator-backed
clients, or with fakes). The provider clients are made on first use from the credentials in Secrets Manager, and
made again when a credential changes (a rotated ZapSign token takes effect without a cold start).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from pydantic import SecretStr

from signbridge import telemetry
from signbridge.config import Settings, get_settings
from signbridge.providers import oneshot as oneshot_provider
from signbridge.providers import zapsign as zapsign_provider
from signbridge.providers.http import ProviderHttp, new_session
from signbridge.providers.oneshot import OneShotClient
from signbridge.providers.zapsign import ZapSignClient
from signbridge.storage.files import FileStore
from signbridge.storage.idempotency import IdempotencyStore
from signbridge.storage.queues import QueueSender
from signbridge.storage.records import RecordStore
from signbridge.storage.secrets import SecretStore
from signbridge.workflow.models import utc_now

FILE_DOWNLOAD_PROVIDER = "zapsign-files"


@dataclass
class Services:
    settings: Settings
    records: RecordStore
    files: FileStore
    queues: QueueSender
    secrets: SecretStore
    idempotency: IdempotencyStore
    clock: Callable[[], datetime] = utc_now
    _zapsign: tuple[str, ZapSignClient] | None = field(default=None, repr=False)
    _oneshot: tuple[str, OneShotClient] | None = field(default=None, repr=False)
    _downloads: ProviderHttp | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            records=RecordStore.from_settings(settings),
            files=FileStore.from_settings(settings),
            queues=QueueSender.from_settings(settings),
            secrets=SecretStore.from_settings(settings),
            idempotency=IdempotencyStore.from_settings(settings),
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

    def downloads(self) -> ProviderHttp:
        """The session that fetches provider file links (ZapSign's presigned S3 links, evidence images)."""
        with self._lock:
            if self._downloads is None:
                self._downloads = ProviderHttp(
                    FILE_DOWNLOAD_PROVIDER, "https://invalid/", session=new_session(), observer=telemetry.provider_call
                )
            return self._downloads


@lru_cache(maxsize=4)
def _services_for(settings: Settings) -> Services:
    return Services.from_settings(settings)


def get_services() -> Services:
    """The services of this process, for its current settings (one set per warm Lambda)."""
    return _services_for(get_settings())
