"""The One-Shot simulator's state and clock, and the request lookup every concern shares."""

from __future__ import annotations

import threading
import time
from typing import Any

from werkzeug.wrappers import Response

from simulators.base import Simulator
from simulators.oneshot.model import (
    API_PREFIXES,
    FIRST_REQUEST_PK,
    SANDBOX_RAO_PASSWORD,
    SANDBOX_RAO_PIN,
    SANDBOX_RAO_USERNAME,
    SANDBOX_TOKEN,
    Clock,
    SimRequest,
    SimToken,
)
from simulators.oneshot.responses import fastapi_422, not_found


class OneShotState(Simulator):
    """The tokens, requests, images and SMS of one simulator, under `self.lock`, and its clock.

    The concerns build on it, one module each: `tokens`, `callbacks` (status changes and their webhook), `create`,
    `documents`, `signing` (OTP and sign), `images` and `control` (the `/_sim/oneshot/` routes); `simulator`
    assembles them and registers the routes.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        clock: Clock = time.time,
        max_documents_per_request: int = 20,
        otp_validity_seconds: float = 600.0,
        async_sign_delay_seconds: float = 0.05,
        environments: tuple[str, ...] = ("sandbox",),
        billing_accounts: dict[str, str] | None = None,
    ) -> None:
        """
        clock: epoch seconds; `POST /_sim/oneshot/clock` (or `advance_clock`) adds an offset to it.
        max_documents_per_request: GUESS (docs/providers/oneshot.md §6.4): the per-request maximum exists, its value
            is unknown.
        otp_validity_seconds: GUESS (docs/providers/oneshot.md §7 item 11): the OTP validity is undocumented.
        async_sign_delay_seconds: how long an async sign takes before the `REQUEST_ENROLLED` callback.
        environments: the `env` values this Optimizer serves (the public test Optimizer: sandbox).
        billing_accounts: username -> plain password. When None, any billing user with a Base64 password is
            accepted (the simulator cannot know real billing accounts).
        """
        super().__init__(port=port, host=host)
        self._clock = clock
        self._clock_offset = 0.0
        self.max_documents_per_request = max_documents_per_request
        self.otp_validity_seconds = otp_validity_seconds
        self.async_sign_delay_seconds = async_sign_delay_seconds
        self.environments = environments
        self.billing_accounts = billing_accounts
        self.tokens: dict[str, SimToken] = {}
        self.requests: dict[int, SimRequest] = {}
        self.images: dict[str, bytes] = {}
        self.sms: list[dict[str, Any]] = []
        self._next_pk = FIRST_REQUEST_PK
        self._timers: list[threading.Timer] = []
        self.reset_state()

        self._register_routes()

    @property
    def api_url(self) -> str:
        """The base URL a client is configured with (the canonical prefix, with a trailing slash)."""
        return f"{self.base_url}{API_PREFIXES[0]}/"

    def now(self) -> float:
        return self._clock() + self._clock_offset

    @property
    def clock_offset(self) -> float:
        """Seconds the clock has been moved on (`advance_clock`, `POST /_sim/oneshot/clock`); 0 after a reset."""
        with self.lock:
            return self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self._clock_offset += seconds

    def reset_state(self) -> None:
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
            self._clock_offset = 0.0
            self.tokens = {
                SANDBOX_TOKEN: SimToken(SANDBOX_TOKEN, SANDBOX_RAO_USERNAME, SANDBOX_RAO_PASSWORD, SANDBOX_RAO_PIN)
            }
            self.requests = {}
            self.images = {}
            self.sms = []
            self._next_pk = FIRST_REQUEST_PK

    def stop(self) -> None:
        with self.lock:
            for timer in self._timers:
                timer.cancel()
        super().stop()

    def last_otp(self, *, pk: int | None = None, phone: str | None = None) -> str | None:
        """The last code sent by SMS for a request or to a phone (what a test reads instead of a phone)."""
        with self.lock:
            for sms in reversed(self.sms):
                if (pk is None or sms["pk"] == pk) and (phone is None or sms["phone"] == phone):
                    return str(sms["code"])
        return None

    def _find(self, pk: str, missing: str) -> SimRequest | Response:
        """The request `pk`, or the error answer. `missing` is the legacy 404 text for this endpoint."""
        if not pk.isdigit():
            return fastapi_422(["path", "request_pk"], "Input should be a valid integer", "int_parsing")
        request = self.requests.get(int(pk))
        if request is None:
            return not_found(missing.format(pk=pk))
        return request

    def _register_routes(self) -> None:
        """Adds the routes of every concern (`OneShotSimulator`); called once by `__init__`."""
