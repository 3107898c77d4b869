"""The local stack's trust anchors: the simulators' test roots in one PEM file, passed to the functions."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from local.companions import (
    OneShotSandboxCompanion,
    OneShotSimulatorCompanion,
    Providers,
    ZapSignSandboxCompanion,
    ZapSignSimulatorCompanion,
)
from signbridge import env_names
from simulators.oneshot.model import DEFAULT_PROFILE, DEFAULT_REGISTRATION_AUTHORITY, SANDBOX_TOKEN
from simulators.oneshot.simulator import OneShotSimulator
from simulators.signatures import Signatures, TestPki

ONESHOT_CREDENTIALS = {
    "token": SANDBOX_TOKEN,
    "billing_username": "billing-user",
    "billing_password": "YmlsbGluZy1wYXNzd29yZA==",
    "registration_authority": DEFAULT_REGISTRATION_AUTHORITY,
    "profile": DEFAULT_PROFILE,
}


def test_simulated_providers_write_their_roots_to_one_file_for_the_functions() -> None:
    # Given simulated providers (one PKI per process: both simulators share its root)
    providers = Providers.simulated()
    assert providers.trust_anchors is not None
    assert providers.companions()[-1] is providers.trust_anchors
    # When the trust anchors companion starts
    companion = providers.trust_anchors.start()
    try:
        # Then the functions are pointed at a PEM file holding exactly the simulators' root
        path = Path(companion.environment()[env_names.TRUST_ANCHORS_FILE])
        roots = x509.load_pem_x509_certificates(path.read_bytes())
        assert roots == [TestPki.shared().root.certificate]
        assert str(path) in companion.describe()
    finally:
        companion.stop()
    # and the file is gone once the stack stops
    assert not path.exists()
    assert companion.environment() == {}


def test_simulators_with_their_own_pkis_contribute_each_root() -> None:
    oneshot = OneShotSimulator(port=0)
    oneshot.signatures = Signatures(TestPki())
    providers = Providers(zapsign=ZapSignSimulatorCompanion(), oneshot=OneShotSimulatorCompanion(simulator=oneshot))
    assert providers.trust_anchors is not None
    roots = x509.load_pem_x509_certificates(providers.trust_anchors.pem().encode())
    assert set(roots) == {TestPki.shared().root.certificate, oneshot.signatures.pki.root.certificate}


def test_real_providers_add_no_trust_anchors() -> None:
    providers = Providers(
        zapsign=ZapSignSandboxCompanion(api_token="token"),
        oneshot=OneShotSandboxCompanion(credentials=ONESHOT_CREDENTIALS),
    )
    assert providers.trust_anchors is None
    assert len(providers.companions()) == 2
