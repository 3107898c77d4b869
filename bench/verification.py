"""`python -m bench.verification`: what verifying one signed PDF costs (docs/evidence.md, "Cost"); `make bench`
records the same figures (`measure_files`, section "Verifying a signed PDF" of docs/benchmarks.md).

Builds the test PKI of `tests.support.pki`, signs PDFs of a few sizes (one signer; two signers in turn), writes
each to a temporary file and verifies it from there, as the archive step would after streaming the S3 object:
wall time (median of `--repeat` runs, without tracing) and the peak of Python allocations during one verification
(`tracemalloc`, a separate run: tracing slows the code down). Then the same for making its long-term copy (PAdES
B-LT, `embed_validation_material` into a temporary file, as `workflow.verification.store_long_term` does), and how
many bytes the copy adds.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signbridge.domain.verification import ExpectedSigner, decide
from signbridge.verification.pdf import PdfSignatureVerifier, load_trust_anchors
from simulators.pdf import make_pdf
from tests.support.pki import TestPki


def padded_pdf(size: int) -> bytes:
    """A one-page PDF carrying an extra stream of `size` bytes (an attachment-like payload), before signing."""
    base = make_pdf("Service contract")
    if size <= 0:
        return base
    writer = IncrementalPdfFileWriter(io.BytesIO(base))
    payload = writer.add_object(generic.StreamObject(stream_data=bytes(range(256)) * (size // 256)))
    writer.root["/SignBridgePayload"] = payload
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def measure(
    verifier: PdfSignatureVerifier, path: Path, expected: list[ExpectedSigner], repeat: int
) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = verifier.verify(path, expected_signers=expected)
        times.append(time.perf_counter() - started)
        if not decide(report).passed:
            raise SystemExit(f"{path.name}: the policy failed a good file: {decide(report).reasons}")
    tracemalloc.start()
    verifier.verify(path, expected_signers=expected)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "median_ms": statistics.median(times) * 1000,
        "peak_mib": peak / 2**20,
        **measure_long_term(verifier, path, repeat),
    }


def measure_long_term(verifier: PdfSignatureVerifier, path: Path, repeat: int) -> dict[str, float]:
    """Making the long-term copy of `path` into a temporary file: median time, peak traced memory, bytes added."""
    times = []
    added = 0
    for _ in range(repeat):
        with tempfile.TemporaryFile() as output:
            started = time.perf_counter()
            verifier.embed_validation_material(path, output)
            times.append(time.perf_counter() - started)
            added = output.tell() - path.stat().st_size
    with tempfile.TemporaryFile() as output:
        tracemalloc.start()
        verifier.embed_validation_material(path, output)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "ltv_median_ms": statistics.median(times) * 1000,
        "ltv_peak_mib": peak / 2**20,
        "ltv_added_kib": added / 1024,
    }


PAYLOADS = (0, 1 << 20, 10 << 20)


def measure_files(repeat: int = 5, *, payloads: tuple[int, ...] = PAYLOADS) -> list[dict[str, float | int]]:
    """Per file (payload size, one signer or two in turn): its size, signatures, median time and peak traced memory
    of one verification from a temporary file, as the archive step verifies (`workflow.verification`)."""
    pki = TestPki()
    verifier = PdfSignatureVerifier(load_trust_anchors(pki.trust_anchors_pem))
    ana_cert, bruno_cert = pki.signer("Ana", "García López", "12345678Z"), pki.signer("Bruno", "Díaz", "87654321X")
    ana, bruno = ExpectedSigner(name="Ana García López", id_number="12345678Z"), ExpectedSigner(name="Bruno Díaz")
    rows: list[dict[str, float | int]] = []
    with tempfile.TemporaryDirectory() as folder:
        for payload in payloads:
            one = pki.sign(padded_pdf(payload), ana_cert)
            two = pki.sign(one, bruno_cert, field_name="Signature2")
            for signed, expected in ((one, [ana]), (two, [ana, bruno])):
                path = Path(folder) / "signed.pdf"
                path.write_bytes(signed)
                figures = measure(verifier, path, expected, repeat)
                rows.append(
                    {
                        "payload_mib": payload >> 20,
                        "size_mib": round(len(signed) / 2**20, 2),
                        "signatures": len(expected),
                        "median_ms": round(figures["median_ms"], 1),
                        "peak_mib": round(figures["peak_mib"], 2),
                        "ltv_median_ms": round(figures["ltv_median_ms"], 1),
                        "ltv_peak_mib": round(figures["ltv_peak_mib"], 2),
                        "ltv_added_kib": round(figures["ltv_added_kib"], 1),
                    }
                )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        "| file | size | signatures | median time | peak traced memory "
        "| long-term copy: median time | peak traced memory | bytes added |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in measure_files(args.repeat):
        print(
            f"| {row['payload_mib']} MiB payload | {row['size_mib']:.2f} MiB | {row['signatures']} | "
            f"{row['median_ms']:.0f} ms | {row['peak_mib']:.2f} MiB | {row['ltv_median_ms']:.0f} ms | "
            f"{row['ltv_peak_mib']:.2f} MiB | {row['ltv_added_kib']:.1f} KiB |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
