"""The sealed evidence package end to end: a `zapsign_oneshot` request completes on the local stack, the worker
builds its package (KMS key on moto), the client downloads it through the API, `signbridge evidence verify` checks it
offline with the evidence key's public key read from KMS and the simulators' trust anchors, and refuses a copy with
one byte changed."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

import signbridge_cli as cli
from signbridge.domain.evidence import MANIFEST_PATH, EntryKind, read_manifest
from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PACKAGE_WAIT_SECONDS = 40.0


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def wait_for_package(e2e: E2E, request_id: str) -> dict[str, Any]:
    """GET …/evidence until it answers 200 (202 with Retry-After while the worker builds it)."""
    deadline = time.monotonic() + PACKAGE_WAIT_SECONDS
    while True:
        answer = e2e.api.get(f"/v1/requests/{request_id}/evidence")
        if answer.status_code == 200:
            return dict(answer.json())
        assert answer.status_code == 202, answer.text
        assert answer.headers["Retry-After"].isdigit()
        assert time.monotonic() < deadline, "the evidence package was not built in time"
        time.sleep(0.5)


def evidence_key_alias() -> str:
    aliases = [item["AliasName"] for item in boto3.client("kms").list_aliases()["Aliases"]]
    (alias,) = [name for name in aliases if name.startswith("alias/signbridge-") and name.endswith("-evidence")]
    return alias


def test_a_completed_request_has_a_sealed_package_that_the_cli_verifies_and_a_modified_copy_is_refused(
    e2e: E2E, tmp_path: Path
) -> None:
    # Given a zapsign_oneshot request signed at ZapSign (with the ID photos) and at One-Shot
    body = e2e.body("zapsign_oneshot")
    request_id = e2e.create(body)["id"]
    pending = e2e.wait_for_signer_links(request_id)
    e2e.sign_at_zapsign(e2e.tokens(pending)[0], photos=True)
    e2e.wait_for_turn(request_id, 0)
    e2e.submit_otp(request_id, 0, body["signers"][0]["phone"])
    done = e2e.wait(request_id, "completed")

    # When the client asks for its evidence package (built by the worker once the request completed)
    answer = wait_for_package(e2e, request_id)
    package = requests.get(answer["url"], timeout=10).content

    # Then the download is the package as recorded
    assert hashlib.sha256(package).hexdigest() == answer["sha256"]
    assert len(package) == answer["size"]
    assert any(
        entry["detail"].startswith("evidence package built")
        for entry in e2e.get(request_id)["timeline"]
        if entry.get("detail")
    )
    # And it holds both signed versions, the One-Shot contract, the ZapSign webhook that moved the request and the
    # timeline; no ID images (not asked for)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = read_manifest(archive.read(MANIFEST_PATH))
    kinds = [item.kind for item in manifest.files]
    assert kinds.count(EntryKind.SIGNED_PDF) == 2
    assert EntryKind.CONTRACT in kinds
    assert EntryKind.WEBHOOK in kinds
    assert EntryKind.TIMELINE in kinds
    assert EntryKind.ID_IMAGE not in kinds
    assert done["status"] == "completed"

    # And the CLI verifies it offline: the seal with the key's public key read from KMS, every file, each signed PDF
    saved = tmp_path / "evidence.zip"
    saved.write_bytes(package)
    anchors = e2e.providers.trust_anchors.path if e2e.providers.trust_anchors else None
    assert anchors is not None
    argv = ("evidence", "verify", str(saved), "--key-id", evidence_key_alias(), "--trust-anchors", str(anchors))
    code, out = run(*argv, "--json")
    result = json.loads(out)
    assert code == 0, out
    assert result["ok"] is True
    assert result["public_key"] == "given"
    assert result["pdfs_checked"] == 2
    assert result["signatures_checked"] >= 3  # ZapSign's, then ZapSign's and One-Shot's on the final PDF

    # And a copy with one byte changed in a signed PDF is refused
    modified = tmp_path / "modified.zip"
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(modified, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/signed/zapsign.pdf"):
                changed = bytearray(data)
                changed[100] ^= 0x01
                data = bytes(changed)
            target.writestr(info, data)
    code, out = run(*argv[:2], str(modified), *argv[3:], "--json")
    refused = json.loads(out)
    assert code == 1
    assert refused["ok"] is False
    assert any("sha256 differs" in problem for problem in refused["problems"])
