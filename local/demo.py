"""The demo: one signature request driven end to end through the running local stack, acting as the signers.

    result = run_demo(stack.api_url, zapsign_simulator, oneshot_simulator)   # workflow="zapsign_oneshot"
    result.ok, result.status, result.files

It uses only what a client and a signer have: the HTTP API (`POST /v1/requests`, `GET /v1/requests/{id}`,
`POST …/signers/{n}/otp`) and, in place of the signers' browser and phone, the simulators' control APIs (`/_sim/…`,
over HTTP, so a simulator in another process works too). Stage by stage:

1. create the request (documents inline: PDFs from `local.simulators.pdf.make_pdf`; signers with fake data);
2. ZapSign workflows: wait for `zapsign_pending`; each signer opens the link, uploads the ID photos and the selfie,
   and signs (`/_sim/zapsign/signers/{token}/…`);
3. One-Shot workflows, one signer after the other: wait for `awaiting_otp`; read the SMS code from
   `/_sim/oneshot/otp`; submit it through the API;
4. wait for `completed`, then check the files: every file the API reports is fetched (its presigned link, or S3
   directly) and its sha256 compared with the one the API reports and with S3's `x-amz-meta-sha256`.

`DemoResult.ok` is true only when the request completed and every check passed; otherwise `stuck_at` and `reason`
say where and why, with the last timeline entries and the request's `failure_reason`. Every wait is bounded.

The helpers (`ApiClient`, `ZapSignControl`, `OneShotControl`, `fake_signers`, `request_body`, `wait_for_status`,
`collect_files`, …) are public: the end-to-end tests and the benchmark drive the stack with them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from local.simulators.pdf import make_pdf

Out = Callable[[str], None]

WORKFLOWS = ("zapsign", "oneshot", "zapsign_oneshot")
TERMINAL = frozenset({"completed", "refused", "cancelled", "expired", "failed"})
DEFAULT_TIMEOUT_SECONDS = 120.0
HTTP_TIMEOUT = (5.0, 40.0)  # the OTP submission signs synchronously at the Optimizer
FAKE_MARK = "FAKE DEMO SIGNER"
INTERRUPTED = "interrupted"


# -- test data ---------------------------------------------------------------------------------------------------------


def png_image(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small valid PNG of one colour (what a fake ID photo needs to be: an image by its magic bytes)."""
    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


_FAKE_PEOPLE = (
    ("Ana", "Demo", "Garcia", "ES"),
    ("Bruno", "Demo", "Silva", "BR"),
    ("Carla", "Demo", "Sousa", "PT"),
)


def fake_signers(count: int = 1, *, workflow: str = "zapsign_oneshot", run: str | None = None) -> list[dict[str, Any]]:
    """Signers with realistic-looking but FAKE data (example.com addresses, a made-up ID number, a phone number
    unique to this run so its SMS code can be told apart). ID images only for `oneshot`, as the API wants."""
    tag = run or secrets.token_hex(3)
    signers: list[dict[str, Any]] = []
    for index in range(count):
        given, first, second, country = _FAKE_PEOPLE[index % len(_FAKE_PEOPLE)]
        digits = int(hashlib.sha256(f"{tag}:{index}".encode()).hexdigest()[:8], 16) % 10_000_000
        signer: dict[str, Any] = {
            "name": f"{given} {first} {second} ({FAKE_MARK})",
            "email": f"{given.lower()}.{second.lower()}.{tag}.{index}@example.com",
            "phone": f"+3469{digits:07d}",
            "given_name": given,
            "first_surname": first,
            "second_surname": second,
            "id_number": f"DEMO{digits:07d}",
            "id_document_type": "IDC",
            "id_document_country": country,
        }
        if workflow == "oneshot":
            signer["document_front"] = _b64(png_image(48, 30, (40, 90, 200)))
            signer["document_rear"] = _b64(png_image(48, 30, (40, 160, 90)))
            signer["document_owner"] = _b64(png_image(30, 40, (220, 150, 90)))
        signers.append(signer)
    return signers


def demo_pdf(title: str, run: str) -> bytes:
    return make_pdf(f"{title}\nSignBridge local demo, run {run}\nFAKE DOCUMENT: nothing here is real.")


def request_body(
    workflow: str = "zapsign_oneshot",
    *,
    signers: int = 1,
    documents: int = 1,
    run: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A `POST /v1/requests` body with inline PDFs and fake signers."""
    tag = run or secrets.token_hex(3)
    titles = ["Service agreement", *(f"Annex {number}" for number in range(1, documents))]
    return {
        "workflow": workflow,
        "signers": fake_signers(signers, workflow=workflow, run=tag),
        "documents": [
            {"name": f"{title.lower().replace(' ', '-')}-{tag}.pdf", "content_base64": _b64(demo_pdf(title, tag))}
            for title in titles
        ],
        "external_id": f"demo-{tag}",
        "metadata": {"source": "signbridge-local-demo"},
        **options,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- clients -----------------------------------------------------------------------------------------------------------


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


# -- reading the API's answer ------------------------------------------------------------------------------------------


def request_view(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request object of an API answer (top level, or under `request`)."""
    inner = body.get("request")
    if isinstance(inner, Mapping) and "status" in inner and "status" not in body:
        return inner
    return body


def status_of(body: Mapping[str, Any]) -> str:
    return str(request_view(body).get("status", ""))


def request_id_of(body: Mapping[str, Any]) -> str:
    view = request_view(body)
    return str(view.get("id") or view.get("request_id") or "")


def signers_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    signers = body.get("signers") or request_view(body).get("signers") or []
    return [signer for signer in signers if isinstance(signer, Mapping)]


def documents_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    documents = body.get("documents") or request_view(body).get("documents") or []
    return [document for document in documents if isinstance(document, Mapping)]


def timeline_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    timeline = body.get("timeline") or request_view(body).get("timeline") or []
    return [entry for entry in timeline if isinstance(entry, Mapping)]


def current_signer_of(body: Mapping[str, Any]) -> int | None:
    value = request_view(body).get("current_signer")
    return value if isinstance(value, int) else None


def index_of(item: Mapping[str, Any], position: int) -> int:
    value = item.get("index")
    return value if isinstance(value, int) else position


def signer_token(signer: Mapping[str, Any]) -> str | None:
    """The signer's ZapSign token: recorded by SignBridge, or the last segment of the `sign_url`."""
    for key in ("zapsign_signer_token", "zapsign_token", "signer_token"):
        value = signer.get(key)
        if isinstance(value, str) and value:
            return value
    url = signer.get("sign_url")
    if isinstance(url, str) and url:
        return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def describe_timeline_entry(entry: Mapping[str, Any]) -> str:
    subject = str(entry.get("subject") or "request")
    index = entry.get("index", entry.get("subject_index"))
    who = subject if index is None else f"{subject} {index}"
    moved = f"{entry.get('from', entry.get('from_status')) or '∅'} → {entry.get('to', entry.get('to_status'))}"
    detail = f" ({entry['detail']})" if entry.get("detail") else ""
    return f"{entry.get('at', '')} {who}: {moved} [{entry.get('cause', '')}]{detail}"


@dataclass(frozen=True)
class ReportedFile:
    """A stored file as the API reports it (`documents[].files[stage]`): its presigned link, its sha256, and the S3
    key the link points at."""

    document: int
    label: str  # "original", "zapsign", "oneshot-{n}", and "final" for the last signed version
    key: str
    sha256: str | None = None
    url: str | None = None
    final: bool = False

    @property
    def signed(self) -> bool:
        return self.key.startswith("signed/")


def key_from_link(url: str, bucket: str | None = None) -> str:
    """The S3 key a presigned link points at (path-style `/{bucket}/{key}` or virtual-hosted `/{key}`)."""
    path = unquote(urlsplit(url).path).lstrip("/")
    if bucket and path.startswith(f"{bucket}/"):
        return path[len(bucket) + 1 :]
    first, _, rest = path.partition("/")
    # Path-style when the first segment is not where SignBridge's keys start (`originals/`, `signed/`, …).
    return rest if rest and first not in _KEY_PREFIXES else path


_KEY_PREFIXES = frozenset({"incoming", "originals", "signed", "evidence", "contracts", "raw"})


def collect_files(body: Mapping[str, Any], *, bucket: str | None = None) -> list[ReportedFile]:
    """Every stored file the API reports for the request's documents, one entry per S3 object (the `final` link
    names the same object as the last signed stage; that entry is marked `final`)."""
    found: dict[str, ReportedFile] = {}
    for position, document in enumerate(documents_of(body)):
        index = index_of(document, position)
        files = document.get("files")
        if not isinstance(files, Mapping):
            continue
        for label, link in files.items():
            if not isinstance(link, Mapping) or not isinstance(link.get("url"), str):
                continue
            key = key_from_link(link["url"], bucket)
            sha = link.get("sha256") if isinstance(link.get("sha256"), str) else None
            previous = found.get(key)
            if previous is None:
                found[key] = ReportedFile(index, str(label), key, sha, link["url"], final=label == "final")
            else:
                found[key] = ReportedFile(
                    index,
                    previous.label if previous.label != "final" else str(label),
                    key,
                    previous.sha256 or sha,
                    previous.url,
                    final=previous.final or label == "final",
                )
    return list(found.values())


# -- checking the stored files -----------------------------------------------------------------------------------------


@dataclass
class FileCheck:
    document: int
    label: str
    key: str
    reported_sha256: str | None
    stored_sha256: str | None  # x-amz-meta-sha256 on the object
    actual_sha256: str | None  # of the bytes fetched
    size: int | None
    url: str | None
    final: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_files(
    body: Mapping[str, Any],
    *,
    s3_client: Any | None = None,
    bucket: str | None = None,
    session: requests.Session | None = None,
    provider_digests: set[str] | None = None,
) -> tuple[list[FileCheck], list[str]]:
    """Fetch every reported file and compare digests. Returns the checks and the request-level problems (a document
    without a signed file). With `provider_digests`, a signed file must be byte-identical to one the providers
    served."""
    http = session or requests.Session()
    try:
        checks = [
            _check_file(reported, s3_client=s3_client, bucket=bucket, http=http, provider_digests=provider_digests)
            for reported in collect_files(body, bucket=bucket)
        ]
    finally:
        if session is None:
            http.close()
    problems: list[str] = []
    for position, document in enumerate(documents_of(body)):
        index = index_of(document, position)
        if not any(check.document == index and check.final and check.key.startswith("signed/") for check in checks):
            problems.append(f"document {index}: the API reports no final signed file")
    return checks, problems


def _check_file(
    reported: ReportedFile,
    *,
    s3_client: Any | None,
    bucket: str | None,
    http: requests.Session,
    provider_digests: set[str] | None,
) -> FileCheck:
    check = FileCheck(
        document=reported.document,
        label=reported.label,
        key=reported.key,
        reported_sha256=reported.sha256,
        stored_sha256=None,
        actual_sha256=None,
        size=None,
        url=reported.url,
        final=reported.final,
    )
    data = _fetch_from_s3(check, s3_client, bucket) if s3_client is not None and bucket else None
    if reported.url:
        data = _fetch_from_link(check, http, reported.url, data)
    if data is None:
        if not check.problems:
            check.problems.append("neither a download link nor S3 access to check it")
        return check
    check.size = len(data)
    actual = check.actual_sha256 = hashlib.sha256(data).hexdigest()
    expected = check.reported_sha256 or check.stored_sha256
    if expected is None and reported.signed:
        check.problems.append("no sha256 reported by the API or recorded on the object")
    elif expected is not None and actual != expected:
        check.problems.append(f"sha256 {actual[:12]}… differs from the recorded {expected[:12]}…")
    if check.stored_sha256 and check.reported_sha256 and check.stored_sha256 != check.reported_sha256:
        check.problems.append("the API's sha256 differs from the object's x-amz-meta-sha256")
    if reported.signed and not data.startswith(b"%PDF-"):
        check.problems.append("not a PDF")
    if provider_digests is not None and reported.signed and actual not in provider_digests:
        check.problems.append("not byte-identical to any file the provider served")
    return check


def _fetch_from_s3(check: FileCheck, s3_client: Any, bucket: str | None) -> bytes | None:
    try:
        head = s3_client.head_object(Bucket=bucket, Key=check.key)
        check.stored_sha256 = head.get("Metadata", {}).get("sha256")
        return bytes(s3_client.get_object(Bucket=bucket, Key=check.key)["Body"].read())
    except Exception as error:  # any failure is the finding
        check.problems.append(f"not in S3 ({type(error).__name__}: {error})")
        return None


def _fetch_from_link(check: FileCheck, http: requests.Session, url: str, from_s3: bytes | None) -> bytes | None:
    try:
        response = http.get(url, timeout=HTTP_TIMEOUT)
    except requests.RequestException as error:
        check.problems.append(f"download link failed ({type(error).__name__})")
        return from_s3
    if response.status_code != 200:
        check.problems.append(f"download link answered HTTP {response.status_code}")
        return from_s3
    if from_s3 is not None and response.content != from_s3:
        check.problems.append("download link serves other bytes than the S3 object")
    return response.content


# -- waiting -----------------------------------------------------------------------------------------------------------


class StageTimeoutError(RuntimeError):
    def __init__(self, wanted: Iterable[str], last: Mapping[str, Any] | None, timeout: float) -> None:
        self.wanted = tuple(wanted)
        self.last = last
        status = status_of(last) if last else "unknown"
        super().__init__(f"still {status!r} after {timeout:.0f} s, waiting for {' or '.join(self.wanted)}")


class DemoCancelledError(RuntimeError):
    """The caller asked the demo to stop (Ctrl-C)."""


class RequestEndedError(RuntimeError):
    def __init__(self, wanted: Iterable[str], last: Mapping[str, Any]) -> None:
        self.wanted = tuple(wanted)
        self.last = last
        reason = request_view(last).get("failure_reason")
        super().__init__(
            f"the request ended {status_of(last)!r} while waiting for {' or '.join(self.wanted)}"
            + (f": {reason}" if reason else "")
        )


def wait_for_status(
    api: ApiClient,
    request_id: str,
    wanted: str | Iterable[str],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    on_change: Callable[[str | None, str, Mapping[str, Any]], None] | None = None,
    condition: Callable[[Mapping[str, Any]], bool] | None = None,
    accept_terminal: bool = False,
    last_status: str | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Poll `GET /v1/requests/{id}` until the status is one of `wanted` (and `condition` holds). Raises
    `RequestEndedError` when the request reaches another terminal status (unless `accept_terminal`), and
    `StageTimeoutError` after `timeout` seconds."""
    targets = {wanted} if isinstance(wanted, str) else set(wanted)
    deadline = time.monotonic() + timeout
    seen = last_status
    body: dict[str, Any] | None = None
    while True:
        if cancelled is not None and cancelled():
            raise DemoCancelledError("stopped")
        try:
            body = api.get_request(request_id)
        except (ApiError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
            continue
        status = status_of(body)
        if status != seen:
            if on_change is not None:
                on_change(seen, status, body)
            seen = status
        if status in targets and (condition is None or condition(body)):
            return body
        if status in TERMINAL and status not in targets and not accept_terminal:
            raise RequestEndedError(targets, body)
        if time.monotonic() > deadline:
            raise StageTimeoutError(targets, body, timeout)
        time.sleep(interval)


# -- the demo ----------------------------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    workflow: str
    ok: bool = False
    request_id: str | None = None
    status: str | None = None
    stage: str = "create"  # the stage reached (or where it got stuck)
    reason: str | None = None
    failure_reason: str | None = None
    elapsed_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # when each status was first seen
    timeline: list[str] = field(default_factory=list)  # the last entries, readable
    files: list[FileCheck] = field(default_factory=list)
    response: dict[str, Any] | None = None  # the last GET /v1/requests/{id}

    def summary(self) -> str:
        if self.reason == INTERRUPTED:
            return f"demo {self.workflow}: interrupted at stage {self.stage!r} (status {self.status!r})"
        if self.ok:
            return (
                f"demo {self.workflow}: request {self.request_id} completed in {self.elapsed_seconds:.1f} s, "
                f"{len(self.files)} file(s) verified"
            )
        return f"demo {self.workflow}: FAILED at stage {self.stage!r} (status {self.status!r}): {self.reason}" + (
            f"; failure_reason: {self.failure_reason}" if self.failure_reason else ""
        )


def run_demo(
    api_url: str,
    zapsign_sim: Any,
    oneshot_sim: Any,
    *,
    workflow: str = "zapsign_oneshot",
    out: Out = print,
    signers: int = 1,
    documents: int = 1,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    s3_client: Any | None = None,
    bucket: str | None = None,
    provider_digests: Callable[[], set[str]] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DemoResult:
    """Drive one request of `workflow` to `completed`, acting as every signer through the simulators (objects with
    a `base_url`, or their URLs). Never raises for a stuck or failed request: the result says what happened.

    `s3_client` + `bucket`: also read every reported file from S3 itself (existence, `x-amz-meta-sha256`).
    `provider_digests`: the sha256 of every file the simulators served (`local.companions.ServedFiles`); a signed file
    must be one of them. `cancelled`: polled while waiting; when it answers true the demo stops."""
    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow must be one of {WORKFLOWS}")
    demo = _DemoRun(
        api_url,
        zapsign_sim,
        oneshot_sim,
        workflow=workflow,
        out=out,
        timeout=timeout,
        s3_client=s3_client,
        bucket=bucket,
        provider_digests=provider_digests,
        cancelled=cancelled,
    )
    return demo.run(signers=signers, documents=documents)


class _DemoRun:
    def __init__(
        self,
        api_url: str,
        zapsign_sim: Any,
        oneshot_sim: Any,
        *,
        workflow: str,
        out: Out,
        timeout: float,
        s3_client: Any | None,
        bucket: str | None,
        provider_digests: Callable[[], set[str]] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.workflow = workflow
        self.cancelled = cancelled
        self.out = out
        self.s3_client = s3_client
        self.bucket = bucket
        self.provider_digests = provider_digests
        self.result = DemoResult(workflow=workflow)
        self.api = ApiClient(api_url)
        self.zapsign = ZapSignControl(zapsign_sim, session=self.api.session) if "zapsign" in workflow else None
        self.oneshot = OneShotControl(oneshot_sim, session=self.api.session) if "oneshot" in workflow else None
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.last: dict[str, Any] | None = None
        self.sent: dict[str, Any] = {}

    # -- the stages

    def run(self, *, signers: int, documents: int) -> DemoResult:
        result = self.result
        try:
            self.create(signers=signers, documents=documents)
            if self.zapsign is not None:
                self.sign_at_zapsign(self.zapsign)
            if self.oneshot is not None:
                self.sign_at_oneshot(self.oneshot)
            self.verify(self.wait("completed", "completed"))
        except DemoCancelledError:
            result.reason = INTERRUPTED
        except (StageTimeoutError, RequestEndedError) as error:
            result.reason = str(error)
            self.last = dict(error.last) if error.last else self.last
        except ApiError as error:
            result.reason = str(error)
        except (requests.RequestException, RuntimeError, AssertionError, KeyError, ValueError) as error:
            result.reason = f"{type(error).__name__}: {error}"
        finally:
            result.elapsed_seconds = round(time.monotonic() - self.started, 3)
            self.finish()
            self.api.close()
        return result

    def create(self, *, signers: int, documents: int) -> None:
        run = secrets.token_hex(3)
        self.sent = request_body(self.workflow, signers=signers, documents=documents, run=run)
        self.out(
            f"Demo: a {self.workflow!r} request with {signers} signer(s) and {documents} document(s), fake data "
            f"(run {run}), through {self.api.api_url}"
        )
        self.result.stage = "create"
        created = self.api.create_request(self.sent)
        self.result.request_id = request_id_of(created)
        self.last = created
        self.on_change(None, status_of(created), created)
        self.say(f"created request {self.result.request_id}")

    def sign_at_zapsign(self, zapsign: ZapSignControl) -> None:
        ready = self.wait(
            "zapsign_pending",
            "zapsign_pending",
            condition=lambda answer: bool(signers_of(answer)) and all(signer_token(s) for s in signers_of(answer)),
        )
        for position, signer in enumerate(signers_of(ready)):
            index = index_of(signer, position)
            token = signer_token(signer)
            assert token is not None
            self.result.stage = f"zapsign signer {index}"
            zapsign.open_link(token)
            self.say(f"signer {index} opened the ZapSign link")
            if self.workflow == "zapsign_oneshot":
                zapsign.upload_photos(token)
                self.say(f"signer {index} took the ID photos (front, back) and the selfie")
            zapsign.sign(token)
            self.say(f"signer {index} signed at ZapSign")

    def sign_at_oneshot(self, oneshot: OneShotControl) -> None:
        sent_signers = self.sent["signers"]
        for turn in range(len(sent_signers)):
            awaiting = self.wait(
                "awaiting_otp",
                f"awaiting_otp (signer {turn})",
                condition=lambda answer, turn=turn: is_turn_of(answer, turn),
            )
            signer = next((s for p, s in enumerate(signers_of(awaiting)) if index_of(s, p) == turn), {})
            self.result.stage = f"otp (signer {turn})"
            code = _read_otp(
                oneshot, signer, phone=sent_signers[turn]["phone"], until=self.deadline, cancelled=self.cancelled
            )
            self.say(f"signer {turn} received the SMS code {code}")
            assert self.result.request_id is not None
            answer = self.api.submit_otp(self.result.request_id, turn, code)
            if answer.status_code >= 300:
                raise ApiError(answer, f"POST /v1/requests/…/signers/{turn}/otp")
            self.say(f"submitted the code: HTTP {answer.status_code}, status {status_of(answer.json())}")

    def verify(self, final: dict[str, Any]) -> None:
        result = self.result
        result.status = "completed"
        result.stage = "verify files"
        digests = self.provider_digests() if self.provider_digests is not None else None
        result.files, problems = check_files(
            final, s3_client=self.s3_client, bucket=self.bucket, session=self.api.session, provider_digests=digests
        )
        self.say("completed; the stored files:")
        for check in result.files:
            verdict = "ok" if check.ok else "PROBLEM: " + "; ".join(check.problems)
            label = f"{check.label} (final)" if check.final else check.label
            self.out(f"    document {check.document} {label:<17} s3://{self.bucket or '<bucket>'}/{check.key}")
            self.out(f"      sha256 {check.actual_sha256 or '?'}  {check.size or '?'} bytes  {verdict}")
            if check.url and check.key.startswith("signed/"):
                self.out(f"      download (presigned, expires in minutes): {check.url}")
        problems += [f"{check.key}: {'; '.join(check.problems)}" for check in result.files if not check.ok]
        if not result.files:
            problems.append("the API reports no stored files")
        if problems:
            result.reason = "; ".join(problems)
        else:
            result.ok = True
            result.stage = "done"

    def finish(self) -> None:
        result = self.result
        if result.request_id and not result.ok and result.reason != INTERRUPTED:
            with contextlib.suppress(ApiError, requests.RequestException):  # the freshest view for the report
                self.last = self.api.get_request(result.request_id)
        if self.last is not None:
            result.response = self.last
            result.status = status_of(self.last) or result.status
            reason = request_view(self.last).get("failure_reason")
            result.failure_reason = reason if isinstance(reason, str) else None
            result.timeline = [describe_timeline_entry(entry) for entry in timeline_of(self.last)[-8:]]
        self.out(f"  {result.summary()}")
        if not result.ok and result.reason != INTERRUPTED:
            for line in result.timeline:
                self.out(f"    timeline: {line}")

    # -- plumbing

    def say(self, message: str) -> None:
        self.out(f"  [{time.monotonic() - self.started:6.1f}s] {message}")

    def on_change(self, previous: str | None, status: str, body: Mapping[str, Any]) -> None:
        self.result.stage_seconds.setdefault(status, round(time.monotonic() - self.started, 3))
        self.say(f"status {previous or '∅'} → {status}")

    def wait(self, wanted: str | Iterable[str], stage: str, **kwargs: Any) -> dict[str, Any]:
        self.result.stage = stage
        assert self.result.request_id is not None
        body = wait_for_status(
            self.api,
            self.result.request_id,
            wanted,
            timeout=max(0.5, self.deadline - time.monotonic()),
            on_change=self.on_change,
            last_status=status_of(self.last) if self.last else None,
            cancelled=self.cancelled,
            **kwargs,
        )
        self.last = body
        return body


def is_turn_of(body: Mapping[str, Any], turn: int) -> bool:
    """Whether the request awaits the code of signer `turn`: its `current_signer`, else that signer's status."""
    current = current_signer_of(body)
    if current is not None:
        return current == turn
    for position, signer in enumerate(signers_of(body)):
        if index_of(signer, position) == turn and "status" in signer:
            return signer["status"] == "otp_sent"
    return True


def _read_otp(
    oneshot: OneShotControl,
    signer: Mapping[str, Any],
    *,
    phone: str,
    until: float,
    cancelled: Callable[[], bool] | None = None,
) -> str:
    """The code texted to the signer: by their One-Shot request pk when the API shows it, else by the phone number
    the demo gave (the API may mask it)."""
    pk = signer.get("oneshot_request_pk")
    while True:
        sms = oneshot.last_otp(pk=pk) if pk else oneshot.last_otp(phone=phone)
        if sms is not None:
            return str(sms["code"])
        if cancelled is not None and cancelled():
            raise DemoCancelledError("stopped")
        if time.monotonic() > until:
            raise RuntimeError("no SMS code arrived at the One-Shot simulator")
        time.sleep(0.1)


def workflows_from(names: Sequence[str] | None) -> list[str]:
    chosen = list(names or ["zapsign_oneshot"])
    unknown = [name for name in chosen if name not in WORKFLOWS]
    if unknown:
        raise ValueError(f"unknown workflow(s) {unknown}; choose from {WORKFLOWS}")
    return chosen
