"""Explicit workflows every run executes in order, not left to random walks.

Each workflow drives fresh sessions (ids unique to the run) through one rule of the API and
records a Violation for every answer that breaks it. Every answer is also checked against
openapi.yaml and the single-document rules. `read_only` workflows send only GETs and dry runs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import requests

from contract_tests.budget import Budget, BudgetExhausted
from contract_tests.client import Answer, Client
from contract_tests.rules import (
    applied_verdict,
    error_response_problems,
    kept_verdict,
    parse_time,
    same_moment,
    session_differences,
    session_verdict,
    short_repr,
    to_decimal,
)
from mock_server.contract.schemas import CompiledSchema, compile_schema
from mock_server.contract.spec import load_spec

OPERATIONS = {
    "GET": "GET /v2/customer_sessions/{customerSessionId}",
    "PUT": "PUT /v2/customer_sessions/{customerSessionId}",
}
OPERATION_IDS = {"GET": "getCustomerSession", "PUT": "updateCustomerSessionV2"}
DOCUMENTED_STATUSES = {"GET": {200, 400, 401, 404}, "PUT": {200, 400, 401, 409}}
SUCCESS_SCHEMAS = {"GET": "IntegrationCustomerSessionResponse", "PUT": "IntegrationStateV2"}


@dataclass(frozen=True)
class Violation:
    """One broken promise: where, which check, what was expected, and how to reproduce it."""

    workflow: str
    check: str
    operation: str
    message: str
    curl: str
    status: int | None = None
    operation_id: str = ""
    # What identifies this violation from one run to the next (its wording may carry data).
    key: str = ""
    # The request and the answer, when one answer is at fault.
    answer: Answer | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        """A readable, multi-line account of the violation."""
        status = f" (answered {self.status})" if self.status is not None else ""
        return (
            f"{self.operation}  [{self.check}] in workflow '{self.workflow}'{status}\n"
            f"    {self.message}\n"
            f"    Reproduce with:\n        {self.curl}"
        )


class StopWorkflow(Exception):
    """Raised after a violation that leaves the rest of a workflow meaningless."""


@cache
def _schema(name: str) -> CompiledSchema:
    return compile_schema(load_spec(), name)


@dataclass
class WorkflowRun:
    """The state of one workflow: its client, its fresh ids and what it found."""

    name: str
    client: Client
    prefix: str
    violations: list[Violation] = field(default_factory=list)
    # Assertions that held, by check.
    passes: Counter[str] = field(default_factory=Counter)
    # What the checks could not decide.
    doubts: list[str] = field(default_factory=list)
    _counter: int = 0
    _ids: list[str] = field(default_factory=list)

    def new_id(self, label: str) -> str:
        """A session or profile id that no earlier run can have used."""
        self._counter += 1
        new = f"{self.prefix}-{label}-{self._counter}"
        self._ids.append(new)
        return new

    def _stable(self, message: str) -> str:
        for made in sorted(self._ids, key=len, reverse=True):
            message = message.replace(made, "<id>")
        message = _TIMESTAMP.sub("<time>", message)
        return _NUMBER.sub("#", message)[:200]

    def report(
        self, answer: Answer | None, check: str, message: str, key: str | None = None
    ) -> None:
        """Record a violation for an answer (or for the workflow as a whole).

        `key` names the broken promise (the same in every workflow that meets it) for
        baselines; without one, the workflow and its message do, with this run's session ids,
        timestamps and numbers left out.
        """
        if key is None:
            key = f"{self.name}:{self._stable(message)}"
        method = answer.sent.method if answer else ""
        self.violations.append(
            Violation(
                workflow=self.name,
                check=check,
                operation=OPERATIONS.get(method, ""),
                message=message,
                curl=answer.sent.as_curl() if answer else "",
                status=answer.status if answer else None,
                operation_id=OPERATION_IDS.get(method, ""),
                key=key,
                answer=answer,
            )
        )

    def passed(self, check: str) -> None:
        """Count an assertion of `check` that held."""
        self.passes[check] += 1

    def call(self, method: str, session_id: str, **kwargs: Any) -> Answer:
        """Send a request and check what every answer must satisfy."""
        answer = self.client.request(method, session_id, **kwargs)
        self._check_answer(answer, session_id)
        return answer

    def put(self, session_id: str, session: Mapping[str, Any], **kwargs: Any) -> Answer:
        """PUT an update (asking for the session back) and check the answer."""
        answer = self.client.put(session_id, session, **kwargs)
        self._check_answer(answer, session_id)
        return answer

    def get(self, session_id: str, **kwargs: Any) -> Answer:
        """GET a session and check the answer."""
        return self.call("GET", session_id, **kwargs)

    def _check_answer(self, answer: Answer, session_id: str) -> None:
        method = answer.sent.method
        if answer.status >= 500:
            self.report(answer, "not_a_server_error", f"Server error: {_excerpt(answer)}", "5xx")
            return
        self.passed("not_a_server_error")
        if answer.status not in DOCUMENTED_STATUSES.get(method, set()):
            self.report(
                answer,
                "status_code_conformance",
                f"{answer.status} is not documented for this operation "
                f"(documented: {sorted(DOCUMENTED_STATUSES.get(method, ()))})",
                str(answer.status),
            )
        else:
            self.passed("status_code_conformance")
        if "json" not in answer.content_type.lower() or answer.json is None:
            self.report(
                answer,
                "content_type_conformance",
                f"Expected an application/json body, got {answer.content_type or 'none'}: "
                f"{_excerpt(answer)}",
                "not-json",
            )
            return
        self.passed("content_type_conformance")
        if answer.status == 200 and method in SUCCESS_SCHEMAS:
            schema = _schema(SUCCESS_SCHEMAS[method])
        elif 400 <= answer.status < 500:
            schema = _schema("ErrorResponse")
            problems = error_response_problems(answer.json)
            if problems:
                self.report(answer, "error_response_well_formed", "; ".join(problems), "shape")
            else:
                self.passed("error_response_well_formed")
        else:
            return
        violations = schema.violations(answer.json)
        if violations:
            self.report(
                answer,
                "response_schema_conformance",
                f"The answer does not match {schema.name}: "
                + "; ".join(f"{v.pointer or '/'}: {v.message}" for v in violations[:5]),
                f"{schema.name}:{','.join(sorted({v.pointer for v in violations}))}",
            )
        else:
            self.passed("response_schema_conformance")
        session = answer.session
        if answer.status == 200 and session is not None:
            verdict = session_verdict(session, session_id)
            for problem in verdict.problems:
                self.report(answer, "session_rules", problem.message, problem.key)
            if not verdict.problems:
                self.passed("session_rules")
            self.doubts.extend(verdict.doubts)

    def expect_status(self, answer: Answer, expected: int | set[int], why: str) -> None:
        """Stop the workflow unless the answer has the expected status."""
        wanted = {expected} if isinstance(expected, int) else expected
        if answer.status in wanted:
            self.passed("workflow_status")
            return
        self.report(
            answer,
            "workflow_status",
            f"Expected {' or '.join(map(str, sorted(wanted)))} because {why}; "
            f"got {answer.status}: {_excerpt(answer)}",
            f"{self.name}:{self._stable(why)}:{answer.status}",
        )
        raise StopWorkflow

    def session_of(self, answer: Answer) -> dict[str, Any]:
        """The session an answer must carry; stop the workflow if it does not."""
        session = answer.session
        if session is None:
            message = "The answer carries no customerSession"
            self.report(answer, "workflow_session", message, f"{self.name}:no-session")
            raise StopWorkflow
        return session

    def expect(self, answer: Answer | None, condition: bool, check: str, message: str) -> None:
        """Record a violation unless `condition` holds."""
        if condition:
            self.passed(check)
        else:
            self.report(answer, check, message)

    def expect_unchanged(
        self, session_id: str, before: Mapping[str, Any], check: str, why: str
    ) -> None:
        """GET the session and require it to be exactly `before`."""
        answer = self.get(session_id)
        self.expect_status(answer, 200, "the session exists")
        after = self.session_of(answer)
        changed = session_differences(before, after)
        self.expect(answer, not changed, check, f"{why}, but the stored session changed: {changed}")


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ][\d:.]+(?:[Zz]|[+-]\d{2}:\d{2})?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _excerpt(answer: Answer, limit: int = 300) -> str:
    text = answer.raw.decode("utf-8", "replace")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cart() -> dict[str, Any]:
    return {
        "couponCodes": ["WELCOME-10"],
        "referralCode": "REF-7Q2X",
        "identifiers": ["device-3c91"],
        "attributes": {"channel": "web"},
        "cartItems": [
            {"name": "Trail Running Shoe", "sku": "SKU-4821", "quantity": 1, "price": 89.99,
             "category": "Footwear", "weight": 820},
            {"name": "Merino Socks", "sku": "SKU-1022", "quantity": 3, "price": 12.5},
        ],
        "additionalCosts": {"shipping": {"price": 4.95}},
    }  # fmt: skip


def _open_session(run: WorkflowRun, label: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    session_id = run.new_id(label)
    answer = run.put(session_id, {**_cart(), **fields})
    run.expect_status(answer, 200, "a schema-valid first PUT creates the session")
    session = run.session_of(answer)
    run.expect(
        answer, session.get("state") == "open", "state_transitions",
        f"A new session must start open, not {session.get('state')!r}",
    )  # fmt: skip
    return session_id, session


def _move(
    run: WorkflowRun, session_id: str, state: str, before: Mapping[str, Any]
) -> dict[str, Any]:
    answer = run.put(session_id, {"state": state})
    run.expect_status(answer, 200, f"{before.get('state')} -> {state} is an allowed transition")
    after = run.session_of(answer)
    run.expect(
        answer, after.get("state") == state, "state_transitions",
        f"Asked for {state}, the answer says {after.get('state')!r}",
    )  # fmt: skip
    for problem in kept_verdict({"state": state}, before, after).problems:
        run.report(answer, "update_builds_on_previous", problem.message, problem.key)
    stored = run.get(session_id)
    run.expect_status(stored, 200, "the session exists")
    run.expect(
        stored, run.session_of(stored).get("state") == state, "persisted",
        f"The update answered {state}, but GET says {run.session_of(stored).get('state')!r}",
    )  # fmt: skip
    return after


def _refused(run: WorkflowRun, session_id: str, update: Mapping[str, Any], why: str) -> None:
    before = run.get(session_id)
    run.expect_status(before, 200, "the session exists")
    snapshot = run.session_of(before)
    answer = run.put(session_id, update)
    run.expect(
        answer, answer.status == 400, "business_rules",
        f"Expected 400 because {why}; got {answer.status}",
    )  # fmt: skip
    run.expect_unchanged(session_id, snapshot, "rejected_update_persists_nothing", why)


# --- the workflows -------------------------------------------------------------------------


def authentication(run: WorkflowRun) -> None:
    """Requests without a valid API key get 401 and change nothing."""
    session_id = run.new_id("auth")
    bad_keys: list[tuple[str, dict[str, str] | None, bool]] = [
        ("no Authorization header", None, False),
        ("an unknown API key", {"Authorization": f"ApiKey-v1 not-a-key-{uuid.uuid4().hex}"}, False),
        ("a malformed Authorization header", {"Authorization": "Bearer"}, False),
    ]
    for why, headers, auth in bad_keys:
        for method in ("GET", "PUT"):
            kwargs: dict[str, Any] = {"headers": headers, "auth": auth}
            if method == "PUT":
                kwargs["body"] = {"customerSession": _cart()}
                kwargs["query"] = {"dry": "true"}
            answer = run.call(method, session_id, **kwargs)
            run.expect(
                answer, answer.status == 401, "authentication",
                f"A request with {why} must get 401, got {answer.status}",
            )  # fmt: skip


def unknown_session(run: WorkflowRun) -> None:
    """A session nobody created is 404."""
    answer = run.get(run.new_id("unknown"))
    run.expect_status(answer, 404, "no session has this id")


def create_and_read(run: WorkflowRun) -> None:
    """A first PUT creates what it names; GET returns exactly that session."""
    profile = run.new_id("profile")
    session_id, created = _open_session(run, "create", profileId=profile)
    answer = run.get(session_id)
    run.expect_status(answer, 200, "the session was created")
    stored = run.session_of(answer)
    differences = session_differences(created, stored)
    run.expect(
        answer, not differences, "persisted",
        f"GET must return the session the PUT answered; differs in {differences}",
    )  # fmt: skip
    run.expect(
        answer, stored.get("firstSession") is True, "first_session",
        "The first session of a new profile must have firstSession true",
    )  # fmt: skip


def update_keeps_untouched_fields(run: WorkflowRun) -> None:
    """A PUT changes the fields it names and keeps the others."""
    session_id, before = _open_session(run, "keep", profileId=run.new_id("profile"))
    for update in (
        {"attributes": {"channel": "ios", "campaign": "spring"}},
        {"couponCodes": ["SPRING-5", "FREESHIP"]},
        {"cartItems": [{"name": "Hoodie", "sku": "SKU-2001", "quantity": 2, "price": 39.9}]},
    ):
        answer = run.put(session_id, update)
        run.expect_status(answer, 200, "the update is schema-valid and the session open")
        after = run.session_of(answer)
        for problem in applied_verdict(update, after).problems:
            run.report(answer, "update_applied", problem.message, problem.key)
        for problem in kept_verdict(update, before, after).problems:
            run.report(answer, "update_builds_on_previous", problem.message, problem.key)
        run.expect(
            answer, same_moment(after.get("created"), before.get("created")), "created_kept",
            f"created changed from {before.get('created')} to {after.get('created')}",
        )  # fmt: skip
        earlier, later = parse_time(before.get("updated")), parse_time(after.get("updated"))
        run.expect(
            answer, earlier is None or later is None or later >= earlier,
            "updated_not_behind",
            f"updated went back from {before.get('updated')} to {after.get('updated')}",
        )  # fmt: skip
        before = after
    run.expect_unchanged(session_id, before, "persisted", "GET must return the last update")


def totals(run: WorkflowRun) -> None:
    """Totals add up exactly, without floating-point drift."""
    cases = [
        ([(0.1, 1), (0.2, 1)], {"fee": 0.1, "tip": 0.2}, ("0.3", "0.3", "0.6")),
        ([(19.99, 3), (0.01, 7)], {"shipping": 4.95}, ("60.04", "4.95", "64.99")),
        ([(1234567.89, 100)], {}, ("123456789", "0", "123456789")),
        ([], {}, ("0", "0", "0")),
    ]
    for lines, costs, expected in cases:
        session = {
            "cartItems": [
                {"name": f"Item {i}", "sku": f"SKU-{i}", "quantity": q, "price": p}
                for i, (p, q) in enumerate(lines)
            ],
            "additionalCosts": {name: {"price": price} for name, price in costs.items()},
        }
        answer = run.put(run.new_id("totals"), session)
        run.expect_status(answer, 200, "the cart is schema-valid")
        answered = run.session_of(answer)
        for name, want in zip(("cartItemTotal", "additionalCostTotal", "total"), expected,
                              strict=True):  # fmt: skip
            got, exact = to_decimal(answered.get(name)), Decimal(want)
            if got == exact:
                run.passed("totals_add_up")
                continue
            # Off by less than a cent is arithmetic in binary floating point; more, a wrong sum.
            kind = "drift" if got is not None and abs(got - exact) < Decimal("0.01") else "off"
            run.report(
                answer, "totals_add_up",
                f"{name} must be exactly {want}, got {short_repr(answered.get(name))}",
                f"{name}:{kind}",
            )  # fmt: skip


def close_then_cancel(run: WorkflowRun) -> None:
    """open -> closed -> cancelled; the current state again and other fields change nothing."""
    session_id, session = _open_session(run, "close-cancel", profileId=run.new_id("profile"))
    session = _move(run, session_id, "closed", session)
    session = _move(run, session_id, "closed", session)
    answer = run.put(session_id, {"attributes": {"note": "gift"}})
    run.expect_status(answer, 200, "attributes of a closed session may still change")
    after = run.session_of(answer)
    for problem in kept_verdict({"attributes": {}}, session, after).problems:
        run.report(answer, "update_builds_on_previous", problem.message, problem.key)
    session = _move(run, session_id, "cancelled", after)
    _move(run, session_id, "cancelled", session)


def cancel_open(run: WorkflowRun) -> None:
    """open -> cancelled."""
    session_id, session = _open_session(run, "cancel")
    _move(run, session_id, "cancelled", session)


def illegal_transitions(run: WorkflowRun) -> None:
    """closed -> open, cancelled -> open and cancelled -> closed are refused with 400."""
    closed_id, session = _open_session(run, "closed")
    _move(run, closed_id, "closed", session)
    _refused(run, closed_id, {"state": "open"}, "closed -> open is not an allowed transition")
    extra = {"name": "Extra", "sku": "SKU-9", "quantity": 1, "price": 1}
    _refused(run, closed_id, {"cartItems": [extra]}, "the cart of a closed session is final")
    cancelled_id, session = _open_session(run, "cancelled")
    _move(run, cancelled_id, "cancelled", session)
    for state in ("open", "closed"):
        _refused(
            run, cancelled_id, {"state": state},
            f"cancelled -> {state} is not an allowed transition",
        )  # fmt: skip


def dry_runs(run: WorkflowRun) -> None:
    """dry=true answers as if applied and persists nothing."""
    session_id, session = _open_session(run, "dry")
    update = {
        "state": "closed",
        "cartItems": [{"name": "Daypack", "sku": "SKU-77", "quantity": 2, "price": 0.1}],
        "additionalCosts": {"shipping": {"price": 0.2}},
    }
    answer = run.put(session_id, update, dry=True)
    run.expect_status(answer, 200, "the dry update is valid")
    evaluated = run.session_of(answer)
    for problem in applied_verdict(update, evaluated).problems:
        run.report(answer, "dry_run_evaluates", problem.message, problem.key)
    run.expect(
        answer, to_decimal(evaluated.get("total")) == to_decimal(0.4), "totals_add_up",
        f"The dry run must total 0.4, got {evaluated.get('total')!r}",
    )  # fmt: skip
    run.expect_unchanged(session_id, session, "dry_run_persists_nothing", "dry=true")
    _move(run, session_id, "cancelled", session)
    answer = run.put(session_id, {"state": "open"}, dry=True)
    run.expect(
        answer, answer.status == 400, "dry_run_evaluates",
        f"A dry run of cancelled -> open must be refused like the update, got {answer.status}",
    )  # fmt: skip
    fresh_id = run.new_id("dry-new")
    answer = run.put(fresh_id, _cart(), dry=True)
    run.expect_status(answer, 200, "a dry first PUT is valid")
    stored = run.get(fresh_id)
    run.expect(
        stored, stored.status == 404, "dry_run_persists_nothing",
        f"A dry first PUT must not create the session: GET answered {stored.status}",
    )  # fmt: skip


def dry_runs_read_only(run: WorkflowRun) -> None:
    """dry=true on a new id answers the evaluated session and creates nothing."""
    session_id = run.new_id("dry-ro")
    answer = run.put(session_id, {**_cart(), "profileId": ""}, dry=True)
    run.expect_status(answer, 200, "a dry PUT of a valid cart is accepted")
    evaluated = run.session_of(answer)
    for problem in applied_verdict(_cart(), evaluated).problems:
        run.report(answer, "dry_run_evaluates", problem.message, problem.key)
    run.expect(
        answer, evaluated.get("state") == "open", "state_transitions",
        f"A new session must start open, not {evaluated.get('state')!r}",
    )  # fmt: skip
    stored = run.get(session_id)
    run.expect(
        stored, stored.status == 404, "dry_run_persists_nothing",
        f"A dry first PUT must not create the session: GET answered {stored.status}",
    )  # fmt: skip
    drift = {
        "cartItems": [
            {"name": "Bottle", "sku": "SKU-31", "quantity": 1, "price": 0.1},
            {"name": "Cap", "sku": "SKU-32", "quantity": 1, "price": 0.2},
        ]
    }
    answer = run.put(session_id, drift, dry=True)
    run.expect_status(answer, 200, "a dry PUT of a valid cart is accepted")
    total = run.session_of(answer).get("total")
    run.expect(
        answer, to_decimal(total) == to_decimal(0.3), "totals_add_up",
        f"0.1 + 0.2 must total exactly 0.3, got {total!r}",
    )  # fmt: skip


def separate_sessions(run: WorkflowRun) -> None:
    """Ids that differ only in case or by a suffix are different sessions."""
    base = run.new_id("Case")
    carts = {}
    for index, session_id in enumerate((base, base.lower(), base + "-2")):
        item = {"name": f"Item {index}", "sku": f"SKU-{index}", "quantity": index + 1, "price": 1}
        answer = run.put(session_id, {"cartItems": [item], "profileId": ""})
        run.expect_status(answer, 200, "a first PUT creates the session")
        carts[session_id] = run.session_of(answer)
    for session_id, session in carts.items():
        answer = run.get(session_id)
        run.expect_status(answer, 200, "the session was created")
        differences = session_differences(session, run.session_of(answer))
        run.expect(
            answer, not differences, "persisted",
            f"Session {session_id!r} was overwritten by another id: differs in {differences}",
        )  # fmt: skip


def first_sessions(run: WorkflowRun) -> None:
    """The first session of a profile is firstSession; later ones are not; anonymous always."""
    profile = run.new_id("profile")
    first_id, first = _open_session(run, "first", profileId=profile)
    run.expect(
        None, first.get("firstSession") is True, "first_session",
        f"The first session of profile {profile!r} must have firstSession true",
    )  # fmt: skip
    second_id, second = _open_session(run, "second", profileId=profile)
    answer = run.get(second_id)
    run.expect(
        answer, second.get("firstSession") is False, "first_session",
        f"A second session of profile {profile!r} must have firstSession false",
    )  # fmt: skip
    answer = run.get(first_id)
    run.expect(
        answer, run.session_of(answer).get("firstSession") is True, "first_session",
        "The first session must stay firstSession true after the profile's second session",
    )  # fmt: skip
    for label in ("anonymous-1", "anonymous-2"):
        _, anonymous = _open_session(run, label, profileId="")
        run.expect(
            None, anonymous.get("firstSession") is True, "first_session",
            "An anonymous session must always have firstSession true",
        )  # fmt: skip


def unusual_ids(run: WorkflowRun) -> None:
    """integrationId is the path id, whatever characters it holds."""
    session_id = run.new_id("id with spaces ü €")
    answer = run.get(session_id)
    run.expect_status(answer, 404, "no session has this id")
    answer = run.put(session_id, {}, dry=True)
    run.expect_status(answer, 200, "an empty update is valid")
    session = run.session_of(answer)
    run.expect(
        answer, session.get("integrationId") == session_id, "integration_id_matches_path",
        f"integrationId is {session.get('integrationId')!r}, the path id {session_id!r}",
    )  # fmt: skip


def _with_item(**fields: Any) -> bytes:
    item = {"name": "a", "sku": "b", "quantity": 1, "price": 1, **fields}
    return json.dumps(
        {"customerSession": {"cartItems": [{k: v for k, v in item.items() if v is not None}]}}
    ).encode()


INVALID_BODIES: list[tuple[str, bytes, dict[str, str] | None]] = [
    ("malformed JSON", b'{"customerSession": {', None),
    ("an empty body", b"", None),
    ("no customerSession", b"{}", None),
    ("customerSession null", b'{"customerSession": null}', None),
    ("cartItems not an array", b'{"customerSession": {"cartItems": {}}}', None),
    ("quantity of the wrong type", _with_item(quantity="2"), None),
    ("quantity 0", _with_item(quantity=0), None),
    ("a cart item without price", _with_item(price=None), None),
    ("price as a string", _with_item(price="1"), None),
    ("an empty sku", _with_item(sku=""), None),
    ("an unknown state", b'{"customerSession": {"state": "reopened"}}', None),
    ("an additional cost without price",
     b'{"customerSession": {"additionalCosts": {"shipping": {}}}}', None),
    ("an unknown responseContent",
     b'{"customerSession": {}, "responseContent": ["everything"]}', None),
    ("a body that is not JSON", b"customerSession=1", {"Content-Type": "text/plain"}),
]  # fmt: skip


def invalid_input(run: WorkflowRun) -> None:
    """Malformed requests get a 400 ErrorResponse, never a 5xx, and create nothing."""
    session_id = run.new_id("invalid")
    for why, raw, headers in INVALID_BODIES:
        answer = run.call(
            "PUT", session_id, raw_body=raw, query={"dry": "true"},
            headers={"Content-Type": "application/json", **(headers or {})},
        )  # fmt: skip
        run.expect(
            answer, answer.status == 400, "negative_data_rejection",
            f"A PUT with {why} must be refused with 400, got {answer.status}",
        )  # fmt: skip
    answer = run.call("PUT", session_id, body={"customerSession": {}}, query={"dry": "maybe"})
    run.expect(
        answer, answer.status == 400, "negative_data_rejection",
        f"dry=maybe must be refused with 400, got {answer.status}",
    )  # fmt: skip
    answer = run.get(session_id)
    run.expect(
        answer, answer.status == 404, "rejected_update_persists_nothing",
        f"Rejected requests must not create the session: GET answered {answer.status}",
    )  # fmt: skip


def invalid_updates_persist_nothing(run: WorkflowRun) -> None:
    """A malformed update of an existing session leaves it untouched."""
    session_id, session = _open_session(run, "invalid-update")
    answer = run.call(
        "PUT", session_id,
        body={"customerSession": {"state": "closed", "cartItems": [{"name": "a", "sku": "b",
              "quantity": -1, "price": 1}]}},
    )  # fmt: skip
    run.expect(
        answer, answer.status == 400, "negative_data_rejection",
        f"quantity -1 must be refused with 400, got {answer.status}",
    )  # fmt: skip
    run.expect_unchanged(session_id, session, "rejected_update_persists_nothing", "it was invalid")


@dataclass(frozen=True)
class Workflow:
    """A named scenario and whether it is safe against a shared environment."""

    name: str
    run: Callable[[WorkflowRun], None]
    read_only: bool

    @property
    def description(self) -> str:
        """The first line of the scenario's docstring."""
        return (self.run.__doc__ or self.name).strip().splitlines()[0]


WORKFLOWS: tuple[Workflow, ...] = (
    Workflow("authentication", authentication, read_only=True),
    Workflow("unknown session", unknown_session, read_only=True),
    Workflow("invalid input", invalid_input, read_only=True),
    Workflow("unusual ids", unusual_ids, read_only=True),
    Workflow("dry run of a new session", dry_runs_read_only, read_only=True),
    Workflow("create and read", create_and_read, read_only=False),
    Workflow("update keeps untouched fields", update_keeps_untouched_fields, read_only=False),
    Workflow("totals", totals, read_only=False),
    Workflow("open -> closed -> cancelled", close_then_cancel, read_only=False),
    Workflow("open -> cancelled", cancel_open, read_only=False),
    Workflow("illegal transitions", illegal_transitions, read_only=False),
    Workflow("dry runs", dry_runs, read_only=False),
    Workflow("first sessions", first_sessions, read_only=False),
    Workflow("separate sessions", separate_sessions, read_only=False),
    Workflow("invalid updates persist nothing", invalid_updates_persist_nothing, read_only=False),
)


@dataclass(frozen=True)
class WorkflowResult:
    """What one workflow found."""

    workflow: Workflow
    violations: tuple[Violation, ...]
    # Why the workflow could not finish (a network failure, a timeout, the budget, our bug):
    # a harness error, never the server's failure.
    error: str | None = None
    passes: Mapping[str, int] = field(default_factory=dict)
    doubts: tuple[str, ...] = ()
    # The error was a request the server left unanswered within the timeout.
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        """True when the server kept every rule the workflow exercises."""
        return not self.violations and self.error is None


def run_workflows(
    client: Client, *, read_only: bool = False, budget: Budget | None = None
) -> Iterator[WorkflowResult]:
    """Run every (read-only) workflow in order against one server; yield as each finishes.

    Once `budget` is spent, the workflow in progress ends with an error and no other starts.
    """
    prefix = f"contract-{uuid.uuid4().hex[:12]}"
    for index, workflow in enumerate(WORKFLOWS):
        if read_only and not workflow.read_only:
            continue
        if budget is not None and budget.spent:
            return
        run = WorkflowRun(workflow.name, client, f"{prefix}-{index}")
        error = None
        timed_out = False
        try:
            workflow.run(run)
        except StopWorkflow:
            pass
        except BudgetExhausted as exc:
            error = f"stopped: {exc}"
        except Exception as exc:  # a network failure must not hide the other workflows
            error = f"{type(exc).__name__}: {exc}"
            timed_out = isinstance(exc, requests.Timeout)
        yield WorkflowResult(
            workflow, tuple(run.violations), error, dict(run.passes), tuple(run.doubts), timed_out
        )
