"""The AWS emulation: one moto server on loopback, used by the local stack and by the tests alike.

`AwsEmulator` runs moto's server in a thread of this process (`local.background`), or in a process of its
own (`separate_process`, `python -m local.aws`: the local stack's choice, so moto runs on another core than
the functions), bound to 127.0.0.1 (moto binds 0.0.0.0 unless told), with the one fix for moto's DynamoDB races
(`OneDynamoDBRequestAtATime`), the FIFO redelivery fix and the transactions' snapshot of the items they touch
(`apply_moto_fixes`). `point_boto3_at(emulator)` makes every boto3 client this process creates
afterwards talk to it (endpoint, fake credentials, region), and gives back a function that undoes it.
`local.provision` creates the template's resources in it.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import subprocess
import sys
import threading
import time
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


_READY_PREFIX = "moto serving on port "
_PROCESS_READY_SECONDS = 60.0
_PROCESS_STOP_SECONDS = 5.0

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
        # The body is read before the lock is taken: a client that is slow to send it (a busy machine) must not hold
        # every other DynamoDB request up.
        environ["wsgi.input"] = io.BytesIO(_request_body(environ))
        with _dynamodb_lock:
            return list(self._app(environ, start_response))


def _request_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        return bytes(stream.read(length))
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream at the last chunk
        return bytes(stream.read())
    return b""


def apply_moto_fixes() -> None:
    """Correct what moto 5.2 does differently from SQS in a way the local stack depends on (idempotent).

    FIFO redelivery order: when in-flight messages of a group become visible again (a failed batch), moto's receive
    skips the group's first message while later ones of the batch are still marked in flight, and so delivers them
    out of order; SQS delivers the group in order. Releasing the messages that are visible again before moto looks
    at the group restores SQS's order (tests/local/test_pollers.py proves it). The dead-letter redrive API moto lacks
    (`StartMessageMoveTask` and its two companions) is `local.message_moves`. DynamoDB's atomicity is the server's
    middleware, `OneDynamoDBRequestAtATime`.

    DynamoDB transactions: `_snapshot_touched_items_only`; queries: `_query_reads_its_partition_only`. KMS:
    `_kms_sign_digest` (see each).
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
        _snapshot_touched_items_only()
        _kms_sign_digest()
        _query_reads_its_partition_only()
        _moto_fixes_applied = True


_kms_message_type = threading.local()
KMS_RAW_MESSAGE_MAX_BYTES = 4096  # KMS Sign's limit for MessageType RAW


def _kms_sign_digest() -> None:
    """KMS `Sign` with `MessageType=DIGEST`: moto 5.2 ignores the message type and hashes the digest once more, so
    the signature does not verify over the original message as KMS's does. Here a DIGEST message is signed as the
    prehashed digest it is (ECDSA keys: the evidence package's seal), and a RAW message longer than KMS's 4096 bytes
    is refused as KMS refuses it."""
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed  # noqa: PLC0415
    from moto.kms.exceptions import ValidationException  # noqa: PLC0415 - only the emulator needs moto's internals
    from moto.kms.responses import KmsResponse  # noqa: PLC0415
    from moto.kms.utils import ECDSAPrivateKey  # noqa: PLC0415

    original_response = KmsResponse.sign
    original_key_sign = ECDSAPrivateKey.sign

    def sign(self: KmsResponse) -> str:
        message_type = self._get_param("MessageType") or "RAW"
        message = self._get_param("Message")
        if message_type == "RAW" and message is not None and len(message) > KMS_RAW_MESSAGE_MAX_BYTES:
            raise ValidationException(f"Message must be at most {KMS_RAW_MESSAGE_MAX_BYTES} bytes for MessageType RAW")
        _kms_message_type.value = message_type
        try:
            return original_response(self)
        finally:
            _kms_message_type.value = None

    def key_sign(self: ECDSAPrivateKey, message: bytes, signing_algorithm: str) -> bytes:
        if getattr(_kms_message_type, "value", None) != "DIGEST":
            return original_key_sign(self, message, signing_algorithm)
        digests: dict[str, hashes.HashAlgorithm] = {
            "ECDSA_SHA_256": hashes.SHA256(),
            "ECDSA_SHA_384": hashes.SHA384(),
            "ECDSA_SHA_512": hashes.SHA512(),
        }
        algorithm = digests[signing_algorithm]
        if len(message) != algorithm.digest_size:
            raise ValidationException(f"Digest is invalid length for algorithm {signing_algorithm}.")
        return bytes(self.private_key.sign(message, ec.ECDSA(Prehashed(algorithm))))

    KmsResponse.sign = sign  # type: ignore[method-assign]
    ECDSAPrivateKey.sign = key_sign  # type: ignore[method-assign]


_in_transaction = threading.local()


def _snapshot_touched_items_only() -> None:
    """moto 5.2's `transact_write_items` deep-copies every table a transaction item names, once per item, for its
    rollback: its cost grows with the table (72% of the local stack's time at 50 requests, throughput decaying as the
    table fills; issue 16). Upstream sped up the copy itself (getmoto/moto#9670, a cheaper `Item.__deepcopy__`) but
    still copies whole tables. Here a transaction snapshots only the items it names (a deep copy of each, or their
    absence) and restores exactly those when it fails, which is all its writes can have changed; moto's own table
    copies are skipped while it runs (the tables are then "restored" to themselves). DynamoDB requests run one at a
    time (`OneDynamoDBRequestAtATime`), so nothing else writes those items meanwhile.
    """
    import copy  # noqa: PLC0415
    import types  # noqa: PLC0415

    from moto.dynamodb import models  # noqa: PLC0415 - only the emulator needs moto's internals
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table) and getattr(_in_transaction, "active", False):
            return value  # the touched items are snapshot instead
        return copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        """(table, hash key, range key, deep copy of the item or None) for every item the transaction names."""
        found = []
        for entry in transact_items:
            for operation, request in entry.items():
                table = backend.tables.get(request.get("TableName", "")) if isinstance(request, dict) else None
                if table is None:
                    continue
                attributes = request.get("Item") if operation == "Put" else request.get("Key")
                if not isinstance(attributes, dict) or table.hash_key_attr not in attributes:
                    continue
                hash_key = DynamoType(attributes[table.hash_key_attr])
                range_key = None
                if table.range_key_attr is not None:
                    if table.range_key_attr not in attributes:
                        continue
                    range_key = DynamoType(attributes[table.range_key_attr])
                current = _stored_item(table, hash_key, range_key)
                found.append((table, hash_key, range_key, copy.deepcopy(current) if current is not None else None))
        return found

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshot = touched(self, transact_items)
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(snapshot):
                _restore_item(table, hash_key, range_key, item)
            raise
        finally:
            _in_transaction.active = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_querying = threading.local()


def _query_reads_its_partition_only() -> None:
    """moto 5.2's `Table.query` on the table's own key (no index) builds `all_items()` — every item of the table,
    sorted — and then keeps those of the queried partition: each `Query` costs O(n log n) in the table's size, so the
    local stack slows down as its table fills (the long run's decay: every `GET /v1/requests/{id}` and every worker
    step reads its request by a partition query; issue 16). Here, while such a query runs, `all_items()` of that table
    answers with the queried partition's items alone (sorted as moto sorts them), which is every item the query could
    keep: the result is the same, the cost is the partition's. Queries on an index, scans and everything else still
    see the whole table.
    """
    import inspect  # noqa: PLC0415

    from moto.dynamodb.models.table import Table  # noqa: PLC0415 - only the emulator needs moto's internals

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("index_name") or arguments.get("hash_key") is None:
            return original_query(self, *args, **kwargs)
        previous = getattr(_querying, "partition", None)
        _querying.partition = (self, arguments["hash_key"])
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _querying.partition = previous

    def all_items(self: Any) -> Any:
        partition = getattr(_querying, "partition", None)
        if partition is None or partition[0] is not self:
            return original_all_items(self)
        group = self.items.get(partition[1])
        if group is None:
            return []
        items = list(group.values()) if self.range_key_attr else [group]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _stored_item(table: Any, hash_key: Any, range_key: Any) -> Any:
    if range_key is None:
        return table.items.get(hash_key)
    return table.items.get(hash_key, {}).get(range_key)


def _restore_item(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    group = table.items.get(hash_key)
    if item is None:
        if group is not None:
            group.pop(range_key, None)
            if not group:
                table.items.pop(hash_key, None)
    else:
        table.items[hash_key][range_key] = item


def moto_server(host: str = LOOPBACK, port: int = 0) -> BackgroundServer:
    """The moto server with the emulation's fixes (not started)."""
    apply_moto_fixes()
    app = OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
    return BackgroundServer.wsgi(
        app, host=host, port=port, name="moto-server", logger=logger, request_handler=MotoRequestHandler
    )


class AwsEmulator:
    """moto server on loopback: in a thread of this process, or (`separate_process`) in a process of its own, so it
    runs on another core than the functions (the local stack's choice; tests that look into moto's state in-process
    keep the thread). `port=0` lets the OS pick a free port."""

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        identity: AwsIdentity | None = None,
        separate_process: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.identity = identity or AwsIdentity()
        self.separate_process = separate_process
        self._server: BackgroundServer | None = None
        self._process: subprocess.Popen[str] | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def start(self) -> AwsEmulator:
        if self.separate_process:
            if self._process is None:
                self._start_process()
            return self
        if self._server is None:
            self._server = moto_server(self.host, self.port).start()
            self.port = self._server.port
        return self

    def _start_process(self) -> None:
        """`python -m local.aws` serving; it prints its port once it answers, and exits when its stdin closes."""
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "local.aws", "--host", self.host, "--port", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until it serves (or exits)
        if not line.startswith(_READY_PREFIX):
            self._stop_process()
            raise RuntimeError(f"the moto server process did not start (exit code {process.poll()})")
        self.port = int(line[len(_READY_PREFIX) :])
        deadline = time.monotonic() + _PROCESS_READY_SECONDS
        while True:  # its readiness, over HTTP
            try:
                requests.get(f"{self.endpoint_url}/moto-api/data.json", timeout=5).raise_for_status()
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self._stop_process()
                    raise
                time.sleep(0.05)

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # its signal to stop
        try:
            process.wait(timeout=_PROCESS_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def stop(self) -> None:
        self._stop_process()
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
        return self._server is not None or self._process is not None

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


def serve(argv: list[str] | None = None) -> int:
    """`python -m local.aws`: the moto server until stdin closes (its parent stopped it, or died)."""
    parser = argparse.ArgumentParser(prog="python -m local.aws")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    server = moto_server(options.host, options.port).start()
    print(f"{_READY_PREFIX}{server.port}", flush=True)
    sys.stdin.read()  # its own session: a terminal's Ctrl-C goes to the parent, which closes this stdin
    server.stop()
    return 0


__all__ = [
    "FAKE_CREDENTIALS",
    "LOOPBACK",
    "AwsEmulator",
    "OneDynamoDBRequestAtATime",
    "apply_moto_fixes",
    "moto_server",
    "point_boto3_at",
    "serve",
]


if __name__ == "__main__":
    sys.exit(serve())
