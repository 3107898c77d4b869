"""Fixtures of the integration tests that live in `tests/support/` modules, imported here so pytest finds them
(and test modules need not import what they take as parameters). Add yours with a line of its own."""

from tests.simulators.conftest_oneshot import (  # noqa: F401 - fixtures, found by pytest through this import
    _oneshot_simulator_process,
    oneshot_simulator,
)
from tests.simulators.conftest_zapsign import (  # noqa: F401 - fixtures, found by pytest through this import
    _zapsign_simulator_process,
    zapsign_simulator,
)
from tests.support.api import (  # noqa: F401 - fixtures, found by pytest through this import
    api_client,
    bucket_keys,
    captured_logs,
    queued,
)
from tests.support.oneshot import (  # noqa: F401 - fixtures, found by pytest through this import
    oneshot_clock,
    oneshot_services,
    oneshot_worker,
)
from tests.support.zapsign import (  # noqa: F401 - fixtures, found by pytest through this import
    zapsign_clock,
    zapsign_handlers,
    zapsign_services,
    zapsign_worker,
)
