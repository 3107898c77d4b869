"""The files a request reports, and their checks: each is fetched (its presigned link, or S3 directly) and its sha256
compared with the one the API reports, with S3's `x-amz-meta-sha256` and with what the providers served."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from demo.answers import documents_of, index_of
from demo.client import HTTP_TIMEOUT


@dataclass(frozen=True)
class ReportedFile:
    """A stored file as the API reports it (`documents[].files[stage]`): its presigned link, its sha256, and the S3
    key the link points at."""

    document: int
    label: str  # "original", "zapsign", "oneshot-{n}", and "final" for the last signed version
    key: str
    sha256: str | None = None
    url: str | None = None
    final: bool = False

    @property
    def signed(self) -> bool:
        return self.key.startswith("signed/")


def key_from_link(url: str, bucket: str | None = None) -> str:
    """The S3 key a presigned link points at (path-style `/{bucket}/{key}` or virtual-hosted `/{key}`)."""
    path = unquote(urlsplit(url).path).lstrip("/")
    if bucket and path.startswith(f"{bucket}/"):
        return path[len(bucket) + 1 :]
    first, _, rest = path.partition("/")
    # Path-style when the first segment is not where SignBridge's keys start (`originals/`, `signed/`, …).
    return rest if rest and first not in _KEY_PREFIXES else path


_KEY_PREFIXES = frozenset({"incoming", "originals", "signed", "evidence", "contracts", "raw"})


def collect_files(body: Mapping[str, Any], *, bucket: str | None = None) -> list[ReportedFile]:
    """Every stored file the API reports for the request's documents, one entry per S3 object (the `final` link
    names the same object as the last signed stage; that entry is marked `final`)."""
    found: dict[str, ReportedFile] = {}
    for position, document in enumerate(documents_of(body)):
        index = index_of(document, position)
        files = document.get("files")
        if not isinstance(files, Mapping):
            continue
        for label, link in files.items():
            if not isinstance(link, Mapping) or not isinstance(link.get("url"), str):
                continue
            key = key_from_link(link["url"], bucket)
            sha = link.get("sha256") if isinstance(link.get("sha256"), str) else None
            previous = found.get(key)
            if previous is None:
                found[key] = ReportedFile(index, str(label), key, sha, link["url"], final=label == "final")
            else:
                found[key] = ReportedFile(
                    index,
                    previous.label if previous.label != "final" else str(label),
                    key,
                    previous.sha256 or sha,
                    previous.url,
                    final=previous.final or label == "final",
                )
    return list(found.values())


# -- checking the stored files -----------------------------------------------------------------------------------------


@dataclass
class FileCheck:
    document: int
    label: str
    key: str
    reported_sha256: str | None
    stored_sha256: str | None  # x-amz-meta-sha256 on the object
    actual_sha256: str | None  # of the bytes fetched
    size: int | None
    url: str | None
    final: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_files(
    body: Mapping[str, Any],
    *,
    s3_client: Any | None = None,
    bucket: str | None = None,
    session: requests.Session | None = None,
    provider_digests: set[str] | None = None,
) -> tuple[list[FileCheck], list[str]]:
    """Fetch every reported file and compare digests. Returns the checks and the request-level problems (a document
    without a signed file). With `provider_digests`, a signed file must be byte-identical to one the providers
    served."""
    http = session or requests.Session()
    try:
        checks = [
            _check_file(reported, s3_client=s3_client, bucket=bucket, http=http, provider_digests=provider_digests)
            for reported in collect_files(body, bucket=bucket)
        ]
    finally:
        if session is None:
            http.close()
    problems: list[str] = []
    for position, document in enumerate(documents_of(body)):
        index = index_of(document, position)
        if not any(check.document == index and check.final and check.key.startswith("signed/") for check in checks):
            problems.append(f"document {index}: the API reports no final signed file")
    return checks, problems


def _check_file(
    reported: ReportedFile,
    *,
    s3_client: Any | None,
    bucket: str | None,
    http: requests.Session,
    provider_digests: set[str] | None,
) -> FileCheck:
    check = FileCheck(
        document=reported.document,
        label=reported.label,
        key=reported.key,
        reported_sha256=reported.sha256,
        stored_sha256=None,
        actual_sha256=None,
        size=None,
        url=reported.url,
        final=reported.final,
    )
    data = _fetch_from_s3(check, s3_client, bucket) if s3_client is not None and bucket else None
    if reported.url:
        data = _fetch_from_link(check, http, reported.url, data)
    if data is None:
        if not check.problems:
            check.problems.append("neither a download link nor S3 access to check it")
        return check
    check.size = len(data)
    actual = check.actual_sha256 = hashlib.sha256(data).hexdigest()
    expected = check.reported_sha256 or check.stored_sha256
    if expected is None and reported.signed:
        check.problems.append("no sha256 reported by the API or recorded on the object")
    elif expected is not None and actual != expected:
        check.problems.append(f"sha256 {actual[:12]}… differs from the recorded {expected[:12]}…")
    if check.stored_sha256 and check.reported_sha256 and check.stored_sha256 != check.reported_sha256:
        check.problems.append("the API's sha256 differs from the object's x-amz-meta-sha256")
    if reported.signed and not data.startswith(b"%PDF-"):
        check.problems.append("not a PDF")
    if provider_digests is not None and reported.signed and actual not in provider_digests:
        check.problems.append("not byte-identical to any file the provider served")
    return check


def _fetch_from_s3(check: FileCheck, s3_client: Any, bucket: str | None) -> bytes | None:
    try:
        head = s3_client.head_object(Bucket=bucket, Key=check.key)
        check.stored_sha256 = head.get("Metadata", {}).get("sha256")
        return bytes(s3_client.get_object(Bucket=bucket, Key=check.key)["Body"].read())
    except Exception as error:  # any failure is the finding
        check.problems.append(f"not in S3 ({type(error).__name__}: {error})")
        return None


def _fetch_from_link(check: FileCheck, http: requests.Session, url: str, from_s3: bytes | None) -> bytes | None:
    try:
        response = http.get(url, timeout=HTTP_TIMEOUT)
    except requests.RequestException as error:
        check.problems.append(f"download link failed ({type(error).__name__})")
        return from_s3
    if response.status_code != 200:
        check.problems.append(f"download link answered HTTP {response.status_code}")
        return from_s3
    if from_s3 is not None and response.content != from_s3:
        check.problems.append("download link serves other bytes than the S3 object")
    return response.content
