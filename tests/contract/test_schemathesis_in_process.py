"""The Schemathesis suite with the business checks, against the mock through WSGI."""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.stateful import OpenAPIStateMachine

from contract_tests.runner import schemathesis_config
from mock_server import Settings, create_app
from tests.contract.conftest import API_KEY, AUTH

# A key (and so an application, with sessions of its own) per stateful walk; see OneWalkPerKey.
WALK_KEYS = {f"{API_KEY}-walk-{number}": 1000 + number for number in range(1000)}
# The correct mock (create_broken_app(None, ...)), with the walks' keys too.
app = create_app(Settings(api_keys={API_KEY: 1, **WALK_KEYS}, preload=0, store_url="memory://"))
# Loaded at import: the pytest plugin's `from_fixture` does not support this pytest version.
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json",
    app,
    # Credentials through the configuration, so that ignored_auth can take them away.
    # Literals of the mock's own source stay out of generation: loaded through WSGI, its code
    # is Schemathesis' to mine, and then every edit of it would change the fixed walks below.
    config=SchemathesisConfig.from_str(
        f'headers = {{ Authorization = "{AUTH["Authorization"]}" }}\n'
        + schemathesis_config()
        + "\n[analysis.constants]\nenabled = false\n"
    ),
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_operations_conform(case: schemathesis.Case) -> None:
    # Every registered check runs, the business ones included.
    case.call_and_validate()


class OneWalkPerKey(schema.as_state_machine()):  # type: ignore[misc]
    """Each walk acts for an application of its own, so it starts from an empty store.

    Hypothesis runs walks that share a beginning and expects the same steps to draw the same
    values; a walk that met sessions left by another (the same generated ids) saw other answers
    and drew otherwise, which Hypothesis reports as a flaky strategy. The checks keep their
    history per API key too, so no walk is judged by another's sessions.
    """

    _keys = itertools.cycle(WALK_KEYS)

    def setup(self) -> None:
        self.authorization = f"ApiKey-v1 {next(self._keys)}"

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"headers": {"Authorization": self.authorization}}


def test_links_chain_put_and_get() -> None:
    # Given a state machine over the links (PUT -> GET of the same session)
    machine: Any = OneWalkPerKey

    # When random walks run, Then every step passes every check
    machine.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            # A fixed walk: the server's state makes replays of random walks inconsistent.
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert issubclass(machine, OpenAPIStateMachine)
