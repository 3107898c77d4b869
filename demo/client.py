"""Clients of what a client and a signer use: the HTTP API (`ApiClient`) and the simulators' control APIs
(`ZapSignControl`, `OneShotControl`: what a signer does in the browser and what the phone shows, over HTTP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

HTTP_TIMEOUT = (5.0, 40.0)  # the OTP submission signs synchronously at the Optimizer


class ApiError(RuntimeError):
    def __init__(self, response: requests.Response, action: str) -> None:
        self.status = response.status_code
        self.body = response.text[:2000]
        super().__init__(f"{action}: HTTP {self.status} {self.body[:500]}")


class ApiClient:
    """The SignBridge HTTP API, as a client uses it."""

    def __init__(self, api_url: str, *, session: requests.Session | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = session or requests.Session()

    def close(self) -> None:
        self.session.close()

    def post(self, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        return self.session.post(self.api_url + path, json=body, headers=dict(headers or {}), timeout=HTTP_TIMEOUT)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.api_url + path, params=params or None, timeout=HTTP_TIMEOUT)

    def create_request(self, body: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self.post("/v1/requests", dict(body), headers)
        if response.status_code != 201:
            raise ApiError(response, "POST /v1/requests")
        return dict(response.json())

    def get_request(self, request_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/requests/{request_id}")
        if response.status_code != 200:
            raise ApiError(response, f"GET /v1/requests/{request_id}")
        return dict(response.json())

    def submit_otp(self, request_id: str, signer: int, code: str) -> requests.Response:
        return self.post(f"/v1/requests/{request_id}/signers/{signer}/otp", {"code": code})

    def resend_otp(self, request_id: str, signer: int) -> requests.Response:
        return self.post(f"/v1/requests/{request_id}/signers/{signer}/otp/resend", {})

    def cancel(self, request_id: str) -> requests.Response:
        return self.post(f"/v1/requests/{request_id}/cancel", {})


def _root_url(simulator: Any) -> str:
    """A simulator object (its `base_url`) or a URL: the simulator's root, without a trailing slash."""
    if isinstance(simulator, str):
        parts = urlsplit(simulator)
        return f"{parts.scheme}://{parts.netloc}"
    return str(simulator.base_url).rstrip("/")


class ZapSignControl:
    """What a ZapSign signer does, through the simulator's control API."""

    def __init__(self, simulator: Any, *, session: requests.Session | None = None) -> None:
        self.root = _root_url(simulator)
        self.session = session or requests.Session()

    def _post(self, path: str, body: Any = None) -> dict[str, Any]:
        response = self.session.post(f"{self.root}/_sim/zapsign/{path}", json=body or {}, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise RuntimeError(f"ZapSign simulator {path}: HTTP {response.status_code} {response.text[:300]}")
        return dict(response.json())

    def open_link(self, signer_token: str) -> dict[str, Any]:
        return self._post(f"signers/{signer_token}/open")

    def upload_photos(self, signer_token: str) -> dict[str, Any]:
        return self._post(f"signers/{signer_token}/photos", {"document": True, "verse": True, "selfie": True})

    def sign(self, signer_token: str) -> dict[str, Any]:
        return self._post(f"signers/{signer_token}/sign")

    def refuse(self, signer_token: str, reason: str = "Not what I agreed (demo)") -> dict[str, Any]:
        return self._post(f"signers/{signer_token}/refuse", {"rejected_reason": reason})

    def send_event(self, doc_token: str, event_type: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._post(f"docs/{doc_token}/events", {"event_type": event_type, "extra": dict(extra or {})})

    def documents(self, **filters: str) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.root}/_sim/zapsign/docs", params=filters, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return list(response.json()["results"])

    def calls(self) -> dict[str, int]:
        return _calls(self.session, self.root)


class OneShotControl:
    """What a One-Shot signer's phone shows, through the simulator's control API."""

    def __init__(self, simulator: Any, *, session: requests.Session | None = None) -> None:
        self.root = _root_url(simulator)
        self.session = session or requests.Session()

    def last_otp(self, *, phone: str | None = None, pk: str | int | None = None) -> dict[str, Any] | None:
        params = {"pk": str(pk)} if pk is not None else {"phone": phone or ""}
        response = self.session.get(f"{self.root}/_sim/oneshot/otp", params=params, timeout=HTTP_TIMEOUT)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def sms(self) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.root}/_sim/oneshot/sms", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return list(response.json())

    def advance_clock(self, seconds: float) -> None:
        response = self.session.post(
            f"{self.root}/_sim/oneshot/clock", json={"advance_seconds": seconds}, timeout=HTTP_TIMEOUT
        )
        response.raise_for_status()

    def calls(self) -> dict[str, int]:
        return _calls(self.session, self.root)


def _calls(session: requests.Session, root: str) -> dict[str, int]:
    response = session.get(f"{root}/_sim/calls", timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return {str(name): int(count) for name, count in response.json().items()}
