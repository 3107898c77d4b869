"""The One-Shot simulator over raw HTTP: its answers keep the shapes of the contract's examples
(docs/providers/oneshot.md), its errors the legacy texts and codes, and its control routes do what
docs/simulators.md says.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from simulators.oneshot.model import (
    DEFAULT_PROFILE,
    DEFAULT_REGISTRATION_AUTHORITY,
    FIRST_REQUEST_PK,
    SANDBOX_RAO_PASSWORD,
    SANDBOX_RAO_PIN,
    SANDBOX_RAO_USERNAME,
    SANDBOX_TOKEN,
)
from simulators.oneshot.simulator import OneShotSimulator
from simulators.pdf import make_pdf
from tests.simulators.conftest_oneshot import JPEG_BYTES, PNG_BYTES, SIGNER_PHONE
from tests.support.receiver import WebhookReceiver, wait_for
from tests.support.signatures import signer_names

EVENTS = Path(__file__).resolve().parents[2] / "events" / "oneshot"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Examples copied from docs/providers/oneshot.md (section in each comment). The simulator must keep their shapes.
TOKEN_CREATED = {  # §5.2, N2 (CONFIRMED-NEW)
    "status": "success",
    "message": "Token created",
    "details": {"token_uid": "14185cd9-c6ec-30f4-9f59-a844a77bc234"},
}
TOKENS_LISTED_ENTRY = {"username": "1125824", "password": True, "pin": True}  # §5.2 (GUESS for the new envelope)
REQUEST_CREATED = {  # §5.3 (GUESS: the contract's placeholder)
    "status": "success",
    "message": "Request created with pk 388141",
    "details": {"pk": 388141, "status": "ENROLLREADY", "asyncmode": False},
}
DOCUMENT_UPLOADED = {  # §5.7, N1 (CONFIRMED-NEW)
    "status": "success",
    "detail": {"name": "file", "uid": "604b889f-6b3a-4af7-a24a-b5e610e7f7c1"},
}
DOCUMENTS_LISTED = {"status": "success", "detail": {}}  # §5.7: keyed by uid, each value {}
DOCUMENTS_DELETED = {"status": "success", "message": "Documents deleted for Request xxx"}  # §5.7, N1
DOCUMENT_DELETED = {"status": "success", "message": "Document 604b889f-6b3a-4af7-a24a-b5e610e7f7c1 deleted"}  # seed
IMAGE_UPLOADED = {  # §5.8, N3 (CONFIRMED-NEW)
    "status": "success",
    "message": "Image uploaded with uid '463156ce-d566-44d2-94e9-184d89632b98'",
    "details": {"image_uid": "463156ce-d566-44d2-94e9-184d89632b98"},
}
LEGACY_ERROR = {"status": "404 Not Found", "details": "Document not found"}  # §5.1 (LEGACY)


def assert_shape(actual: Any, example: Any, where: str = "$") -> None:
    """`actual` has every field of `example`, each of the same JSON type (lists: every item like the first)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        missing = set(example) - set(actual)
        assert not missing, f"{where}: missing {sorted(missing)} in {actual!r}"
        for key, value in example.items():
            assert_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        for index, item in enumerate(actual if example else []):
            assert_shape(item, example[0], f"{where}[{index}]")
    else:
        assert type(actual) is type(example), f"{where}: expected {type(example).__name__}, got {actual!r}"


def api(simulator: OneShotSimulator, path: str) -> str:
    return simulator.api_url + path


def control(simulator: OneShotSimulator, path: str) -> str:
    return f"{simulator.base_url}/_sim/oneshot/{path}"


def create_form(**overrides: str | None) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """A valid `create` body; an override of None leaves the field (or image) out."""
    fields: dict[str, str | None] = {
        "given_name": "Ana",
        "surname_1": "García",
        "id_document_type": "IDC",
        "id_document_country": "ES",
        "serial_number": "12345678Z",
        "email": "ana@example.com",
        "mobile_phone_number": SIGNER_PHONE,
        "registration_authority": DEFAULT_REGISTRATION_AUTHORITY,
        "profile": DEFAULT_PROFILE,
        "token": SANDBOX_TOKEN,
        "env": "sandbox",
        "billing_username": "billing-user",
        "billing_password": base64.b64encode(b"billing-password").decode(),
    }
    images: dict[str, tuple[str, bytes, str]] = {
        "document_front": ("front.jpg", JPEG_BYTES, "image/jpeg"),
        "document_rear": ("rear.jpg", JPEG_BYTES, "image/jpeg"),
        "document_owner": ("selfie.png", PNG_BYTES, "image/png"),
    }
    for name, value in overrides.items():
        if name in images:
            if value is None:
                del images[name]
            else:
                images[name] = (f"{name}.bin", value.encode(), "image/jpeg")
        else:
            fields[name] = value
    return {key: value for key, value in fields.items() if value is not None}, images


def create(simulator: OneShotSimulator, **overrides: str | None) -> int:
    data, files = create_form(**overrides)
    response = requests.post(api(simulator, "create"), data=data, files=files, timeout=5)
    assert response.status_code == 200, response.text
    return int(response.json()["details"]["pk"])


def upload(simulator: OneShotSimulator, pk: int, count: int = 1) -> list[str]:
    files = [
        ("file" if index == 0 else f"file{index + 1}", (f"d{index}.pdf", make_pdf(f"doc {index}"), "application/pdf"))
        for index in range(count)
    ]
    response = requests.post(api(simulator, f"document/{pk}"), files=files, timeout=5)
    assert response.status_code == 200, response.text
    detail = response.json()["detail"]
    return [detail["uid"]] if isinstance(detail, dict) else [item["uid"] for item in detail]


def send_otp(simulator: OneShotSimulator, pk: int) -> str:
    response = requests.post(api(simulator, f"otp/{pk}"), timeout=5)
    assert response.status_code == 200, response.text
    return str(requests.get(control(simulator, f"requests/{pk}/otp"), timeout=5).json()["code"])


def assert_legacy_error(response: requests.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert_shape(body, {"status": "", "details": body.get("details")})
    assert body["status"].startswith(f"{status} ")
    assert text in json.dumps(body["details"]), body


# -- routing --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["oneshot/api/v1/tokens", "oneshot/api/v1/tokens/", "oneshot/api/v1/api/v1/tokens", "oneshot/api/v1//tokens"],
)
def test_tokens_answer_under_every_documented_path_form(oneshot_simulator: OneShotSimulator, path: str) -> None:
    response = requests.get(f"{oneshot_simulator.base_url}/{path}", timeout=5)
    if "//" in path:
        assert response.status_code == 404  # merge_slashes is off: only the documented forms are accepted
        return
    assert response.status_code == 200
    assert SANDBOX_TOKEN in response.json()["details"]


def test_post_with_a_trailing_slash_is_answered_not_redirected(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    response = requests.post(f"{oneshot_simulator.api_url}otp/{pk}/", timeout=5, allow_redirects=False)
    assert response.status_code == 200


def test_a_non_integer_pk_is_a_fastapi_validation_error(oneshot_simulator: OneShotSimulator) -> None:
    response = requests.get(api(oneshot_simulator, "contract/abc"), timeout=5)
    assert response.status_code == 422
    assert_shape(response.json(), {"detail": [{"loc": ["path"], "msg": "", "type": ""}]})


# -- tokens ---------------------------------------------------------------------------------------------------------


def test_tokens_list_has_the_sandbox_token(oneshot_simulator: OneShotSimulator) -> None:
    body = requests.get(api(oneshot_simulator, "tokens"), timeout=5).json()
    assert body["status"] == "success"
    assert next(iter(body["details"])) == SANDBOX_TOKEN
    for entry in body["details"].values():
        assert_shape(entry, TOKENS_LISTED_ENTRY)


def test_token_create_has_the_documented_shape_and_is_listed(oneshot_simulator: OneShotSimulator) -> None:
    body = {
        "username": SANDBOX_RAO_USERNAME,
        "password": SANDBOX_RAO_PASSWORD,
        "pin": SANDBOX_RAO_PIN,
        "env": "sandbox",
    }
    response = requests.post(api(oneshot_simulator, "token"), json=body, timeout=5)
    assert response.status_code == 200
    assert_shape(response.json(), TOKEN_CREATED)
    uid = response.json()["details"]["token_uid"]
    assert uid in requests.get(api(oneshot_simulator, "tokens"), timeout=5).json()["details"]
    shown = requests.get(api(oneshot_simulator, f"token/{uid}"), timeout=5).json()["details"]
    assert shown == {"username": SANDBOX_RAO_USERNAME, "password": True, "pin": True}
    again = requests.post(api(oneshot_simulator, "token"), json=body, timeout=5)
    assert_legacy_error(again, 400, "A token with these credentials already exist!")


def test_token_create_errors(oneshot_simulator: OneShotSimulator) -> None:
    url = api(oneshot_simulator, "token")
    assert_legacy_error(requests.post(url, data="{", timeout=5), 400, "Could not parse JSON body")
    assert_legacy_error(requests.post(url, json={"pin": "1"}, timeout=5), 400, "Missing required parameter")
    unknown = requests.post(url, json={"username": "nobody"}, timeout=5)
    assert_legacy_error(unknown, 404, "Error getting RAO's id. Make sure the credentials are correct.")


# -- create ---------------------------------------------------------------------------------------------------------


def test_create_answers_the_guessed_shape_and_the_request_is_enrollready(oneshot_simulator: OneShotSimulator) -> None:
    data, files = create_form()
    response = requests.post(api(oneshot_simulator, "create"), data=data, files=files, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, REQUEST_CREATED)
    assert body["details"] == {"pk": FIRST_REQUEST_PK, "status": "ENROLLREADY", "asyncmode": False}
    assert body["message"] == f"Request created with pk {FIRST_REQUEST_PK}"
    listed = requests.get(control(oneshot_simulator, "requests"), timeout=5).json()
    assert [(item["pk"], item["status"]) for item in listed] == [(FIRST_REQUEST_PK, "ENROLLREADY")]
    assert "billing-password" not in json.dumps(listed)
    assert SANDBOX_TOKEN not in json.dumps(listed)


def test_create_with_username_password_and_pin(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(
        oneshot_simulator, token=None, username=SANDBOX_RAO_USERNAME, password=SANDBOX_RAO_PASSWORD, pin=SANDBOX_RAO_PIN
    )
    assert oneshot_simulator.requests[pk].status == "ENROLLREADY"


@pytest.mark.parametrize(
    ("overrides", "status", "text"),
    [
        ({"env": None}, 400, "Missing env parameter"),
        ({"env": "prod"}, 400, "The specified environment is not available"),
        ({"mobile_phone_number": None}, 400, "Missing parameter: mobile_phone_number required"),
        ({"given_name": ""}, 400, "Missing parameter: given_name required"),
        ({"mobile_phone_number": "600000001"}, 400, "Please use the mobile phone number with an international prefix"),
        ({"email": "ana@"}, 400, "Enter a valid email address"),
        (
            {"id_document_type": "DNI"},
            400,
            "The id_document_type specified is not valid. Valid options are IDC, PAS, PNO, TIN, CI, CE",
        ),
        ({"registration_authority": None}, 400, "registration_authority required"),
        ({"token": "wrong-token"}, 403, "Invalid RAO Credentials"),
        ({"token": None}, 400, "incomplete RAO's credentials"),
        (
            {"token": None, "username": SANDBOX_RAO_USERNAME, "password": SANDBOX_RAO_PASSWORD, "pin": "000"},
            403,
            "Invalid RAO Credentials",
        ),
        ({"billing_password": "not base64!"}, 500, "Billing credentials not valid. Please check if they are base64"),
        ({"billing_username": None}, 500, "This field is required"),
        ({"document_owner": None}, 400, "Error occured during request approval: Missing required docs"),
        ({"document_front": "%PDF-1.7 not an image"}, 415, "Image file type not supported: application/pdf"),
    ],
)
def test_create_validation_answers_the_legacy_codes_and_texts(
    oneshot_simulator: OneShotSimulator, overrides: dict[str, str | None], status: int, text: str
) -> None:
    data, files = create_form(**overrides)
    response = requests.post(api(oneshot_simulator, "create"), data=data, files=files, timeout=5)
    assert_legacy_error(response, status, text)
    assert oneshot_simulator.requests == {}


def test_create_checks_billing_accounts_when_configured(
    oneshot_simulator: OneShotSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oneshot_simulator, "billing_accounts", {"billing-user": "other"})
    data, files = create_form()
    response = requests.post(api(oneshot_simulator, "create"), data=data, files=files, timeout=5)
    assert_legacy_error(response, 500, "Billing credentials not valid")


# -- documents ------------------------------------------------------------------------------------------------------


def test_upload_one_file_has_the_documented_shape(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    files = {"file": ("a.pdf", make_pdf("a"), "application/pdf")}
    body = requests.post(api(oneshot_simulator, f"document/{pk}"), files=files, timeout=5).json()
    assert_shape(body, DOCUMENT_UPLOADED)
    assert body["detail"]["name"] == "file"
    assert UUID.match(body["detail"]["uid"])


def test_upload_several_files_answers_a_list_of_the_single_shape(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    files = [("file", ("a.pdf", make_pdf("a"), "application/pdf")), ("file2", ("b.pdf", make_pdf("b"), "x/y"))]
    body = requests.post(api(oneshot_simulator, f"document/{pk}"), files=files, timeout=5).json()
    assert_shape(body, {"status": "success", "detail": [DOCUMENT_UPLOADED["detail"]]})
    assert [item["name"] for item in body["detail"]] == ["file", "file2"]


def test_upload_limits_and_types(oneshot_simulator: OneShotSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    pk = create(oneshot_simulator)
    url = api(oneshot_simulator, f"document/{pk}")
    eleven = [
        (f"file{n}" if n > 1 else "file", (f"{n}.pdf", make_pdf(str(n)), "application/pdf")) for n in range(1, 12)
    ]
    assert_legacy_error(requests.post(url, files=eleven, timeout=5), 400, "Maximum of 10 documents")
    png = {"file": ("a.pdf", PNG_BYTES, "application/pdf")}
    assert_legacy_error(requests.post(url, files=png, timeout=5), 415, "Unsupported file type: image/png")
    assert_legacy_error(requests.post(url, data={"x": "1"}, timeout=5), 400, "Missing required parameter: 'file'")
    monkeypatch.setattr(oneshot_simulator, "max_documents_per_request", 1)
    upload(oneshot_simulator, pk)
    assert_legacy_error(
        requests.post(url, files={"file": ("b.pdf", make_pdf("b"), "application/pdf")}, timeout=5),
        400,
        f"Maximum number of document reached for Request {pk}",
    )
    assert len(oneshot_simulator.requests[pk].documents) == 1
    unknown = requests.post(api(oneshot_simulator, "document/7"), files=png, timeout=5)
    assert_legacy_error(unknown, 404, "Cannot upload document: Request 7 not found on disk")


def test_list_delete_one_and_delete_all_shapes(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    uids = upload(oneshot_simulator, pk, 3)

    listed = requests.get(api(oneshot_simulator, f"documents/{pk}"), timeout=5).json()
    assert_shape(listed, DOCUMENTS_LISTED)
    assert list(listed["detail"]) == uids
    assert all(value == {} for value in listed["detail"].values())

    deleted = requests.delete(api(oneshot_simulator, f"document/{pk}/{uids[0]}"), timeout=5)
    assert_shape(deleted.json(), DOCUMENT_DELETED)
    assert deleted.json()["message"] == f"Document {uids[0]} deleted"
    gone = requests.delete(api(oneshot_simulator, f"document/{pk}/{uids[0]}"), timeout=5)
    assert_legacy_error(gone, 404, f"Document not found with uid {uids[0]}")

    all_deleted = requests.delete(api(oneshot_simulator, f"document/{pk}"), timeout=5)
    assert_shape(all_deleted.json(), DOCUMENTS_DELETED)
    assert all_deleted.json()["message"] == f"Documents deleted for Request {pk}"
    empty = requests.delete(api(oneshot_simulator, f"document/{pk}"), timeout=5)
    assert_legacy_error(empty, 404, "No documents found for specified Request")
    assert requests.get(api(oneshot_simulator, f"documents/{pk}"), timeout=5).json() == {
        "status": "success",
        "detail": {},
    }


def test_retrieve_original_by_default_and_signed_only_after_the_sign(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    [uid] = upload(oneshot_simulator, pk)
    original = requests.get(api(oneshot_simulator, f"document/{pk}/{uid}"), timeout=5)
    assert original.status_code == 200
    assert original.content.startswith(b"%PDF-")
    signed = requests.get(api(oneshot_simulator, f"document/{pk}/{uid}?document_type=signed"), timeout=5)
    assert signed.status_code == 404
    assert signed.json() == LEGACY_ERROR
    bad = requests.get(api(oneshot_simulator, f"document/{pk}/{uid}?document_type=p7m"), timeout=5)
    assert bad.status_code == 400


def test_contract_is_a_pdf_per_request_with_or_without_trailing_slash(oneshot_simulator: OneShotSimulator) -> None:
    first, second = create(oneshot_simulator), create(oneshot_simulator)
    one = requests.get(api(oneshot_simulator, f"contract/{first}/"), timeout=5)
    other = requests.get(api(oneshot_simulator, f"contract/{second}"), timeout=5)
    assert one.status_code == other.status_code == 200
    assert one.content != other.content
    assert f"Request {first}" in PdfReader(io.BytesIO(one.content)).pages[0].extract_text()
    assert_legacy_error(requests.get(api(oneshot_simulator, "contract/5"), timeout=5), 404, "Request 5 not found")


# -- OTP and sign ---------------------------------------------------------------------------------------------------


def test_otp_once_a_minute_with_the_clock_control_route(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    response = requests.post(api(oneshot_simulator, f"otp/{pk}"), timeout=5)
    assert response.json() == {"status": "success", "message": "OTP generated"}
    again = requests.post(api(oneshot_simulator, f"otp/{pk}"), timeout=5)
    assert_legacy_error(again, 412, "Error occured during OTP generation: Otp generated less than a minute ago")

    clock = requests.post(control(oneshot_simulator, "clock"), json={"advance_seconds": 61}, timeout=5).json()
    assert clock["offset_seconds"] == 61
    assert requests.post(api(oneshot_simulator, f"otp/{pk}"), timeout=5).status_code == 200

    sms = requests.get(control(oneshot_simulator, "sms"), timeout=5).json()
    assert [(item["pk"], item["phone"]) for item in sms] == [(pk, SIGNER_PHONE)] * 2
    assert all(re.fullmatch(r"\d{6}", item["code"]) for item in sms)
    by_phone = requests.get(control(oneshot_simulator, "otp"), params={"phone": SIGNER_PHONE}, timeout=5).json()
    by_pk = requests.get(control(oneshot_simulator, f"requests/{pk}/otp"), timeout=5).json()
    assert by_phone == by_pk == sms[-1]
    none = requests.get(control(oneshot_simulator, "otp"), params={"phone": "+10000000000"}, timeout=5)
    assert none.status_code == 404


def test_otp_of_an_unknown_request(oneshot_simulator: OneShotSimulator) -> None:
    response = requests.post(api(oneshot_simulator, "otp/99"), timeout=5)
    assert_legacy_error(response, 404, "Request 99 not found. Cannot send OTP secret")


def test_sign_errors_then_sign_signs_every_document_and_issues(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    url = api(oneshot_simulator, f"sign/{pk}")
    assert_legacy_error(requests.post(url, json={}, timeout=5), 400, "Missing required parameter: 'secret'")
    assert_legacy_error(requests.post(url, json={"secret": "123456"}, timeout=5), 403, "Confirmation Code invalid")
    code = send_otp(oneshot_simulator, pk)
    no_documents = requests.post(url, json={"secret": code}, timeout=5)
    assert_legacy_error(no_documents, 404, "No documents found")
    uids = upload(oneshot_simulator, pk, 2)
    wrong = "000000" if code != "000000" else "111111"
    assert_legacy_error(requests.post(url, json={"secret": wrong}, timeout=5), 403, "Confirmation Code invalid")
    bad_position = {"secret": code, "signature": {"appearance": {"position": "1,2,3"}}}
    assert_legacy_error(requests.post(url, json=bad_position, timeout=5), 400, "position")

    appearance = {"text": ["Ana"], "date": "%d/%m/%Y", "timezone": "Europe/Madrid", "position": "300,100,500,150"}
    signed = requests.post(
        url, json={"secret": code, "signature": {"appearance": {**appearance, "page": 0}}}, timeout=5
    )
    assert signed.json() == {"status": "success", "message": "Documents correctly signed"}
    assert oneshot_simulator.requests[pk].status == "ISSUED"
    for uid in uids:
        pdf = requests.get(api(oneshot_simulator, f"document/{pk}/{uid}?document_type=signed"), timeout=5).content
        assert signer_names(pdf) == ["Ana García"]  # a real signature by the request's signer, no page added

    assert_legacy_error(requests.post(url, json={"secret": code}, timeout=5), 412, "Request already in ISSUED status")
    otp_after = requests.post(api(oneshot_simulator, f"otp/{pk}"), timeout=5)
    assert_legacy_error(otp_after, 412, "Error occured during OTP generation: Invalid request status")
    late_upload = requests.post(
        api(oneshot_simulator, f"document/{pk}"), files={"file": ("x.pdf", make_pdf("x"), "application/pdf")}, timeout=5
    )
    assert late_upload.status_code == 412
    unknown = requests.post(api(oneshot_simulator, "sign/3"), json={"secret": code}, timeout=5)
    assert_legacy_error(unknown, 404, "Request 3 not found. Cannot sign documents")


def test_an_expired_otp_is_invalid(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    upload(oneshot_simulator, pk)
    code = send_otp(oneshot_simulator, pk)
    oneshot_simulator.advance_clock(oneshot_simulator.otp_validity_seconds + 1)
    expired = requests.post(api(oneshot_simulator, f"sign/{pk}"), json={"secret": code}, timeout=5)
    assert_legacy_error(expired, 403, "Confirmation Code invalid")


def test_a_new_otp_replaces_the_previous_one(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    upload(oneshot_simulator, pk)
    first = send_otp(oneshot_simulator, pk)
    oneshot_simulator.advance_clock(61)
    second = send_otp(oneshot_simulator, pk)
    if first != second:
        old = requests.post(api(oneshot_simulator, f"sign/{pk}"), json={"secret": first}, timeout=5)
        assert old.status_code == 403
    assert requests.post(api(oneshot_simulator, f"sign/{pk}"), json={"secret": second}, timeout=5).status_code == 200


# -- images ---------------------------------------------------------------------------------------------------------


def test_images_upload_get_delete(oneshot_simulator: OneShotSimulator) -> None:
    url = api(oneshot_simulator, "image")
    response = requests.post(url, files={"image": ("s.png", PNG_BYTES, "image/png")}, timeout=5)
    assert_shape(response.json(), IMAGE_UPLOADED)
    uid = response.json()["details"]["image_uid"]
    assert response.json()["message"] == f"Image uploaded with uid '{uid}'"
    got = requests.get(api(oneshot_simulator, f"image/{uid}"), timeout=5)
    assert got.content == PNG_BYTES
    assert got.headers["Content-Type"] == "image/png"
    assert requests.delete(api(oneshot_simulator, f"image/{uid}"), timeout=5).status_code == 200
    assert_legacy_error(requests.get(api(oneshot_simulator, f"image/{uid}"), timeout=5), 404, "Image with uid")
    jpeg = requests.post(url, files={"image": ("s.jpg", JPEG_BYTES, "image/jpeg")}, timeout=5)
    assert_legacy_error(jpeg, 415, "Image file type not supported: image/jpeg")
    assert_legacy_error(requests.post(url, data={"x": "1"}, timeout=5), 400, "Missing required parameter: 'image'")


# -- callbacks ------------------------------------------------------------------------------------------------------


def load_event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def test_event_files_are_the_new_webhook_format() -> None:
    for name in ("request_created.json", "request_approved.json", "request_enrolled.json"):
        assert_shape(load_event(name), load_event("request_created.json"))
    assert load_event("request_enrolled.json")["certificates"][0]["status"] == "VALID"


def test_sync_flow_with_a_callback_posts_created_approved_and_enrolled_in_the_documented_shape(
    oneshot_simulator: OneShotSimulator, oneshot_callback_receiver: WebhookReceiver
) -> None:
    pk = create(oneshot_simulator, callback=oneshot_callback_receiver.url)
    upload(oneshot_simulator, pk)
    code = send_otp(oneshot_simulator, pk)
    assert requests.post(api(oneshot_simulator, f"sign/{pk}"), json={"secret": code}, timeout=5).status_code == 200

    wait_for(lambda: len(oneshot_callback_receiver.bodies) == 3)
    created, approved, enrolled = oneshot_callback_receiver.bodies
    for body, event in zip(
        (created, approved, enrolled), ("request_created", "request_approved", "request_enrolled"), strict=True
    ):
        assert_shape(body, load_event(f"{event}.json"))
        assert body["event_type"] == event.upper()
        assert re.fullmatch(r"\d{14}", body["sent_at"])
        assert body["request"]["pk"] == pk
    assert [body["request"]["status"] for body in (created, approved, enrolled)] == ["CREATED", "ENROLLREADY", "ISSUED"]
    assert created["certificates"] == []
    certificate = enrolled["certificates"][0]
    assert re.fullmatch(r"\d{8} \d{2}:\d{2}:\d{2}", certificate["valid_from"])
    assert enrolled["previous_status"] == "ENROLLREADY"
    deliveries = requests.get(f"{oneshot_simulator.base_url}/_sim/deliveries", timeout=5).json()
    assert [delivery["event"] for delivery in deliveries] == ["REQUEST_CREATED", "REQUEST_APPROVED", "REQUEST_ENROLLED"]


def test_async_sign_answers_first_and_signs_in_the_background(
    oneshot_simulator: OneShotSimulator, oneshot_callback_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oneshot_simulator, "async_sign_delay_seconds", 0.3)
    pk = create(oneshot_simulator, useasync="true", callback=oneshot_callback_receiver.url)
    [uid] = upload(oneshot_simulator, pk)
    code = send_otp(oneshot_simulator, pk)

    answer = requests.post(api(oneshot_simulator, f"sign/{pk}"), json={"secret": code}, timeout=5).json()

    assert answer["message"].startswith("Your documents are going to be signed")
    assert oneshot_simulator.requests[pk].status == "ENROLLREADY"  # not yet
    signed_now = requests.get(api(oneshot_simulator, f"document/{pk}/{uid}?document_type=signed"), timeout=5)
    assert signed_now.status_code == 404
    wait_for(lambda: "REQUEST_ENROLLED" in oneshot_callback_receiver.events())
    assert oneshot_simulator.requests[pk].status == "ISSUED"
    signed = requests.get(api(oneshot_simulator, f"document/{pk}/{uid}?document_type=signed"), timeout=5)
    assert signed.content.startswith(b"%PDF-")


def test_callbacks_are_retried_until_200(
    oneshot_simulator: OneShotSimulator, oneshot_callback_receiver: WebhookReceiver
) -> None:
    # Given a receiver that answers the first callback 202 and the second 500
    oneshot_callback_receiver.statuses = [202, 500]
    create(oneshot_simulator, callback=oneshot_callback_receiver.url)
    wait_for(lambda: len(oneshot_callback_receiver.bodies) == 2)
    deliveries = requests.get(f"{oneshot_simulator.base_url}/_sim/deliveries", timeout=5).json()
    assert [delivery["statuses"] for delivery in deliveries] == [[202, 200], [500, 200]]
    assert oneshot_callback_receiver.events() == ["REQUEST_CREATED", "REQUEST_APPROVED"]


def test_callback_faults_come_from_the_base_fault_plan(
    oneshot_simulator: OneShotSimulator, oneshot_callback_receiver: WebhookReceiver
) -> None:
    plan = {"webhooks": {"drop_rate": 1.0}}
    requests.post(f"{oneshot_simulator.base_url}/_sim/faults", json=plan, timeout=5).raise_for_status()
    create(oneshot_simulator, callback=oneshot_callback_receiver.url)
    deliveries = requests.get(f"{oneshot_simulator.base_url}/_sim/deliveries", timeout=5).json()
    assert [delivery["dropped"] for delivery in deliveries] == [True, True]
    assert oneshot_callback_receiver.bodies == []


# -- faults, reset, standalone --------------------------------------------------------------------------------------


def test_endpoint_faults_use_the_endpoint_names(oneshot_simulator: OneShotSimulator) -> None:
    plan = {"endpoints": {"tokens_list": {"rate_limit_burst": 1, "retry_after": 3}}}
    requests.post(f"{oneshot_simulator.base_url}/_sim/faults", json=plan, timeout=5).raise_for_status()
    throttled = requests.get(api(oneshot_simulator, "tokens"), timeout=5)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert requests.get(api(oneshot_simulator, "tokens"), timeout=5).status_code == 200
    assert requests.get(f"{oneshot_simulator.base_url}/_sim/calls", timeout=5).json()["tokens_list"] == 2


def test_reset_forgets_everything_but_the_sandbox_token(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    send_otp(oneshot_simulator, pk)
    oneshot_simulator.advance_clock(100)
    requests.post(f"{oneshot_simulator.base_url}/_sim/reset", timeout=5).raise_for_status()
    assert requests.get(control(oneshot_simulator, "requests"), timeout=5).json() == []
    assert requests.get(control(oneshot_simulator, "sms"), timeout=5).json() == []
    assert requests.get(control(oneshot_simulator, "clock"), timeout=5).json()["offset_seconds"] == 0
    assert list(requests.get(api(oneshot_simulator, "tokens"), timeout=5).json()["details"]) == [SANDBOX_TOKEN]
    assert create(oneshot_simulator) == FIRST_REQUEST_PK


def test_control_routes_for_one_request(oneshot_simulator: OneShotSimulator) -> None:
    pk = create(oneshot_simulator)
    [uid] = upload(oneshot_simulator, pk)
    shown = requests.get(control(oneshot_simulator, f"requests/{pk}"), timeout=5).json()
    assert shown["status"] == "ENROLLREADY"
    assert shown["documents"] == [{"uid": uid, "filename": "d0.pdf", "signed": False}]
    assert requests.get(control(oneshot_simulator, "requests/1"), timeout=5).status_code == 404
    assert requests.get(control(oneshot_simulator, "requests/1/otp"), timeout=5).status_code == 404


def test_runs_alone_as_a_module() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.oneshot", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/oneshot/api/v1/", line)
        assert url, line
        assert SANDBOX_TOKEN in requests.get(url.group(0) + "tokens", timeout=5).json()["details"]
    finally:
        process.terminate()
        process.wait(timeout=10)
