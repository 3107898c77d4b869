"""The demo runner: one request of a workflow driven to `completed`, acting as every signer through the simulators."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import requests

from demo.answers import (
    current_signer_of,
    describe_timeline_entry,
    index_of,
    request_id_of,
    request_view,
    signer_token,
    signers_of,
    status_of,
    timeline_of,
)
from demo.client import ApiClient, ApiError, OneShotControl, ZapSignControl
from demo.data import request_body
from demo.files import check_files
from demo.report import INTERRUPTED, DemoResult
from demo.waiting import DemoCancelledError, RequestEndedError, StageTimeoutError, wait_for_status

WORKFLOWS = ("zapsign", "oneshot", "zapsign_oneshot")
DEFAULT_TIMEOUT_SECONDS = 120.0
RESEND_AFTER_SECONDS = 65.0  # a signer whose SMS code does not come asks for another once the minute is over
RETRY_LATER = frozenset({429, 503})  # answers to a code that say "try again later" (docs/api.md)
SETTLED_AFTER_A_SIGN = ("awaiting_otp", "oneshot_pending", "archiving", "completed")
MAX_RETRY_PAUSE_SECONDS = 5.0

Out = Callable[[str], None]


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
            while not self._submit_code(oneshot, awaiting, turn):
                # The signing service was unavailable: once the request settles (the sign confirmed, or found not
                # to have happened), the signer tries again if it still awaits their code.
                settled = self.wait(
                    SETTLED_AFTER_A_SIGN,
                    f"otp (signer {turn}) settling",
                    condition=lambda answer: status_of(answer) != "signing",
                )
                if status_of(settled) != "awaiting_otp" or not is_turn_of(settled, turn):
                    break
                awaiting = settled

    def _submit_code(self, oneshot: OneShotControl, awaiting: Mapping[str, Any], turn: int) -> bool:
        """Read the signer's SMS code and submit it: True when the API took it, False when the signing service was
        unavailable (503, 429: try again later); any other refusal raises."""
        signer = next((s for p, s in enumerate(signers_of(awaiting)) if index_of(s, p) == turn), {})
        self.result.stage = f"otp (signer {turn})"
        request_id = self.result.request_id
        assert request_id is not None
        code = _read_otp(
            oneshot,
            signer,
            phone=self.sent["signers"][turn]["phone"],
            until=self.deadline,
            cancelled=self.cancelled,
            resend=partial(self._ask_for_another_code, request_id, turn),
        )
        self.say(f"signer {turn} received the SMS code {code}")
        answer = self.api.submit_otp(request_id, turn, code)
        if answer.status_code in RETRY_LATER:
            self.say(f"the signing service was unavailable: HTTP {answer.status_code}; trying again later")
            time.sleep(min(_seconds(answer.headers.get("Retry-After")), MAX_RETRY_PAUSE_SECONDS))
            return False
        if answer.status_code >= 300:
            raise ApiError(answer, f"POST /v1/requests/…/signers/{turn}/otp")
        self.say(f"submitted the code: HTTP {answer.status_code}, status {status_of(answer.json())}")
        return True

    def _ask_for_another_code(self, request_id: str, turn: int) -> None:
        """What a signer whose SMS never came does: asks for another code (a 429 within the minute is fine: later)."""
        answer = self.api.resend_otp(request_id, turn)
        self.say(f"signer {turn} got no SMS code and asked for another: HTTP {answer.status_code}")

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


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 1))
    except ValueError:
        return 1.0


def _read_otp(
    oneshot: OneShotControl,
    signer: Mapping[str, Any],
    *,
    phone: str,
    until: float,
    cancelled: Callable[[], bool] | None = None,
    resend: Callable[[], None] | None = None,
) -> str:
    """The code texted to the signer: by their One-Shot request pk when the API shows it, else by the phone number
    the demo gave (the API may mask it). A signer whose code does not come asks for another (`resend`) once the
    Optimizer's minute between two codes is over: an SMS whose sending was uncertain is recorded as sent, and only
    the signer can tell it never came (docs/workflows.md)."""
    pk = signer.get("oneshot_request_pk")
    waiting_since = time.monotonic()
    while True:
        sms = oneshot.last_otp(pk=pk) if pk else oneshot.last_otp(phone=phone)
        if sms is not None:
            return str(sms["code"])
        if cancelled is not None and cancelled():
            raise DemoCancelledError("stopped")
        if time.monotonic() > until:
            raise RuntimeError("no SMS code arrived at the One-Shot simulator")
        if resend is not None and time.monotonic() - waiting_since > RESEND_AFTER_SECONDS:
            resend()
            waiting_since = time.monotonic()
        time.sleep(0.1)
