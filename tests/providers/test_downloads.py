"""`signbridge.providers.downloads`: the URL policy (checked before any connection) and the bounded stream."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from signbridge.config import DEFAULT_ZAPSIGN_FILE_HOSTS
from signbridge.domain.provider_errors import PermanentError
from signbridge.domain.zapsign import ZapSignDocument
from signbridge.providers.downloads import DisallowedUrlError, FileTooLargeError, check_url, open_file_stream
from signbridge.providers.http import ProviderHttp, RetryPolicy
from signbridge.providers.zapsign import ZapSignClient
from simulators.pdf import make_pdf
from simulators.zapsign.simulator import ZapSignSimulator
from tests.providers.scripted_server import Reply, scripted_server
from tests.simulators.conftest_zapsign import new_document

ALLOWED = (*DEFAULT_ZAPSIGN_FILE_HOSTS, "files.example.com:8443", "8.8.8.8")
MIB = 1024 * 1024


class NoNetworkAdapter(BaseAdapter):
    """A transport that fails the test if anything tries to connect."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(str(request.url))
        raise AssertionError(f"a connection was attempted to {request.url}")

    def close(self) -> None:
        pass


@pytest.fixture
def no_network() -> tuple[requests.Session, NoNetworkAdapter]:
    session = requests.Session()
    adapter = NoNetworkAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter


REFUSED = [
    ("http://zapsign.s3.amazonaws.com/a.pdf", "plain http"),
    ("ftp://zapsign.s3.amazonaws.com/a.pdf", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("https://evil.example.com/a.pdf", "allowlist"),
    ("https://zapsign.s3.amazonaws.com.evil.example.com/a.pdf", "allowlist"),
    ("https://s3.amazonaws.com/a.pdf", "allowlist"),
    ("https://user:pw@zapsign.s3.amazonaws.com/a.pdf", "userinfo"),
    ("https://zapsign.s3.amazonaws.com@evil.example.com/a.pdf", "userinfo"),
    ("https://zapsign.s3.amazonaws.com:8443/a.pdf", "port 8443"),
    ("https://files.example.com/a.pdf", "allowlist"),  # only :8443 is allowlisted for it
    ("https://zapsign.s3.amazonaws.com\\@evil.example.com/", "backslashes"),
    ("https://zapsign.s3.amazonaws.com /a.pdf", "whitespace"),
    ("https:///a.pdf", "no host"),
    ("https://zapsign.s3.amazonaws.com:99999/", "not a valid URL"),
    # IP literals that are not publicly routable, in every spelling
    ("https://127.0.0.1/a.pdf", "not publicly routable"),
    ("http://2130706433/", "plain http"),
    ("https://2130706433/", "not publicly routable"),
    ("https://0x7f000001/", "not publicly routable"),
    ("https://017700000001/", "not publicly routable"),
    ("https://127.1/", "not publicly routable"),
    ("https://0x7f.0.0.1/", "not publicly routable"),
    ("https://10.0.0.8/", "not publicly routable"),
    ("https://172.16.5.4/", "not publicly routable"),
    ("https://192.168.1.1/", "not publicly routable"),
    ("https://169.254.169.254/latest/meta-data/", "not publicly routable"),
    ("https://100.64.0.1/", "not publicly routable"),
    ("https://224.0.0.251/", "not publicly routable"),
    ("https://240.0.0.1/", "not publicly routable"),
    ("https://0.0.0.0/", "not publicly routable"),
    ("https://[::1]/", "not publicly routable"),
    ("https://[::]/", "not publicly routable"),
    ("https://[fe80::1]/", "not publicly routable"),
    ("https://[fc00::1]/", "not publicly routable"),
    ("https://[ff02::1]/", "not publicly routable"),
    ("https://[::ffff:127.0.0.1]/", "not publicly routable"),
    ("https://[::ffff:169.254.169.254]/", "not publicly routable"),
    ("https://[64:ff9b::a00:1]/", "not publicly routable"),
    # loopback is the local simulator only when allow_loopback_http is on
    ("http://127.0.0.1:8700/files/a.pdf", "plain http"),
    ("http://localhost:8700/files/a.pdf", "plain http"),
    ("https://localhost/files/a.pdf", "allowlist"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_refused_urls_make_no_connection(
    url: str, why: str, no_network: tuple[requests.Session, NoNetworkAdapter]
) -> None:
    session, adapter = no_network
    # When a refused URL is opened
    with (
        pytest.raises(DisallowedUrlError) as raised,
        open_file_stream(url, allowed_hosts=ALLOWED, http=session, max_bytes=MIB),
    ):
        pytest.fail("the stream must not open")
    # Then the error says why, it is permanent, and nothing was sent
    assert why in str(raised.value)
    assert isinstance(raised.value, PermanentError)
    assert adapter.sent == []


def test_refusal_message_never_carries_the_query_string() -> None:
    with pytest.raises(DisallowedUrlError) as raised:
        check_url("https://evil.example.com/a.pdf?Signature=SECRET&AWSAccessKeyId=KEY", allowed_hosts=ALLOWED)
    assert "SECRET" not in str(raised.value)
    assert "KEY" not in str(raised.value)
    assert "evil.example.com" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://zapsign.s3.amazonaws.com/pdf/a.pdf?AWSAccessKeyId=A&Signature=B&Expires=1",
        "https://ZapSign.S3.AmazonAWS.com/a.pdf",
        "https://zapsign.s3.amazonaws.com:443/a.pdf",
        "https://zapsign.s3.sa-east-1.amazonaws.com/a.pdf",
        "https://files.example.com:8443/a.pdf",
        "https://8.8.8.8/a.pdf",
    ],
)
def test_allowed_urls_pass_the_policy(url: str) -> None:
    parts = check_url(url, allowed_hosts=ALLOWED)
    assert parts.geturl() == url


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_http_is_allowed_only_with_the_local_flag(host: str) -> None:
    url = f"http://{host}:8700/files/a.pdf"
    assert check_url(url, allowed_hosts=(), allow_loopback_http=True).port == 8700
    with pytest.raises(DisallowedUrlError):
        check_url(url, allowed_hosts=(), allow_loopback_http=False)


def test_loopback_flag_does_not_open_other_private_addresses() -> None:
    for url in ("http://127.0.0.2/", "http://2130706433/", "http://10.0.0.1/", "http://169.254.169.254/"):
        with pytest.raises(DisallowedUrlError):
            check_url(url, allowed_hosts=(), allow_loopback_http=True)


def _document_with_file(zapsign_client: ZapSignClient) -> ZapSignDocument:
    document = zapsign_client.create_document(new_document())
    assert document.original_file is not None
    return document


def test_streams_a_simulator_file_in_chunks(zapsign_client: ZapSignClient, zapsign_http: ProviderHttp) -> None:
    # Given a document on the simulator and its original_file link
    document = _document_with_file(zapsign_client)
    assert document.original_file is not None
    # When the link is streamed (local stack: loopback http allowed)
    with open_file_stream(
        document.original_file,
        allowed_hosts=DEFAULT_ZAPSIGN_FILE_HOSTS,
        allow_loopback_http=True,
        http=zapsign_http,
        max_bytes=MIB,
        chunk_size=256,
    ) as stream:
        chunks = list(stream.chunks)
    # Then the file arrives in pieces, with its declared length and type
    body = b"".join(chunks)
    assert len(chunks) > 1
    assert body.startswith(b"%PDF-")
    assert stream.content_length == len(body)
    assert stream.content_type == "application/pdf"
    assert stream.url_host == "127.0.0.1"


def test_provider_credentials_are_not_sent_to_the_file_host() -> None:
    pdf = make_pdf("x")
    with scripted_server(Reply(200, pdf, {"Content-Type": "application/pdf"})) as server:
        http = ProviderHttp("zapsign", server.url, default_headers={"Authorization": "Bearer SECRET-TOKEN"})
        with open_file_stream(
            f"{server.url}/f.pdf", allowed_hosts=(), allow_loopback_http=True, http=http, max_bytes=MIB
        ) as stream:
            assert b"".join(stream.chunks) == pdf
        assert http.default_headers == {"Authorization": "Bearer SECRET-TOKEN"}  # the caller's object is untouched
    assert "Authorization" not in server.requests[0].headers


def test_expired_link_is_a_permanent_403(
    zapsign_simulator: ZapSignSimulator, zapsign_client: ZapSignClient, zapsign_http: ProviderHttp
) -> None:
    zapsign_simulator.config.file_link_lifetime_seconds = 1
    document = _document_with_file(zapsign_client)
    assert document.original_file is not None
    zapsign_simulator.advance_clock(2)
    with (
        pytest.raises(PermanentError) as raised,
        open_file_stream(
            document.original_file, allowed_hosts=(), allow_loopback_http=True, http=zapsign_http, max_bytes=MIB
        ),
    ):
        pytest.fail("an expired link must not open")
    assert raised.value.status == 403
    assert "AccessDenied" in raised.value.raw_body


def test_declared_size_over_the_cap_is_refused_before_reading() -> None:
    big = b"%PDF-" + b"0" * 5000
    with (
        scripted_server(Reply(200, big, {"Content-Type": "application/pdf"})) as server,
        pytest.raises(FileTooLargeError, match="declared size 5005"),
        open_file_stream(f"{server.url}/f.pdf", allowed_hosts=(), allow_loopback_http=True, max_bytes=4096),
    ):
        pytest.fail("must not open")


def test_undeclared_size_over_the_cap_stops_while_streaming() -> None:
    big = b"%PDF-" + b"0" * 10_000
    with scripted_server(Reply(200, big, {"Content-Type": "application/pdf"}, chunked=True)) as server:
        received = bytearray()

        def consume() -> None:
            with open_file_stream(
                f"{server.url}/f.pdf", allowed_hosts=(), allow_loopback_http=True, max_bytes=4096, chunk_size=1024
            ) as stream:
                assert stream.content_length is None
                for chunk in stream.chunks:
                    received.extend(chunk)

        with pytest.raises(FileTooLargeError, match="exceeds the 4096-byte cap"):
            consume()
        assert 0 < len(received) <= 4096


def test_redirects_are_checked_hop_by_hop() -> None:
    pdf = make_pdf("moved")
    with scripted_server(Reply(200, pdf)) as target:
        with (
            scripted_server(Reply(302, b"", {"Location": f"{target.url}/final.pdf"})) as origin,
            open_file_stream(
                f"{origin.url}/start.pdf", allowed_hosts=(), allow_loopback_http=True, max_bytes=MIB
            ) as stream,
        ):
            assert b"".join(stream.chunks) == pdf
        assert [request.path for request in target.requests] == ["/final.pdf"]


def test_redirect_to_a_disallowed_host_is_refused_before_following() -> None:
    with scripted_server(Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})) as origin:
        with (
            pytest.raises(DisallowedUrlError, match=r"169\.254\.169\.254"),
            open_file_stream(f"{origin.url}/start.pdf", allowed_hosts=(), allow_loopback_http=True, max_bytes=MIB),
        ):
            pytest.fail("must not follow")
        assert len(origin.requests) == 1


def test_too_many_redirects() -> None:
    with scripted_server(Reply(302, b"", {"Location": "/again"})) as origin:
        with (
            pytest.raises(PermanentError, match="more than 2 redirects"),
            open_file_stream(
                f"{origin.url}/start", allowed_hosts=(), allow_loopback_http=True, max_bytes=MIB, max_redirects=2
            ),
        ):
            pytest.fail("must not open")
        assert len(origin.requests) == 3


def test_download_5xx_is_retried_with_the_callers_policy() -> None:
    pdf = make_pdf("x")
    sleeps: list[float] = []
    with scripted_server(Reply(503), Reply(200, pdf)) as server:
        http = ProviderHttp("zapsign", server.url, retry=RetryPolicy(max_attempts=3), sleep=sleeps.append)
        with open_file_stream(
            f"{server.url}/f.pdf", allowed_hosts=(), allow_loopback_http=True, http=http, max_bytes=MIB
        ) as stream:
            assert b"".join(stream.chunks) == pdf
    assert len(sleeps) == 1
