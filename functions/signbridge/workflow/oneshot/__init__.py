"""The One-Shot operations of the worker (docs/workflows.md, "Operations", queue `oneshot-ops`), one module per
family: `create.py`, `upload.py`, `contract.py`, `otp.py`, `sign.py` (the confirmation of a sign), `retrieve.py`,
`cleanup.py`; `common.py` holds what they share (whose turn it is, storing a PDF, failing the request).

Each operation follows the rule of docs/workflows.md: read the aggregate into a `Step` and return at once when the
step is done or no longer wanted (a duplicate, a late message, a request that moved on); record the intent of a call
that is not idempotent upstream (`create`, `otp`, `upload`) before making it; record the result through the `Step`
(one conditional write); then let the `Step` plan what comes next, without reading again.

The Optimizer cannot be asked about a request (the new API removed `GET requests` and `GET async/status`,
docs/providers/oneshot.md §6.3), so an uncertain outcome is resolved only where the provider allows it:

| call     | how an uncertain outcome is resolved                                                                 |
|----------|------------------------------------------------------------------------------------------------------|
| create   | it cannot be: the request fails with a reason an operator can act on (never a second One-Shot request) |
| upload   | `GET documents/{pk}`: the one uid no document of ours holds is adopted; otherwise the request fails   |
| otp      | recorded as sent (never a second SMS); the signer can ask for another code after a minute             |
| sign     | `confirm_oneshot_signature`: the first document's signed version exists, or the sign did not happen   |

Identifiers, statuses and counts go to the logs and to failure reasons; personal data never does.
"""

from __future__ import annotations

from signbridge.domain.operations import Op
from signbridge.workflow.oneshot.cleanup import cancel_oneshot_request, delete_oneshot_documents
from signbridge.workflow.oneshot.contract import store_oneshot_contract
from signbridge.workflow.oneshot.create import create_oneshot_request
from signbridge.workflow.oneshot.otp import send_oneshot_otp
from signbridge.workflow.oneshot.retrieve import retrieve_oneshot_document
from signbridge.workflow.oneshot.sign import confirm_oneshot_signature
from signbridge.workflow.oneshot.upload import upload_oneshot_document
from signbridge.workflow.services import Operation

OPERATIONS: dict[Op, Operation] = {
    Op.CREATE_ONESHOT_REQUEST: create_oneshot_request,
    Op.UPLOAD_ONESHOT_DOCUMENT: upload_oneshot_document,
    Op.STORE_ONESHOT_CONTRACT: store_oneshot_contract,
    Op.SEND_ONESHOT_OTP: send_oneshot_otp,
    Op.CONFIRM_ONESHOT_SIGNATURE: confirm_oneshot_signature,
    Op.RETRIEVE_ONESHOT_DOCUMENT: retrieve_oneshot_document,
    Op.DELETE_ONESHOT_DOCUMENTS: delete_oneshot_documents,
    Op.CANCEL_ONESHOT_REQUEST: cancel_oneshot_request,
}
