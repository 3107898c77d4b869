"""The One-Shot signing page in a real browser (Chromium through Playwright) against the whole local stack: signers
who have only their link, from opening it to downloading the signed PDF (docs/signer-page.md).

The SMS codes come from the One-Shot simulator's control API, as a signer's phone would show them. Where a test needs
time to pass (the one-a-minute resend, a link's expiry, the result's grace period), it moves the clocks instead of
waiting: the browser's (Playwright's `page.clock`), the simulator's (`/_sim/oneshot/clock`), and the time recorded
in the table (the signer's `otp_sent_at`, the request's deadline), as a minute later would have left them.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from signbridge.domain import signer_page
from signbridge.storage import schema
from tests.e2e.browser import DESKTOP, PHONE, Shots
from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SIGN_TIMEOUT_MS = 40_000
SIGNED_DOCUMENTS = re.compile(r"(signed documents|documentos firmados|documentos assinados):$")


# ------------------------------------------------------------------------------------------------ helpers


def start(e2e: E2E, *, signers: int = 1, language: str = "es", **options: Any) -> tuple[str, dict[str, Any], list[str]]:
    """A `oneshot` request awaiting its first signer's code: its id, its body and the signers' page links."""
    body = e2e.body("oneshot", signers=signers, language=language, **options)
    request_id = str(e2e.create(body)["id"])
    view = e2e.wait_for_turn(request_id, 0)
    urls = [str(signer["signing_page_url"]) for signer in view["signers"]]
    assert all(url.startswith(e2e.stack.api_url + "/sign/") for url in urls), urls
    return request_id, body, urls


def code(e2e: E2E, phone: str, *, after_count: int = 0, timeout: float = 20.0) -> str:
    """The last SMS code the simulator texted to `phone`, once it has sent more than `after_count` to it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = [sms for sms in e2e.oneshot_control.sms() if sms["phone"] == phone]
        if len(sent) > after_count:
            return str(sent[-1]["code"])
        time.sleep(0.1)
    raise AssertionError(f"no new SMS code for signer phone #{after_count + 1}")


def sms_count(e2e: E2E, phone: str) -> int:
    return sum(1 for sms in e2e.oneshot_control.sms() if sms["phone"] == phone)


def shift_recorded_time(e2e: E2E, request_id: str, *, signer: int | None, field: str, by: timedelta) -> None:
    """Move a time the table recorded (a signer's field, or the request's with `signer=None`) by `by`."""
    dynamodb = e2e.stack.client("dynamodb")
    key = {
        schema.PK: {"S": schema.request_pk(request_id)},
        schema.SK: {"S": schema.signer_sk(signer) if signer is not None else schema.REQUEST_SK},
    }
    item = dynamodb.get_item(TableName=e2e.table, Key=key)["Item"]
    recorded = datetime.fromisoformat(item[field]["S"]) if field in item else datetime.now(UTC)
    moved = (recorded + by).isoformat()
    dynamodb.update_item(
        TableName=e2e.table,
        Key=key,
        UpdateExpression="SET #f = :v",
        ExpressionAttributeNames={"#f": field},
        ExpressionAttributeValues={":v": {"S": moved}},
    )


def open_link(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#brand-name")).not_to_be_empty()


def accept_contract(page: Page) -> None:
    expect(page.locator("#contract-section")).to_be_visible()
    page.get_by_role("checkbox").check()
    page.locator("#accept-button").click()
    expect(page.locator("#code-section")).to_be_visible()


def type_code(page: Page, value: str) -> None:
    page.locator("#code-input").fill(value)
    page.locator("#sign-button").click()


def download_signed(page: Page, e2e: E2E) -> bytes:
    """Click every signed document's link and read what the browser downloaded."""
    expect(page.locator("#done-text")).to_have_text(SIGNED_DOCUMENTS, timeout=SIGN_TIMEOUT_MS)
    link = page.locator("#signed a").first
    with page.expect_download() as download:
        link.click()
    path = download.value.path()
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    return data


def assert_accessible(page: Page) -> None:
    """axe-core (bundled by axe-playwright-python), injected into the page: no serious or critical violation."""
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"], [node["target"] for node in v["nodes"]]) for v in serious]


# ------------------------------------------------------------------------------------------------ tests


def test_two_signers_sign_through_the_page_alone(e2e: E2E, page: Page, shot: Shots) -> None:
    # Given a request for two signers, each with nothing but their link
    request_id, body, urls = start(e2e, signers=2, language="es")
    phones = [signer["phone"] for signer in body["signers"]]

    # When the second signer opens their link first, the page says another person signs first
    open_link(page, urls[1])
    expect(page.locator("#status")).to_have_text("Otra persona firma antes. Esta página se actualiza sola.")
    shot(page, "second-signer-waits")

    # When the first signer opens theirs: who asks, the documents, the contract to accept
    open_link(page, urls[0])
    expect(page.locator("h1")).to_have_text("Firme sus documentos")
    expect(page.locator("#asker")).to_contain_text("SignBridge")
    expect(page.locator("#documents a")).to_have_count(1)
    shot(page, "contract")
    with page.expect_download() as contract:
        page.locator("#contract-link").click()
    assert contract.value.path().read_bytes().startswith(b"%PDF-")
    # accepting needs the box ticked
    page.locator("#accept-button").click()
    expect(page.locator("#alert")).to_have_text("Marque la casilla para aceptar el contrato de servicio.")
    accept_contract(page)
    shot(page, "code")

    # A wrong code: a clear message and the tries left
    type_code(page, "000000")
    expect(page.locator("#alert")).to_have_text("El código no es correcto. Intentos restantes: 4.")
    expect(page.locator("#tries")).to_have_text("Intentos restantes: 4 de 5.")
    shot(page, "wrong-code")
    # the right code, from the simulator's control API (the signer's phone)
    type_code(page, code(e2e, phones[0]))
    expect(page.locator("#done-section")).to_be_visible(timeout=SIGN_TIMEOUT_MS)
    first_signed = download_signed(page, e2e)
    shot(page, "signed")

    # Then the second signer's turn comes, and they sign with the keyboard alone
    e2e.wait_for_turn(request_id, 1)
    open_link(page, urls[1])
    expect(page.locator("#contract-section")).to_be_visible(timeout=SIGN_TIMEOUT_MS)
    page.locator("#main").focus()
    for _ in range(20):  # Tab to the checkbox: the focus order goes through the documents and the contract link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "accept-box":
            break
    assert page.evaluate("document.activeElement.id") == "accept-box"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "accept-button"
    page.keyboard.press("Enter")
    expect(page.locator("#code-input")).to_be_focused()
    page.keyboard.type(code(e2e, phones[1]))
    page.keyboard.press("Enter")
    second_signed = download_signed(page, e2e)
    shot(page, "second-signed")

    # and the request completes: its final PDF is the second signer's download, signed twice
    final = e2e.wait(request_id, "completed")
    final_sha = final["documents"][0]["files"]["final"]["sha256"]
    assert hashlib.sha256(second_signed).hexdigest() == final_sha
    assert first_signed != second_signed


def test_after_signing_the_link_shows_the_result_then_is_closed(e2e: E2E, page: Page, shot: Shots) -> None:
    request_id, body, urls = start(e2e, language="en")
    open_link(page, urls[0])
    accept_contract(page)
    type_code(page, code(e2e, body["signers"][0]["phone"]))
    download_signed(page, e2e)
    e2e.wait(request_id, "completed")

    # Reopened at once, the link shows the result and offers nothing to sign
    open_link(page, urls[0])
    expect(page.locator("#done-section")).to_be_visible()
    expect(page.locator("#contract-section")).to_be_hidden()
    expect(page.locator("#code-section")).to_be_hidden()
    # and its endpoints refuse to act again
    again = requests.post(urls[0] + "/accept", json={"accepted": True}, timeout=10)
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[1]) == (410, "signing-link-used")

    # Once the result's grace period is over (the recorded signing time moved back past it), the link is closed
    shift_recorded_time(
        e2e, request_id, signer=0, field="oneshot_signed_at", by=-(signer_page.RESULT_GRACE + timedelta(minutes=1))
    )
    page.goto(urls[0])
    expect(page.locator("#closed-title")).to_have_text("This link can no longer be used")
    shot(page, "used-link")


def test_the_resend_countdown_follows_the_one_a_minute_rule(e2e: E2E, page: Page, shot: Shots) -> None:
    request_id, body, urls = start(e2e, language="en")
    phone = body["signers"][0]["phone"]
    page.clock.install()
    open_link(page, urls[0])
    accept_contract(page)

    # The code was just sent: the resend button waits, with a countdown
    resend = page.locator("#resend-button")
    expect(resend).to_be_disabled()
    expect(page.locator("#countdown")).to_contain_text("You can ask for another code in")
    shot(page, "countdown")

    # A minute later (the browser's clock, the simulator's, and the recorded sending time moved on)
    shift_recorded_time(e2e, request_id, signer=0, field="otp_sent_at", by=timedelta(seconds=-61))
    e2e.oneshot_control.advance_clock(61)
    page.clock.run_for(61_000)
    expect(resend).to_be_enabled()
    expect(page.locator("#countdown")).to_have_text("")

    # Then a resend is accepted, a new SMS arrives, and the countdown starts again
    before = sms_count(e2e, phone)
    resend.click()
    expect(page.locator("#status")).to_have_text("A new code is on its way.")
    expect(resend).to_be_disabled()
    new_code = code(e2e, phone, after_count=before)
    shot(page, "resent")
    type_code(page, new_code)
    expect(page.locator("#done-section")).to_be_visible(timeout=SIGN_TIMEOUT_MS)


def test_an_expired_or_wrong_link_shows_a_clear_page(e2e: E2E, browser: Browser, shot: Shots) -> None:
    # A closed link has no request to take the language from: the page speaks the browser's
    context = browser.new_context(locale="pt-BR", viewport=DESKTOP)
    page = context.new_page()
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat(timespec="seconds")
    request_id, _, urls = start(e2e, language="es", deadline=deadline)
    # The deadline passes (moved back into the past in the table)
    shift_recorded_time(e2e, request_id, signer=None, field="deadline", by=timedelta(days=-4))
    page.goto(urls[0])
    expect(page.locator("#closed-title")).to_have_text("Este link expirou")
    expect(page.locator("#closed-text")).to_have_text("Peça um novo à empresa que o enviou.")
    shot(page, "expired")
    assert_accessible(page)

    # A link with a wrong token: not valid, nothing about why
    page.goto(urls[0][:-4] + "AAAA")
    expect(page.locator("#closed-title")).to_have_text("Este link não é válido")
    shot(page, "invalid")
    context.close()


@pytest.mark.parametrize(
    ("language", "heading", "switch_to", "switched"),
    [
        ("es", "Firme sus documentos", "en", "Sign your documents"),
        ("pt-br", "Assine os seus documentos", "es", "Firme sus documentos"),
        ("en", "Sign your documents", "pt", "Assine os seus documentos"),
    ],
)
def test_the_page_speaks_the_requests_language_and_switches(
    *, e2e: E2E, page: Page, shot: Shots, language: str, heading: str, switch_to: str, switched: str
) -> None:
    _, _, urls = start(e2e, language=language)
    open_link(page, urls[0])
    expect(page.locator("h1")).to_have_text(heading)
    assert page.evaluate("document.documentElement.lang") == ("pt" if language == "pt-br" else language)
    shot(page, f"in-{language}")
    # switched with the keyboard: the select is labelled and reachable
    page.get_by_label({"es": "Idioma", "pt-br": "Idioma", "en": "Language"}[language]).select_option(switch_to)
    expect(page.locator("h1")).to_have_text(switched)
    assert page.evaluate("document.documentElement.lang") == switch_to
    shot(page, f"switched-to-{switch_to}")


def test_on_a_phone_sized_screen_the_page_fits_and_is_accessible(e2e: E2E, page: Page, shot: Shots) -> None:
    request_id, body, urls = start(e2e, language="es")
    page.set_viewport_size(PHONE)
    open_link(page, urls[0])
    # Nothing scrolls sideways; the buttons are at least 44 px tall (touch targets)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    shot(page, "phone-contract")
    accept_contract(page)
    box = page.locator("#sign-button").bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    shot(page, "phone-code")
    type_code(page, code(e2e, body["signers"][0]["phone"]))
    expect(page.locator("#done-section")).to_be_visible(timeout=SIGN_TIMEOUT_MS)
    download_signed(page, e2e)
    assert_accessible(page)
    shot(page, "phone-signed")
    e2e.wait(request_id, "completed")
