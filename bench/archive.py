"""Archive time against file size: a provider's file streamed into S3 through the path a worker step takes.

The path: `signbridge.providers.downloads.open_file_stream` (the URL policy, a bounded streamed read) on a file
served over HTTP by a small loopback file host, handed chunk by chunk to `FileStore.store_stream`
(`signbridge.storage.files`: PDF check, sha256 and size counted while streaming, one `PutObject` or a multipart upload
of ~8 MiB parts) against moto server in a process of its own (so what S3 keeps does not count against this process's
memory). Per size: wall time (median of the repeats), split into the time spent inside the S3 calls (the
emulator's share, per operation: moto's `CompleteMultipartUpload` joins the parts into one new object, a copy of
the whole file; what S3 itself takes is not measured here) and the rest (SignBridge's own: download, PDF check,
hashing, buffering); tracemalloc's peak in this process; the S3 calls made (botocore `before-call`/`after-call`
hooks); and checks that the stored object is the served file (size, and the sha256 the store answered against the
served bytes' own digest) written once (no `CopyObject`, no `DeleteObject`, one version).

`python -m bench.archive` prints the figures as JSON (the benchmark runs it in a process of its own).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from local.aws import AwsEmulator
from signbridge.providers.downloads import open_file_stream
from signbridge.providers.http import ProviderHttp, new_session
from signbridge.storage.clients import S3_CONFIG
from signbridge.storage.files import MIB, FileStore

SIZES_MIB = (1, 5, 50)
REPEAT = 3
SERVE_CHUNK = 256 * 1024
BUCKET = "signbridge-bench-archive"


def pdf_chunks(total: int, chunk_size: int = SERVE_CHUNK) -> Iterator[bytes]:
    """`total` bytes that start with `%PDF-`, made chunk by chunk (never held whole)."""
    produced = 0
    while produced < total:
        size = min(chunk_size, total - produced)
        body = bytes([produced // chunk_size % 251]) * size
        if produced == 0:
            body = (b"%PDF-1.7\n" + body)[:size]
        produced += size
        yield body


def served_sha256(total: int) -> str:
    digest = hashlib.sha256()
    for chunk in pdf_chunks(total):
        digest.update(chunk)
    return digest.hexdigest()


class _FileHost(BaseHTTPRequestHandler):
    """`GET /<bytes>.pdf`: that many bytes of PDF, streamed with a Content-Length."""

    def do_GET(self) -> None:
        try:
            total = int(self.path.strip("/").removesuffix(".pdf"))
        except ValueError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        for chunk in pdf_chunks(total):
            self.wfile.write(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        return


def measure(sizes_mib: Sequence[int] = SIZES_MIB, repeat: int = REPEAT) -> dict[str, Any]:
    host = ThreadingHTTPServer(("127.0.0.1", 0), _FileHost)
    serving = threading.Thread(target=host.serve_forever, daemon=True)
    serving.start()
    emulator = AwsEmulator(separate_process=True).start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=emulator.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder credentials
            config=S3_CONFIG,
        )
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        store = FileStore(bucket=BUCKET, client=client)
        http = ProviderHttp("file_download", "https://invalid/", session=new_session())
        calls = _S3Calls()
        client.meta.events.register("before-call.s3", calls.before)
        client.meta.events.register("after-call.s3", calls.after)
        port = host.server_address[1]
        figures = [
            _measure_size(store, client, http, calls, host=f"127.0.0.1:{port}", total=size * MIB, repeat=repeat)
            for size in sizes_mib
        ]
    finally:
        emulator.stop()
        host.shutdown()
        host.server_close()
    by_size = {figure["mib"]: figure for figure in figures}
    return {
        "sizes": figures,
        "repeat": repeat,
        "time_ratio_50_to_5": _ratio(by_size, "seconds"),
        "own_time_ratio_50_to_5": _ratio(by_size, "own_seconds"),
        "s3_time_ratio_50_to_5": _ratio(by_size, "s3_seconds"),
        "part_size_mib": 8,
    }


def _ratio(by_size: dict[int, dict[str, Any]], figure: str) -> float | None:
    if 5 not in by_size or 50 not in by_size or not by_size[5][figure]["median"]:
        return None
    return round(by_size[50][figure]["median"] / by_size[5][figure]["median"], 2)


class _S3Calls:
    """The S3 calls of one store, by operation, and the time spent inside them (one call at a time)."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.by_operation: dict[str, float] = {}
        self._started = 0.0

    @property
    def seconds(self) -> float:
        return sum(self.by_operation.values())

    def clear(self) -> None:
        self.count.clear()
        self.by_operation.clear()

    def before(self, model: Any, **_: Any) -> None:
        self.count[model.name] += 1
        self._started = time.perf_counter()

    def after(self, model: Any, **_: Any) -> None:
        elapsed = time.perf_counter() - self._started
        self.by_operation[model.name] = self.by_operation.get(model.name, 0.0) + elapsed


def _measure_size(
    store: FileStore, client: Any, http: ProviderHttp, calls: _S3Calls, *, host: str, total: int, repeat: int
) -> dict[str, Any]:
    expected = served_sha256(total)
    seconds: list[float] = []
    in_s3: list[float] = []
    peaks: list[float] = []
    per_run_calls: dict[str, int] = {}
    per_run_seconds: dict[str, float] = {}
    intact = True
    for attempt in range(repeat):
        key = f"signed/bench/{total}/{attempt}.pdf"
        calls.clear()
        tracemalloc.start()
        started = time.perf_counter()
        try:
            with open_file_stream(
                f"http://{host}/{total}.pdf",
                allowed_hosts=[host],
                allow_loopback_http=True,
                http=http,
                max_bytes=total + MIB,
            ) as stream:
                stored = store.store_stream(key, stream.chunks, expect_pdf=True, max_bytes=total + MIB)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        per_run_calls = dict(sorted(calls.count.items()))
        per_run_seconds = {name: round(value, 3) for name, value in sorted(calls.by_operation.items())}
        in_s3.append(calls.seconds)
        versions = client.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
        head = client.head_object(Bucket=BUCKET, Key=key)
        intact = intact and stored.sha256 == expected and stored.size == total == head["ContentLength"]
        intact = intact and len(versions) == 1
        seconds.append(elapsed)
        peaks.append(peak / MIB)
    return {
        "mib": total // MIB,
        "seconds": _spread(seconds),
        "s3_seconds": _spread(in_s3),
        "own_seconds": _spread([whole - s3 for whole, s3 in zip(seconds, in_s3, strict=True)]),
        "mib_per_s": round(total / MIB / statistics.median(seconds), 1),
        "tracemalloc_peak_mib": round(max(peaks), 2),
        "s3_calls": per_run_calls,
        "s3_seconds_by_operation_last_run": per_run_seconds,
        "rewrites": sum(count for name, count in per_run_calls.items() if name in ("CopyObject", "DeleteObject")),
        "sha256_matches_and_one_version": intact,
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.archive", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="MiB (repeat the flag; default 1, 5 and 50)")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="runs per size (default %(default)s)")
    options = parser.parse_args(argv)
    figures = measure(options.size or SIZES_MIB, options.repeat)
    print(json.dumps(figures), file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
