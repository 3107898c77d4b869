"""AWS list prices the cost model (`bench.cost`) applies, as data: us-east-1, Lambda on arm64, no free tier.

Each price names the page it comes from; `CHECKED` is the date they were read. The model prices what `make bench`
measures (calls, units, bytes, durations); it does not know discounts, Savings Plans or the free tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CHECKED: Final = "2026-12-02"
REGION: Final = "us-east-1"


@dataclass(frozen=True)
class Price:
    dollars: float  # per `per` units
    per: float
    unit: str
    source: str

    @property
    def each(self) -> float:
        """Dollars for one unit."""
        return self.dollars / self.per


LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
SQS_PRICING = "https://aws.amazon.com/sqs/pricing/"
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"
SECRETS_PRICING = "https://aws.amazon.com/secrets-manager/pricing/"
KMS_PRICING = "https://aws.amazon.com/kms/pricing/"
API_GATEWAY_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
XRAY_PRICING = "https://aws.amazon.com/xray/pricing/"

LAMBDA_REQUEST: Final = Price(0.20, 1e6, "request", LAMBDA_PRICING)
LAMBDA_GB_SECOND_ARM64: Final = Price(0.0000133334, 1, "GB-second (arm64, first 7.5 billion a month)", LAMBDA_PRICING)
# On-demand throughput after the November 2024 reduction (half the earlier $1.25 / $0.25).
DYNAMODB_WRITE_UNIT: Final = Price(0.625, 1e6, "write request unit", DYNAMODB_PRICING)
DYNAMODB_READ_UNIT: Final = Price(0.125, 1e6, "read request unit", DYNAMODB_PRICING)
S3_PUT_CLASS: Final = Price(0.005, 1000, "PUT, COPY, POST, LIST request (S3 Standard)", S3_PRICING)
S3_GET_CLASS: Final = Price(0.0004, 1000, "GET, HEAD and all other requests (S3 Standard)", S3_PRICING)
S3_STORAGE: Final = Price(0.023, 2**30, "GB-month (S3 Standard, first 50 TB)", S3_PRICING)
SQS_FIFO_REQUEST: Final = Price(0.50, 1e6, "FIFO request (each 64 KB chunk of a payload is one request)", SQS_PRICING)
LOGS_INGESTED: Final = Price(0.50, 2**30, "GB ingested (CloudWatch Logs, Standard class)", CLOUDWATCH_PRICING)
SECRETS_API_CALL: Final = Price(0.05, 10_000, "API call", SECRETS_PRICING)
KMS_REQUEST: Final = Price(0.03, 10_000, "symmetric request", KMS_PRICING)
API_GATEWAY_HTTP_REQUEST: Final = Price(
    1.00, 1e6, "HTTP API request (first 300 million, per 512 KB)", API_GATEWAY_PRICING
)
XRAY_TRACE_RECORDED: Final = Price(5.00, 1e6, "trace recorded", XRAY_PRICING)

# -- how AWS counts, as the pages above state it

LAMBDA_BILLED_MS: Final = 1  # Lambda rounds each duration up to the millisecond
DYNAMODB_WRITE_UNIT_BYTES: Final = 1024  # a standard write of up to 1 KB; a transactional write costs 2 units per KB
DYNAMODB_READ_UNIT_BYTES: Final = 4096  # a strongly consistent read of up to 4 KB; eventually consistent: half
DYNAMODB_TRANSACTION_FACTOR: Final = 2
SQS_PAYLOAD_CHUNK_BYTES: Final = 64 * 1024
API_GATEWAY_REQUEST_BYTES: Final = 512 * 1024
LOG_EVENT_OVERHEAD_BYTES: Final = 26  # CloudWatch Logs counts each event's UTF-8 message plus 26 bytes
# What the Lambda runtime itself logs per invocation: nothing. The functions log in JSON with the system log level at
# WARN (infra/constructs/functions.py), so the runtime's START, END and REPORT records (INFO) are not sent.
PLATFORM_LOG_BYTES_PER_INVOCATION: Final = 0

# -- what the model assumes where a figure does not come from one request

# The schedules run whatever the traffic: their cost per request is their monthly cost spread over the requests of
# a month. 1,000 requests a day.
REQUESTS_PER_MONTH: Final = 30_000
SCHEDULE_RUNS_PER_MONTH: Final = {
    "reconciler": 30 * 24 * 6,  # rate(10 minutes), infra/constructs/schedules.py
    "housekeeper": 30,  # cron(15 3 * * ? *): once a day
}
# Active tracing on the functions that start work (API, webhooks, intake, schedules), PassThrough on the worker
# (infra/constructs/functions.py): Lambda's sampling records the first trace root each second and 5% of the rest; it
# does not apply X-Ray sampling rules, and the HTTP API does not trace, so each root invocation starts a trace of its
# own; a worker step joins the trace that enqueued it. At the steady rate of REQUESTS_PER_MONTH the model takes the
# fraction of roots this records (bursts would record fewer).
XRAY_RESERVOIR_PER_SECOND: Final = 1.0
XRAY_FIXED_RATE: Final = 0.05
SECONDS_PER_MONTH: Final = 30 * 24 * 3600
# The SQS event source mapping receives and deletes the worker's messages: at least one ReceiveMessage and one
# DeleteMessageBatch per batch it hands to the function (its empty long polls are a fixed cost, not per request).
SQS_CALLS_PER_WORKER_BATCH: Final = 2
# The demo polls `GET /v1/requests/{id}` every 0.1 s to time each status; the model keeps one read per request (the
# client's read of the result) and drops the demo's other polls. Each further poll a client makes adds one such read.
CLIENT_READS_PER_REQUEST: Final = 1
