"""The Schemathesis suite with the business checks, against the mock through WSGI."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.stateful import OpenAPIStateMachine

from contract_tests.broken_server import create_broken_app
from contract_tests.runner import schemathesis_config
from mock_server.http.state import mock_state
from tests.contract.conftest import API_KEY, AUTH

APP = create_broken_app(None, API_KEY)

# Loaded at import: the pytest plugin's `from_fixture` does not support this pytest version.
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json",
    APP,
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


def test_links_chain_put_and_get() -> None:
    # Given a state machine over the links (PUT -> GET of the same session)
    links: Any = schema.as_state_machine()

    class Machine(links):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            # Every walk starts afresh, an empty store and checks that remember nothing:
            # Hypothesis replays walks and must meet the answers their first run met, or it
            # stops with FlakyStrategyDefinition. Hypothesis draws literals from the mock's own
            # modules too, so any edit of the mock changes the walks; they must not depend on
            # what earlier walks left behind.
            with APP.app_context():
                mock_state().service.store.clear()
            schema._run_checks = None  # class checks (SessionRules) are built anew on first use

    # When random walks run, Then every step passes every check
    Machine.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            # A fixed walk: the server's state makes replays of random walks inconsistent.
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert issubclass(Machine, OpenAPIStateMachine)
