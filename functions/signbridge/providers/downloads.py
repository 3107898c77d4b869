"""Download a provider's file link safely, as a stream: URL policy first, then a bounded, non-buffering read.

Provider webhooks and detail responses hand us URLs (ZapSign `signed_file`, signer photos; One-Shot results). A URL
from a payload is attacker-controlled input until proven otherwise, so before any connection is made:

- the scheme is `https` (plain `http` only for the local simulator: `allow_loopback_http` on and host `127.0.0.1`,
  `localhost` or `::1`, any port);
- the URL carries no userinfo (`user@host`), no whitespace or control characters;
- the host is in the allowlist, compared exactly and case-insensitively (`evil.zapsign.s3.amazonaws.com.attacker`
  is not `zapsign.s3.amazonaws.com`); a port other than the scheme's default must be allowlisted as `host:port`;
- an IP-literal host that is not globally routable (private, loopback, link-local, multicast, reserved,
  unspecified, shared address space), in IPv4, IPv6, IPv4-mapped IPv6 or the integer forms that `inet_aton`
  accepts (`2130706433`, `0x7f000001`, `017700000001`, `127.1`), is refused even when allowlisted.

Redirects are not followed automatically: each hop is checked against the same policy (at most `max_redirects`).
The body is read with `stream=True` in chunks; a declared `Content-Length` above `max_bytes` is refused before
reading, and the read stops with `FileTooLargeError` as soon as the count passes `max_bytes`.

Usage (the file store consumes the chunks without holding the whole file):

    with open_file_stream(url, allowed_hosts=settings.zapsign_file_hosts,
                          allow_loopback_http=settings.allow_loopback_http, http=downloads_http,
                          max_bytes=settings.max_file_bytes) as stream:
        store.put_stream(key, stream.chunks, length=stream.content_length)

An expired or tampered presigned link answers 403: it surfaces as `PermanentError` with `status == 403`; fetch a
fresh link (ZapSign: `GET docs/{token}/`) and try again.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import requests

from signbridge.domain.files import FileStream
from signbridge.domain.provider_errors import PermanentError
from signbridge.providers.http import ProviderHttp

DEFAULT_CHUNK_SIZE = 64 * 1024
DEFAULT_MAX_REDIRECTS = 3
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS = {"https": 443, "http": 80}
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_FORBIDDEN_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f\\]")
_HOST_CHARACTERS = re.compile(r"^[a-z0-9.\-_]+$")
# Ranges `ipaddress` may report as global but that must never be fetched from a payload URL.
_EXTRA_BLOCKED_NETWORKS = (
    ipaddress.ip_network("100.64.0.0/10"),  # shared address space (carrier-grade NAT)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: embeds an IPv4 address
    ipaddress.ip_network("2002::/16"),  # 6to4: embeds an IPv4 address
)


class DisallowedUrlError(PermanentError):
    """The URL breaks the download policy. No connection was made. `reason` says which rule."""

    def __init__(self, provider: str, operation: str, reason: str, *, where: str) -> None:
        self.reason = reason
        super().__init__(provider, operation, f"refused URL {where}: {reason}")


class FileTooLargeError(PermanentError):
    """The file is larger than the configured cap (declared or counted while streaming)."""


def check_url(
    url: str,
    *,
    allowed_hosts: Collection[str],
    allow_loopback_http: bool = False,
    provider: str = "download",
    operation: str = "download",
) -> SplitResult:
    """Apply the URL policy (module docstring) and return the parsed URL, or raise `DisallowedUrlError`."""

    def refuse(reason: str) -> DisallowedUrlError:
        return DisallowedUrlError(provider, operation, reason, where=_describe(url))

    if _FORBIDDEN_CHARACTERS.search(url):
        raise refuse("whitespace, control characters or backslashes in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise refuse(f"not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise refuse(f"scheme {scheme or '(none)'!r} is not https")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise refuse("userinfo (user@host) is not allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise refuse("no host")
    address = _ip_literal(host)
    if allow_loopback_http and host in LOOPBACK_HOSTS:
        return parts  # the local simulator: any port, http or https
    if scheme != "https":
        raise refuse("plain http is only allowed for the local simulator on loopback")
    if address is not None and not _is_public(address):
        raise refuse(f"IP address {address} is not publicly routable")
    if address is None and not _HOST_CHARACTERS.match(host):
        raise refuse("host name has characters outside [a-z0-9.-_]")
    allowed = {entry.strip().lower() for entry in allowed_hosts if entry.strip()}
    names = {host, str(address)} if address is not None else {host}
    if port is None or port == _DEFAULT_PORTS[scheme]:
        if not names & allowed:
            raise refuse("host is not in the allowlist")
    elif not {f"{name}:{port}" for name in names} & allowed:
        reason = f"port {port} is not in the allowlist" if names & allowed else "host is not in the allowlist"
        raise refuse(reason)
    return parts


@contextmanager
def open_file_stream(
    url: str,
    *,
    allowed_hosts: Collection[str],
    allow_loopback_http: bool = False,
    http: ProviderHttp | requests.Session | None = None,
    max_bytes: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    provider: str = "download",
    operation: str = "download",
) -> Iterator[FileStream]:
    """Open `url` after the policy check and yield a `FileStream`; the connection is closed on exit.

    `http` supplies the session, timeouts and retry policy (a GET is idempotent: connection errors, 429 and 5xx
    are retried). Its default headers are NOT sent: a provider's API credentials must never reach a file host.
    """
    fetcher = _downloader(http, provider)
    current = url
    for _hop in range(max_redirects + 1):
        parts = check_url(
            current,
            allowed_hosts=allowed_hosts,
            allow_loopback_http=allow_loopback_http,
            provider=provider,
            operation=operation,
        )
        response = fetcher.request(
            "GET",
            current,
            operation=operation,
            idempotent=True,
            expected=(200, *_REDIRECT_STATUSES),
            stream=True,
            allow_redirects=False,
        )
        if response.status_code in _REDIRECT_STATUSES:
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise PermanentError(provider, operation, "redirect without a Location", status=response.status_code)
            current = urljoin(current, location)
            continue
        try:
            declared = _content_length(response)
            if declared is not None and declared > max_bytes:
                raise FileTooLargeError(
                    provider, operation, f"declared size {declared} bytes exceeds the {max_bytes}-byte cap"
                )
            yield FileStream(
                url_host=(parts.hostname or "").lower(),
                content_length=declared,
                content_type=response.headers.get("Content-Type"),
                chunks=_bounded_chunks(response, max_bytes, chunk_size, provider, operation),
            )
        finally:
            response.close()
        return
    raise PermanentError(provider, operation, f"more than {max_redirects} redirects")


def _downloader(http: ProviderHttp | requests.Session | None, provider: str) -> ProviderHttp:
    if isinstance(http, ProviderHttp):
        downloader = copy.copy(http)  # same session, timeouts, retry policy and sleep; no API credentials
        downloader.default_headers = {}
        downloader.provider = provider
        return downloader
    return ProviderHttp(provider, "https://download.invalid/", session=http)


def _bounded_chunks(
    response: requests.Response, max_bytes: int, chunk_size: int, provider: str, operation: str
) -> Iterator[bytes]:
    received = 0
    for chunk in response.iter_content(chunk_size=chunk_size):
        if not chunk:
            continue
        received += len(chunk)
        if received > max_bytes:
            raise FileTooLargeError(provider, operation, f"file exceeds the {max_bytes}-byte cap")
        yield chunk


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None or not value.strip().isdigit():
        return None
    if response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
        return None  # the declared length is of the encoded body; the counted limit still applies
    return int(value)


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `host` denotes, including the legacy integer forms resolvers accept, or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        pass
    return _inet_aton(host)


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """`inet_aton` forms: 1 to 4 dot-separated parts, each decimal, 0x-hex or 0-octal (`127.1`, `0x7f.1`)."""
    parts = host.split(".")
    if host.endswith("."):
        parts = parts[:-1]
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            elif part.isdigit():
                numbers.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(number > 255 for number in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for number in head:
        value = value * 256 + number
    value = value * 256 ** (5 - len(numbers)) + last
    return ipaddress.IPv4Address(value)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and not _is_public(embedded):
            return False
    blocked = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )
    in_extra = any(address.version == network.version and address in network for network in _EXTRA_BLOCKED_NETWORKS)
    return not (blocked or in_extra)


def _describe(url: str) -> str:
    """Scheme and host of a URL for an error message: never the path or query (presigned signatures)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "(unparseable)"
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme or '?'}://{shown}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class FileDownloads:
    """`open_file_stream` on one pooled session: the `FileDownloads` port of `signbridge.workflow.ports`."""

    http: ProviderHttp

    def open(
        self,
        url: str,
        *,
        allowed_hosts: Collection[str],
        allow_loopback_http: bool = False,
        max_bytes: int,
        provider: str = "download",
        operation: str = "download",
    ) -> AbstractContextManager[FileStream]:
        return open_file_stream(
            url,
            allowed_hosts=allowed_hosts,
            allow_loopback_http=allow_loopback_http,
            http=self.http,
            max_bytes=max_bytes,
            provider=provider,
            operation=operation,
        )
