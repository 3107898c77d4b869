"""Concurrent API calls through the local gateway: each answer belongs to its own request (no state shared by
invocations running at the same time)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from demo.client import ApiClient
from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PARALLEL = 32


def test_parallel_creates_and_reads_each_get_their_own_answer(e2e: E2E) -> None:
    # Given many distinct create bodies
    bodies = [e2e.body("zapsign", external_id=f"parallel-{index}") for index in range(PARALLEL)]

    def create_then_read(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        client = ApiClient(e2e.stack.api_url)
        try:
            created = client.create_request(body)
            return body["external_id"], created, client.get_request(str(created["id"]))
        finally:
            client.close()

    # When they are all submitted at once (and each is read back at once)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        answers = list(pool.map(create_then_read, bodies))

    # Then every answer is about the request it answers
    for external_id, created, read in answers:
        e2e.created.append(str(created["id"]))
        assert created["external_id"] == external_id, (external_id, created["external_id"])
        assert read["id"] == created["id"]
        assert read["external_id"] == external_id
    assert len({str(created["id"]) for _, created, _ in answers}) == PARALLEL
