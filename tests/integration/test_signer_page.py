"""The One-Shot signing page through the real `signer_page` handler, on moto, the real worker and the One-Shot
simulator: the link the API shows, what the link opens (and what it does not), the headers, bad input."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from signbridge.domain import signer_page as links
from signbridge.domain.models import Workflow
from signbridge.handlers import api
from signbridge.handlers import signer_page as page
from signbridge.workflow.services import Services
from simulators.oneshot.simulator import OneShotSimulator
from simulators.pdf import make_pdf
from tests.support.api import ApiAnswer, ApiClient, api_event
from tests.support.clock import ShiftedClock
from tests.support.lambda_context import FakeLambdaContext
from tests.support.oneshot import WorkerDriver, signer_pk
from tests.support.samples import create_body, signer_body

PROBLEMS = "https://signbridge.dev/problems/"


class PageClient:
    """Calls the real `signer_page` handler with API Gateway's payload 2.0 events, as a browser would."""

    def call(
        self, method: str, route: str, token: str, *, body: Any = None, raw_body: str | None = None, **kwargs: Any
    ) -> ApiAnswer:
        parameters = {"asset": token} if "{asset}" in route else {"token": token}
        event = api_event(method, route, path_parameters=parameters, body=body, raw_body=raw_body, **kwargs)
        event["requestContext"]["http"] |= {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0 (test)"}
        response = page.handler(event, FakeLambdaContext())
        return ApiAnswer(
            status=response["statusCode"],
            headers={name.lower(): value for name, value in response["headers"].items()},
            raw_body=response["body"],
        )

    def state(self, token: str) -> ApiAnswer:
        return self.call("GET", "/sign/{token}/state", token)

    def accept(self, token: str) -> ApiAnswer:
        return self.call("POST", "/sign/{token}/accept", token, body={"accepted": True})

    def submit(self, token: str, code: str) -> ApiAnswer:
        return self.call("POST", "/sign/{token}/otp", token, body={"code": code})

    def resend(self, token: str) -> ApiAnswer:
        return self.call("POST", "/sign/{token}/otp/resend", token)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, oneshot_services: Services) -> PageClient:
    monkeypatch.setattr(api, "get_services", lambda: oneshot_services)
    monkeypatch.setattr(page, "get_services", lambda: oneshot_services)
    return PageClient()


def created(api_client: ApiClient, oneshot_worker: WorkerDriver, *, signers: int = 1) -> tuple[str, list[str]]:
    """A `oneshot` request created through the API and moved on by the worker to its first signer's SMS code;
    answers its id and the signers' link tokens, as `GET /v1/requests/{id}` shows them."""
    pdf = base64.b64encode(make_pdf("A contract to sign on the page")).decode()
    body = create_body(
        Workflow.ONESHOT,
        signers=[signer_body(Workflow.ONESHOT) for _ in range(signers)],
        documents=[{"name": "Contrato.pdf", "content_base64": pdf}],
    )
    for index, signer in enumerate(body["signers"]):
        signer["phone"] = f"+3460011122{index}"
        signer["name"] = signer["given_name"] = ("Ana", "Bruno", "Carla")[index]
    answer = api_client.create(body)
    assert answer.status == 201, answer.body
    request_id = answer.body["id"]
    oneshot_worker.run()
    view = api_client.get(request_id).body
    assert view["status"] == "awaiting_otp"
    urls = [signer["signing_page_url"] for signer in view["signers"]]
    assert all(url and url.startswith("/sign/") for url in urls), urls
    return request_id, [url.removeprefix("/sign/") for url in urls]


def code_for(simulator: OneShotSimulator, services: Services, request_id: str) -> str:
    code = simulator.last_otp(pk=signer_pk(services.records.get_request(request_id)))
    assert code is not None
    return code


def test_the_link_opens_its_signers_page_and_the_whole_flow_signs(
    client: PageClient,
    api_client: ApiClient,
    oneshot_worker: WorkerDriver,
    oneshot_simulator: OneShotSimulator,
    oneshot_services: Services,
) -> None:
    # Given a request awaiting its signer's code, and the signer's link
    request_id, (token,) = created(api_client, oneshot_worker)

    # When the signer opens it, the page shows the contract to accept, their documents and the company
    state = client.state(token)
    assert state.status == 200, state.body
    assert state.body["phase"] == "contract"
    assert state.body["language"] == "es"
    assert state.body["brand"]["name"] == "SignBridge"
    assert state.body["contract_url"]
    assert requests.get(state.body["documents"][0]["url"], timeout=10).content.startswith(b"%PDF-")
    assert "phone" not in state.raw_body
    assert "id_number" not in state.raw_body
    # and a code cannot be typed before the contract is accepted
    refused = client.submit(token, "123456")
    assert (refused.status, refused.body["type"]) == (409, PROBLEMS + "contract-not-accepted")

    # When the signer accepts the contract
    accepted = client.accept(token)
    assert accepted.status == 200, accepted.body
    assert accepted.body["phase"] == "code"
    # Then the acceptance is evidence on the signer, with a timeline entry (without the IP)
    stored = oneshot_services.records.get_request(request_id)
    assert stored.signers[0].contract_accepted_at is not None
    assert stored.signers[0].contract_acceptance == {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (test)"}
    entry = stored.timeline[-1]
    assert (entry.subject, entry.subject_index, entry.detail) == (
        "signer",
        0,
        "the signer accepted the One-Shot service contract on the signing page",
    )
    assert "203.0.113.7" not in json.dumps([e.model_dump(mode="json") for e in stored.timeline])

    # When a wrong code is typed, the page gets the API's problem and the tries left
    wrong = client.submit(token, "000000")
    assert (wrong.status, wrong.body["type"]) == (422, PROBLEMS + "otp-rejected")
    assert client.state(token).body["signer"]["tries_remaining"] == 4

    # When the right one is typed, the signer has signed
    signed = client.submit(token, code_for(oneshot_simulator, oneshot_services, request_id))
    assert signed.status == 200, signed.body
    assert signed.body["phase"] == "signed"
    # and once the worker has stored the signed PDF, the page offers it
    oneshot_worker.run()
    result = client.state(token).body
    assert result["signed_ready"] is True
    assert requests.get(result["documents"][0]["signed_url"], timeout=10).content.startswith(b"%PDF-")
    # but the link can do nothing more
    again = client.accept(token)
    assert (again.status, again.body["type"]) == (410, PROBLEMS + "signing-link-used")


def test_a_link_opens_only_its_own_signer_and_a_guess_opens_nothing(
    client: PageClient, api_client: ApiClient, oneshot_worker: WorkerDriver
) -> None:
    request_id, tokens = created(api_client, oneshot_worker, signers=2)
    # The second signer's link shows the second signer, waiting for their turn
    second = client.state(tokens[1])
    assert second.status == 200
    assert second.body["phase"] == "waiting"
    assert (second.body["signer"]["name"], second.body["signer"]["status"]) == ("Bruno", "pending")
    assert client.state(tokens[0]).body["signer"]["name"] == "Ana"
    # and it cannot act for the first signer (no code is awaited from the second one)
    assert client.accept(tokens[1]).status == 409
    for guess in (
        f"{request_id}.{'A' * 43}",
        tokens[0][:-1],
        "nothing",
        tokens[0] + "A",
        f"{'0' * 32}.{tokens[0][-43:]}",
    ):
        answer = client.state(guess)
        assert (answer.status, answer.body["type"]) == (404, PROBLEMS + "signing-link-invalid"), guess


def test_an_expired_link_is_a_410_and_changes_nothing(
    client: PageClient,
    api_client: ApiClient,
    oneshot_worker: WorkerDriver,
    oneshot_clock: ShiftedClock,
    oneshot_services: Services,
) -> None:
    request_id, (token,) = created(api_client, oneshot_worker)
    before = oneshot_services.records.get_request(request_id)
    oneshot_clock.advance(oneshot_services.settings.page_link_ttl_seconds + 1)
    for answer in (client.state(token), client.accept(token)):
        assert (answer.status, answer.body["type"]) == (410, PROBLEMS + "signing-link-expired")
    assert oneshot_services.records.get_request(request_id).request.version == before.request.version


def test_a_resend_follows_the_one_a_minute_rule(
    client: PageClient,
    api_client: ApiClient,
    oneshot_worker: WorkerDriver,
    oneshot_clock: ShiftedClock,
    oneshot_simulator: OneShotSimulator,
) -> None:
    _, (token,) = created(api_client, oneshot_worker)
    assert client.resend(token).body["type"] == PROBLEMS + "contract-not-accepted"
    client.accept(token)
    state = client.state(token).body
    assert 0 < state["signer"]["resend_wait_seconds"] <= 60
    too_soon = client.resend(token)
    assert (too_soon.status, too_soon.body["type"]) == (429, PROBLEMS + "otp-too-soon")
    assert int(too_soon.headers["retry-after"]) > 0
    oneshot_clock.advance(61)
    oneshot_simulator.advance_clock(61)
    assert client.state(token).body["signer"]["resend_wait_seconds"] == 0
    assert client.resend(token).status == 200


def test_every_answer_has_the_strict_headers_and_the_page_no_inline_script(client: PageClient) -> None:
    for answer in (
        client.call("GET", "/sign/{token}", "anything"),
        client.call("GET", "/sign-assets/{asset}", "page.js"),
        client.call("GET", "/sign-assets/{asset}", "page.css"),
        client.state("not-a-token"),
    ):
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
    html = client.call("GET", "/sign/{token}", "anything")
    assert html.headers["content-type"].startswith("text/html")
    assert "<script>" not in html.raw_body
    assert "style=" not in html.raw_body
    assert "http" not in html.raw_body
    assert client.call("GET", "/sign-assets/{asset}", "../__init__.py").status == 404


@pytest.mark.parametrize(
    ("route", "kwargs", "status", "problem"),
    [
        ("/sign/{token}/otp", {"body": {"code": "12ab"}}, 422, "validation-error"),
        ("/sign/{token}/otp", {"body": {"code": "123456", "extra": 1}}, 422, "validation-error"),
        ("/sign/{token}/otp", {"raw_body": "{not json"}, 422, "validation-error"),
        ("/sign/{token}/otp", {"raw_body": "[" * 100 + "]" * 100}, 400, "json-too-complex"),
        ("/sign/{token}/otp", {"raw_body": json.dumps({"code": "1" * 2000})}, 413, "payload-too-large"),
        ("/sign/{token}/accept", {"body": {"accepted": False}}, 422, "validation-error"),
        ("/sign/{token}/accept", {"body": {}}, 422, "validation-error"),
        (
            "/sign/{token}/accept",
            {"headers": {"content-type": "text/plain"}, "raw_body": "yes"},
            415,
            "unsupported-media-type",
        ),
    ],
    ids=[
        "code-letters",
        "unknown-field",
        "not-json",
        "too-deep",
        "too-large",
        "not-accepted",
        "missing",
        "not-json-type",
    ],
)
def test_bad_input_is_a_problem_and_changes_nothing(
    *,
    client: PageClient,
    api_client: ApiClient,
    oneshot_worker: WorkerDriver,
    oneshot_services: Services,
    route: str,
    kwargs: dict[str, Any],
    status: int,
    problem: str,
) -> None:
    request_id, (token,) = created(api_client, oneshot_worker)
    before = oneshot_services.records.get_request(request_id)
    answer = client.call("POST", route, token, **kwargs)
    assert (answer.status, answer.body["type"]) == (status, PROBLEMS + problem), answer.body
    assert answer.content_type == "application/problem+json"
    assert token not in answer.raw_body  # the instance is the route's template, not the path
    after = oneshot_services.records.get_request(request_id)
    assert after.signers == before.signers
    assert after.timeline == before.timeline


def test_the_token_never_reaches_the_log(
    client: PageClient, api_client: ApiClient, oneshot_worker: WorkerDriver, captured_logs: list[str]
) -> None:
    _, (token,) = created(api_client, oneshot_worker)
    client.state(token)
    client.accept(token)
    client.submit(token, "000000")
    client.state(token + "x")
    answered = [line for line in captured_logs if "/sign/{token}" in line]
    assert len(answered) >= 4
    assert not [line for line in captured_logs if token.split(".")[1] in line]


def test_without_a_key_no_links_are_made(
    api_client: ApiClient, monkeypatch: pytest.MonkeyPatch, oneshot_services: Services
) -> None:
    settings = oneshot_services.settings.model_copy(update={"signer_page_secret_name": ""})
    monkeypatch.setattr(oneshot_services, "settings", settings)
    monkeypatch.setattr(api, "get_services", lambda: oneshot_services)
    answer = api_client.create(create_body(Workflow.ONESHOT))
    stored = oneshot_services.records.get_request(answer.body["id"])
    assert stored.signers[0].page_link_sha256 is None
    assert api_client.get(answer.body["id"]).body["signers"][0]["signing_page_url"] is None
    assert links.request_id_of("x") is None
