"""Schemathesis against the local gateway, from the OpenAPI document the API serves (`/v1/openapi.json`), with every
check: no 5xx, every answer (status, content type, body) as the document states, negative data refused.

Bounded for `make test` (`FUZZ_API_EXAMPLES`, 8 per operation by default); `make fuzz` runs it larger and prints the
tallies. Excluded checks, each for a reason the local gateway gives rather than SignBridge: `ignored_auth` (the
local gateway does not verify AWS Signature Version 4; API Gateway does, before the function runs), and one more on
the listing (`excluded`)."""

from __future__ import annotations

import os
from collections import Counter
from typing import Final

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.e2e.conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "8"))


# Operations whose schema does not yet state every rule the API checks, so schema-valid data may be refused there
# (`positive_data_acceptance`): the listing's "exactly one of `external_id`, `status`" (OpenAPI 3 cannot state it for
# query parameters), and the create body's checks made by validators (phone, e-mail, base64 PDF and images, names
# without invisible characters, the fields a workflow requires). Every other check runs on them.
SCHEMA_LOOSER_THAN_API: Final = frozenset({"GET /v1/requests", "POST /v1/requests"})


def excluded(case: schemathesis.Case) -> list[schemathesis.CheckFunction]:
    """`ignored_auth` everywhere (the module docstring says why); `positive_data_acceptance` where noted above."""
    checks: list[schemathesis.CheckFunction] = [ignored_auth]
    if case.operation.label in SCHEMA_LOOSER_THAN_API:
        checks.append(positive_data_acceptance)
    return checks


def test_every_answer_is_what_the_openapi_document_says_and_never_a_5xx(e2e: E2E) -> None:
    # Given the OpenAPI document the running API serves
    schema = schemathesis.openapi.from_url(e2e.stack.api_url + "/v1/openapi.json")
    tally: Counter[str] = Counter()
    failures: list[str] = []

    # When schemathesis calls every operation with data drawn from it (valid and invalid), all checks on
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def call(case: schemathesis.Case) -> None:
            try:
                response = case.call_and_validate(base_url=e2e.stack.api_url, excluded_checks=excluded(case))
            except (Exception, BaseExceptionGroup) as error:  # a failure of any check: kept, to report all
                tally["failed"] += 1
                failures.append(f"{case.operation.label}: {str(error)[:600]}")
                return
            tally[str(response.status_code)] += 1

        call()

    # Then no answer is a 5xx or differs from the document
    print(f"\nschemathesis: {sum(tally.values())} calls, by status: {dict(sorted(tally.items()))}")
    assert failures == [], "\n".join(failures[:10])
