"""S3 notifications: every object created under the notification's prefix reaches the function once, as S3's event."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import S3Model

from local.aws import AwsEmulator
from local.notifications import NotificationConfig, S3NotificationRelay
from local.runtime import LambdaRuntime
from tests.local.conftest import local_function, unique
from tests.local.fake_handlers import recorder, recording


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def bucket(aws: AwsEmulator) -> str:
    name = unique("files")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def relay(aws: AwsEmulator, runtime: LambdaRuntime, bucket: str) -> Iterator[S3NotificationRelay]:
    runtime.register(local_function("intake", "tests.local.fake_handlers.recording.intake"))
    started = S3NotificationRelay(
        [NotificationConfig(bucket=bucket, function="intake", events=("s3:ObjectCreated:*",), prefix="incoming/")],
        invoke=lambda name, event: runtime.invoke(name, event, trigger="s3", sync_limit=False),
        sqs_client=aws.client("sqs"),
        s3_client=aws.client("s3"),
        region="us-east-1",
        account_id="123456789012",
        retry_delays=(0.2, 0.2),
        queue_prefix=unique("notify"),
    ).start()
    yield started
    started.stop()
    recording.fail_next.clear()


def records() -> list[dict]:
    return [event["Records"][0] for event, _ in recorder.of("intake")]


def test_each_new_object_under_the_prefix_reaches_intake_once(
    aws: AwsEmulator, bucket: str, relay: S3NotificationRelay
) -> None:
    s3 = aws.client("s3")
    first = s3.put_object(Bucket=bucket, Key="incoming/r-1/001.pdf", Body=b"%PDF-1.7 one")
    s3.put_object(Bucket=bucket, Key="originals/r-1/001.pdf", Body=b"%PDF-1.7 not watched")
    second = s3.put_object(Bucket=bucket, Key="incoming/r-1/002 copy.pdf", Body=b"%PDF-1.7 two")

    assert wait_for(lambda: len(records()) == 2)
    time.sleep(0.5)  # nothing else arrives
    assert len(records()) == 2

    S3Model.model_validate({"Records": records()})  # Powertools' model of the S3 event notification
    by_key = {record["s3"]["object"]["key"]: record for record in records()}
    assert set(by_key) == {"incoming/r-1/001.pdf", "incoming/r-1/002+copy.pdf"}  # URL-encoded, "/" kept
    one = by_key["incoming/r-1/001.pdf"]
    assert one["eventVersion"] == "2.1"
    assert one["eventSource"] == "aws:s3"
    assert one["eventName"] == "ObjectCreated:Put"
    assert one["s3"]["bucket"]["name"] == bucket
    assert one["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert one["s3"]["object"]["size"] == len(b"%PDF-1.7 one")
    assert one["s3"]["object"]["eTag"] == first["ETag"].strip('"')
    assert one["s3"]["object"]["versionId"] == first["VersionId"]
    assert by_key["incoming/r-1/002+copy.pdf"]["s3"]["object"]["versionId"] == second["VersionId"]
    sequencers = [record["s3"]["object"]["sequencer"] for record in records()]
    assert len(set(sequencers)) == 2


def test_an_overwrite_is_a_new_event_with_its_own_version(
    aws: AwsEmulator, bucket: str, relay: S3NotificationRelay
) -> None:
    s3 = aws.client("s3")
    versions = [
        s3.put_object(Bucket=bucket, Key="incoming/r-2/001.pdf", Body=body)["VersionId"] for body in (b"a", b"b")
    ]
    assert wait_for(lambda: len(records()) == 2)
    assert sorted(record["s3"]["object"]["versionId"] for record in records()) == sorted(versions)


def test_a_presigned_post_upload_is_an_object_created_post(
    aws: AwsEmulator, bucket: str, relay: S3NotificationRelay
) -> None:
    post = aws.client("s3").generate_presigned_post(Bucket=bucket, Key="incoming/r-3/001.pdf", ExpiresIn=60)
    response = requests.post(post["url"], data=post["fields"], files={"file": ("001.pdf", b"%PDF-1.7")}, timeout=10)
    assert response.status_code in (200, 204)
    assert wait_for(lambda: len(records()) == 1)
    assert records()[0]["eventName"] == "ObjectCreated:Post"


def test_a_failing_function_is_retried_like_an_asynchronous_invocation(
    aws: AwsEmulator, bucket: str, relay: S3NotificationRelay
) -> None:
    recording.fail_next["intake"] = 2  # fails twice, succeeds on the third (last) attempt
    aws.client("s3").put_object(Bucket=bucket, Key="incoming/r-4/001.pdf", Body=b"%PDF")
    assert wait_for(lambda: relay.stats.delivered == 1)
    assert relay.stats.failed_attempts == 2
    attempts = records()
    assert len(attempts) == 3
    assert attempts[0] == attempts[1] == attempts[2]  # the same event each time


def test_an_event_that_keeps_failing_is_dropped_after_three_attempts(
    aws: AwsEmulator, bucket: str, relay: S3NotificationRelay
) -> None:
    recording.fail_next["intake"] = 5
    aws.client("s3").put_object(Bucket=bucket, Key="incoming/r-5/001.pdf", Body=b"%PDF")
    assert wait_for(lambda: relay.stats.dropped == 1)
    assert len(records()) == 3
    assert relay.pending() == 0
