"""A file a step stored before it was killed: found again instead of stored twice.

A step that streams a provider's file to S3 and then records it (the archive and retrieve steps) can be killed between
the two writes; its message comes back (SQS retry, or the reconciler's re-plan) and would download and store the same
file again, a second version of the object. Such a step first asks S3: the object at its key, written whole or not at
all (`FileStore.store_stream`) with its sha256 in the object's metadata, is what the earlier attempt stored, and the
step records that instead of downloading again. Only the step itself writes to these keys."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from signbridge.domain.errors import StoredFileNotFoundError
from signbridge.domain.files import StoredFile
from signbridge.workflow.services import Services

logger = Logger(child=True)


def stored_earlier(services: Services, key: str) -> StoredFile | None:
    """The file an earlier attempt of this step stored at `key` (with its sha256), or None."""
    try:
        info = services.files.head(key)
    except StoredFileNotFoundError:
        return None
    if not info.sha256:
        return None  # not written by `store_stream`: stored again, whole
    logger.info("found the file an earlier attempt stored; not storing it again", extra={"key": key})
    return StoredFile(key=key, size=info.size, sha256=info.sha256, version_id=info.version_id)
