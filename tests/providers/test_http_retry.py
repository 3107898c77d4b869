"""The one retry policy of `signbridge.providers.http.ProviderHttp`, against a scripted server on 127.0.0.1.

Nothing sleeps: `sleep` is injected and records the delays the policy asked for.
"""

from __future__ import annotations

import email.utils
import random
import socket
import time

import pytest

from signbridge.domain.provider_errors import PermanentError, RateLimitedError, RetryableError, UncertainOutcomeError
from signbridge.providers.http import MAX_RETRY_AFTER_SECONDS, ProviderHttp, RetryPolicy
from tests.providers.scripted_server import Reply, scripted_server

POLICY = RetryPolicy(max_attempts=4, backoff_base_seconds=0.5, backoff_cap_seconds=8.0)


def make_http(base_url: str, sleeps: list[float], *, read_timeout: float = 2.0) -> ProviderHttp:
    return ProviderHttp(
        "test",
        base_url,
        retry=POLICY,
        read_timeout=read_timeout,
        connect_timeout=1.0,
        sleep=sleeps.append,
        rng=random.Random(1),
    )


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_429_with_retry_after_seconds_waits_that_long_then_succeeds() -> None:
    # Given a provider that throttles once and says when to come back
    with scripted_server(Reply(429, b'{"detail": "slow down"}', {"Retry-After": "7"}), Reply(200)) as server:
        sleeps: list[float] = []
        # When an idempotent call is made
        response = make_http(server.url, sleeps).request("GET", "things/", operation="get", idempotent=True)
    # Then it waited exactly Retry-After and the second attempt succeeded
    assert response.status_code == 200
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_429_retry_after_http_date_and_cap() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    with scripted_server(
        Reply(429, headers={"Retry-After": soon}),
        Reply(429, headers={"Retry-After": "3600"}),
        Reply(200),
    ) as server:
        sleeps: list[float] = []
        make_http(server.url, sleeps).request("GET", "x", operation="get", idempotent=True)
    assert 25 <= sleeps[0] <= 31
    assert sleeps[1] == MAX_RETRY_AFTER_SECONDS  # an absurd Retry-After is capped


def test_429_on_a_non_idempotent_call_is_retried() -> None:
    # 429 means the provider refused before doing anything: safe to repeat even a create.
    with scripted_server(Reply(429), Reply(200)) as server:
        sleeps: list[float] = []
        response = make_http(server.url, sleeps).request("POST", "docs/", operation="create", idempotent=False)
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert len(sleeps) == 1


def test_429_forever_raises_rate_limited_after_bounded_attempts() -> None:
    with scripted_server(Reply(429, b'{"detail": "Request was throttled."}')) as server:
        sleeps: list[float] = []
        with pytest.raises(RateLimitedError) as raised:
            make_http(server.url, sleeps).request("GET", "x", operation="get", idempotent=True)
    assert raised.value.status == 429
    assert raised.value.retry_after is None
    assert len(server.requests) == POLICY.max_attempts
    assert len(sleeps) == POLICY.max_attempts - 1
    # exponential backoff with full jitter: each delay under its ceiling
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(POLICY.backoff_cap_seconds, POLICY.backoff_base_seconds * 2 ** (attempt - 1))


def test_5xx_then_success_on_an_idempotent_call() -> None:
    with scripted_server(Reply(503, b"Service Unavailable", {"Content-Type": "text/plain"}), Reply(200)) as server:
        sleeps: list[float] = []
        response = make_http(server.url, sleeps).request("GET", "docs/t/", operation="detail", idempotent=True)
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert len(sleeps) == 1


def test_5xx_forever_on_an_idempotent_call_raises_retryable_after_bounded_attempts() -> None:
    with scripted_server(Reply(502, b'{"detail": "bad gateway"}')) as server:
        sleeps: list[float] = []
        with pytest.raises(RetryableError) as raised:
            make_http(server.url, sleeps).request("GET", "x", operation="get", idempotent=True)
    assert not isinstance(raised.value, RateLimitedError)
    assert raised.value.status == 502
    assert raised.value.message == "bad gateway"
    assert len(server.requests) == POLICY.max_attempts


def test_5xx_on_a_non_idempotent_call_is_uncertain_and_not_retried() -> None:
    with scripted_server(Reply(500, b'{"detail": "boom"}'), Reply(200)) as server:
        sleeps: list[float] = []
        with pytest.raises(UncertainOutcomeError) as raised:
            make_http(server.url, sleeps).request("POST", "docs/", operation="create", idempotent=False)
    assert raised.value.status == 500
    assert len(server.requests) == 1
    assert sleeps == []


def test_read_timeout_on_a_non_idempotent_call_is_uncertain_and_not_retried() -> None:
    with scripted_server(Reply(200, delay=0.6)) as server:
        sleeps: list[float] = []
        http = make_http(server.url, sleeps, read_timeout=0.2)
        with pytest.raises(UncertainOutcomeError, match="read timeout"):
            http.request("POST", "docs/", operation="create", idempotent=False)
    assert len(server.requests) == 1
    assert sleeps == []


def test_read_timeout_on_an_idempotent_call_is_retried() -> None:
    with scripted_server(Reply(200, delay=0.6), Reply(200)) as server:
        sleeps: list[float] = []
        http = make_http(server.url, sleeps, read_timeout=0.2)
        response = http.request("GET", "docs/t/", operation="detail", idempotent=True)
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert len(sleeps) == 1


def test_connection_refused_on_a_non_idempotent_call_is_retried_then_retryable() -> None:
    # Given nobody listens: the request cannot have reached the provider, so even a create may be repeated
    sleeps: list[float] = []
    http = make_http(f"http://127.0.0.1:{closed_port()}", sleeps)
    with pytest.raises(RetryableError) as raised:
        http.request("POST", "docs/", operation="create", idempotent=False)
    assert not isinstance(raised.value, UncertainOutcomeError)
    assert "connection failed" in raised.value.message
    assert len(sleeps) == POLICY.max_attempts - 1


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 406])
def test_4xx_is_permanent_with_the_parsed_message_and_not_retried(status: int) -> None:
    with scripted_server(Reply(status, b'{"detail": "N\\u00e3o encontrado."}')) as server:
        sleeps: list[float] = []
        with pytest.raises(PermanentError) as raised:
            make_http(server.url, sleeps).request("GET", "x", operation="get", idempotent=True)
    assert raised.value.status == status
    assert raised.value.message == "Não encontrado."
    assert len(server.requests) == 1
    assert sleeps == []


def test_the_observer_hears_of_every_attempt_with_its_status_and_whether_it_failed() -> None:
    # Given an observer (the metrics hook) on a provider that fails once, then answers
    heard: list[tuple[str, str, int | None, bool]] = []
    with scripted_server(Reply(503), Reply(200)) as server:
        http = make_http(server.url, [])
        http.observer = lambda provider, operation, status, seconds, failed: heard.append(
            (provider, operation, status, failed)
        )
        # When one logical call takes two attempts
        http.request("GET", "things/", operation="get_things", idempotent=True)
    # Then the observer heard both, the first as a failure
    assert heard == [("test", "get_things", 503, True), ("test", "get_things", 200, False)]


def test_the_observer_hears_of_an_attempt_that_never_got_an_answer() -> None:
    heard: list[tuple[int | None, bool]] = []
    http = ProviderHttp(
        "test",
        f"http://127.0.0.1:{closed_port()}/",
        retry=RetryPolicy(max_attempts=1),
        sleep=lambda _: None,
        observer=lambda provider, operation, status, seconds, failed: heard.append((status, failed)),
    )
    with pytest.raises(RetryableError):
        http.request("GET", "x", operation="get", idempotent=True)
    assert heard == [(None, True)]
