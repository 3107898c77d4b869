"""What both provider simulators share: a threaded HTTP server on loopback, routing, call counters, seeded fault
injection and webhook delivery with retries.

A simulator subclass registers its provider routes with `route()` and its own control routes under `/_sim/`.
Every simulator also answers these control routes:

| route                      | what it does                                                                 |
|----------------------------|------------------------------------------------------------------------------|
| `GET  /_sim/calls`         | counters of every call received, by endpoint name (for benchmarks)            |
| `POST /_sim/faults`        | set fault injection (body: `FaultPlan` fields, see below); `{}` clears it      |
| `GET  /_sim/faults`        | the fault plan in force                                                       |
| `GET  /_sim/deliveries`    | webhook deliveries: url, event, attempts, statuses                            |
| `POST /_sim/reset`         | forget all state, counters, faults and pending deliveries                     |
| `GET  /_sim/trust-anchors` | the test PKI's root certificates (PEM) a verifier of the signed files trusts  |
| `GET, POST /_sim/signing-faults` | the signing faults (`simulators.signatures.SigningFaults`); `{}` clears |
| `POST /_sim/tsa`           | the test TSA: an RFC 3161 `application/timestamp-query` → `timestamp-reply`   |

Fault plan (JSON): `{"seed": 7, "endpoints": {"<endpoint or *>": {"error_rate": 0.2, "error_status": 503,
"rate_limit_burst": 3, "retry_after": 1, "latency_ms": 50, "timeout_seconds": 5, "reset_rate": 0.05, "after_rate": 0.1,
"truncate_rate": 0.1, "corrupt_rate": 0.0}}, "webhooks": {"drop_rate": 0.1, "duplicate_rate": 0.1, "reorder": true}}`.
`rate_limit_burst: n` answers the next n calls with 429; `timeout_seconds` holds the answer that long (a client with
a shorter read timeout sees a timeout); `reset_rate`: that share of calls has its connection closed with no answer;
`after_rate`: that share is processed (the provider did the work) and then answered `error_status`;
`truncate_rate`: the answer's body is cut in half and the connection closed (its `Content-Length` promised all of
it); `corrupt_rate`: 16 bytes in the middle of the body are inverted (a 200 with a corrupt file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from asn1crypto import tsp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.background import BackgroundServer
from simulators.signatures import Signatures, SigningFaults

logger = logging.getLogger("signbridge.simulators")

View = Callable[..., Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


@dataclass
class EndpointFaults:
    error_rate: float = 0.0
    error_status: int = 500
    rate_limit_burst: int = 0
    retry_after: int | None = None
    latency_ms: int = 0
    timeout_seconds: float = 0.0
    reset_rate: float = 0.0
    after_rate: float = 0.0
    truncate_rate: float = 0.0
    corrupt_rate: float = 0.0


@dataclass
class WebhookFaults:
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = False


@dataclass
class FaultPlan:
    seed: int = 0
    endpoints: dict[str, EndpointFaults] = field(default_factory=dict)
    webhooks: WebhookFaults = field(default_factory=WebhookFaults)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultPlan:
        return cls(
            seed=int(body.get("seed", 0)),
            endpoints={name: EndpointFaults(**spec) for name, spec in (body.get("endpoints") or {}).items()},
            webhooks=WebhookFaults(**(body.get("webhooks") or {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "endpoints": {name: vars(spec) for name, spec in self.endpoints.items()},
            "webhooks": vars(self.webhooks),
        }

    def for_endpoint(self, endpoint: str) -> EndpointFaults | None:
        return self.endpoints.get(endpoint) or self.endpoints.get("*")


@dataclass
class Delivery:
    url: str
    event: str
    body: dict[str, Any]
    headers: dict[str, str]
    attempts: int = 0
    statuses: list[int | str] = field(default_factory=list)
    delivered: bool = False
    dropped: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "event": self.event,
            "attempts": self.attempts,
            "statuses": self.statuses,
            "delivered": self.delivered,
            "dropped": self.dropped,
        }


class WebhookDispatcher:
    """Delivers webhooks in the background: POST JSON with the registered headers, retried with exponential
    backoff while the receiver answers anything but exactly 200 (ZapSign's documented rule)."""

    def __init__(self, *, max_attempts: int = 5, backoff_seconds: float = 0.5, timeout_seconds: float = 10.0) -> None:
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.faults = WebhookFaults()
        self.rng = random.Random(0)
        self.deliveries: list[Delivery] = []
        self._pending: list[tuple[float, Delivery]] = []
        self._held: Delivery | None = None  # reorder: a delivery held back until the next one is sent
        self._lock = threading.Condition()
        self._stopped = False
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout=5)
        self._session.close()

    def reset(self) -> None:
        with self._lock:
            self.deliveries.clear()
            self._pending.clear()
            self._held = None
            self.faults = WebhookFaults()

    def send(self, url: str, event: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            if self.faults.drop_rate and self.rng.random() < self.faults.drop_rate:
                dropped = Delivery(url, event, body, headers, dropped=True)
                self.deliveries.append(dropped)
                return
            copies = 2 if self.faults.duplicate_rate and self.rng.random() < self.faults.duplicate_rate else 1
            for _ in range(copies):
                delivery = Delivery(url, event, body, dict(headers))
                self.deliveries.append(delivery)
                if self.faults.reorder and self._held is None:
                    self._held = delivery
                    continue
                self._pending.append((time.monotonic(), delivery))
                if self._held is not None and self._held is not delivery:
                    self._pending.append((time.monotonic(), self._held))
                    self._held = None
            self._lock.notify_all()

    def flush_held(self) -> None:
        """Release a delivery held back for reordering (when no later one came)."""
        with self._lock:
            if self._held is not None:
                self._pending.append((time.monotonic(), self._held))
                self._held = None
                self._lock.notify_all()

    def idle(self) -> bool:
        with self._lock:
            return not self._pending and self._held is None

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopped and not self._due():
                    wait = min((due for due, _ in self._pending), default=time.monotonic() + 0.2) - time.monotonic()
                    self._lock.wait(timeout=max(0.01, min(wait, 0.2)))
                if self._stopped:
                    return
                due_item = min(self._pending, key=lambda item: item[0])
                self._pending.remove(due_item)
            self._attempt(due_item[1])

    def _due(self) -> bool:
        now = time.monotonic()
        return any(due <= now for due, _ in self._pending)

    def _attempt(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        try:
            response = self._session.post(
                delivery.url, json=delivery.body, headers=delivery.headers, timeout=self.timeout_seconds
            )
            status: int | str = response.status_code
        except requests.RequestException as error:
            status = type(error).__name__
        delivery.statuses.append(status)
        if status == 200:
            delivery.delivered = True
            return
        if delivery.attempts < self.max_attempts:
            delay = self.backoff_seconds * (2 ** (delivery.attempts - 1))
            with self._lock:
                self._pending.append((time.monotonic() + delay, delivery))
                self._lock.notify_all()


def _close_connection(request: Request) -> None:
    """Close the client's connection now (werkzeug's server hands its socket over in the environ)."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


class Simulator:
    """Base of a stateful provider simulator. Subclasses add routes in `__init__` and state in `reset_state`."""

    name = "simulator"

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.url_map = Map(strict_slashes=False, merge_slashes=False)
        self.views: dict[str, View] = {}
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()  # faults injected, by kind (429, 5xx, reset, after, truncated, ...)
        self.faults = FaultPlan()
        self.rng = random.Random(0)
        self.webhooks = WebhookDispatcher()
        self.lock = threading.RLock()  # guards the subclass's state
        self._server: BackgroundServer | None = None
        self.signatures = Signatures()  # the process's test PKI (made once) and the signing faults
        self.route("/_sim/calls", "sim_calls", ["GET"], self._view_calls)
        self.route("/_sim/faults", "sim_faults", ["GET", "POST"], self._view_faults)
        self.route("/_sim/deliveries", "sim_deliveries", ["GET"], self._view_deliveries)
        self.route("/_sim/reset", "sim_reset", ["POST"], self._view_reset)
        self.route("/_sim/trust-anchors", "sim_trust_anchors", ["GET"], self._view_trust_anchors)
        self.route("/_sim/signing-faults", "sim_signing_faults", ["GET", "POST"], self._view_signing_faults)
        self.route("/_sim/tsa", "sim_tsa", ["POST"], self._view_tsa)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> Simulator:
        self._server = BackgroundServer.wsgi(
            self._wsgi, host=self.host, port=self.port, name=f"{self.name}-http", logger=logger
        ).start()
        self.port = self._server.port
        self.webhooks.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()
        if self._server is not None:
            self._server.stop(timeout=5)
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The simulator's root URL (provider APIs add their own path prefix)."""
        return f"http://{self.host}:{self.port}"

    # -- routing --------------------------------------------------------------------------------------------------

    def route(self, rule: str, endpoint: str, methods: list[str], view: View) -> None:
        self.url_map.add(Rule(rule, endpoint=endpoint, methods=methods))
        self.views[endpoint] = view

    def reset_state(self) -> None:
        """Subclasses forget their provider state here."""

    def reset(self) -> None:
        with self.lock:
            self.reset_state()
            self.calls.clear()
            self.injected.clear()
            self.faults = FaultPlan()
            self.signatures.faults = SigningFaults()
            self.rng = random.Random(0)
            self.webhooks.reset()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:  # noqa: PLR0911 - one answer per way a call can end
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
        except NotFound:
            self.calls["not_found"] += 1
            return self.not_found(request)
        except MethodNotAllowed:
            return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)
        except HTTPException as error:  # e.g. a redirect for a missing slash; strict_slashes is off, so rare
            return json_response({"detail": error.description}, error.code or 400)
        self.calls[str(endpoint)] += 1
        if not str(endpoint).startswith("sim_"):
            injected = self._inject_fault(str(endpoint), request)
            if injected is not None:
                return injected
        try:
            response = self.views[str(endpoint)](request, **arguments)
        except Exception:  # a simulator bug must show as a 500, as a real server would answer
            logger.exception("%s: unhandled error in %s", self.name, endpoint)
            return json_response({"detail": "Internal simulator error"}, 500)
        if str(endpoint).startswith("sim_"):
            return response
        return self._fault_after(request, str(endpoint), response)

    def not_found(self, request: Request) -> Response:
        return json_response({"detail": "Not found."}, 404)

    def _inject_fault(self, endpoint: str, request: Request) -> Response | None:
        spec = self.faults.for_endpoint(endpoint)
        if spec is None:
            return None
        with self.lock:
            if spec.rate_limit_burst > 0:
                spec.rate_limit_burst -= 1
                headers = {"Retry-After": str(spec.retry_after)} if spec.retry_after is not None else None
                self.injected["429"] += 1
                return json_response({"detail": "Request was throttled."}, 429, headers)
            fail = spec.error_rate > 0 and self.rng.random() < spec.error_rate
        if spec.latency_ms:
            time.sleep(spec.latency_ms / 1000)
        if spec.timeout_seconds:
            self.injected["held"] += 1
            time.sleep(spec.timeout_seconds)
        if fail:
            self.injected[str(spec.error_status)] += 1
            return json_response({"detail": "Injected server error."}, spec.error_status)
        if self._draw(spec.reset_rate):
            self.injected["reset"] += 1
            _close_connection(request)
            return Response(b"", status=200)
        return None

    def _draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    def _fault_after(self, request: Request, endpoint: str, response: Response) -> Response:
        """Faults after the view ran (its work is done): a 5xx answer, a truncated or a corrupt body."""
        spec = self.faults.for_endpoint(endpoint)
        if spec is None or response.status_code >= 300 or response.is_streamed:
            return response
        if self._draw(spec.after_rate):
            self.injected[f"{spec.error_status} after the work"] += 1
            return json_response({"detail": "Injected server error after the work was done."}, spec.error_status)
        if self._draw(spec.truncate_rate):
            self.injected["truncated"] += 1
            data = response.get_data()

            def truncated() -> Iterator[bytes]:
                yield data[: len(data) // 2]
                _close_connection(request)

            headers = [(name, value) for name, value in response.headers.items() if name.lower() != "content-length"]
            headers.append(("Content-Length", str(len(data))))
            return Response(truncated(), status=response.status_code, headers=headers, direct_passthrough=True)
        if self._draw(spec.corrupt_rate):
            self.injected["corrupt"] += 1
            body = bytearray(response.get_data())
            middle = len(body) // 2
            for index in range(middle, min(middle + 16, len(body))):
                body[index] ^= 0xFF
            response.set_data(bytes(body))
        return response

    # -- control routes -------------------------------------------------------------------------------------------

    def _view_calls(self, request: Request) -> Response:
        return json_response(dict(self.calls))

    def _view_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                plan = FaultPlan.from_json(request.get_json(force=True) or {})
            except (TypeError, ValueError) as error:
                return json_response({"detail": f"bad fault plan: {error}"}, 400)
            with self.lock:
                self.faults = plan
                self.rng = random.Random(plan.seed)
                self.webhooks.faults = plan.webhooks
                self.webhooks.rng = random.Random(plan.seed)
        return json_response(self.faults.to_json())

    def _view_deliveries(self, request: Request) -> Response:
        return json_response([delivery.summary() for delivery in self.webhooks.deliveries])

    def _view_reset(self, request: Request) -> Response:
        self.reset()
        return json_response({"reset": True})

    def _view_trust_anchors(self, request: Request) -> Response:
        return Response(self.signatures.pki.trust_anchors_pem(), status=200, mimetype="application/x-pem-file")

    def _view_signing_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                faults = SigningFaults.from_json(request.get_json(force=True, silent=True) or {})
            except ValueError as error:
                return json_response({"detail": f"bad signing faults: {error}"}, 400)
            with self.lock:
                self.signatures.faults = faults
        return json_response(self.signatures.faults.to_json())

    def _view_tsa(self, request: Request) -> Response:
        try:
            query = tsp.TimeStampReq.load(request.get_data())
            query.native  # noqa: B018 - parses the whole request, so a malformed one fails here
        except ValueError:
            return json_response({"detail": "not an RFC 3161 TimeStampReq (DER)"}, 400)
        reply = self.signatures.pki.timestamper().request_tsa_response(query)
        return Response(reply.dump(), status=200, mimetype="application/timestamp-reply")
