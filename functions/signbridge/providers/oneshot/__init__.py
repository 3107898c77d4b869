"""The Uanataca One-Shot Optimizer over HTTP, one concern a module: `client` (`OneShotClient`, the calls and which
are safe to repeat), `errors` (a failed call → the One-Shot-specific error), `parsers` (readers of response bodies).
The data a call takes and returns is `signbridge.domain.oneshot`; the multipart body is `providers.multipart`."""

from signbridge.domain.oneshot import PROVIDER
from signbridge.providers.oneshot.client import OneShotClient

__all__ = ["PROVIDER", "OneShotClient"]
