"""No personal data in the functions' logs, across a whole request (docs/design.md, "Personal data").

The integration suites check single handlers; this one listens to every log record the functions write while a
`zapsign_oneshot` request goes from the API through ZapSign, One-Shot, both webhooks and the worker to `completed`.
"""

from __future__ import annotations

import json
import logging

import pytest

from demo.runner import run_demo
from signbridge.storage.records import RecordStore

from .conftest import E2E

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# Powertools names each function's logger after its service (POWERTOOLS_SERVICE_NAME=signbridge in the template; a
# handler module imported before its environment was set, as other suites in this process do, uses Powertools'
# default name) and installs its JSON handler there; child loggers propagate to it. The local stack and the
# simulators log under `signbridge.` too, but they are not the functions (a simulator logs the phones it is asked
# about).
NOT_FUNCTIONS = ("signbridge.local", "signbridge.simulators", "local", "werkzeug", "botocore", "urllib3")


def _function_handlers() -> list[logging.Handler]:
    loggers = [
        logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and not name.startswith(NOT_FUNCTIONS)
    ]
    return [handler for logger in loggers for handler in logger.handlers]


class _Listener(logging.Filter):
    """A filter on Powertools' own handlers: it sees every record they write and lets it through. (A handler of our
    own would not do: Powertools takes the first handler it finds on its logger for its own.)"""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(NOT_FUNCTIONS):
            # Everything the record carries: the message, its arguments and the structured `extra` keys.
            self.lines.append(json.dumps({**record.__dict__, "message": record.getMessage()}, default=str))
        return True


def test_no_log_record_of_a_whole_request_carries_personal_data(e2e: E2E) -> None:
    # Given a listener on the functions' log handlers, which each function installs when it first runs (a warm-up
    # request runs them all)
    assert run_demo(e2e.stack.api_url, e2e.zapsign, e2e.oneshot, workflow="zapsign_oneshot", timeout=90).ok
    handlers = _function_handlers()
    assert handlers
    listener = _Listener()
    for handler in handlers:
        handler.addFilter(listener)
    try:
        # When a zapsign_oneshot request runs to completed (signers act through the simulators)
        result = run_demo(e2e.stack.api_url, e2e.zapsign, e2e.oneshot, timeout=90)
    finally:
        for handler in handlers:
            handler.removeFilter(listener)
    assert result.ok, result.summary()
    assert result.request_id is not None

    # Then the functions logged (the listener heard them) ...
    text = "\n".join(listener.lines)
    assert result.request_id in text

    # ... and no record carries the signer's name, email, phone, ID number, the SMS code or the signing link
    stored = RecordStore(table_name=e2e.table, client=e2e.stack.client("dynamodb")).get_request(result.request_id)
    signer = stored.signers[0]
    codes = [str(sms["code"]) for sms in e2e.oneshot.sms if sms["pk"] == int(signer.oneshot_request_pk or 0)]
    personal = {
        "name": signer.name,
        "email": signer.email,
        "phone": signer.phone,
        "given_name": signer.given_name,
        "first_surname": signer.first_surname,
        "id_number": signer.id_number,
        "sign_url": signer.sign_url,
        **{f"sms code {n}": code for n, code in enumerate(codes)},
    }
    assert codes, "the signer received an SMS code"
    for what, value in personal.items():
        assert value, f"{what} is recorded for the signer"
        assert value not in text, f"a log record carries the signer's {what}"
