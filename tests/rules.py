"""The rules every session document the mock answers must keep, asserted in tests.

Not a copy of the rules: the project's one session checker (schema, totals to the cent,
positions, times) and the contract harness's rules, as a client checks them.
"""

from __future__ import annotations

from typing import Any

from contract_tests.rules import session_problems
from mock_server.contract.sessions import SessionChecker
from mock_server.contract.spec import load_spec


def assert_session_rules(session: dict[str, Any]) -> None:
    """Every rule a single session document must keep."""
    problem = SessionChecker(load_spec()).record_problem(session)
    assert problem is None, (problem, session)
    assert session_problems(session, None) == [], session
