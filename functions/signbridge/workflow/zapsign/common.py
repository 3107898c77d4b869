"""What the ZapSign operation families share: the main document's Detail, the signers' language, the evidence
link of a signer, a message's request id and the failure reason of a refusal."""

from __future__ import annotations

from signbridge.domain.messages import OperationMessage
from signbridge.domain.models import IdImageKind, RequestAggregate
from signbridge.domain.provider_errors import PermanentError
from signbridge.domain.zapsign import PROVIDER, ZapSignDocument, ZapSignExtraDocument, ZapSignSigner
from signbridge.workflow.ports import ZapSignClient


def language_of(aggregate: RequestAggregate) -> str:
    """ZapSign speaks one language per document (§3.1 `lang`): the signers' own when they all chose the same one,
    else the request's."""
    chosen = {signer.language for signer in aggregate.signers}
    if len(chosen) == 1 and None not in chosen:
        language = chosen.pop()
        assert language is not None
        return language.value
    return aggregate.request.language.value


def get_main(client: ZapSignClient, token: str) -> ZapSignDocument:
    detail = client.get_document(token)
    if isinstance(detail, ZapSignExtraDocument):
        raise PermanentError(PROVIDER, "get_document", "the recorded main token names an extra document")
    return detail


def evidence_url(remote: ZapSignSigner | None, kind: IdImageKind) -> str | None:
    if remote is None:
        return None
    return {
        IdImageKind.DOCUMENT_FRONT: remote.document_photo_url,
        IdImageKind.DOCUMENT_REAR: remote.document_verse_photo_url,
        IdImageKind.DOCUMENT_OWNER: remote.selfie_photo_url,
    }[kind]


def request_id_of(message: OperationMessage) -> str:
    if message.request_id is None:
        raise ValueError(f"{message.op} needs a request id")
    return message.request_id


def refusal(error: PermanentError) -> str:
    return f"{error.provider} {error.operation} refused: {error.message}"
