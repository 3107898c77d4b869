"""The cost model (bench/cost.py) prices what it says it prices: known calls, units and bytes in, known dollars out.

Targets (the $0.20 goal) are never asserted: these check the arithmetic of the model and of the recorder's helpers
(bench/aws_calls.py) that turn a call's parameters and answer into units.
"""

from __future__ import annotations

import io

import pytest

from bench import aws_calls, cost, prices
from signbridge.storage import schema


def usage(**fields: object) -> cost.Usage:
    values: dict[str, object] = {"function": "worker", "step": "worker:op", "trigger": "sqs", "duration_ms": 0.0}
    values["memory_mb"] = 1024
    values.update(fields)
    return cost.Usage(**values)  # type: ignore[arg-type]


def item(pk: str, sk: str, **attributes: str) -> dict[str, dict[str, str]]:
    return {schema.PK: {"S": pk}, schema.SK: {"S": sk}, **{name: {"S": value} for name, value in attributes.items()}}


# -- units ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "transactional", "units"),
    [(1, False, 1), (1024, False, 1), (1025, False, 2), (1500, True, 4), (3000, True, 6), (None, False, 1)],
)
def test_a_write_costs_one_unit_per_kilobyte_and_twice_that_in_a_transaction(
    size: int | None, transactional: bool, units: int
) -> None:
    assert cost.write_units(cost.DynamoWrite("Put", "p|s", transactional, size=size)) == units


def test_a_condition_check_costs_like_a_transactional_write_and_writes_no_index() -> None:
    check = cost.DynamoWrite("ConditionCheck", "p|s", True, size=519, indexes=("by-status",))
    assert cost.write_units(check) == 2


def test_an_item_in_an_index_adds_its_index_writes_and_a_moved_key_costs_two() -> None:
    # 2 KB in a transaction = 4, one index rewritten in place = +2, one index whose key moves = +2 x 2
    write = cost.DynamoWrite(
        "Update", "p|s", True, size=2000, indexes=("by-status", "by-external-id"), index_keys_set=("by-status",)
    )
    assert cost.write_units(write) == 4 + 2 + 4


@pytest.mark.parametrize(
    ("sizes", "consistent", "units"),
    [([], True, 1), ([100], True, 1), ([4096], True, 1), ([3000, 3000], True, 2), ([3000, 3000], False, 1)],
)
def test_a_read_costs_one_unit_per_4_kb_returned_and_half_when_eventually_consistent(
    sizes: list[int], consistent: bool, units: float
) -> None:
    assert cost.read_units(sizes, consistent=consistent) == units


@pytest.mark.parametrize(("payload", "requests"), [(0, 1), (64 * 1024, 1), (64 * 1024 + 1, 2), (200_000, 4)])
def test_an_sqs_send_is_billed_per_64_kb_chunk(payload: int, requests: int) -> None:
    assert cost.sqs_requests(payload) == requests


# -- pricing one invocation -------------------------------------------------------------------------------------------


def test_one_invocation_is_priced_per_service_from_its_calls_units_and_bytes() -> None:
    # Given a worker invocation of 250.2 ms at 1024 MB that wrote one 1.5 KB item in a transaction, read 3 units,
    # made 2 PUT-class and 3 GET-class S3 requests and a free delete, one send (1 SQS request), one secret read,
    # and logged 1,000 bytes in 4 events
    step = usage(
        duration_ms=250.2,
        calls={
            "s3.PutObject": 1,
            "s3.UploadPart": 1,
            "s3.GetObject": 2,
            "s3.HeadObject": 1,
            "s3.DeleteObject": 1,
            "sqs.SendMessageBatch": 1,
            "secretsmanager.GetSecretValue": 1,
        },
        dynamodb_writes=[cost.DynamoWrite("Put", "p|s", True, size=1500)],
        dynamodb_read_units=3.0,
        sqs_send_requests=1,
        log_bytes=1000,
        log_events=4,
    )
    # When it is priced
    priced = cost.price(step)
    # Then each service is its quantity times its list price
    assert priced[cost.LAMBDA_REQUESTS] == pytest.approx(0.20 / 1e6)
    assert priced[cost.LAMBDA_COMPUTE] == pytest.approx(0.251 * 1.0 * 0.0000133334)
    assert priced[cost.API_GATEWAY] == 0
    assert priced[cost.DYNAMODB_WRITES] == pytest.approx(4 * 0.625 / 1e6)
    assert priced[cost.DYNAMODB_READS] == pytest.approx(3 * 0.125 / 1e6)
    assert priced[cost.S3_REQUESTS] == pytest.approx(2 * 0.005 / 1000 + 3 * 0.0004 / 1000)
    # one send + the event source mapping's receive and delete of its batch
    assert priced[cost.SQS] == pytest.approx((1 + 2) * 0.50 / 1e6)
    logged = 1000 + 4 * 26 + cost.platform_log_bytes()
    assert priced[cost.LOGS] == pytest.approx(logged * 0.50 / 2**30)
    # a worker step (PassThrough) is recorded in its sender's trace, no trace of its own
    assert priced[cost.XRAY] == 0.0
    assert priced[cost.SECRETS] == pytest.approx(0.05 / 10_000)
    assert priced[cost.KMS] == 0


def test_an_api_invocation_pays_a_gateway_request_per_512_kb_of_body_and_no_queue_calls() -> None:
    small = cost.price(usage(function="api", trigger="apigw", api_request_bytes=100))
    large = cost.price(usage(function="api", trigger="apigw", api_request_bytes=600 * 1024))
    assert small[cost.API_GATEWAY] == pytest.approx(1.00 / 1e6)
    assert large[cost.API_GATEWAY] == pytest.approx(2 * 1.00 / 1e6)
    assert small[cost.SQS] == 0


def test_lambda_bills_the_duration_rounded_up_to_the_millisecond_times_memory() -> None:
    priced = cost.price(usage(duration_ms=99.01, memory_mb=512))
    assert priced[cost.LAMBDA_COMPUTE] == pytest.approx(0.100 * 0.5 * prices.LAMBDA_GB_SECOND_ARM64.each)


def test_the_runtime_sends_none_of_its_own_lines_at_the_system_log_level_of_warn() -> None:
    # infra/constructs/functions.py: JSON logs, system log level WARN (START, END and REPORT are INFO records)
    assert cost.platform_log_bytes() == 0


@pytest.mark.parametrize(
    ("invocations_per_month", "fraction"),
    [(0, 1.0), (prices.SECONDS_PER_MONTH * 0.5, 1.0), (prices.SECONDS_PER_MONTH * 1.0, 1.0)],
)
def test_below_one_invocation_a_second_every_invocation_is_traced(
    invocations_per_month: float, fraction: float
) -> None:
    assert cost.xray_traced_fraction(invocations_per_month) == fraction


def test_above_one_invocation_a_second_the_first_each_second_and_5_percent_of_the_rest_are_traced() -> None:
    assert cost.xray_traced_fraction(prices.SECONDS_PER_MONTH * 11) == pytest.approx((1 + 0.05 * 10) / 11)


def test_a_worker_step_continues_its_senders_trace_and_records_none_of_its_own() -> None:
    # infra/constructs/functions.py: the worker traces PassThrough, the functions that start work Active
    worker = cost.price(usage(function="worker", trigger="sqs"), traced_fraction=1.0)
    api = cost.price(usage(function="api", trigger="apigw"), traced_fraction=1.0)
    assert worker[cost.XRAY] == 0.0
    assert api[cost.XRAY] == prices.XRAY_TRACE_RECORDED.each


def test_the_sampling_rate_is_that_of_the_trace_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a request of two worker steps and one API call, and eleven such requests a second
    monkeypatch.setattr(prices, "REQUESTS_PER_MONTH", prices.SECONDS_PER_MONTH * 11)
    steps = [usage(), usage(), usage(function="api", trigger="apigw")]
    # When it is priced
    priced = cost.request_cost(steps, {})
    # Then sampling sees eleven roots a second (not 33 invocations): the first each second and 5% of the rest
    assert priced["xray_traced_fraction"] == pytest.approx((1 + 0.05 * 10) / 11, abs=1e-4)
    assert priced["per_1000_usd"][cost.XRAY] == pytest.approx((1 + 0.05 * 10) / 11 * 5.00 / 1e6 * 1000, rel=1e-3)


# -- a request ------------------------------------------------------------------------------------------------------


def test_a_request_keeps_one_status_read_of_the_demo_polls() -> None:
    polls = [usage(step=cost.CLIENT_READ_STEP, function="api", trigger="apigw", duration_ms=n) for n in (1, 2, 3)]
    steps = [usage(step="POST /v1/requests", function="api", trigger="apigw"), *polls, usage()]
    kept = cost.request_usages(steps)
    assert [u.step for u in kept] == ["POST /v1/requests", cost.CLIENT_READ_STEP, "worker:op"]
    assert [u.duration_ms for u in kept if u.step == cost.CLIENT_READ_STEP] == [3]


def test_a_request_is_its_invocations_plus_the_schedules_share_per_1000() -> None:
    # Given two invocations and a reconciler run that writes nothing
    steps = [usage(duration_ms=100.0), usage(function="api", trigger="apigw", duration_ms=50.0, memory_mb=512)]
    reconciler = usage(function="reconciler", trigger="schedule", duration_ms=80.0, memory_mb=512)
    # When the request is priced
    priced = cost.request_cost(steps, {"reconciler": reconciler})
    # Then its figures are per 1,000 requests, the schedules' run spread over a month's requests
    share = prices.SCHEDULE_RUNS_PER_MONTH["reconciler"] / prices.REQUESTS_PER_MONTH
    traced = priced["xray_traced_fraction"]
    expected_own = sum(sum(cost.price(step, traced_fraction=traced).values()) for step in steps)
    expected_shared = sum(cost.price(reconciler, traced_fraction=traced).values()) * share
    assert priced["schedules_per_1000_usd"] == pytest.approx(expected_shared * 1000, rel=1e-4)
    assert priced["total_per_1000_usd"] == pytest.approx((expected_own + expected_shared) * 1000, rel=1e-4)
    assert sum(priced["per_1000_usd"].values()) == pytest.approx(priced["total_per_1000_usd"], rel=1e-4)
    assert priced["quantities"]["lambda_gb_s"] == pytest.approx(0.1 + 0.025, abs=1e-3)
    assert priced["quantities"]["api_requests"] == 1


def test_storage_is_priced_per_gb_month() -> None:
    assert cost.s3_storage_per_month(2**30) == pytest.approx(0.023)


# -- the recorder's helpers --------------------------------------------------------------------------------------------


def test_a_transaction_is_read_as_its_items_with_conditions_checks_included() -> None:
    request = item("REQUEST#r1", schema.REQUEST_SK, **{schema.STATUS_INDEX_PK: "x", schema.STATUS_INDEX_SK: "y"})
    params = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": request}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": item("REQUEST#r1", "DOCUMENT#000"),
                    "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                }
            },
            {"ConditionCheck": {"TableName": "t", "Key": item("REQUEST#r1", schema.REQUEST_SK)}},
        ]
    }
    writes = aws_calls.dynamodb_writes("TransactWriteItems", params)
    assert [(w.action, w.transactional) for w in writes] == [("Put", True), ("Update", True), ("ConditionCheck", True)]
    assert writes[0].size == sum(len(name) + len(value["S"]) for name, value in request.items())
    assert writes[0].indexes == (schema.STATUS_INDEX,)
    assert writes[1].key == "REQUEST#r1|DOCUMENT#000"
    assert writes[1].size is None


def test_an_update_that_sets_an_index_key_is_marked_for_that_index() -> None:
    params = {
        "Key": item("REQUEST#r1", schema.REQUEST_SK),
        "UpdateExpression": "SET #a = :a, #b = :b",
        "ExpressionAttributeNames": {"#a": schema.STATUS_INDEX_PK, "#b": "status"},
    }
    (write,) = aws_calls.dynamodb_writes("UpdateItem", params)
    assert (write.action, write.transactional, write.index_keys_set) == ("Update", False, (schema.STATUS_INDEX,))


def test_items_named_by_key_are_sized_from_the_stored_items() -> None:
    stored = item("REQUEST#r1", schema.REQUEST_SK, **{schema.STATUS_INDEX_PK: "a", schema.STATUS_INDEX_SK: "b"})
    step = usage(
        dynamodb_writes=[
            cost.DynamoWrite("Update", aws_calls.stored_key(stored), False),
            cost.DynamoWrite("Delete", "REQUEST#gone|X", False),
        ]
    )
    missing = aws_calls.resolve_sizes([step], {aws_calls.stored_key(stored): stored})
    assert missing == ["REQUEST#gone|X"]
    assert step.dynamodb_writes[0].size == sum(len(name) + len(value["S"]) for name, value in stored.items())
    assert step.dynamodb_writes[0].indexes == (schema.STATUS_INDEX,)


def test_read_units_come_from_the_items_a_read_returned() -> None:
    big = item("p", "s", blob="x" * 5000)
    assert aws_calls.read_units_of("Query", {"Items": [big]}, consistent=True) == 2
    assert aws_calls.read_units_of("Query", {"Items": [big]}, consistent=False) == 1
    assert aws_calls.read_units_of("GetItem", {}, consistent=True) == 1


def test_an_sqs_payload_is_its_bodies_and_attributes() -> None:
    batch = {
        "Entries": [{"MessageBody": "abc"}, {"MessageBody": "de", "MessageAttributes": {"k": {"StringValue": "v"}}}]
    }
    assert aws_calls.sqs_payload_bytes("SendMessageBatch", batch) == 3 + 2 + 1 + 1
    assert aws_calls.sqs_payload_bytes("SendMessage", {"MessageBody": "é"}) == 2


def test_the_log_counter_counts_what_an_invocation_writes_and_passes_it_on() -> None:
    target = io.StringIO()
    counter = aws_calls.LogCounter(target)
    step = aws_calls.counting_step("worker", "worker:op")
    with aws_calls.invocation(step):
        counter.write('{"level":"INFO"}\n')
        counter.write("é\n")
    counter.write("outside any invocation\n")
    assert target.getvalue() == '{"level":"INFO"}\né\noutside any invocation\n'
    assert step.usage is not None
    assert (step.usage.log_bytes, step.usage.log_events) == (len('{"level":"INFO"}') + 2, 2)


def test_the_request_an_event_names_is_found() -> None:
    assert aws_calls.request_id_of({"pathParameters": {"request_id": "r1"}}) == "r1"
    sqs = {"Records": [{"eventSource": "aws:sqs", "body": '{"op": "x", "request_id": "r2"}'}]}
    assert aws_calls.request_id_of(sqs) == "r2"
    assert aws_calls.request_id_of({"routeKey": "POST /webhooks/zapsign", "body": "{}"}) is None


def test_write_units_split_into_each_action_and_the_index_writes() -> None:
    writes = [
        cost.DynamoWrite("Update", "p|r", True, size=500, indexes=("a", "b"), index_keys_set=("a",)),
        cost.DynamoWrite("ConditionCheck", "p|r", True, size=500, indexes=("a", "b")),
        cost.DynamoWrite("Put", "p|e", True, size=1500),
    ]
    assert cost.write_units_by_kind(writes) == {"ConditionCheck": 2, "Put": 4, "Update": 2, "index": 3}
