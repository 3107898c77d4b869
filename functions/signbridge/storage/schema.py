"""The single-table layout: key attribute names, index names and key builders.

Shared by the state store, the CDK storage construct and the local stack, so the table that is deployed, the table
the local stack creates from the template and the code that queries it cannot disagree. No imports beyond stdlib.

Items (all under one table):

| item                    | pk                              | sk                     |
|-------------------------|---------------------------------|------------------------|
| request                 | REQUEST#{request_id}            | REQUEST                |
| document n              | REQUEST#{request_id}            | DOCUMENT#{n:03d}       |
| signer n                | REQUEST#{request_id}            | SIGNER#{n:03d}         |
| timeline entry          | REQUEST#{request_id}            | EVENT#{iso time}#{id}  |
| ZapSign document lookup | ZAPSIGN_DOC#{doc token}         | LOOKUP                 |
| One-Shot request lookup | ONESHOT_REQUEST#{pk}            | LOOKUP                 |
| idempotency record      | IDEMPOTENCY#{scope}#{key}       | IDEMPOTENCY            |

Provider identifiers are *lookup items* (strongly consistent, unique by construction, written in the same
transaction as the step that learns them). Listing by the client's external id and by status + last change are
sparse GSIs over the request items only (eventually consistent, which suits a list and the reconciler).
"""

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"  # epoch seconds; DynamoDB TTL removes idempotency records after it

# GSI: requests by status, ordered by the time the status last changed (the reconciler's query).
STATUS_INDEX = "by-status"
STATUS_INDEX_PK = "gsi_status"
STATUS_INDEX_SK = "gsi_status_since"

# GSI: requests by the client's external id, ordered by creation time.
EXTERNAL_ID_INDEX = "by-external-id"
EXTERNAL_ID_INDEX_PK = "gsi_external_id"
EXTERNAL_ID_INDEX_SK = "created_at"

# Both indexes project every attribute: a listing returns whole request items without a second read per item.
INDEX_PROJECTION = "ALL"

GLOBAL_INDEXES = (
    (STATUS_INDEX, STATUS_INDEX_PK, STATUS_INDEX_SK),
    (EXTERNAL_ID_INDEX, EXTERNAL_ID_INDEX_PK, EXTERNAL_ID_INDEX_SK),
)

# Every item says what it is, for a person reading the table (the code goes by the keys).
ITEM_TYPE = "item_type"

REQUEST_SK = "REQUEST"
LOOKUP_SK = "LOOKUP"
IDEMPOTENCY_SK = "IDEMPOTENCY"
DOCUMENT_SK_PREFIX = "DOCUMENT#"
SIGNER_SK_PREFIX = "SIGNER#"
EVENT_SK_PREFIX = "EVENT#"


def request_pk(request_id: str) -> str:
    return f"REQUEST#{request_id}"


def document_sk(index: int) -> str:
    return f"DOCUMENT#{index:03d}"


def signer_sk(index: int) -> str:
    return f"SIGNER#{index:03d}"


def event_sk(at_iso: str, event_id: str) -> str:
    return f"EVENT#{at_iso}#{event_id}"


def zapsign_doc_pk(doc_token: str) -> str:
    return f"ZAPSIGN_DOC#{doc_token}"


def oneshot_request_pk(oneshot_pk: str | int) -> str:
    return f"ONESHOT_REQUEST#{oneshot_pk}"


def idempotency_pk(scope: str, key: str) -> str:
    return f"IDEMPOTENCY#{scope}#{key}"
