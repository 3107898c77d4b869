"""Development credentials of the local stack: the one place that says what the local secrets hold.

The local stack seeds the template's Secrets Manager entries with these values. The credentials a simulator checks
are the simulator's own constants, imported here rather than repeated, so the secret the functions read and the
value the simulator accepts cannot disagree. None of them is a real credential; they never leave the machine.

Shapes: `signbridge.domain.credentials` (the One-Shot secret in the shape of
`signbridge.providers.oneshot.OneShotCredentials`) and the placeholders `infra/constructs/secrets.py` puts in the
template. A key of the template's placeholder that has no value here keeps its placeholder value, and the stack
warns about it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from signbridge import env_names
from simulators.oneshot import model as oneshot_simulator
from simulators.zapsign import model as zapsign_simulator

# ZapSign: the API token the local ZapSign simulator accepts (`Authorization: Bearer <token>`).
ZAPSIGN_API_TOKEN = zapsign_simulator.DEFAULT_TOKEN
# The header value ZapSign sends with its webhooks (registered with the webhook), and the last path segment of the
# One-Shot callback URL.
ZAPSIGN_WEBHOOK_SECRET = "local-zapsign-webhook-secret"  # noqa: S105 - a development value, not a credential
ONESHOT_WEBHOOK_SECRET = "local-oneshot-webhook-secret"  # noqa: S105
# One-Shot: the RAO token of the (simulated) sandbox, and billing credentials (the simulator accepts any billing user
# whose password is Base64).
ONESHOT_RAO_TOKEN = oneshot_simulator.SANDBOX_TOKEN
ONESHOT_BILLING_USERNAME = "local-billing-user"
ONESHOT_BILLING_PASSWORD = base64.b64encode(b"local-billing-password").decode()
ONESHOT_REGISTRATION_AUTHORITY = oneshot_simulator.DEFAULT_REGISTRATION_AUTHORITY
ONESHOT_PROFILE = oneshot_simulator.DEFAULT_PROFILE

# The key of the signing-page links (CloudFormation generates it on AWS; any 64 characters will do here).
SIGNER_PAGE_LINK_KEY = "local-signer-page-link-key-0123456789abcdefghijklmnopqrstuvwxyzAB"

# The value of each secret, keyed by the environment variable through which the functions find that secret.
SECRET_VALUES: Mapping[str, Mapping[str, Any]] = {
    env_names.ZAPSIGN_SECRET_NAME: {"api_token": ZAPSIGN_API_TOKEN},
    env_names.WEBHOOK_SECRET_NAME: {
        "zapsign": [ZAPSIGN_WEBHOOK_SECRET, ""],
        "oneshot": [ONESHOT_WEBHOOK_SECRET, ""],
    },
    env_names.SIGNER_PAGE_SECRET_NAME: {"link_key": SIGNER_PAGE_LINK_KEY},
    env_names.ONESHOT_SECRET_NAME: {
        "token": ONESHOT_RAO_TOKEN,
        "username": None,  # the token identifies the RAO; no username/password/PIN
        "password": None,
        "pin": None,
        "billing_username": ONESHOT_BILLING_USERNAME,
        "billing_password": ONESHOT_BILLING_PASSWORD,
        "registration_authority": ONESHOT_REGISTRATION_AUTHORITY,
        "profile": ONESHOT_PROFILE,
    },
}
