"""Client input: strict checks, reported at the field they concern, with messages that say what was expected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from signbridge.domain.models import MAX_DOCUMENTS, IdImageKind, Workflow
from signbridge.handlers.api.bodies import CreateRequestBody
from tests.support.samples import (
    GIF_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    b64,
    create_body,
    document_body,
    signer_body,
)


def errors_of(body: dict[str, Any]) -> dict[tuple[str | int, ...], str]:
    """{location: message} of a body that must be refused."""
    with pytest.raises(ValidationError) as caught:
        CreateRequestBody.model_validate(body)
    return {tuple(error["loc"]): error["msg"] for error in caught.value.errors()}


def with_signer(workflow: Workflow, **fields: Any) -> dict[str, Any]:
    return create_body(workflow, signers=[signer_body(workflow, **fields)])


def with_document(workflow: Workflow = Workflow.ZAPSIGN, **fields: Any) -> dict[str, Any]:
    return create_body(workflow, documents=[document_body(**fields)])


# ------------------------------------------------------------------------------------------------ valid bodies


@pytest.mark.parametrize("workflow", list(Workflow))
def test_a_complete_body_is_accepted_for_every_workflow(workflow: Workflow) -> None:
    # Given a body with what the workflow needs
    # When it is validated
    body = CreateRequestBody.model_validate(create_body(workflow))
    # Then it is accepted as given
    assert body.workflow is workflow
    assert body.signers[0].display_name == "Ana Souza"
    assert body.documents[0].content() == PDF_BYTES


def test_a_document_without_content_is_declared_for_upload() -> None:
    # Given a document with only a name, a size and a digest
    body = CreateRequestBody.model_validate(with_document(inline=False, size=1234, sha256="a" * 64))
    # Then it is a declared upload
    assert not body.documents[0].is_inline
    assert body.documents[0].content() is None


def test_inline_bytes_counts_documents_and_id_images() -> None:
    # Given a oneshot body with one inline PDF and three images
    body = CreateRequestBody.model_validate(create_body(Workflow.ONESHOT))
    # Then the decoded total is what the API compares with its cap
    assert body.inline_bytes() == len(PDF_BYTES) + 2 * len(JPEG_BYTES) + len(PNG_BYTES)
    assert body.signers[0].id_image(IdImageKind.DOCUMENT_OWNER) == PNG_BYTES


def test_the_display_name_defaults_to_the_given_name_and_surnames() -> None:
    # Given a One-Shot signer without a display name
    # When validated
    # Then the name shown at ZapSign is built from the given name and surnames
    body = CreateRequestBody.model_validate(with_signer(Workflow.ZAPSIGN_ONESHOT, name=None))
    assert body.signers[0].display_name == "Ana Souza Lima"


# ------------------------------------------------------------------------------------------------ field formats


@pytest.mark.parametrize(
    "email", ["ana", "ana@", "@example.com", "ana@example", "ana @example.com", "ana@exa_mple.com", "a..b@example.com"]
)
def test_a_malformed_email_is_refused_at_its_field(email: str) -> None:
    # Given a signer with a malformed address
    errors = errors_of(with_signer(Workflow.ZAPSIGN, email=email))
    # Then the error names the field and shows what an address looks like
    assert errors == {("signers", 0, "email"): "an email address such as ana@example.com"}


@pytest.mark.parametrize("email", ["ana@example.com", "ana.souza+contracts@mail.example.com.br", "A_B@EXAMPLE.PT"])
def test_a_plain_email_is_accepted(email: str) -> None:
    # Given an ordinary address
    # When validated
    # Then it is accepted
    CreateRequestBody.model_validate(with_signer(Workflow.ZAPSIGN, email=email))


@pytest.mark.parametrize("phone", ["600111222", "+34 600 111 222", "0034600111222", "+0600111222", "+34-600", "+3"])
def test_a_phone_without_international_prefix_is_refused(phone: str) -> None:
    # Given a phone number not in E.164 form
    # When validated
    # Then the error names the field and shows an example
    errors = errors_of(with_signer(Workflow.ONESHOT, phone=phone))
    assert "international prefix" in errors[("signers", 0, "phone")]
    assert "+34600111222" in errors[("signers", 0, "phone")]


@pytest.mark.parametrize("phone", ["+34600111222", "+5511998989222", "+12025550123"])
def test_an_e164_phone_is_accepted(phone: str) -> None:
    # Given an E.164 phone number
    # When validated
    # Then it is accepted
    CreateRequestBody.model_validate(with_signer(Workflow.ONESHOT, phone=phone))


def test_an_id_document_type_outside_one_shots_list_is_refused() -> None:
    # Given an ID document type One-Shot does not know
    # When validated
    # Then the error lists the accepted types
    errors = errors_of(with_signer(Workflow.ONESHOT, id_document_type="DNI"))
    message = errors[("signers", 0, "id_document_type")]
    assert all(option in message for option in ("IDC", "PAS", "PNO", "TIN", "CI", "CE"))


@pytest.mark.parametrize("kind", ["IDC", "PAS", "PNO", "TIN", "CI", "CE"])
def test_every_one_shot_id_document_type_is_accepted(kind: str) -> None:
    # Given each of One-Shot's ID document types
    # When validated
    # Then it is accepted
    CreateRequestBody.model_validate(with_signer(Workflow.ONESHOT, id_document_type=kind))


@pytest.mark.parametrize("country", ["es", "ESP", "XX", "XK", "E", "UK"])
def test_a_country_that_is_not_an_iso_alpha2_code_is_refused(country: str) -> None:
    # Given a country that is not an assigned ISO 3166-1 alpha-2 code in capitals
    # When validated
    # Then the error says what is expected
    errors = errors_of(with_signer(Workflow.ONESHOT, id_document_country=country))
    assert "ISO 3166-1 alpha-2" in errors[("signers", 0, "id_document_country")]


@pytest.mark.parametrize("country", ["ES", "BR", "PT", "AX", "ZW", "GB"])
def test_an_iso_alpha2_country_is_accepted(country: str) -> None:
    # Given an assigned ISO 3166-1 alpha-2 code
    # When validated
    # Then it is accepted
    CreateRequestBody.model_validate(with_signer(Workflow.ONESHOT, id_document_country=country))


@pytest.mark.parametrize("id_number", ["", "12 345", "12345678Z!", "X" * 33, "-123"])
def test_a_malformed_id_number_is_refused(id_number: str) -> None:
    # Given a malformed ID number
    # When validated
    # Then the error is at the field
    errors = errors_of(with_signer(Workflow.ONESHOT, id_number=id_number))
    assert ("signers", 0, "id_number") in errors


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "not blank"),
        ("   ", "not blank"),
        ("x" * 256, "at most 255 characters"),
        ("contracts/a.pdf", "path separators"),
        ("..\\a.pdf", "path separators"),
        ("..", "path separators"),
        ("a\x00b.pdf", "control"),
        ("line\nbreak.pdf", "control"),
        ("invoice\u202efdp.exe", "control"),
    ],
)
def test_a_bad_document_name_is_refused_with_the_reason(name: str, expected: str) -> None:
    # Given a document name that is blank, too long, a path or with control characters
    # When validated
    # Then the error at the name says why
    errors = errors_of(with_document(name=name))
    assert expected in errors[("documents", 0, "name")]


@pytest.mark.parametrize("name", ["Contrato de prestação.pdf", "x" * 255, "Anexo (1) - versão final.pdf"])
def test_an_ordinary_document_name_is_accepted(name: str) -> None:
    # Given an ordinary name, accents and all
    # When validated
    # Then it is accepted
    CreateRequestBody.model_validate(with_document(name=name))


def test_inline_content_that_is_not_a_pdf_is_refused() -> None:
    # Given inline content that is HTML
    # When validated
    # Then the error says a PDF starts with %PDF-
    errors = errors_of(with_document(content_base64=b64(b"<html>not a pdf</html>")))
    assert "%PDF-" in errors[("documents", 0, "content_base64")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not base64!", "standard base64"),
        ("data:application/pdf;base64," + b64(PDF_BYTES), "without a 'data:"),
    ],
)
def test_inline_content_must_be_raw_base64(content: str, expected: str) -> None:
    # Given content that is not raw base64
    # When validated
    # Then the error says what is expected
    errors = errors_of(with_document(content_base64=content))
    assert expected in errors[("documents", 0, "content_base64")]


def test_base64_wrapped_over_lines_is_accepted() -> None:
    # Given base64 wrapped over several lines
    # When validated
    # Then the PDF decodes as sent
    encoded = b64(PDF_BYTES)
    wrapped = "\n".join(encoded[i : i + 16] for i in range(0, len(encoded), 16))
    body = CreateRequestBody.model_validate(with_document(content_base64=wrapped))
    assert body.documents[0].content() == PDF_BYTES


def test_a_declared_sha256_must_match_inline_content() -> None:
    # Given inline content with a digest of something else
    # When validated
    # Then the mismatch is reported at the digest
    errors = errors_of(with_document(sha256="b" * 64))
    assert errors == {("documents", 0, "sha256"): "does not match content_base64"}


@pytest.mark.parametrize("digest", ["B" * 64, "a" * 63, "g" * 64])
def test_a_sha256_must_be_64_lowercase_hex(digest: str) -> None:
    # Given a digest that is not 64 lowercase hex characters
    # When validated
    # Then the error says the expected form
    errors = errors_of(with_document(inline=False, sha256=digest))
    assert "64 lowercase hexadecimal" in errors[("documents", 0, "sha256")]


def test_a_size_is_only_for_uploads() -> None:
    # Given inline content with a declared size
    # When validated
    # Then the size is refused: it only applies to uploads
    errors = errors_of(with_document(size=10))
    assert "only for documents to upload" in errors[("documents", 0, "size")]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (b64(GIF_BYTES), "a JPEG or PNG image"),
        (b64(b"%PDF-1.7"), "a JPEG or PNG image"),
        ("%%%", "standard base64"),
    ],
)
def test_an_id_image_must_be_a_jpeg_or_png(image: str, expected: str) -> None:
    # Given an ID image that is not a base64 JPEG or PNG
    # When validated
    # Then the error is at the image field
    errors = errors_of(with_signer(Workflow.ONESHOT, document_front=image))
    assert expected in errors[("signers", 0, "document_front")]


# ------------------------------------------------------------------------------------------------ workflow rules


@pytest.mark.parametrize("missing", ["given_name", "first_surname", "id_number", "phone", "email"])
@pytest.mark.parametrize("workflow", [Workflow.ONESHOT, Workflow.ZAPSIGN_ONESHOT])
def test_one_shot_workflows_need_the_identity_fields(workflow: Workflow, missing: str) -> None:
    # Given a One-Shot signer without one of the fields One-Shot requires
    body = create_body(workflow, signers=[{k: v for k, v in signer_body(workflow).items() if k != missing}])
    # When validated
    errors = errors_of(body)
    # Then exactly that field is reported, with the workflow that needs it
    assert errors == {("signers", 0, missing): f"required for the {workflow.value} workflow"}


@pytest.mark.parametrize("image", [kind.value for kind in IdImageKind])
def test_oneshot_needs_each_id_image(image: str) -> None:
    # Given a oneshot signer without one of the three ID images
    # When validated
    # Then exactly that image is reported missing
    body = create_body(
        Workflow.ONESHOT, signers=[{k: v for k, v in signer_body(Workflow.ONESHOT).items() if k != image}]
    )
    errors = errors_of(body)
    assert errors == {("signers", 0, image): "required for the oneshot workflow: a base64 JPEG or PNG image"}


@pytest.mark.parametrize("workflow", [Workflow.ZAPSIGN, Workflow.ZAPSIGN_ONESHOT])
def test_id_images_are_refused_where_zapsign_collects_them(workflow: Workflow) -> None:
    # Given ID images sent for a workflow where ZapSign collects them
    # When validated
    # Then they are refused, saying why
    errors = errors_of(with_signer(workflow, document_front=b64(JPEG_BYTES)))
    assert errors == {
        ("signers", 0, "document_front"): f"not used by the {workflow.value} workflow: ZapSign collects the ID photos"
    }


def test_zapsign_needs_a_name_to_show() -> None:
    # Given a ZapSign signer without any name
    # When validated
    # Then the name is reported missing
    body = create_body(Workflow.ZAPSIGN, signers=[{"email": "ana@example.com"}])
    errors = errors_of(body)
    assert errors == {
        ("signers", 0, "name"): "required for the zapsign workflow (or give given_name and first_surname)"
    }


def test_zapsign_alone_needs_neither_phone_nor_identity() -> None:
    # Given a ZapSign-only signer with just a name
    # When validated
    # Then it is accepted
    CreateRequestBody.model_validate(create_body(Workflow.ZAPSIGN, signers=[{"name": "Ana Souza"}]))


def test_every_signer_is_checked_and_reported_by_position() -> None:
    # Given two One-Shot signers, the second without a phone
    second = {k: v for k, v in signer_body(Workflow.ONESHOT).items() if k != "phone"}
    errors = errors_of(create_body(Workflow.ONESHOT, signers=[signer_body(Workflow.ONESHOT), second]))
    # Then the error is located at the second signer
    assert list(errors) == [("signers", 1, "phone")]


# ------------------------------------------------------------------------------------------------ body shape


@pytest.mark.parametrize("field", ["documents", "signers"])
def test_at_least_one_document_and_one_signer(field: str) -> None:
    # Given a body with no documents or no signers
    # When validated
    # Then the empty list is reported
    errors = errors_of(create_body(Workflow.ZAPSIGN, **{field: []}))
    assert errors == {(field,): "List should have at least 1 item after validation, not 0"}


def test_too_many_documents_are_refused() -> None:
    # Given more documents than ZapSign takes in one document
    # When validated
    # Then the list is refused
    errors = errors_of(create_body(Workflow.ZAPSIGN, documents=[document_body()] * (MAX_DOCUMENTS + 1)))
    assert ("documents",) in errors


@pytest.mark.parametrize(
    ("body_change", "location"),
    [
        ({"colour": "blue"}, ("colour",)),
        ({"signers": [signer_body(Workflow.ZAPSIGN, nickname="Ana")]}, ("signers", 0, "nickname")),
        ({"documents": [document_body(url="https://example.com/a.pdf")]}, ("documents", 0, "url")),
    ],
)
def test_unknown_fields_are_refused_where_they_appear(body_change: dict[str, Any], location: tuple) -> None:
    # Given an unknown field at the top, in a signer or in a document
    # When validated
    # Then it is refused where it appears
    errors = errors_of(create_body(Workflow.ZAPSIGN, **body_change))
    assert errors == {location: "Extra inputs are not permitted"}


def test_an_unknown_workflow_is_refused() -> None:
    # Given a workflow SignBridge does not have
    # When validated
    # Then the error lists the workflows
    errors = errors_of(create_body(Workflow.ZAPSIGN) | {"workflow": "docusign"})
    assert "'zapsign', 'oneshot' or 'zapsign_oneshot'" in errors[("workflow",)]


def test_a_deadline_must_be_in_the_future() -> None:
    # Given a deadline a minute ago
    # When validated
    # Then it is refused
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    errors = errors_of(create_body(Workflow.ZAPSIGN, deadline=past))
    assert errors == {("deadline",): "a time in the future, with its UTC offset"}


def test_a_deadline_must_carry_its_offset() -> None:
    # Given a deadline without a UTC offset
    # When validated
    # Then it is refused
    errors = errors_of(create_body(Workflow.ZAPSIGN, deadline="2999-01-01T00:00:00"))
    assert "timezone" in errors[("deadline",)]


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(21)},
        {"bad key": "v"},
        {"k": "x" * 513},
        {"k": "tab\tinside"},
    ],
)
def test_metadata_is_bounded(metadata: dict[str, str]) -> None:
    # Given metadata too large, with a bad key, a long value or a control character
    # When validated
    # Then it is refused
    errors = errors_of(create_body(Workflow.ZAPSIGN, metadata=metadata))
    assert ("metadata",) in errors


@pytest.mark.parametrize("external_id", ["", "x" * 129, "line\nbreak"])
def test_external_id_is_bounded(external_id: str) -> None:
    # Given an external id that is empty, too long or has a line break
    # When validated
    # Then it is refused
    errors = errors_of(create_body(Workflow.ZAPSIGN, external_id=external_id))
    assert ("external_id",) in errors


# ------------------------------------------------------------------------------------------------ names in schema


def test_the_refused_ranges_of_the_document_name_pattern_are_unicodes_control_and_format_characters() -> None:
    import sys  # noqa: PLC0415
    import unicodedata  # noqa: PLC0415

    from signbridge.domain.validation import CONTROL_CHARACTER_RANGES  # noqa: PLC0415

    # The ranges follow Unicode 15.1 (Python 3.13, the Lambda runtime); an older interpreter's Unicode lacks some of
    # them (they are unassigned there) but has no control or format character outside them.
    listed = {code for low, high in CONTROL_CHARACTER_RANGES for code in range(low, high + 1)}
    found = {code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) in ("Cc", "Cf")}
    assert found <= listed
    assert all(unicodedata.category(chr(code)) == "Cn" for code in listed - found)
    if unicodedata.unidata_version == "15.1.0":
        assert listed == found


@pytest.mark.parametrize(
    "name",
    ["contract.pdf", "a", " x ", "Contrato de compraventa (2).pdf", "...a", "", " ", ".", "..", "...", " . ",
     "a/b", "a\\b", "in\u202efdp.exe", "tab\there", "zero\u200bwidth", "\U000e0001tag", "x" * 255, "x" * 256],
)  # fmt: skip
def test_the_openapi_schema_of_a_document_name_accepts_exactly_what_the_api_accepts(name: str) -> None:
    import re  # noqa: PLC0415

    from pydantic import TypeAdapter  # noqa: PLC0415

    from signbridge.domain.validation import DocumentName  # noqa: PLC0415

    adapter = TypeAdapter(DocumentName)
    schema = adapter.json_schema()
    by_schema = schema["minLength"] <= len(name) <= schema["maxLength"] and re.search(schema["pattern"], name)
    try:
        adapter.validate_python(name)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert bool(by_schema) == accepted
