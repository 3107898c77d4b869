"""The AWS emulation: one moto server on loopback, used by the local stack and by the tests alike.

`AwsEmulator` runs moto's server in a thread of this process (`local.background`), bound to 127.0.0.1 (moto binds
0.0.0.0 unless told), with the one fix for moto's DynamoDB races (`OneDynamoDBRequestAtATime`) and the FIFO
redelivery fix (`apply_moto_fixes`). `point_boto3_at(emulator)` makes every boto3 client this process creates
afterwards talk to it (endpoint, fake credentials, region), and gives back a function that undoes it.
`local.provision` creates the template's resources in it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import boto3
import requests
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from local.background import BackgroundServer
from local.message_moves import apply_message_move_tasks
from local.template.names import AwsIdentity

logger = logging.getLogger("signbridge.local.aws")

LOOPBACK = "127.0.0.1"
# Credentials moto accepts; never real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Variables that could send a boto3 client elsewhere than the emulator (a profile, a service-specific endpoint).
_CLEARED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


_moto_fixes_lock = threading.Lock()
_moto_fixes_applied = False
# One lock for every emulator of the process: moto keeps its state in module globals shared by all its servers.
_dynamodb_lock = threading.Lock()


class OneDynamoDBRequestAtATime:
    """WSGI middleware: DynamoDB requests run one at a time (process-wide); the other services stay concurrent.

    moto's in-memory tables are not thread-safe, and the server answers requests on concurrent threads (the local
    stack runs handlers in parallel, the tests race writers on purpose). moto evaluates a condition and then writes
    without a lock, so two concurrent TransactWriteItems can both pass `version = :expected`, and a TransactWriteItems
    that deep-copies the tables for its rollback while another request writes them fails ("dictionary changed size
    during iteration"). DynamoDB applies each request atomically and serialises conflicting writes; handling DynamoDB
    requests one at a time gives the emulation that guarantee (they are in-memory and fast, so it costs little). S3
    and SQS stay concurrent (SQS long polls would otherwise hold everything up).
    """

    def __init__(self, app: Any) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return self._app(environ, start_response)
        with _dynamodb_lock:
            return list(self._app(environ, start_response))


def apply_moto_fixes() -> None:
    """Correct what moto 5.2 does differently from SQS in a way the local stack depends on (idempotent).

    FIFO redelivery order: when in-flight messages of a group become visible again (a failed batch), moto's receive
    skips the group's first message while later ones of the batch are still marked in flight, and so delivers them
    out of order; SQS delivers the group in order. Releasing the messages that are visible again before moto looks
    at the group restores SQS's order (tests/local/test_pollers.py proves it). The dead-letter redrive API moto lacks
    (`StartMessageMoveTask` and its two companions) is `local.message_moves`. DynamoDB's atomicity is the server's
    middleware, `OneDynamoDBRequestAtATime`.
    """
    global _moto_fixes_applied  # noqa: PLW0603 - a process-wide patch of a process-wide library
    with _moto_fixes_lock:
        if _moto_fixes_applied:
            return
        from moto.sqs.models import SQSBackend  # noqa: PLC0415 - only the emulator needs moto's internals

        original = SQSBackend.receive_message

        def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            queue = self.get_queue(queue_name)
            if queue.fifo_queue:
                for message in list(queue.pending_messages):
                    if message.visible:
                        queue.pending_messages.discard(message)
            return original(self, queue_name, *args, **kwargs)

        SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
        apply_message_move_tasks()
        _moto_fixes_applied = True


class AwsEmulator:
    """moto server in a thread of this process, on loopback. `port=0` lets the OS pick a free port."""

    def __init__(self, *, host: str = LOOPBACK, port: int = 0, identity: AwsIdentity | None = None) -> None:
        self.host = host
        self.port = port
        self.identity = identity or AwsIdentity()
        self._server: BackgroundServer | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def start(self) -> AwsEmulator:
        apply_moto_fixes()
        if self._server is None:
            app = OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
            self._server = BackgroundServer.wsgi(
                app,
                host=self.host,
                port=self.port,
                name="moto-server",
                logger=logger,
                request_handler=MotoRequestHandler,
            ).start()
            self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every resource and item (moto's state is per process, shared by every server in it)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    def client(self, service: str) -> Any:
        """A boto3 client bound to this emulator explicitly (independent of the process environment).

        Cached per service (boto3 clients are thread-safe; building one costs a service-model load)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._new_client(service)
            return self._clients[service]

    def _new_client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.identity.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def process_environment(self) -> dict[str, str]:
        """The variables that point boto3 (and anything reading the standard AWS variables) at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.identity.region,
            "AWS_DEFAULT_REGION": self.identity.region,
            **FAKE_CREDENTIALS,
        }


def point_boto3_at(emulator: AwsEmulator) -> Callable[[], None]:
    """Point this process's boto3 at the emulator; returns the function that restores the previous environment.

    Also drops boto3's default session, which caches credentials resolved before the change.
    """
    wanted: dict[str, str | None] = dict.fromkeys(_CLEARED_VARIABLES)
    wanted.update(emulator.process_environment())
    # Service-specific endpoints (AWS_ENDPOINT_URL_S3, …) would win over AWS_ENDPOINT_URL.
    wanted.update(dict.fromkeys(name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")))
    previous = {name: os.environ.get(name) for name in wanted}
    _apply(wanted)
    boto3.DEFAULT_SESSION = None

    def restore() -> None:
        _apply(previous)
        boto3.DEFAULT_SESSION = None

    return restore


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


__all__ = [
    "FAKE_CREDENTIALS",
    "LOOPBACK",
    "AwsEmulator",
    "OneDynamoDBRequestAtATime",
    "apply_moto_fixes",
    "point_boto3_at",
]
