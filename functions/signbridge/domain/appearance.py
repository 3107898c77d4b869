"""The visible qualified signature of a One-Shot request, as the client gives it and as the request stores it
(`SignatureRequest.signature_appearance` holds its JSON fields; the sign call reads them back through this model)."""

from __future__ import annotations

from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from signbridge.domain.validation import AppearanceLine, DateFormat, ImageUid, TimeZoneName
from signbridge.domain.validation import field_error as _error

MAX_PAGE_POINTS: Final = 14_400  # PDF's largest page side (200 inches); anything beyond is a client mistake
MAX_APPEARANCE_LINES: Final = 6


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SignaturePosition(_Input):
    """A rectangle in PDF points (1 px = 0.75 pt) from the page's bottom-left corner
    (docs/providers/oneshot.md §5.5)."""

    x1: float = Field(ge=0, le=MAX_PAGE_POINTS)
    y1: float = Field(ge=0, le=MAX_PAGE_POINTS)
    x2: float = Field(ge=0, le=MAX_PAGE_POINTS)
    y2: float = Field(ge=0, le=MAX_PAGE_POINTS)

    @model_validator(mode="after")
    def _check_corners(self) -> Self:
        errors = []
        if self.x2 <= self.x1:
            errors.append(_error(("x2",), "greater than x1 (x1,y1 is the lower-left corner)", kind="position"))
        if self.y2 <= self.y1:
            errors.append(_error(("y2",), "greater than y1 (x1,y1 is the lower-left corner)", kind="position"))
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


class SignatureAppearance(_Input):
    """`oneshot` and `zapsign_oneshot`: how the qualified signature shows on the page (the Optimizer's
    `signature.appearance`, docs/providers/oneshot.md §5.5). Applied to every document of the request."""

    text: list[AppearanceLine] | None = Field(
        default=None, min_length=1, max_length=MAX_APPEARANCE_LINES, description="Lines of text in the stamp."
    )
    date_format: DateFormat | None = Field(
        default=None, description="strftime pattern of the signing time in the stamp, e.g. %d/%m/%Y %H:%M:%S."
    )
    timezone: TimeZoneName | None = Field(default=None, description="IANA time zone of that time, e.g. Europe/Madrid.")
    position: SignaturePosition | None = None
    page: int | None = Field(default=None, ge=0, description="0-based page number.")
    image_uid: ImageUid | None = Field(default=None, description="uid of a stamp image uploaded to the Optimizer.")
