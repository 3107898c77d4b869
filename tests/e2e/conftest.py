"""End-to-end fixtures: ONE whole local stack (template-wired functions, moto, both simulators) shared by every test
in tests/e2e, driven over real HTTP like a client, a signer and a provider would.

Only one `LocalStack` may run per process (moto's state, `os.environ` and boto3's default session are
process-wide), so the stack is **package-scoped**: it starts before the first e2e test and stops after the last one
of the package, and every e2e module carries `pytest.mark.xdist_group("e2e")`. Run them with `--dist loadgroup`
(`pytest -n 2 --dist loadgroup`): xdist then sends every e2e test to the same worker, which boots the stack once.
Under plain `-n` they still pass (each worker that receives e2e tests boots its own stack; costs a few seconds each).

Settings that make the slow paths quick: queues' visibility timeout 2 s (a failed step comes back in 2 s and reaches
its DLQ in seconds), S3/schedule async retries after 0.5 s and 1 s, ZapSign webhook retries after 0.05 s, schedules
off (a test fires the reconciler or the housekeeper itself, with the clock it wants).

Tests create their own requests and never reset the simulators (a reset would forget the registered webhook); a
fixture clears the simulators' fault plans after every test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from demo.answers import index_of, signer_token, signers_of
from demo.client import ApiClient, OneShotControl, ZapSignControl
from demo.data import request_body
from demo.files import check_files
from demo.runner import is_turn_of
from demo.waiting import wait_for_status
from local import dev_values, synth
from local.companions import Providers, WebhookRegistration
from local.stack import LocalStack, LocalStackConfig
from local.template.parser import template_path
from signbridge import api_routes, env_names
from simulators.oneshot.simulator import OneShotSimulator
from simulators.zapsign.simulator import ZapSignSimulator
from tests.e2e.browser import browser, context, page, shot  # noqa: F401 - the signing page's browser fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 40.0
VISIBILITY_TIMEOUT_SECONDS = "2"


@dataclass
class E2E:
    """The running stack and what a test drives it with."""

    stack: LocalStack
    providers: Providers
    webhook: WebhookRegistration
    api: ApiClient
    zapsign_control: ZapSignControl
    oneshot_control: OneShotControl
    bucket: str
    table: str
    created: list[str] = field(default_factory=list)

    @property
    def zapsign(self) -> ZapSignSimulator:
        simulator = self.providers.zapsign_simulator
        assert simulator is not None
        return simulator

    @property
    def oneshot(self) -> OneShotSimulator:
        simulator = self.providers.oneshot_simulator
        assert simulator is not None
        return simulator

    @property
    def s3(self) -> Any:
        return self.stack.client("s3")

    # -- the client's side

    def body(self, workflow: str, **kwargs: Any) -> dict[str, Any]:
        return request_body(workflow, run=uuid.uuid4().hex[:6], **kwargs)

    def create(self, body: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        created = self.api.create_request(body, **kwargs)
        self.created.append(str(created["id"]))
        return created

    def get(self, request_id: str) -> dict[str, Any]:
        return self.api.get_request(request_id)

    def wait(
        self,
        request_id: str,
        status: str | tuple[str, ...],
        *,
        timeout: float = WAIT_SECONDS,
        condition: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        return wait_for_status(self.api, request_id, status, timeout=timeout, condition=condition)

    def wait_for_signer_links(self, request_id: str) -> dict[str, Any]:
        return self.wait(
            request_id,
            "zapsign_pending",
            condition=lambda body: bool(signers_of(body)) and all(signer_token(s) for s in signers_of(body)),
        )

    def wait_for_turn(self, request_id: str, signer: int) -> dict[str, Any]:
        return self.wait(request_id, "awaiting_otp", condition=lambda body: is_turn_of(body, signer))

    # -- the signers' side

    def tokens(self, body: Mapping[str, Any]) -> list[str]:
        """The ZapSign signer tokens, in signer order."""
        ordered = sorted(enumerate(signers_of(body)), key=lambda item: index_of(item[1], item[0]))
        tokens = [signer_token(signer) for _, signer in ordered]
        assert all(tokens), f"a signer has no sign_url yet: {signers_of(body)}"
        return [token for token in tokens if token]

    def doc_token(self, body: Mapping[str, Any]) -> str:
        return self.zapsign.signers[self.tokens(body)[0]].doc_token

    def sign_at_zapsign(self, token: str, *, photos: bool = False) -> None:
        self.zapsign_control.open_link(token)
        if photos:
            self.zapsign_control.upload_photos(token)
        self.zapsign_control.sign(token)

    def otp(self, phone: str, *, after: float = 0.0, timeout: float = 10.0) -> str:
        """The last code texted to `phone` (sent after `after`, simulator time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.oneshot.lock:
                sent = [sms for sms in self.oneshot.sms if sms["phone"] == phone and sms["sent_at"] >= after]
            if sent:
                return str(sent[-1]["code"])
            time.sleep(0.05)
        raise AssertionError(f"no SMS code sent to {phone}")

    def submit_otp(self, request_id: str, signer: int, phone: str) -> requests.Response:
        answer = self.api.submit_otp(request_id, signer, self.otp(phone))
        assert answer.status_code == 200, answer.text
        return answer

    # -- the stores

    def object_bytes(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for listed in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in listed.get("Contents", [])
        ]

    def versions(self, key: str) -> int:
        listed = self.s3.list_object_versions(Bucket=self.bucket, Prefix=key)
        return sum(1 for version in listed.get("Versions", []) if version["Key"] == key)

    def served_digests(self) -> set[str]:
        digests: set[str] = set()
        for companion in (self.providers.zapsign, self.providers.oneshot):
            served = getattr(companion, "served", None)
            if served is not None:
                digests |= served.digests()
        return digests

    def assert_files_verified(self, body: Mapping[str, Any]) -> None:
        """Every reported file is in S3, its sha256 is the one the API reports and the one on the object, and every
        signed file is byte-identical to one a provider served."""
        checks, problems = check_files(
            body,
            s3_client=self.s3,
            bucket=self.bucket,
            session=self.api.session,
            provider_digests=self.served_digests(),
        )
        bad = [f"{check.key}: {check.problems}" for check in checks if not check.ok]
        assert not problems, problems
        assert not bad, bad
        assert checks

    # -- webhooks, faults and schedules

    def set_faults(self, simulator: ZapSignSimulator | OneShotSimulator, plan: Mapping[str, Any]) -> None:
        """A simulator's fault plan, through its control API (cleared after the test)."""
        answer = self.api.session.post(f"{simulator.base_url}/_sim/faults", json=dict(plan), timeout=10)
        assert answer.status_code == 200, answer.text

    def set_signing_faults(self, simulator: ZapSignSimulator | OneShotSimulator, **faults: bool) -> None:
        """How a simulator's next signatures go wrong (`SigningFaults` of simulators.signatures); cleared after."""
        answer = self.api.session.post(f"{simulator.base_url}/_sim/signing-faults", json=faults, timeout=10)
        assert answer.status_code == 200, answer.text

    def assert_signatures_verified(self, body: Mapping[str, Any]) -> None:
        """Every signed version of every document was verified TOTAL-PASSED before it was archived, and its report
        is downloadable (JSON)."""
        for document in body["documents"]:
            signed = {stage for stage in document["files"] if stage not in ("original", "final")}
            verifications = document["verifications"]
            assert set(verifications) == signed, (signed, verifications)
            for verification in verifications.values():
                assert (verification["indication"], verification["passed"]) == ("TOTAL-PASSED", True), verification
                report = self.api.session.get(verification["report"]["url"], timeout=10)
                assert report.status_code == 200
                assert report.json()["indication"] == "TOTAL-PASSED"

    def post_zapsign_webhook(self, body: Mapping[str, Any], secret: str | None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[api_routes.ZAPSIGN_WEBHOOK_SECRET_HEADER] = secret
        return requests.post(
            self.stack.api_url + "/webhooks/zapsign", data=json.dumps(body), headers=headers, timeout=30
        )

    def scheduled_event(self, rule: str, at: datetime) -> dict[str, Any]:
        event = json.loads((REPO_ROOT / "events" / "schedule" / f"{rule}.json").read_text())
        event["id"] = str(uuid.uuid4())
        event["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return dict(event)

    def queue_depths(self) -> dict[str, int]:
        sqs = self.stack.client("sqs")
        depths: dict[str, int] = {}
        for logical_id, url in self.stack.resources().items():
            if url.startswith("http"):  # queue URLs (the others are names and ARNs)
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                depths[logical_id] = int(attributes["ApproximateNumberOfMessages"]) + int(
                    attributes["ApproximateNumberOfMessagesNotVisible"]
                )
        return depths


def _template() -> Path:
    try:
        return synth.ensure_template()
    except synth.SynthError as error:
        existing = template_path(synth.DEFAULT_OUTDIR, synth.DEFAULT_STAGE)
        if existing.is_file():
            return existing
        pytest.skip(f"no synthesized template and it cannot be synthesized here: {error}")


@pytest.fixture(scope="package")
def e2e() -> Iterator[E2E]:
    providers = Providers.simulated(webhook_backoff_seconds=0.05)
    config = LocalStackConfig(
        template=_template(),
        api_port=0,
        companions=providers.companions(),
        secret_values=providers.secret_values(),
        queue_attributes={"*": {"VisibilityTimeout": VISIBILITY_TIMEOUT_SECONDS}},
        schedules=False,
        async_retry_delays=(0.5, 1.0),
    )
    with LocalStack(config) as stack:
        webhook = providers.connect(stack)
        assert webhook is not None
        environment = stack.function_environment(api_routes.API)
        api = ApiClient(stack.api_url)
        session = api.session
        yield E2E(
            stack=stack,
            providers=providers,
            webhook=webhook,
            api=api,
            zapsign_control=ZapSignControl(providers.zapsign_simulator, session=session),
            oneshot_control=OneShotControl(providers.oneshot_simulator, session=session),
            bucket=environment[env_names.BUCKET_NAME],
            table=environment[env_names.TABLE_NAME],
        )
        api.close()


@pytest.fixture(autouse=True)
def _no_iam_denials(request: pytest.FixtureRequest) -> Iterator[None]:
    """The synthesized roles let every workflow complete: no call of any function was refused (`local.iam`)."""
    yield
    if "e2e" not in request.fixturenames:
        return
    enforcer = request.getfixturevalue("e2e").stack.iam
    assert enforcer is not None, "IAM is checked on every local run"
    assert enforcer.denials == []
    assert enforcer.presign_denials == []


@pytest.fixture(autouse=True)
def _clean_fault_plans(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "e2e" not in request.fixturenames:
        return
    running: E2E = request.getfixturevalue("e2e")
    for simulator in (running.zapsign, running.oneshot):
        requests.post(f"{simulator.base_url}/_sim/faults", json={}, timeout=10)
        requests.post(f"{simulator.base_url}/_sim/signing-faults", json={}, timeout=10)
    running.zapsign.webhooks.flush_held()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


WEBHOOK_SECRET = dev_values.ZAPSIGN_WEBHOOK_SECRET
