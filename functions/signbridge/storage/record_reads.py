"""The record store's reads: the whole request from one Query, the request item alone, provider identifiers back
to their request (lookup items), and the listings by external id and by status + age over the sparse GSIs of
`storage/schema.py`. Every read of one request is strongly consistent; the listings read the GSIs (eventually
consistent), which the reconciler and housekeeper tolerate by reading each listed request again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

from signbridge.domain.changes import LookupTarget
from signbridge.domain.errors import RequestNotFoundError
from signbridge.domain.models import Document, RequestAggregate, RequestStatus, SignatureRequest, Signer, TimelineEntry
from signbridge.domain.pages import Page
from signbridge.storage import schema
from signbridge.storage.attributes import Item, format_timestamp, from_item, to_attribute
from signbridge.storage.pagination import decode_cursor, encode_cursor
from signbridge.storage.transactions import key
from signbridge.storage.written import stored_entries

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

MAX_PAGE_SIZE: Final = 1000


class RecordReads:
    """The reads of `signbridge.storage.records.RecordStore`, which sets these attributes."""

    _table: str
    _client: DynamoDBClient
    _clock: Callable[[], datetime]
    _query_page_size: int | None

    def get_request(self, request_id: str) -> RequestAggregate:
        """The whole request (request, documents, signers, timeline) from one strongly consistent query."""
        request: SignatureRequest | None = None
        documents: list[Document] = []
        signers: list[Signer] = []
        timeline: list[TimelineEntry] = []
        for values in self._query_partition(schema.request_pk(request_id)):
            sort_key = str(values[schema.SK])
            if sort_key == schema.REQUEST_SK:
                request = SignatureRequest.model_validate(values)
            elif sort_key.startswith(schema.DOCUMENT_SK_PREFIX):
                documents.append(Document.model_validate(values))
            elif sort_key.startswith(schema.SIGNER_SK_PREFIX):
                signers.append(Signer.model_validate(values))
            elif sort_key.startswith(schema.EVENT_SK_PREFIX):
                timeline.extend(stored_entries(values))
        if request is None:
            raise RequestNotFoundError(request_id)
        return RequestAggregate(
            request=request,
            documents=tuple(sorted(documents, key=lambda document: document.index)),
            signers=tuple(sorted(signers, key=lambda signer: signer.index)),
            timeline=tuple(timeline),  # sort key order: EVENT#{fixed-width time}#{id}; same-instant ties by id
        )

    def get_request_item(self, request_id: str) -> SignatureRequest:
        """Only the request item (one strongly consistent GetItem)."""
        response = self._client.get_item(
            TableName=self._table, Key=key(schema.request_pk(request_id), schema.REQUEST_SK), ConsistentRead=True
        )
        if "Item" not in response:
            raise RequestNotFoundError(request_id)
        return SignatureRequest.model_validate(from_item(cast("Item", response["Item"])))

    def find_by_zapsign_doc_token(self, doc_token: str) -> LookupTarget | None:
        return self._find(schema.zapsign_doc_pk(doc_token))

    def find_by_oneshot_request(self, request_pk: str | int) -> LookupTarget | None:
        return self._find(schema.oneshot_request_pk(request_pk))

    def list_by_external_id(
        self, external_id: str, *, limit: int = 50, cursor: str | None = None, newest_first: bool = True
    ) -> Page[SignatureRequest]:
        return self._list_index(
            schema.EXTERNAL_ID_INDEX,
            schema.EXTERNAL_ID_INDEX_PK,
            schema.EXTERNAL_ID_INDEX_SK,
            external_id,
            upper_bound=None,
            limit=limit,
            cursor=cursor,
            forward=not newest_first,
        )

    def list_by_status(
        self,
        status: RequestStatus,
        *,
        older_than: timedelta | None = None,
        newer_than: timedelta | None = None,
        now: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[SignatureRequest]:
        """Requests in `status`, the longest-waiting first; with `older_than`, only those whose status last changed
        more than that long ago (the reconciler's query); with `newer_than`, only those whose status changed within
        that long (the housekeeper's look at recently finished requests). Ages are measured from `now` (default: the
        store's clock), so a scheduled run measures from its event's time."""
        moment = now or self._clock()
        upper_bound = None if older_than is None else format_timestamp(moment - older_than)
        lower_bound = None if newer_than is None else format_timestamp(moment - newer_than)
        return self._list_index(
            schema.STATUS_INDEX,
            schema.STATUS_INDEX_PK,
            schema.STATUS_INDEX_SK,
            status.value,
            upper_bound=upper_bound,
            lower_bound=lower_bound,
            limit=limit,
            cursor=cursor,
            forward=True,
        )

    def _find(self, lookup_pk: str) -> LookupTarget | None:
        response = self._client.get_item(
            TableName=self._table, Key=key(lookup_pk, schema.LOOKUP_SK), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        values = from_item(cast("Item", response["Item"]))
        return LookupTarget(
            request_id=str(values["request_id"]), document=values.get("document"), signer=values.get("signer")
        )

    def _list_index(
        self,
        index_name: str,
        partition_attribute: str,
        sort_attribute: str,
        partition_value: str,
        *,
        upper_bound: str | None,
        limit: int,
        cursor: str | None,
        forward: bool,
        lower_bound: str | None = None,
    ) -> Page[SignatureRequest]:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        names = {"#p": partition_attribute}
        values: dict[str, Any] = {":p": to_attribute(partition_value)}
        condition = "#p = :p"
        if upper_bound is not None or lower_bound is not None:
            names["#s"] = sort_attribute
        if upper_bound is not None and lower_bound is not None:
            # A key condition takes one range operator; BETWEEN is inclusive at both ends, which for timestamps with
            # microseconds differs from `<` / `>` only at the exact instant.
            values[":lo"] = to_attribute(lower_bound)
            values[":hi"] = to_attribute(upper_bound)
            condition += " AND #s BETWEEN :lo AND :hi"
        elif upper_bound is not None:
            values[":s"] = to_attribute(upper_bound)
            condition += " AND #s < :s"
        elif lower_bound is not None:
            values[":s"] = to_attribute(lower_bound)
            condition += " AND #s > :s"
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(
                cursor,
                index_name=index_name,
                key_attributes=frozenset({schema.PK, schema.SK, partition_attribute, sort_attribute}),
                partition_attribute=partition_attribute,
                partition_value=partition_value,
            )
        response = self._client.query(**query)
        items = tuple(
            SignatureRequest.model_validate(from_item(cast("Item", item))) for item in response.get("Items", [])
        )
        return Page(items=items, next_cursor=encode_cursor(index_name, response.get("LastEvaluatedKey")))

    def _query_partition(self, pk: str) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": schema.PK},
            "ExpressionAttributeValues": {":pk": to_attribute(pk)},
            "ConsistentRead": True,
        }
        if self._query_page_size is not None:
            query["Limit"] = self._query_page_size
        while True:
            response = self._client.query(**query)
            for item in response.get("Items", []):
                yield from_item(cast("Item", item))
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
