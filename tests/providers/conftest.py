"""Fixtures of the provider tests. Each provider's fixtures live in their own module and are imported here, so
the two provider halves can add theirs without editing each other's lines."""

from tests.simulators.conftest_oneshot import (  # noqa: F401 - fixtures, found by pytest through this import
    _oneshot_simulator_process,
    oneshot_callback_receiver,
    oneshot_client,
    oneshot_simulator,
    oneshot_sleeps,
)

# -- ZapSign ---------------------------------------------------------------------------------------------------------
from tests.simulators.conftest_zapsign import (  # noqa: F401 - fixtures, found by pytest through this import
    _zapsign_simulator_process,
    zapsign_client,
    zapsign_http,
    zapsign_simulator,
    zapsign_sleeps,
    zapsign_webhook_receiver,
)
