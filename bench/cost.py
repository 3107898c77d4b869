"""The cost model of `make bench`: what one request costs at AWS list prices (`bench.prices`), itemised per service.

Input: the invocations one request caused end to end (`Usage`, one per Lambda invocation: its trigger, duration and
memory, the AWS calls it made with the DynamoDB units, S3 bytes and SQS payloads they carried, the bytes it logged),
as `bench.aws_calls` records them. Per invocation:

- **Lambda**: one request, and GB-seconds = the duration rounded up to the millisecond x the function's memory;
- **API Gateway** (HTTP API): one request per API or webhook invocation (per 512 KB of its body);
- **DynamoDB**: write units (1 per KB of each item written, rounded up; 2 per KB inside a transaction, ConditionCheck
  items included; plus the writes of the indexes the item is in) and read units (4 KB per unit over the items a read
  returns, half for an eventually consistent read);
- **S3**: PUT-class requests (PUT, COPY, POST, LIST, multipart parts), GET-class requests (GET, HEAD, ...); deletes
  and aborts are free;
- **SQS** (FIFO): each send per 64 KB of its payload, every other call the function makes, and the event source
  mapping's receive and delete of a worker batch;
- **CloudWatch Logs**: the bytes the function logged plus 26 bytes per log event (the runtime's own START, END and
  REPORT records are not sent: the system log level is WARN);
- **X-Ray**: the traces Lambda's sampling records (the first invocation each second, 5% of the rest) at the steady
  rate of a month's requests (`xray_traced_fraction`), one per invocation of an actively traced function (a trace
  root: API, webhooks, intake, schedules); the worker (SQS, PassThrough: `infra/constructs/functions.py`) adds none,
  its steps are recorded inside the trace of the invocation that enqueued them;
- **Secrets Manager**, **KMS**: per API call.

The scheduled functions (reconciler, housekeeper) run whatever the traffic: one run each is measured and its cost
is spread over a month's requests (`prices.SCHEDULE_RUNS_PER_MONTH` / `prices.REQUESTS_PER_MONTH`).

Pure: no AWS, no local stack. Figures are dollars per request; the page shows them per 1,000 requests.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import prices

# The services, in the order the page lists them.
LAMBDA_REQUESTS = "Lambda requests"
LAMBDA_COMPUTE = "Lambda GB-s"
API_GATEWAY = "API Gateway"
DYNAMODB_WRITES = "DynamoDB writes"
DYNAMODB_READS = "DynamoDB reads"
S3_REQUESTS = "S3 requests"
SQS = "SQS"
LOGS = "CloudWatch Logs"
XRAY = "X-Ray"
SECRETS = "Secrets Manager"
KMS = "KMS"
SERVICES = (
    LAMBDA_REQUESTS,
    LAMBDA_COMPUTE,
    API_GATEWAY,
    DYNAMODB_WRITES,
    DYNAMODB_READS,
    S3_REQUESTS,
    SQS,
    LOGS,
    XRAY,
    SECRETS,
    KMS,
)

S3_PUT_CLASS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "PostObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "ListMultipartUploads",
        "ListParts",
    }
)
S3_FREE = frozenset({"DeleteObject", "DeleteObjects", "AbortMultipartUpload"})
SQS_SENDS = frozenset({"SendMessage", "SendMessageBatch"})
API_TRIGGER = "apigw"
CLIENT_READ_STEP = "GET /v1/requests/{request_id}"
SQS_TRIGGER = "sqs"


@dataclass
class DynamoWrite:
    """One item a write call carries: a `PutItem`/`UpdateItem`/`DeleteItem`, or one item of a transaction."""

    action: str  # Put | Update | Delete | ConditionCheck
    key: str  # "pk|sk", to size the item when the call does not carry it whole
    transactional: bool
    size: int | None = None  # bytes as DynamoDB sizes items: known for a Put, else resolved from the stored item
    indexes: tuple[str, ...] = ()  # the global indexes the item is in after the write
    index_keys_set: tuple[str, ...] = ()  # of those, the indexes whose key the write sets (an index delete + put)


@dataclass
class Usage:
    """What one Lambda invocation used."""

    function: str
    step: str
    trigger: str  # apigw | sqs | s3 | schedule | direct
    duration_ms: float
    memory_mb: int
    calls: dict[str, int] = field(default_factory=dict)  # "service.Operation" -> count
    dynamodb_writes: list[DynamoWrite] = field(default_factory=list)
    dynamodb_read_units: float = 0.0
    s3_bytes_put: int = 0
    sqs_send_requests: int = 0  # billed requests of its sends (64 KB chunks of each payload, at least one a call)
    api_request_bytes: int = 0
    log_bytes: int = 0
    log_events: int = 0
    request_id: str | None = None  # the SignBridge request the event names, when it names one


# -- the units AWS bills ---------------------------------------------------------------------------------------------


def write_units(write: DynamoWrite) -> float:
    """Write units of one item: 1 per KB (rounded up, at least 1), twice in a transaction; plus its index writes
    (standard writes: 1 per KB per index, 2 where the write moves the item's index key)."""
    size = write.size if write.size is not None else prices.DYNAMODB_WRITE_UNIT_BYTES
    kilobytes = max(1, math.ceil(size / prices.DYNAMODB_WRITE_UNIT_BYTES))
    units = float(kilobytes * (prices.DYNAMODB_TRANSACTION_FACTOR if write.transactional else 1))
    if write.action == "ConditionCheck":
        return units
    for index in write.indexes:
        units += kilobytes * (2 if index in write.index_keys_set else 1)
    return units


def write_units_by_kind(writes: Iterable[DynamoWrite]) -> dict[str, float]:
    """Write units split by what pays them: each action's own item writes, and the index writes."""
    by_kind: dict[str, float] = {}
    for write in writes:
        own = write_units(DynamoWrite(write.action, write.key, write.transactional, write.size))
        by_kind[write.action] = by_kind.get(write.action, 0.0) + own
        by_kind["index"] = by_kind.get("index", 0.0) + write_units(write) - own
    return {kind: units for kind, units in sorted(by_kind.items()) if units}


def read_units(item_bytes: Iterable[int], *, consistent: bool) -> float:
    """Read units of one read (`GetItem`, a `Query` page): the returned items' bytes summed, per 4 KB rounded up (at
    least 1), half for an eventually consistent read."""
    total = sum(item_bytes)
    units = max(1, math.ceil(total / prices.DYNAMODB_READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def sqs_requests(payload_bytes: int) -> int:
    """Billed SQS requests of one send: one per 64 KB chunk of its payload, at least one."""
    return max(1, math.ceil(payload_bytes / prices.SQS_PAYLOAD_CHUNK_BYTES))


def platform_log_bytes() -> int:
    """What the Lambda runtime logs of its own per invocation."""
    return prices.PLATFORM_LOG_BYTES_PER_INVOCATION


# -- pricing --------------------------------------------------------------------------------------------------------


def xray_traced_fraction(invocations_per_month: float) -> float:
    """The fraction of invocations Lambda's X-Ray sampling records at a steady rate: the first each second, then
    `XRAY_FIXED_RATE` of the rest."""
    rate = invocations_per_month / prices.SECONDS_PER_MONTH
    if rate <= 0:
        return 1.0
    first = min(rate, prices.XRAY_RESERVOIR_PER_SECOND)
    return (first + prices.XRAY_FIXED_RATE * max(0.0, rate - prices.XRAY_RESERVOIR_PER_SECOND)) / rate


def price(usage: Usage, *, traced_fraction: float = 1.0) -> dict[str, float]:
    """Dollars one invocation costs, per service (every service in `SERVICES`, zero where unused); X-Ray for the
    `traced_fraction` of invocations sampling records."""
    calls = Counter(usage.calls)
    cost = dict.fromkeys(SERVICES, 0.0)
    cost[LAMBDA_REQUESTS] = prices.LAMBDA_REQUEST.each
    billed_ms = math.ceil(usage.duration_ms / prices.LAMBDA_BILLED_MS) * prices.LAMBDA_BILLED_MS
    cost[LAMBDA_COMPUTE] = billed_ms / 1000 * usage.memory_mb / 1024 * prices.LAMBDA_GB_SECOND_ARM64.each
    if usage.trigger == API_TRIGGER:
        chunks = max(1, math.ceil(usage.api_request_bytes / prices.API_GATEWAY_REQUEST_BYTES))
        cost[API_GATEWAY] = chunks * prices.API_GATEWAY_HTTP_REQUEST.each
    cost[DYNAMODB_WRITES] = sum(write_units(write) for write in usage.dynamodb_writes) * prices.DYNAMODB_WRITE_UNIT.each
    cost[DYNAMODB_READS] = usage.dynamodb_read_units * prices.DYNAMODB_READ_UNIT.each
    put_class = get_class = 0
    sqs_other = prices.SQS_CALLS_PER_WORKER_BATCH if usage.trigger == SQS_TRIGGER else 0
    for name, count in calls.items():
        service, _, operation = name.partition(".")
        if service == "s3":
            if operation in S3_PUT_CLASS:
                put_class += count
            elif operation not in S3_FREE:
                get_class += count
        elif service == "sqs" and operation not in SQS_SENDS:
            sqs_other += count
        elif service == "secretsmanager":
            cost[SECRETS] += count * prices.SECRETS_API_CALL.each
        elif service == "kms":
            cost[KMS] += count * prices.KMS_REQUEST.each
    cost[S3_REQUESTS] = put_class * prices.S3_PUT_CLASS.each + get_class * prices.S3_GET_CLASS.each
    cost[SQS] = (usage.sqs_send_requests + sqs_other) * prices.SQS_FIFO_REQUEST.each
    logged = usage.log_bytes + usage.log_events * prices.LOG_EVENT_OVERHEAD_BYTES + platform_log_bytes()
    cost[LOGS] = logged * prices.LOGS_INGESTED.each
    if starts_trace(usage):
        cost[XRAY] = traced_fraction * prices.XRAY_TRACE_RECORDED.each
    return cost


def starts_trace(usage: Usage) -> bool:
    """Whether the invocation is a trace of its own: every one but the worker's (PassThrough: an SQS message's step
    continues its sender's trace, `infra.constructs.functions.tracing_mode`)."""
    return usage.trigger != SQS_TRIGGER


def total(usages: Iterable[Usage], *, weight: float = 1.0, traced_fraction: float = 1.0) -> dict[str, float]:
    """Dollars per service over several invocations (each counted `weight` times)."""
    summed = dict.fromkeys(SERVICES, 0.0)
    for usage in usages:
        for service, dollars in price(usage, traced_fraction=traced_fraction).items():
            summed[service] += dollars * weight
    return summed


def schedule_share(schedule_runs: Mapping[str, Usage], *, traced_fraction: float = 1.0) -> dict[str, float]:
    """Dollars per request of the scheduled functions: each measured run x its runs a month ÷ a month's requests."""
    summed = dict.fromkeys(SERVICES, 0.0)
    for function, usage in schedule_runs.items():
        weight = prices.SCHEDULE_RUNS_PER_MONTH.get(function, 0) / prices.REQUESTS_PER_MONTH
        for service, dollars in total([usage], weight=weight, traced_fraction=traced_fraction).items():
            summed[service] += dollars
    return summed


def request_cost(usages: Sequence[Usage], schedule_runs: Mapping[str, Usage]) -> dict[str, Any]:
    """One request's cost: its invocations, the schedules' share; per service, in dollars per 1,000 requests. X-Ray
    as sampling records it with every request like this one, `prices.REQUESTS_PER_MONTH` of them a month: the
    sampling decides per trace root (`starts_trace`), so the rate it sees is theirs."""
    invocations_per_month = sum(1 for usage in usages if starts_trace(usage)) * prices.REQUESTS_PER_MONTH + sum(
        prices.SCHEDULE_RUNS_PER_MONTH.get(function, 0) for function in schedule_runs
    )
    traced = xray_traced_fraction(invocations_per_month)
    own = total(usages, traced_fraction=traced)
    shared = schedule_share(schedule_runs, traced_fraction=traced)
    per_thousand = {service: round((own[service] + shared[service]) * 1000, 9) for service in SERVICES}
    return {
        "per_1000_usd": per_thousand,
        "total_per_1000_usd": round(sum(per_thousand.values()), 9),
        "schedules_per_1000_usd": round(sum(shared.values()) * 1000, 9),
        "xray_traced_fraction": round(traced, 4),
        "quantities": quantities(usages),
    }


def quantities(usages: Sequence[Usage]) -> dict[str, Any]:
    """What the dollars are made of, per request: the counts and sizes the prices apply to."""
    calls: Counter[str] = Counter()
    for usage in usages:
        calls.update(usage.calls)
    gb_seconds = sum(math.ceil(usage.duration_ms) / 1000 * usage.memory_mb / 1024 for usage in usages)
    writes = [write for usage in usages for write in usage.dynamodb_writes]
    return {
        "invocations": Counter(usage.function for usage in usages),
        "lambda_gb_s": round(gb_seconds, 3),
        "lambda_ms": round(sum(usage.duration_ms for usage in usages), 1),
        "api_requests": sum(1 for usage in usages if usage.trigger == API_TRIGGER),
        "dynamodb_write_units": sum(write_units(write) for write in writes),
        "dynamodb_items_written": Counter(write.action for write in writes),
        "dynamodb_write_units_by_kind": write_units_by_kind(writes),
        "dynamodb_transactional_items": sum(1 for write in writes if write.transactional),
        "dynamodb_read_units": sum(usage.dynamodb_read_units for usage in usages),
        "s3_put_class": sum(
            count for name, count in calls.items() if name.startswith("s3.") and name[3:] in S3_PUT_CLASS
        ),
        "s3_bytes_put": sum(usage.s3_bytes_put for usage in usages),
        "sqs_requests": sum(
            usage.sqs_send_requests
            + (prices.SQS_CALLS_PER_WORKER_BATCH if usage.trigger == SQS_TRIGGER else 0)
            + sum(count for name, count in usage.calls.items() if name.startswith("sqs.") and name[4:] not in SQS_SENDS)
            for usage in usages
        ),
        "log_bytes": sum(usage.log_bytes + usage.log_events * prices.LOG_EVENT_OVERHEAD_BYTES for usage in usages)
        + len(usages) * platform_log_bytes(),
        "log_events": sum(usage.log_events for usage in usages),
        "aws_calls": dict(sorted(calls.items())),
    }


def request_usages(usages: Sequence[Usage]) -> list[Usage]:
    """A demo request's invocations as the model prices them: the demo's status polls dropped but for the last
    `prices.CLIENT_READS_PER_REQUEST` (`GET /v1/requests/{request_id}`)."""
    reads = [index for index, usage in enumerate(usages) if usage.step == CLIENT_READ_STEP]
    dropped = set(reads[: max(0, len(reads) - prices.CLIENT_READS_PER_REQUEST)])
    return [usage for index, usage in enumerate(usages) if index not in dropped]


def price_table() -> list[dict[str, Any]]:
    """The prices applied, for the record."""
    named = {
        LAMBDA_REQUESTS: [prices.LAMBDA_REQUEST],
        LAMBDA_COMPUTE: [prices.LAMBDA_GB_SECOND_ARM64],
        API_GATEWAY: [prices.API_GATEWAY_HTTP_REQUEST],
        DYNAMODB_WRITES: [prices.DYNAMODB_WRITE_UNIT],
        DYNAMODB_READS: [prices.DYNAMODB_READ_UNIT],
        S3_REQUESTS: [prices.S3_PUT_CLASS, prices.S3_GET_CLASS],
        SQS: [prices.SQS_FIFO_REQUEST],
        LOGS: [prices.LOGS_INGESTED],
        XRAY: [prices.XRAY_TRACE_RECORDED],
        SECRETS: [prices.SECRETS_API_CALL],
        KMS: [prices.KMS_REQUEST],
    }
    return [
        {"service": service, "dollars": price.dollars, "per": price.per, "unit": price.unit, "source": price.source}
        for service in SERVICES
        for price in named[service]
    ] + [
        {
            "service": "S3 storage",
            "dollars": prices.S3_STORAGE.dollars,
            "per": prices.S3_STORAGE.per,
            "unit": prices.S3_STORAGE.unit,
            "source": prices.S3_STORAGE.source,
        }
    ]


def assumptions() -> dict[str, Any]:
    return {
        "checked": prices.CHECKED,
        "region": prices.REGION,
        "requests_per_month": prices.REQUESTS_PER_MONTH,
        "schedule_runs_per_month": dict(prices.SCHEDULE_RUNS_PER_MONTH),
        "xray_reservoir_per_second": prices.XRAY_RESERVOIR_PER_SECOND,
        "xray_fixed_rate": prices.XRAY_FIXED_RATE,
        "sqs_calls_per_worker_batch": prices.SQS_CALLS_PER_WORKER_BATCH,
        "client_reads_per_request": prices.CLIENT_READS_PER_REQUEST,
        "platform_log_bytes_per_invocation": platform_log_bytes(),
    }


def s3_storage_per_month(bytes_stored: int) -> float:
    """Dollars a month to keep `bytes_stored` in S3 Standard."""
    return bytes_stored * prices.S3_STORAGE.each
