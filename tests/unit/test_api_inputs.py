"""The API's input models beyond the create body's people and documents: the One-Shot signature appearance, the
cancel body and the SMS code body. Strict, and every refusal located at its field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from signbridge.domain.models import Workflow
from signbridge.handlers.api.bodies import CancelRequestBody, CreateRequestBody, SignatureAppearance, SubmitOtpBody
from tests.support.samples import create_body

APPEARANCE = {
    "text": ["Firmado digitalmente", "por Ana Souza"],
    "date_format": "%d/%m/%Y %H:%M:%S",
    "timezone": "America/Argentina/Buenos_Aires",
    "position": {"x1": 350, "y1": 60.5, "x2": 550, "y2": 120},
    "page": 2,
    "image_uid": "604b889f-6b3a-4af7-a24a-b5e610e7f7c1",
}


def refused(model: type[BaseModel], value: dict[str, Any]) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(value)
    return {tuple(error["loc"]): error["type"] for error in caught.value.errors()}


@pytest.mark.parametrize("workflow", [Workflow.ONESHOT, Workflow.ZAPSIGN_ONESHOT])
def test_a_one_shot_request_takes_a_signature_appearance_and_dumps_it_as_stored(workflow: Workflow) -> None:
    body = CreateRequestBody.model_validate(create_body(workflow, signature_appearance=APPEARANCE))

    assert body.signature_appearance is not None
    stored = body.signature_appearance.model_dump(mode="json", exclude_none=True)
    assert stored["position"] == {"x1": 350.0, "y1": 60.5, "x2": 550.0, "y2": 120.0}
    assert SignatureAppearance.model_validate(stored) == body.signature_appearance


def test_a_zapsign_request_refuses_a_signature_appearance_at_its_field() -> None:
    assert refused(CreateRequestBody, create_body(Workflow.ZAPSIGN, signature_appearance=APPEARANCE)) == {
        ("signature_appearance",): "workflow_requirement"
    }


@pytest.mark.parametrize(
    ("change", "location", "error_type"),
    [
        ({"position": {"x1": 550, "y1": 60, "x2": 350, "y2": 120}}, ("position", "x2"), "position"),
        ({"position": {"x1": 350, "y1": 120, "x2": 550, "y2": 120}}, ("position", "y2"), "position"),
        ({"position": {"x1": -1, "y1": 60, "x2": 550, "y2": 120}}, ("position", "x1"), "greater_than_equal"),
        ({"timezone": "Madrid time"}, ("timezone",), "time_zone"),
        ({"date_format": "dd/mm/yyyy"}, ("date_format",), "date_format"),
        ({"text": []}, ("text",), "too_short"),
        ({"text": ["line\u202eenil"]}, ("text", 0), "appearance_text"),
        ({"page": -1}, ("page",), "greater_than_equal"),
        ({"image_uid": "../etc/passwd"}, ("image_uid",), "image_uid"),
        ({"opacity": 0.5}, ("opacity",), "extra_forbidden"),
    ],
)
def test_an_appearance_that_is_not_what_the_optimizer_takes_is_refused_at_its_field(
    change: dict[str, Any], location: tuple[str | int, ...], error_type: str
) -> None:
    assert refused(SignatureAppearance, APPEARANCE | change) == {location: error_type}


def test_the_sms_code_is_4_to_8_digits_and_stays_out_of_repr() -> None:
    assert SubmitOtpBody.model_validate({"code": "0123"}).code == "0123"
    assert "98765432" not in repr(SubmitOtpBody(code="98765432"))
    for code in ("123", "123456789", "12a456", " 123456x"):
        assert refused(SubmitOtpBody, {"code": code}) == {("code",): "string_pattern_mismatch"}
    assert refused(SubmitOtpBody, {"code": "123456", "signer": 0}) == {("signer",): "extra_forbidden"}


def test_a_cancel_reason_is_one_short_line() -> None:
    assert CancelRequestBody.model_validate({}).reason is None
    assert CancelRequestBody.model_validate({"reason": "withdrawn"}).reason == "withdrawn"
    assert refused(CancelRequestBody, {"reason": "x" * 201}) == {("reason",): "string_too_long"}
    assert refused(CancelRequestBody, {"reason": "a\nb"}) == {("reason",): "string_pattern_mismatch"}
    assert refused(CancelRequestBody, {"reason": ""}) == {("reason",): "string_too_short"}
