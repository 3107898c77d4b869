"""The ZapSign simulator's state and clock, and the lookups every concern shares."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from simulators.base import Simulator, WebhookDispatcher
from simulators.zapsign.model import (
    API_PREFIX,
    DEFAULT_TOKEN,
    ActionError,
    SimDocument,
    SimExtraDoc,
    SimSigner,
    StoredFile,
    WebhookRegistration,
    ZapSignConfig,
)


class ZapSignState(Simulator):
    """The documents, signers, files and registrations of one simulator, under `self.lock`, and its clock.

    The concerns of the simulator build on it, one module each: `files` (stored files and presigned links),
    `serializers` (ZapSign's JSON), `webhooks` (the emitter), `signers` (what a signer does), `api` (the REST API),
    `control` (the `/_sim/zapsign/` control API) and `page` (the signing page); `simulator` assembles them.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        api_token: str = DEFAULT_TOKEN,
        other_env_tokens: tuple[str, ...] = (),
        file_link_lifetime_seconds: int = 3600,
        rate_limit_per_minute: int = 500,
        rate_limit_window_seconds: int = 60,
        refused_status: str = "recusado",
        partial_signed_file: bool = False,
        refuse_fires_doc_signed: bool = False,
        webhook_max_attempts: int = 5,
        webhook_backoff_seconds: float = 0.5,
        webhook_timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(port=port, host=host)
        self.api_token = api_token
        self.other_env_tokens = set(other_env_tokens)
        self.config = ZapSignConfig(
            file_link_lifetime_seconds=file_link_lifetime_seconds,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_window_seconds=rate_limit_window_seconds,
            refused_status=refused_status,
            partial_signed_file=partial_signed_file,
            refuse_fires_doc_signed=refuse_fires_doc_signed,
        )
        self.webhooks = WebhookDispatcher(
            max_attempts=webhook_max_attempts,
            backoff_seconds=webhook_backoff_seconds,
            timeout_seconds=webhook_timeout_seconds,
        )
        self._clock = clock
        self._link_key = secrets.token_bytes(32)
        self.reset_state()
        self._register_routes()

    def reset_state(self) -> None:
        self.documents: dict[str, SimDocument] = {}
        self.extra_docs: dict[str, SimExtraDoc] = {}
        self.signers: dict[str, SimSigner] = {}
        self.files: dict[str, StoredFile] = {}
        self.registrations: dict[int, WebhookRegistration] = {}
        self.clock_offset = 0.0
        self._rate_windows: dict[tuple[str, int], int] = {}
        self._open_ids = itertools.count(1)
        self._webhook_ids = itertools.count(1)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock() + self.clock_offset, tz=UTC)

    def advance_clock(self, seconds: float) -> datetime:
        """Move the simulator's clock forward (expire links without waiting)."""
        with self.lock:
            self.clock_offset += seconds
            return self.now()

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}/"

    def _is_refused(self, document: SimDocument) -> bool:
        return document.status in ("refused", "recusado", self.config.refused_status)

    def _document(self, doc_token: str) -> SimDocument:
        document = self.documents.get(doc_token)
        if document is None:
            raise ActionError(404, "document not found")
        return document

    def _signer_and_document(self, signer_token: str) -> tuple[SimDocument, SimSigner]:
        signer = self.signers.get(signer_token)
        if signer is None:
            raise ActionError(404, "signer not found")
        return self.documents[signer.doc_token], signer

    def _require_in_progress(self, document: SimDocument) -> None:
        if document.deleted or document.status != "pending" or document.expired:
            raise ActionError(409, f"document is not in progress (status {document.status})")

    def _register_routes(self) -> None:
        """Adds the routes of every concern (`ZapSignSimulator`); called once by `__init__`."""
