"""Pure helpers of the storage layer: timestamps, attribute conversion, cursors, SQS ids, the chunk reader."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from signbridge.domain.errors import InvalidCursorError
from signbridge.domain.models import IdImageKind, RequestStatus
from signbridge.storage.attributes import format_timestamp, from_item, to_item
from signbridge.storage.files import _Chunks
from signbridge.storage.pagination import decode_cursor, encode_cursor
from signbridge.storage.queues import SQS_ID_MAX_CHARS, sqs_safe_id

KEYS = frozenset({"pk", "sk", "gsi_status", "gsi_status_since"})


def test_timestamps_sort_as_strings_in_time_order() -> None:
    # Given instants a whole second and a fraction apart, one in another offset
    base = datetime(2025, 1, 31, 9, 5, tzinfo=UTC)
    instants = [base, base + timedelta(microseconds=500_000), base + timedelta(seconds=1)]
    shifted = (base + timedelta(seconds=2)).astimezone(timezone(timedelta(hours=-3)))
    # When formatted
    formatted = [format_timestamp(moment) for moment in [*instants, shifted]]
    # Then string order is time order, and every one is UTC with fixed width
    assert formatted == sorted(formatted)
    assert formatted[0] == "2025-01-31T09:05:00.000000Z"
    assert len({len(value) for value in formatted}) == 1


def test_naive_timestamps_are_refused() -> None:
    # Given a datetime without a timezone
    # When formatted
    # Then it is refused
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2025, 1, 1))  # a naive datetime: the point of the test


def test_values_round_trip_through_attribute_values() -> None:
    # Given enums, ints, nested maps with int and enum keys, and None
    values = {
        "status": RequestStatus.SIGNING,
        "version": 3,
        "uids": {1: "u"},
        "evidence": {IdImageKind.DOCUMENT_FRONT: "k"},
        "gone": None,
    }
    # When written and read back
    read = from_item(to_item(values))
    # Then values are plain again, None is simply absent
    assert read == {"status": "signing", "version": 3, "uids": {"1": "u"}, "evidence": {"document_front": "k"}}


def _cursor_key(status: str = "oneshot_pending") -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": "REQUEST#r1"},
        "sk": {"S": "REQUEST"},
        "gsi_status": {"S": status},
        "gsi_status_since": {"S": "2025-01-31T09:05:00.000000Z"},
    }


def test_a_cursor_round_trips_for_the_same_listing() -> None:
    # Given a cursor for a page of the by-status listing
    # When it is decoded for the same listing
    # Then the key comes back as DynamoDB gave it
    cursor = encode_cursor("by-status", _cursor_key())
    assert cursor is not None
    key = decode_cursor(
        cursor, index_name="by-status", key_attributes=KEYS, partition_attribute="gsi_status",
        partition_value="oneshot_pending",
    )  # fmt: skip
    assert key == _cursor_key()


def test_no_last_key_means_no_cursor() -> None:
    # Given a last page (no LastEvaluatedKey)
    # When a cursor is asked for
    # Then there is none
    assert encode_cursor("by-status", None) is None


@pytest.mark.parametrize(
    ("cursor", "partition"),
    [
        ("not-a-cursor", "oneshot_pending"),
        (encode_cursor("by-external-id", _cursor_key()), "oneshot_pending"),  # another index
        (encode_cursor("by-status", _cursor_key()), "signing"),  # another partition
        (
            base64.urlsafe_b64encode(
                json.dumps({"v": 1, "i": "by-status", "k": {"pk": "REQUEST#r1"}}).encode()
            ).decode(),
            "oneshot_pending",
        ),  # keys missing
    ],
)
def test_a_cursor_from_elsewhere_is_refused(cursor: str, partition: str) -> None:
    # Given a cursor that is garbage, from another index or partition, or incomplete
    # When decoded
    # Then it is refused
    with pytest.raises(InvalidCursorError):
        decode_cursor(
            cursor, index_name="by-status", key_attributes=KEYS, partition_attribute="gsi_status",
            partition_value=partition,
        )  # fmt: skip


def test_an_sqs_safe_id_is_kept_as_it_is() -> None:
    # Given a deduplication key SQS accepts
    # When made SQS-safe
    # Then it is unchanged
    assert sqs_safe_id("r1:create_zapsign_doc:-:-:0") == "r1:create_zapsign_doc:-:-:0"


@pytest.mark.parametrize("raw", ["x" * 200, "r1:op:é:-:0", "with space", ""])
def test_an_id_sqs_would_refuse_becomes_a_prefix_and_a_hash(raw: str) -> None:
    # Given an id too long or with characters SQS refuses
    safe = sqs_safe_id(raw)
    # Then it fits SQS's rules and stays distinct from a look-alike
    assert 0 < len(safe) <= SQS_ID_MAX_CHARS
    assert safe.isascii()
    assert " " not in safe
    assert safe != sqs_safe_id(raw + "!")


def test_ids_that_differ_only_in_refused_characters_stay_distinct() -> None:
    # Given two ids that differ only in characters SQS refuses
    # When made SQS-safe
    # Then they stay distinct
    assert sqs_safe_id("a b") != sqs_safe_id("a\tb")


def test_the_chunk_reader_reads_seeks_and_rewinds_across_chunks() -> None:
    # Given chunks of uneven sizes
    chunks = _Chunks()
    for piece in (b"%PDF-", b"12", b"", b"3456789", b"X"):
        chunks.append(piece)
    reader = chunks.reader()
    # When read in small pieces, then rewound and read whole
    pieces = []
    while piece := reader.read(3):
        pieces.append(piece)
    reader.seek(0)
    whole = reader.read()
    reader.seek(-2, io.SEEK_END)
    tail = reader.read()
    # Then the content is the concatenation, whatever the reads
    assert b"".join(pieces) == whole == b"%PDF-123456789X"
    assert tail == b"9X"
    assert len(reader) == len(chunks) == 15
    assert chunks.startswith(b"%PDF-")
    assert not chunks.startswith(b"%PDF-2")
