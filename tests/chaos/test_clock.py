"""How the chaos run drives time (`chaos.clock`): the reconciler's clock an hour ahead on its own thread only, every
function's services (and record store) keeping the fast clock while installed, and the worker's backoffs let elapse on
a real queue (moto)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chaos.clock import SPEED, BackoffClock, FunctionClocks, ahead, shifted_clock
from signbridge.config import Settings
from signbridge.wiring import AwsServices, services_now
from tests.support.aws import create_fifo_queue, unique_name

pytestmark = pytest.mark.xdist_group("chaos")

HOUR = timedelta(hours=1)


def _close_to(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(seconds=5)


def test_the_clock_runs_ahead_inside_ahead_and_on_that_thread_only() -> None:
    assert _close_to(shifted_clock(), datetime.now(UTC))
    seen_elsewhere: list[datetime] = []
    with ahead(HOUR):
        assert _close_to(shifted_clock(), datetime.now(UTC) + HOUR)
        other = threading.Thread(target=lambda: seen_elsewhere.append(shifted_clock()))
        other.start()
        other.join()
    assert _close_to(seen_elsewhere[0], datetime.now(UTC))
    assert _close_to(shifted_clock(), datetime.now(UTC))


def test_services_made_while_installed_keep_time_by_the_shifted_clock(aws: Any) -> None:
    settings = Settings(
        table_name="t",
        bucket_name="b",
        zapsign_queue_url="zq",
        oneshot_queue_url="oq",
        zapsign_secret_name="z",
        webhook_secret_name="w",
        oneshot_secret_name="o",
    )
    with FunctionClocks().installed():
        services = AwsServices.from_settings(settings)
        ahead_before = shifted_clock() - datetime.now(UTC)
        time.sleep(0.5)
        gained = shifted_clock() - datetime.now(UTC) - ahead_before  # SPEED times 0.5 s, less the real 0.5 s
    assert services.clock is shifted_clock
    assert services.records._clock is shifted_clock  # what stamps status_since and the timeline
    assert timedelta(seconds=0.5 * (SPEED - 1)) <= gained < timedelta(seconds=0.5 * (SPEED - 1) + 3)
    assert AwsServices.from_settings(settings).clock is services_now  # uninstalled: the real clock again
    assert abs(services_now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_a_backed_off_message_is_delivered_again_once_its_backoff_passed_on_the_functions_clock(
    sqs_client: Any,
) -> None:
    queue = create_fifo_queue(sqs_client, unique_name("chaos-clock"))
    sqs_client.send_message(QueueUrl=queue.url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")
    [received] = sqs_client.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1)["Messages"]
    # Given the worker's backoff of a failed record (as it calls it, remembered by the injector's hook)
    backoff = 3 * SPEED  # seconds: 3 s on the functions' clock
    sqs_client.change_message_visibility(
        QueueUrl=queue.url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=backoff
    )
    backoffs = BackoffClock()
    backoffs.remember(queue.url, received["ReceiptHandle"], backoff)
    # When it has not passed on the functions' clock yet, it is left alone
    assert backoffs.expire(sqs_client) == 0
    assert sqs_client.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1).get("Messages", []) == []
    # When it has, the message is delivered again (long before SQS's own timeout), and nothing is left to expire
    time.sleep(3.2)
    assert backoffs.expire(sqs_client) == 1
    again = sqs_client.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1)["Messages"]
    assert [message["MessageId"] for message in again] == [received["MessageId"]]
    assert backoffs.expire(sqs_client) == 0


def test_a_backoff_about_to_end_is_left_alone() -> None:
    """Its message may be received again by now: an old receipt handle must not touch the delivery in progress."""
    backoffs = BackoffClock()
    backoffs.remember("http://127.0.0.1:9/q", "handle", 1)
    assert backoffs.expire(sqs=None) == 0
