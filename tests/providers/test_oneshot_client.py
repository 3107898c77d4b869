"""OneShotClient against the One-Shot simulator (127.0.0.1, port 0), and its response readers on every shape the
contract documents (docs/providers/oneshot.md)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from signbridge.domain.credentials import OneShotCredentials
from signbridge.domain.oneshot import (
    AlreadySignedError,
    DocumentInfo,
    FilePart,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidOtpError,
    InvalidRequestStatusError,
    NotFoundError,
    OtpTooSoonError,
    SignatureAppearance,
    UnsupportedFileTypeError,
)
from signbridge.domain.provider_errors import PermanentError, RateLimitedError, RetryableError, UncertainOutcomeError
from signbridge.providers.downloads import FileTooLargeError
from signbridge.providers.http import ProviderHttp
from signbridge.providers.multipart import MultipartBody
from signbridge.providers.oneshot import OneShotClient
from signbridge.providers.oneshot.errors import classify_error
from signbridge.providers.oneshot.parsers import (
    parse_document_list,
    parse_image_uid,
    parse_request_pk,
    parse_token_uid,
    parse_token_uids,
    parse_uploaded_uids,
)
from simulators.oneshot.model import SANDBOX_RAO_PASSWORD, SANDBOX_RAO_PIN, SANDBOX_RAO_USERNAME, SANDBOX_TOKEN
from simulators.oneshot.simulator import OneShotSimulator
from simulators.pdf import make_pdf
from tests.simulators.conftest_oneshot import (
    PNG_BYTES,
    SIGNER_PHONE,
    id_evidence,
    oneshot_credentials,
    signer_identity,
)
from tests.support.receiver import WebhookReceiver, wait_for
from tests.support.signatures import signer_names


def set_faults(simulator: OneShotSimulator, plan: dict[str, Any]) -> None:
    requests.post(f"{simulator.base_url}/_sim/faults", json=plan, timeout=5).raise_for_status()


def pdf_part(text: str) -> FilePart:
    return FilePart(make_pdf(text), f"{text.replace(' ', '_')}.pdf")


def read_stream(chunks: Any) -> bytes:
    return b"".join(chunks)


def create_with_documents(client: OneShotClient, count: int = 1) -> tuple[int, list[str]]:
    pk = client.create_request(signer_identity(), id_evidence()).pk
    uploaded = client.upload_documents(pk, [pdf_part(f"document {index}") for index in range(count)])
    return pk, [document.uid for document in uploaded]


class ChunkedReader(io.RawIOBase):
    """A non-seekable binary stream (like an S3 body) that records the size of every read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.read_sizes.append(size)
        return self._data.read(size)


# -- tokens ---------------------------------------------------------------------------------------------------------


def test_list_tokens_returns_the_preconfigured_sandbox_token_first(oneshot_client: OneShotClient) -> None:
    assert oneshot_client.list_tokens()[0] == SANDBOX_TOKEN


def test_create_token_returns_a_new_uid_and_a_second_identical_one_is_refused(
    oneshot_simulator: OneShotSimulator,
) -> None:
    # Given a client with RAO username, password and pin instead of a token
    credentials = OneShotCredentials.model_validate(
        {"username": SANDBOX_RAO_USERNAME, "password": SANDBOX_RAO_PASSWORD, "pin": SANDBOX_RAO_PIN}
    )
    client = OneShotClient(oneshot_simulator.api_url, credentials)
    # When it creates a token, Then the uid is listed; a second identical token is refused
    uid = client.create_token()
    assert uid in client.list_tokens()
    with pytest.raises(InvalidInputError, match="already exist"):
        client.create_token()


# -- create ---------------------------------------------------------------------------------------------------------


def test_create_request_returns_the_pk_and_the_request_is_ready_to_sign(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    created = oneshot_client.create_request(signer_identity(), id_evidence())
    assert isinstance(created.pk, int)
    assert created.status == "ENROLLREADY"
    assert created.async_mode is False
    stored = oneshot_simulator.requests[created.pk]
    assert stored.status == "ENROLLREADY"
    assert stored.fields["mobile_phone_number"] == SIGNER_PHONE
    assert stored.fields["communication_language"] == "ES"


def test_create_request_with_username_password_and_pin(oneshot_simulator: OneShotSimulator) -> None:
    credentials = oneshot_credentials(
        token=None, username=SANDBOX_RAO_USERNAME, password=SANDBOX_RAO_PASSWORD, pin=SANDBOX_RAO_PIN
    )
    client = OneShotClient(oneshot_simulator.api_url, credentials)
    assert client.create_request(signer_identity(), id_evidence()).status == "ENROLLREADY"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mobile_phone_number": "600000001"}, "international prefix"),
        ({"email": "not-an-email"}, "valid email"),
        ({"serial_number": ""}, "serial_number required"),
    ],
)
def test_create_request_validation_errors_are_invalid_input(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        oneshot_client.create_request(signer_identity(**overrides), id_evidence())
    assert caught.value.status == 400
    assert oneshot_simulator.requests == {}


def test_create_request_with_a_wrong_rao_token_is_invalid_credentials(oneshot_simulator: OneShotSimulator) -> None:
    client = OneShotClient(oneshot_simulator.api_url, oneshot_credentials(token="not-a-token"))
    with pytest.raises(InvalidCredentialsError, match="Invalid RAO Credentials") as caught:
        client.create_request(signer_identity(), id_evidence())
    assert caught.value.status == 403


def test_create_request_with_wrong_billing_credentials_is_invalid_credentials_not_uncertain(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an Optimizer that knows the billing user with another password (legacy: 500 with a known text)
    monkeypatch.setattr(oneshot_simulator, "billing_accounts", {"billing-user": "another-password"})
    with pytest.raises(InvalidCredentialsError, match="base64") as caught:
        oneshot_client.create_request(signer_identity(), id_evidence())
    assert caught.value.status == 500


def test_create_request_sends_the_stored_base64_billing_password_as_it_is(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an Optimizer that checks the decoded billing password
    monkeypatch.setattr(oneshot_simulator, "billing_accounts", {"billing-user": "billing-password"})
    assert oneshot_client.create_request(signer_identity(), id_evidence()).status == "ENROLLREADY"


def test_create_request_with_an_id_image_that_is_not_jpeg_or_png_is_unsupported(oneshot_client: OneShotClient) -> None:
    with pytest.raises(UnsupportedFileTypeError) as caught:
        oneshot_client.create_request(signer_identity(), id_evidence(front=make_pdf("not an image")))
    assert caught.value.status == 415


def test_create_request_5xx_is_uncertain_and_never_retried(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, oneshot_sleeps: list[float]
) -> None:
    set_faults(oneshot_simulator, {"endpoints": {"create": {"error_rate": 1.0, "error_status": 503}}})
    with pytest.raises(UncertainOutcomeError) as caught:
        oneshot_client.create_request(signer_identity(), id_evidence())
    assert caught.value.status == 503
    assert oneshot_simulator.calls["create"] == 1
    assert oneshot_sleeps == []


def test_create_request_read_timeout_is_uncertain_and_never_retried(oneshot_simulator: OneShotSimulator) -> None:
    http = ProviderHttp("oneshot", oneshot_simulator.api_url, read_timeout=0.1, sleep=lambda _: None)
    client = OneShotClient(oneshot_simulator.api_url, oneshot_credentials(), http=http)
    set_faults(oneshot_simulator, {"endpoints": {"create": {"timeout_seconds": 0.3}}})
    with pytest.raises(UncertainOutcomeError, match="read timeout"):
        client.create_request(signer_identity(), id_evidence())
    assert oneshot_simulator.calls["create"] == 1
    # Then the request was created all the same: the outcome was indeed uncertain
    wait_for(lambda: len(oneshot_simulator.requests) == 1)


def test_create_request_429_is_retried_and_resends_every_part(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, oneshot_sleeps: list[float]
) -> None:
    # Given two throttled answers, and ID images given as seekable streams
    set_faults(oneshot_simulator, {"endpoints": {"create": {"rate_limit_burst": 2, "retry_after": 1}}})
    evidence = id_evidence()
    streamed = type(evidence)(
        document_front=FilePart(io.BytesIO(evidence.document_front.content), "front.jpg", "image/jpeg"),  # type: ignore[arg-type]
        document_rear=evidence.document_rear,
        document_owner=evidence.document_owner,
    )
    # When the client creates the request
    created = oneshot_client.create_request(signer_identity(), streamed)
    # Then it waited as told twice and one request exists
    assert oneshot_sleeps == [1.0, 1.0]
    assert oneshot_simulator.calls["create"] == 3
    assert list(oneshot_simulator.requests) == [created.pk]


def test_create_request_keeps_answering_429_as_rate_limited(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    set_faults(oneshot_simulator, {"endpoints": {"create": {"rate_limit_burst": 10}}})
    with pytest.raises(RateLimitedError):
        oneshot_client.create_request(signer_identity(), id_evidence())
    assert oneshot_simulator.calls["create"] == oneshot_client.http.retry.max_attempts


# -- documents ------------------------------------------------------------------------------------------------------


def test_upload_eleven_documents_takes_two_calls_and_keeps_the_order(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    parts = [pdf_part(f"document {index}") for index in range(11)]

    uploaded = oneshot_client.upload_documents(pk, parts)

    assert oneshot_simulator.calls["document_upload"] == 2
    assert [document.filename for document in uploaded] == [part.filename for part in parts]
    assert [document.field_name for document in uploaded] == ["file", *(f"file{n}" for n in range(2, 11)), "file"]
    assert len({document.uid for document in uploaded}) == 11
    stored = oneshot_simulator.requests[pk].documents
    assert [stored[document.uid].original for document in uploaded] == [part.content for part in parts]
    assert [info.uid for info in oneshot_client.list_documents(pk)] == [document.uid for document in uploaded]


def test_upload_a_non_pdf_is_unsupported_and_stores_nothing(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    with pytest.raises(UnsupportedFileTypeError, match="Unsupported file type") as caught:
        oneshot_client.upload_documents(pk, [pdf_part("fine"), FilePart(PNG_BYTES, "picture.pdf")])
    assert caught.value.status == 415
    assert oneshot_client.list_documents(pk) == []


def test_upload_beyond_the_per_request_maximum_is_invalid_input(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oneshot_simulator, "max_documents_per_request", 2)
    pk, _ = create_with_documents(oneshot_client, 2)
    with pytest.raises(InvalidInputError, match=f"Maximum number of document reached for Request {pk}"):
        oneshot_client.upload_document(pk, pdf_part("one too many"))


def test_upload_to_an_unknown_request_is_not_found(oneshot_client: OneShotClient) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        oneshot_client.upload_document(1, pdf_part("orphan"))


def test_upload_streams_a_non_seekable_file_in_bounded_reads(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    # Given a PDF of about 300 KB behind a stream that cannot seek or tell its size
    data = make_pdf("big\n" + "x" * 300_000)
    reader = ChunkedReader(data)
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    # When it is uploaded
    uploaded = oneshot_client.upload_document(pk, FilePart(reader, "big.pdf"))  # type: ignore[arg-type]
    # Then it was read in bounded chunks, never whole, and arrived intact
    assert reader.read_sizes
    assert all(0 < size <= 64 * 1024 for size in reader.read_sizes)
    assert oneshot_simulator.requests[pk].documents[uploaded.uid].original == data


def test_upload_of_a_non_rewindable_stream_that_must_be_resent_is_retryable(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    set_faults(oneshot_simulator, {"endpoints": {"document_upload": {"rate_limit_burst": 1}}})
    with pytest.raises(RetryableError, match="cannot be rewound"):
        oneshot_client.upload_document(pk, FilePart(ChunkedReader(make_pdf("once")), "once.pdf"))  # type: ignore[arg-type]
    assert oneshot_client.list_documents(pk) == []


def test_upload_of_a_seekable_stream_is_resent_after_429(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    set_faults(oneshot_simulator, {"endpoints": {"document_upload": {"rate_limit_burst": 1}}})
    data = make_pdf("twice")
    uploaded = oneshot_client.upload_document(pk, FilePart(io.BytesIO(data), "twice.pdf"))
    assert oneshot_simulator.calls["document_upload"] == 2
    assert oneshot_simulator.requests[pk].documents[uploaded.uid].original == data


def test_list_documents_of_an_empty_request_is_empty(oneshot_client: OneShotClient) -> None:
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    assert oneshot_client.list_documents(pk) == []


def test_list_documents_retries_5xx_as_an_idempotent_read(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, oneshot_sleeps: list[float]
) -> None:
    pk, _ = create_with_documents(oneshot_client)
    set_faults(oneshot_simulator, {"endpoints": {"documents_list": {"error_rate": 1.0, "error_status": 502}}})
    with pytest.raises(RetryableError) as caught:
        oneshot_client.list_documents(pk)
    assert caught.value.status == 502
    assert oneshot_simulator.calls["documents_list"] == oneshot_client.http.retry.max_attempts
    assert len(oneshot_sleeps) == oneshot_client.http.retry.max_attempts - 1


def test_contract_is_a_pdf(oneshot_client: OneShotClient) -> None:
    pk = oneshot_client.create_request(signer_identity(), id_evidence()).pk
    with oneshot_client.open_contract(pk) as stream:
        data = read_stream(stream.chunks)
    assert data.startswith(b"%PDF-")
    assert stream.content_length == len(data)
    assert f"Request {pk}" in PdfReader(io.BytesIO(data)).pages[0].extract_text()


def test_a_file_above_the_size_cap_is_refused_before_reading(oneshot_simulator: OneShotSimulator) -> None:
    client = OneShotClient(oneshot_simulator.api_url, oneshot_credentials(), max_file_bytes=100)
    pk = client.create_request(signer_identity(), id_evidence()).pk
    with pytest.raises(FileTooLargeError, match="100-byte cap"), client.open_contract(pk):
        pass


def test_contract_of_an_unknown_request_is_not_found(oneshot_client: OneShotClient) -> None:
    with pytest.raises(NotFoundError), oneshot_client.open_contract(999):
        pass


def test_delete_one_then_all_then_retrieve_is_not_found(oneshot_client: OneShotClient) -> None:
    pk, uids = create_with_documents(oneshot_client, 3)

    assert oneshot_client.delete_document(pk, uids[0]) is True
    assert oneshot_client.delete_document(pk, uids[0]) is False  # already gone
    with pytest.raises(NotFoundError), oneshot_client.open_document(pk, uids[0]):
        pass
    assert [info.uid for info in oneshot_client.list_documents(pk)] == uids[1:]

    assert oneshot_client.delete_all_documents(pk) is True
    assert oneshot_client.delete_all_documents(pk) is False  # nothing left
    assert oneshot_client.list_documents(pk) == []
    with pytest.raises(NotFoundError), oneshot_client.open_document(pk, uids[1]):
        pass


def test_delete_all_of_an_unknown_request_counts_as_already_gone(oneshot_client: OneShotClient) -> None:
    assert oneshot_client.delete_all_documents(12345) is False


# -- OTP and sign ---------------------------------------------------------------------------------------------------


def test_second_otp_within_a_minute_is_too_soon_and_allowed_after_it(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, _ = create_with_documents(oneshot_client)
    oneshot_client.send_otp(pk)
    first = oneshot_simulator.last_otp(pk=pk)

    with pytest.raises(OtpTooSoonError) as caught:
        oneshot_client.send_otp(pk)
    assert caught.value.status == 412
    assert caught.value.retry_after == 60
    assert isinstance(caught.value, RetryableError)
    assert len(oneshot_simulator.sms) == 1

    oneshot_simulator.advance_clock(61)
    oneshot_client.send_otp(pk)
    assert len(oneshot_simulator.sms) == 2
    assert oneshot_simulator.last_otp(phone=SIGNER_PHONE) is not None
    assert first is not None


def test_otp_5xx_is_uncertain_and_never_retried(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, _ = create_with_documents(oneshot_client)
    set_faults(oneshot_simulator, {"endpoints": {"otp": {"error_rate": 1.0}}})
    with pytest.raises(UncertainOutcomeError):
        oneshot_client.send_otp(pk)
    assert oneshot_simulator.calls["otp"] == 1


def test_wrong_otp_is_invalid_then_the_right_one_signs_and_a_second_sign_is_refused(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, _ = create_with_documents(oneshot_client, 2)
    oneshot_client.send_otp(pk)
    code = oneshot_simulator.last_otp(pk=pk)
    assert code is not None
    assert len(code) == 6
    wrong = "000000" if code != "000000" else "111111"

    with pytest.raises(InvalidOtpError, match="Confirmation Code invalid") as caught:
        oneshot_client.sign(pk, wrong)
    assert caught.value.status == 403

    result = oneshot_client.sign(pk, code)
    assert result.async_mode is False
    assert oneshot_simulator.requests[pk].status == "ISSUED"

    with pytest.raises(AlreadySignedError) as again:
        oneshot_client.sign(pk, code)
    assert again.value.status == 412
    with pytest.raises(InvalidRequestStatusError):
        oneshot_client.send_otp(pk)


def test_sign_without_an_otp_sent_is_invalid_otp(oneshot_client: OneShotClient) -> None:
    pk, _ = create_with_documents(oneshot_client)
    with pytest.raises(InvalidOtpError):
        oneshot_client.sign(pk, "123456")


def test_sign_of_an_unknown_request_is_not_found(oneshot_client: OneShotClient) -> None:
    with pytest.raises(NotFoundError, match="Cannot sign documents"):
        oneshot_client.sign(4242, "123456")


def test_signed_document_is_a_valid_pdf_different_from_the_original(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, uids = create_with_documents(oneshot_client, 2)
    with pytest.raises(NotFoundError), oneshot_client.open_document(pk, uids[0], "signed"):
        pass  # not signed yet

    oneshot_client.send_otp(pk)
    oneshot_client.sign(pk, oneshot_simulator.last_otp(pk=pk) or "")

    for uid in uids:
        with oneshot_client.open_document(pk, uid) as stream:
            original = read_stream(stream.chunks)
        with oneshot_client.open_document(pk, uid, "signed") as stream:
            signed = read_stream(stream.chunks)
        assert signed != original
        reader = PdfReader(io.BytesIO(signed))
        assert len(reader.pages) == len(PdfReader(io.BytesIO(original)).pages)  # signed, not stamped
        assert signed.startswith(original)  # an incremental update over the uploaded file
        assert signer_names(signed) == ["Ana García López"]


def test_sign_with_an_appearance_and_an_uploaded_stamp_image(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, _ = create_with_documents(oneshot_client)
    image_uid = oneshot_client.upload_image(FilePart(PNG_BYTES, "stamp.png", "image/png"))
    assert image_uid in oneshot_simulator.images
    appearance = SignatureAppearance(
        text=["Signed by Ana"],
        date="%d/%m/%Y",
        timezone="Europe/Madrid",
        position=(300, 100, 500, 150.5),
        page=0,
        image=image_uid,
    )
    oneshot_client.send_otp(pk)
    assert oneshot_client.sign(pk, oneshot_simulator.last_otp(pk=pk) or "", appearance=appearance).async_mode is False


def test_sign_with_an_unknown_stamp_image_is_not_found(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, _ = create_with_documents(oneshot_client)
    oneshot_client.send_otp(pk)
    with pytest.raises(NotFoundError, match="Image with uid"):
        oneshot_client.sign(pk, oneshot_simulator.last_otp(pk=pk) or "", appearance=SignatureAppearance(image="nope"))


def test_upload_image_that_is_not_png_is_unsupported(oneshot_client: OneShotClient) -> None:
    with pytest.raises(UnsupportedFileTypeError, match="Image file type not supported"):
        oneshot_client.upload_image(FilePart(make_pdf("x"), "stamp.png", "image/png"))


def test_async_sign_answers_at_once_and_the_callback_reports_issued(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator, oneshot_callback_receiver: WebhookReceiver
) -> None:
    # Given an async request with a callback
    created = oneshot_client.create_request(
        signer_identity(), id_evidence(), use_async=True, callback_url=oneshot_callback_receiver.url
    )
    assert created.async_mode is True
    uids = [document.uid for document in oneshot_client.upload_documents(created.pk, [pdf_part("async")])]
    oneshot_client.send_otp(created.pk)
    # When the signer's code is submitted
    result = oneshot_client.sign(created.pk, oneshot_simulator.last_otp(pk=created.pk) or "")
    # Then the answer comes before the signature, and the callback reports the certificate
    assert result.async_mode is True
    assert "going to be signed" in result.message
    wait_for(lambda: "REQUEST_ENROLLED" in oneshot_callback_receiver.events())
    assert oneshot_callback_receiver.events() == ["REQUEST_CREATED", "REQUEST_APPROVED", "REQUEST_ENROLLED"]
    enrolled = oneshot_callback_receiver.bodies[-1]
    assert enrolled["request"]["pk"] == created.pk
    assert enrolled["request"]["status"] == "ISSUED"
    assert enrolled["certificates"][0]["status"] == "VALID"
    with oneshot_client.open_document(created.pk, uids[0], "signed") as stream:
        assert read_stream(stream.chunks).startswith(b"%PDF-")


def test_sign_5xx_is_uncertain_and_never_retried(
    oneshot_client: OneShotClient, oneshot_simulator: OneShotSimulator
) -> None:
    pk, _ = create_with_documents(oneshot_client)
    oneshot_client.send_otp(pk)
    set_faults(oneshot_simulator, {"endpoints": {"sign": {"error_rate": 1.0, "error_status": 500}}})
    with pytest.raises(UncertainOutcomeError):
        oneshot_client.sign(pk, oneshot_simulator.last_otp(pk=pk) or "")
    assert oneshot_simulator.calls["sign"] == 1


# -- configuration --------------------------------------------------------------------------------------------------


def test_credentials_need_a_token_or_username_password_and_pin() -> None:
    with pytest.raises(ValueError, match="RAO token"):
        OneShotCredentials.model_validate({"username": "9001800", "password": "secret"})
    with pytest.raises(ValueError, match="billing"):
        OneShotCredentials.model_validate({"token": "t", "billing_username": "only-the-user"})


def test_credentials_refuse_a_billing_password_that_is_not_base64() -> None:
    with pytest.raises(ValueError, match="Base64") as caught:
        OneShotCredentials.model_validate({"token": "t", "billing_username": "u", "billing_password": "plain secret!"})
    assert "plain secret!" not in str(caught.value)


def test_credentials_never_show_secrets_in_their_repr() -> None:
    credentials = OneShotCredentials.model_validate(
        {"token": "token-value", "billing_username": "u", "billing_password": "YmlsbGluZy1zZWNyZXQ="}
    )
    assert "token-value" not in repr(credentials)
    assert "YmlsbGluZy1zZWNyZXQ=" not in repr(credentials)


def test_credentials_may_leave_billing_authority_and_profile_to_the_optimizer() -> None:
    # Given credentials with the RAO token only (the rest preset in the Optimizer's settings,
    # docs/providers/oneshot.md §5.3)
    credentials = OneShotCredentials.model_validate({"token": SANDBOX_TOKEN})
    # Then only the token travels in the body
    assert credentials.body_fields() == [("token", SANDBOX_TOKEN)]


@pytest.mark.parametrize("field", ["token", "billing_username", "registration_authority", "profile"])
def test_credentials_refuse_an_empty_value(field: str) -> None:
    values = {
        "token": SANDBOX_TOKEN,
        "billing_username": "u",
        "billing_password": base64.b64encode(b"p").decode(),
        "registration_authority": "139",
        "profile": "PFnubeQAFCiudadano",
    } | {field: ""}
    with pytest.raises(ValueError, match="must not be empty"):
        OneShotCredentials.model_validate(values)


def test_client_refuses_an_http_configured_for_another_url() -> None:
    with pytest.raises(ValueError, match="configured for"):
        OneShotClient(
            "https://a.example/oneshot/api/v1/",
            oneshot_credentials(),
            http=ProviderHttp("oneshot", "https://b.example/"),
        )


# -- response readers (no sockets) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"status": "success", "message": "Request created with pk 388141", "details": {"pk": 388141}},  # GUESS new
        {"status": "success", "detail": {"pk": "388141"}},
        {"status": "success", "pk": 388141},
        {"status": "201 Created", "details": 388141},  # legacy
        {"status": "success", "message": "Request created with pk 388141"},
        {"status": "success", "messsage": "Request created with PK: 388141", "detail": {}},
    ],
)
def test_parse_request_pk_reads_every_documented_shape(body: dict[str, Any]) -> None:
    assert parse_request_pk(body) == 388141


@pytest.mark.parametrize("body", [None, "388141", {"status": "success"}, {"details": True}, {"message": "created"}])
def test_parse_request_pk_finds_nothing_in_other_shapes(body: object) -> None:
    assert parse_request_pk(body) is None


def test_parse_uploaded_uids_new_single_file() -> None:
    body = {"status": "success", "detail": {"name": "file", "uid": "604b889f-6b3a-4af7-a24a-b5e610e7f7c1"}}
    assert parse_uploaded_uids(body, ["file"]) == ["604b889f-6b3a-4af7-a24a-b5e610e7f7c1"]


def test_parse_uploaded_uids_guessed_new_list_is_mapped_by_name() -> None:
    body = {"status": "success", "detail": [{"name": "file2", "uid": "u2"}, {"name": "file", "uid": "u1"}]}
    assert parse_uploaded_uids(body, ["file", "file2"]) == ["u1", "u2"]


def test_parse_uploaded_uids_legacy_list_is_mapped_by_key_whatever_its_order() -> None:
    body = {
        "status": "200 OK",
        "details": [
            {"digest": "ab", "uid": "u2", "key": "file2", "filename": "doc.pdf"},
            {"digest": "cd", "uid": "u1", "key": "file", "filename": "doc.pdf"},
        ],
    }
    assert parse_uploaded_uids(body, ["file", "file2"]) == ["u1", "u2"]


def test_parse_uploaded_uids_legacy_string() -> None:
    assert parse_uploaded_uids({"status": "200 OK", "details": "u1"}, ["file"]) == ["u1"]


def test_parse_uploaded_uids_without_names_keeps_the_answer_order() -> None:
    assert parse_uploaded_uids({"detail": [{"uid": "u1"}, {"uid": "u2"}]}, ["file", "file2"]) == ["u1", "u2"]


@pytest.mark.parametrize(
    "body",
    [None, {"status": "success"}, {"detail": {"name": "file"}}, {"detail": [{"uid": "u1"}]}, {"details": "u1"}],
)
def test_parse_uploaded_uids_refuses_an_answer_that_does_not_cover_every_file(body: object) -> None:
    assert parse_uploaded_uids(body, ["file", "file2"]) is None


def test_parse_token_uids_new_guess_legacy_and_list() -> None:
    legacy = {"status": "200 OK", "details": {"t1": {"username": "1125824", "password": True, "pin": True}}}
    assert parse_token_uids(legacy) == ["t1"]
    assert parse_token_uids({"status": "success", "detail": {"t1": {}, "t2": {}}}) == ["t1", "t2"]
    assert parse_token_uids({"details": [{"token_uid": "t1"}, "t2"]}) == ["t1", "t2"]
    assert parse_token_uids({"status": "success"}) == []


def test_parse_token_and_image_uids() -> None:
    assert parse_token_uid({"status": "success", "message": "Token created", "details": {"token_uid": "t1"}}) == "t1"
    assert parse_token_uid({"status": "200 OK", "details": "a44765ab8ca04e429a565f02d22179a0"}) == (
        "a44765ab8ca04e429a565f02d22179a0"
    )
    uid = "463156ce-d566-44d2-94e9-184d89632b98"
    assert parse_image_uid({"status": "success", "details": {"image_uid": uid}}) == uid
    assert parse_image_uid({"status": "success", "message": f"Image uploaded with uid '{uid}'"}) == uid
    assert parse_image_uid({"status": "success"}) is None


def test_parse_document_list_new_and_legacy() -> None:
    assert parse_document_list({"status": "success", "detail": {"u1": {}}}) == [DocumentInfo("u1")]
    legacy = {
        "details": {"u1": {"upload_date": "11/11/2019 18:03:07", "ext": ".pdf", "size": 1234, "filename": "a.pdf"}}
    }
    assert parse_document_list(legacy) == [DocumentInfo("u1", "a.pdf", 1234)]


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (400, "Please use the mobile phone number with an international prefix", InvalidInputError),
        (422, "body.email: field required", InvalidInputError),
        (403, "Confirmation Code invalid", InvalidOtpError),
        (403, "Invalid RAO Credentials", InvalidCredentialsError),
        (404, "Request 1 not found", NotFoundError),
        (412, "Error occured during OTP generation: Otp generated less than a minute ago", OtpTooSoonError),
        (412, "Request already in ISSUED status", AlreadySignedError),
        (412, "Error occured during OTP generation: Invalid request status", InvalidRequestStatusError),
        (415, "Unsupported file type: image/png", UnsupportedFileTypeError),
        (412, "Error occured during request approval: Invalid request fields: email", PermanentError),
        (403, "You do not have permission to perform this action", PermanentError),
    ],
)
def test_classify_error_by_status_then_text(status: int, text: str, expected: type[Exception]) -> None:
    refined = classify_error(PermanentError("oneshot", "op", text, status=status, raw_body="{}"))
    assert type(refined) is expected
    assert refined.status == status
    assert refined.raw_body == "{}"


def test_classify_error_known_500_texts_are_permanent_and_others_stay_uncertain() -> None:
    billing = UncertainOutcomeError(
        "oneshot", "create_request", "Billing credentials not valid. Please check", status=500
    )
    assert type(classify_error(billing)) is InvalidCredentialsError
    fields = UncertainOutcomeError("oneshot", "create_request", "email: This field is required", status=500)
    assert type(classify_error(fields)) is InvalidInputError
    other = UncertainOutcomeError("oneshot", "create_request", "Cannot check the remaining credit", status=500)
    assert classify_error(other) is other


def test_multipart_body_length_matches_what_it_sends_and_it_replays() -> None:
    body = MultipartBody(
        [("given_name", "Ána")],
        [("file", FilePart(b"%PDF-1", 'a"b.pdf')), ("file2", FilePart(io.BytesIO(b"%PDF-22"), "b.pdf"))],
        provider="oneshot",
        operation="test",
    )
    first = b"".join(body)
    assert len(body) == len(first)
    assert b"".join(body) == first  # a retry sends the same bytes
    assert b'filename="a%22b.pdf"' in first
    assert body.content_type.endswith(body.boundary)


def test_signature_appearance_json() -> None:
    appearance = SignatureAppearance(text=["a"], position=(300, 100, 500.5, 150), page=1)
    assert appearance.to_json() == {"text": ["a"], "position": "300,100,500.5,150", "page": 1}
