"""What creating a request needs to know, as the use case reads it: a validated new request, its signers and its
documents. The API's request bodies (`signbridge.handlers.api.bodies.CreateRequestBody` & co.) satisfy these
protocols structurally; the workflow never imports the HTTP edge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from signbridge.domain.models import IdImageKind, Language, Workflow


class NewDocument(Protocol):
    """A PDF given inline (`content()` is its bytes) or declared for a presigned upload (`content()` is None)."""

    @property
    def name(self) -> str: ...

    @property
    def sha256(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...

    @property
    def is_inline(self) -> bool: ...

    def content(self) -> bytes | None: ...


class NewSigner(Protocol):
    """A signer as the client describes it; values the use case copies onto the stored `Signer`."""

    @property
    def display_name(self) -> str: ...

    @property
    def email(self) -> object: ...

    @property
    def phone(self) -> object: ...

    @property
    def given_name(self) -> object: ...

    @property
    def first_surname(self) -> object: ...

    @property
    def second_surname(self) -> object: ...

    @property
    def id_number(self) -> object: ...

    @property
    def id_document_type(self) -> object: ...

    @property
    def id_document_country(self) -> object: ...

    @property
    def language(self) -> object: ...

    def id_image(self, kind: IdImageKind) -> bytes | None: ...


class NewAppearance(Protocol):
    """The One-Shot signature appearance; stored as its JSON fields."""

    def model_dump(self, *, mode: str, exclude_none: bool) -> dict[str, Any]: ...


class NewRequest(Protocol):
    """A validated new signature request (also the idempotency payload: the same body gives the same request)."""

    @property
    def workflow(self) -> Workflow: ...

    @property
    def signers(self) -> Sequence[NewSigner]: ...

    @property
    def documents(self) -> Sequence[NewDocument]: ...

    @property
    def language(self) -> Language: ...

    @property
    def deadline(self) -> datetime | None: ...

    @property
    def external_id(self) -> str | None: ...

    @property
    def metadata(self) -> dict[str, str]: ...

    @property
    def signature_appearance(self) -> NewAppearance | None: ...

    @property
    def include_id_images(self) -> bool:
        """The evidence package should hold the ID images (the client asked)."""
        ...

    def inline_bytes(self) -> int:
        """Total decoded size of the inline documents and ID images."""
        ...
