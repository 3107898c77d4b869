"""One way to run an HTTP server in the background: bound on loopback, served from a daemon thread, stopped cleanly.

    server = BackgroundServer.wsgi(app, name="api-gateway", logger=logger).start()   # port 0: a free port
    server.url, server.port
    server.stop()                                                                     # shutdown, close, join

The local stack's gateway and moto server, the provider simulators and the tests' receivers all use it, so each has
the same lifecycle: `bind()` takes the port (a caller that must know the port before serving binds first), `start()`
binds if needed and serves, `stop()` stops serving, closes the socket and joins the thread. Each step is idempotent,
and a `BackgroundServer` is a context manager.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Callable
from typing import Any, Self

from werkzeug.serving import WSGIRequestHandler, make_server

LOOPBACK = "127.0.0.1"
_POLL_INTERVAL = 0.05  # how soon `stop()` is noticed by `serve_forever`


class BackgroundServer:
    """A `socketserver` server (made by `make`) answering on a daemon thread named `name`."""

    def __init__(self, make: Callable[[], socketserver.BaseServer], *, name: str = "http") -> None:
        self._make = make
        self.name = name
        self.server: Any = None
        self._thread: threading.Thread | None = None

    @classmethod
    def wsgi(
        cls,
        app: Any,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        name: str = "http",
        logger: logging.Logger | None = None,
        level: int = logging.DEBUG,
        request_handler: type[WSGIRequestHandler] = WSGIRequestHandler,
        redact: Callable[[str], str] | None = None,
    ) -> BackgroundServer:
        """A threaded werkzeug server for the WSGI `app`; its request lines go to `logger` at `level`, not stderr
        (through `redact` first, when given: what must never reach a log, e.g. a secret path segment)."""
        handler = quiet_handler(request_handler, logger or logging.getLogger(f"signbridge.{name}"), level, redact)
        return cls(lambda: make_server(host, port, app, threaded=True, request_handler=handler), name=name)

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def bind(self) -> Self:
        if self.server is None:
            self.server = self._make()
        return self

    def start(self) -> Self:
        self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"{self.name}-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.server is not None:
            if self._thread is not None:
                self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def quiet_handler(
    base: type[WSGIRequestHandler],
    logger: logging.Logger,
    level: int = logging.DEBUG,
    redact: Callable[[str], str] | None = None,
) -> type[WSGIRequestHandler]:
    """`base` (werkzeug's handler, or moto's) logging each request line to `logger` at `level` instead of stderr;
    `redact` rewrites the request line first. Errors werkzeug would print (they may quote the request line) go to
    `logger` too, through `redact`."""

    def line(requestline: str) -> str:
        return redact(requestline) if redact is not None else requestline

    class QuietHandler(base):  # type: ignore[valid-type,misc]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            logger.log(level, "%s %s", line(self.requestline), code)

        def log_error(self, format: str, *args: Any) -> None:
            logger.warning("%s", line(format % args if args else format))

    return QuietHandler
