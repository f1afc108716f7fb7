"""One model of a contract run, whatever observed the traffic.

A `RunRecorder` takes what any source saw: exchanges (operation and status, for coverage),
check results (passes, failures with their request and answer, doubts) and harness errors.
Workflows, a Schemathesis run and a validating proxy all feed it the same way. `finish()` turns
that into a `RunReport`: the verdict, the coverage, the gates, the failures (new and known to a
baseline). The HTML, JSON and JUnit reports and the terminal summary all render that one object.

Verdicts and exit codes: "pass" (0) the server keeps the contract; "fail" (1) it breaks it (or
misses a gate); "error" (2) the run could not decide (a harness error, a network failure, a
timeout, the time budget spent before the run was complete).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from contract_tests.advice import advice_for
from contract_tests.operations import Operations

if TYPE_CHECKING:
    from contract_tests.baseline import Baseline, BaselineEntry

Verdict = Literal["pass", "fail", "error"]
# A workflow whose every violation a baseline accepts is "known".
WorkflowStatus = Literal["pass", "fail", "error", "known"]
EXIT_CODES: Final[Mapping[str, int]] = {"pass": 0, "fail": 1, "error": 2}
SUMMARIES: Final[Mapping[str, str]] = {
    "pass": "The server keeps the contract.",
    "fail": "The server BREAKS the contract.",
    "error": "The run could not decide: see the errors (exit 2, not a verdict on the server).",
}
FILTERED: Final = "[Filtered]"
SENSITIVE_HEADERS: Final = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"}
)
# Headers every HTTP client adds: noise in a reproduction.
NOISE_HEADERS: Final = frozenset(
    {
        "user-agent", "accept-encoding", "accept", "connection", "content-length",
        "x-schemathesis-testcaseid", "host",
    }
)  # fmt: skip
BODY_LIMIT: Final = 4000
REPORT_VERSION: Final = 1


def mask_header(name: str, value: str) -> str:
    """A header value fit for a report: credentials filtered, the scheme kept."""
    if name.lower() not in SENSITIVE_HEADERS:
        return value
    scheme, _, secret = value.partition(" ")
    return f"{scheme} {FILTERED}" if secret and name.lower() == "authorization" else FILTERED


def curl_command(
    method: str, url: str, headers: Mapping[str, str], body: bytes | str | None
) -> str:
    """A curl command that replays a request, credentials filtered."""
    parts = ["curl", "-X", method]
    for name, value in headers.items():
        if name.lower() not in NOISE_HEADERS:
            parts += ["-H", f"{name}: {mask_header(name, value)}"]
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["-d", text]
    parts.append(url)
    return " ".join(shlex.quote(part) for part in parts)


def _text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if len(text) > BODY_LIMIT:
        return text[:BODY_LIMIT] + f"... [{len(text) - BODY_LIMIT} more characters]"
    return text


@dataclass(frozen=True)
class HttpRequest:
    """A request as it went out (credentials filtered, body shortened)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str

    @classmethod
    def of(
        cls, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> HttpRequest:
        """From raw parts."""
        shown = {
            name: mask_header(name, value)
            for name, value in headers.items()
            if name.lower() not in NOISE_HEADERS
        }
        return cls(method.upper(), url, shown, _text(body))

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body": self.body,
        }


@dataclass(frozen=True)
class HttpAnswer:
    """An answer as it came back (body shortened)."""

    status: int
    content_type: str
    body: str

    @classmethod
    def of(cls, status: int, content_type: str, body: bytes | str | None) -> HttpAnswer:
        """From raw parts."""
        return cls(status, content_type, _text(body))

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"status": self.status, "contentType": self.content_type, "body": self.body}


@dataclass(frozen=True)
class Failure:
    """One broken promise, with everything needed to see it and to reproduce it."""

    check: str
    operation_id: str  # "" when no single operation is at fault
    message: str
    # Identifies the failure from one run to the next, whatever data it carries.
    signature: str
    source: str  # "workflow 'totals'", "Schemathesis fuzzing", "proxy", ...
    title: str = ""
    request: HttpRequest | None = None
    answer: HttpAnswer | None = None
    curl: str = ""
    # How many answers broke the rule the same way (the first is shown).
    occurrences: int = 1

    @property
    def fingerprint(self) -> str:
        """A short stable hash of check, operation and signature."""
        text = "\0".join((self.check, self.operation_id, self.signature))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        advice = advice_for(self.check)
        return {
            "fingerprint": self.fingerprint,
            "check": self.check,
            "operationId": self.operation_id,
            "title": self.title,
            "message": self.message,
            "source": self.source,
            "expected": advice.expected,
            "whatToDo": advice.todo,
            "request": self.request.to_dict() if self.request else None,
            "answer": self.answer.to_dict() if self.answer else None,
            "curl": self.curl,
            "occurrences": self.occurrences,
        }


@dataclass
class CheckTally:
    """How often one check passed, failed and could not decide."""

    name: str
    passed: int = 0
    failed: int = 0
    undecided: int = 0
    sources: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "name": self.name,
            "passed": self.passed,
            "failed": self.failed,
            "undecided": self.undecided,
            "sources": sorted(self.sources),
        }


@dataclass(frozen=True)
class WorkflowOutcome:
    """One workflow: pass, fail (violations) or error (it could not finish)."""

    name: str
    description: str
    status: WorkflowStatus
    violations: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "violations": self.violations,
            "error": self.error,
        }


@dataclass(frozen=True)
class CoveragePair:
    """One (operation, status): documented or not, and how often the run saw it."""

    operation_id: str
    method: str
    path: str
    status: int
    documented: bool
    count: int

    @property
    def seen(self) -> bool:
        """Whether the run saw this answer at least once."""
        return self.count > 0

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "operationId": self.operation_id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "documented": self.documented,
            "seen": self.seen,
            "count": self.count,
        }


@dataclass(frozen=True)
class Coverage:
    """Which documented answers the run saw, and which undocumented ones the server gave."""

    pairs: tuple[CoveragePair, ...]

    @property
    def documented(self) -> list[CoveragePair]:
        """The pairs openapi.yaml documents."""
        return [pair for pair in self.pairs if pair.documented]

    @property
    def percent(self) -> float:
        """The share of documented pairs seen, in percent (100 when nothing is documented)."""
        documented = self.documented
        if not documented:
            return 100.0
        return round(100 * sum(pair.seen for pair in documented) / len(documented), 1)

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        documented = self.documented
        return {
            "percent": self.percent,
            "documented": len(documented),
            "seen": sum(pair.seen for pair in documented),
            "undocumentedSeen": sum(1 for pair in self.pairs if not pair.documented),
            "pairs": [pair.to_dict() for pair in self.pairs],
        }


@dataclass(frozen=True)
class Gate:
    """A requirement of the run itself (coverage, a status that must be seen)."""

    name: str  # "min_coverage" or "require_status"
    requirement: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "name": self.name,
            "requirement": self.requirement,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Notice:
    """A harness error or a warning (e.g. a check that could not decide), with its count."""

    source: str
    message: str
    count: int = 1
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "source": self.source,
            "message": self.message,
            "count": self.count,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class KnownFailure:
    """A failure a baseline accepts, with the entry that accepts it."""

    failure: Failure
    reason: str
    expires: str | None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {**self.failure.to_dict(), "reason": self.reason, "expires": self.expires}


@dataclass(frozen=True)
class RunReport:
    """Everything a contract run found; rendered as HTML, JSON, JUnit and text."""

    verdict: Verdict
    server: str
    seed: int | None
    options: Mapping[str, Any]
    started: datetime
    duration: float
    complete: bool
    coverage: Coverage
    checks: tuple[CheckTally, ...]
    workflows: tuple[WorkflowOutcome, ...]
    failures: tuple[Failure, ...]
    known_failures: tuple[KnownFailure, ...]
    expired_baseline: tuple[BaselineEntry, ...]
    unmatched_baseline: tuple[BaselineEntry, ...]
    gates: tuple[Gate, ...]
    errors: tuple[Notice, ...]
    warnings: tuple[Notice, ...]
    replay: str
    sources: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """0 pass, 1 the server breaks the contract, 2 the run could not decide."""
        return EXIT_CODES[self.verdict]

    @property
    def summary(self) -> str:
        """The verdict in one sentence."""
        return SUMMARIES[self.verdict]

    @property
    def failed_checks(self) -> list[str]:
        """The checks with new failures, in order of first failure."""
        return list(dict.fromkeys(failure.check for failure in self.failures))

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "reportVersion": REPORT_VERSION,
            "verdict": self.verdict,
            "exitCode": self.exit_code,
            "summary": self.summary,
            "server": self.server,
            "seed": self.seed,
            "options": dict(self.options),
            "startedAt": self.started.isoformat(),
            "durationSeconds": round(self.duration, 2),
            "complete": self.complete,
            "sources": list(self.sources),
            "coverage": self.coverage.to_dict(),
            "gates": [gate.to_dict() for gate in self.gates],
            "checks": [tally.to_dict() for tally in self.checks],
            "workflows": [workflow.to_dict() for workflow in self.workflows],
            "failures": [failure.to_dict() for failure in self.failures],
            "knownFailures": [known.to_dict() for known in self.known_failures],
            "expiredBaselineEntries": [entry.to_dict() for entry in self.expired_baseline],
            "baselineEntriesNotSeen": [entry.to_dict() for entry in self.unmatched_baseline],
            "whatToDo": {
                check: {"expected": advice_for(check).expected, "todo": advice_for(check).todo}
                for check in self.failed_checks
            },
            "errors": [error.to_dict() for error in self.errors],
            "warnings": [warning.to_dict() for warning in self.warnings],
            "replay": self.replay,
        }

    def to_json(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Gates:
    """What a run must reach besides keeping every rule."""

    min_coverage: float | None = None
    # (operationId, status) pairs the run must see.
    required: tuple[tuple[str, int], ...] = ()


class RunRecorder:
    """Collects what every source of a run observed; `finish()` makes the report."""

    def __init__(
        self,
        operations: Operations,
        *,
        server: str,
        seed: int | None = None,
        options: Mapping[str, Any] | None = None,
        replay: str = "",
    ) -> None:
        self.operations = operations
        self.server = server
        self.seed = seed
        self.options = dict(options or {})
        self.replay = replay
        self.started = datetime.now(UTC)
        self._seen: Counter[tuple[str, int]] = Counter()
        self._tallies: dict[str, CheckTally] = {}
        self._failures: dict[str, Failure] = {}
        self._occurrences: Counter[str] = Counter()
        self._failure_sources: dict[str, set[str]] = {}
        self._workflows: list[WorkflowOutcome] = []
        self._errors: Counter[tuple[str, str]] = Counter()
        self._error_details: dict[tuple[str, str], str] = {}
        self._warnings: Counter[tuple[str, str]] = Counter()
        self._sources: dict[str, None] = {}
        self.incomplete: str | None = None
        # Requests the server left unanswered within the timeout (a stalling server).
        self.timeouts = 0

    # --- what sources report -------------------------------------------------------------

    def saw(self, method: str, url: str, status: int, *, operation_id: str | None = None) -> None:
        """An answer the server gave (for coverage); requests outside the contract are left out."""
        if operation_id is None:
            operation = self.operations.of_request(method, url)
            if operation is None:
                return
            operation_id = operation.operation_id
        self._seen[(operation_id, status)] += 1

    def passed(self, check: str, source: str, count: int = 1) -> None:
        """`count` answers kept the rule of `check`."""
        self._tally(check, source).passed += count

    def undecided(self, check: str, source: str, message: str, count: int = 1) -> None:
        """`check` could not decide on `count` answers (a warning, never a failure)."""
        self._tally(check, source).undecided += count
        self._warnings[(f"{check} ({source})", message)] += count

    def failed(self, failure: Failure) -> None:
        """A broken promise; the same fingerprint again only counts (the first one is shown)."""
        self._tally(failure.check, failure.source).failed += 1
        self._failures.setdefault(failure.fingerprint, failure)
        self._occurrences[failure.fingerprint] += 1
        self._failure_sources.setdefault(failure.fingerprint, set()).add(failure.source)

    def error(self, source: str, message: str, detail: str = "") -> None:
        """Something kept the run from deciding (our bug, the network, a timeout)."""
        self._errors[(source, message)] += 1
        if detail:
            self._error_details.setdefault((source, message), detail)

    def warn(self, source: str, message: str) -> None:
        """Worth knowing, changes no verdict."""
        self._warnings[(source, message)] += 1

    def workflow(self, outcome: WorkflowOutcome) -> None:
        """The outcome of one workflow."""
        self._workflows.append(outcome)

    def source(self, name: str) -> None:
        """Name a source of exchanges (workflows, Schemathesis, a proxy)."""
        self._sources[name] = None

    def stopped_early(self, why: str) -> None:
        """The run did not get through everything it meant to do."""
        if self.incomplete is None:
            self.incomplete = why

    def _tally(self, check: str, source: str) -> CheckTally:
        tally = self._tallies.setdefault(check, CheckTally(check))
        tally.sources.add(source)
        return tally

    @property
    def has_failures(self) -> bool:
        """Whether any source reported a failure so far."""
        return bool(self._failures)

    # --- the report ----------------------------------------------------------------------

    def coverage(self) -> Coverage:
        """The documented pairs, then any undocumented status the server answered."""
        pairs = []
        for op in self.operations:
            for status in op.statuses:
                count = self._seen.get((op.operation_id, status), 0)
                pairs.append(CoveragePair(op.operation_id, op.method, op.path, status, True, count))
        for (operation_id, status), count in sorted(self._seen.items()):
            op = self.operations.by_id(operation_id)
            if op is None or status not in op.statuses:
                method, path = (op.method, op.path) if op else ("", "")
                pairs.append(CoveragePair(operation_id, method, path, status, False, count))
        return Coverage(tuple(pairs))

    def finish(
        self,
        *,
        gates: Gates | None = None,
        baseline: Baseline | None = None,
        today: date | None = None,
        duration: float | None = None,
    ) -> RunReport:
        """The verdict and everything behind it."""
        today = today or date.today()
        coverage = self.coverage()
        new, known, matched = self._against_baseline(baseline, today)
        expired = tuple(
            entry for entry in (baseline.entries if baseline else ()) if entry.expired(today)
        )
        unmatched = tuple(
            entry
            for entry in (baseline.entries if baseline else ())
            if entry.fingerprint not in matched and not entry.expired(today)
        )
        gate_results = tuple(self._gates(gates or Gates(), coverage))
        errors = [
            Notice(source, message, count, self._error_details.get((source, message), ""))
            for (source, message), count in self._errors.items()
        ]
        if self.incomplete is not None:
            errors.append(Notice("run", self.incomplete))
        verdict: Verdict
        if new or expired:
            verdict = "fail"  # a definite finding stands, whatever else went wrong
        elif errors:
            verdict = "error"  # gates are not judged on a run that could not finish
        elif not all(gate.passed for gate in gate_results):
            verdict = "fail"
        else:
            verdict = "pass"
        elapsed = duration
        if elapsed is None:
            elapsed = (datetime.now(UTC) - self.started).total_seconds()
        return RunReport(
            verdict=verdict,
            server=self.server,
            seed=self.seed,
            options=self.options,
            started=self.started,
            duration=elapsed,
            complete=self.incomplete is None,
            coverage=coverage,
            checks=tuple(sorted(self._tallies.values(), key=lambda tally: tally.name.lower())),
            workflows=tuple(self._judged_workflows(new)),
            failures=tuple(new),
            known_failures=tuple(known),
            expired_baseline=expired,
            unmatched_baseline=unmatched,
            gates=gate_results,
            errors=tuple(errors),
            warnings=tuple(
                Notice(source, message, count)
                for (source, message), count in self._warnings.items()
            ),
            replay=self.replay,
            sources=tuple(self._sources),
        )

    def _judged_workflows(self, new: Sequence[Failure]) -> Iterable[WorkflowOutcome]:
        failing = set().union(*(self._failure_sources[f.fingerprint] for f in new))
        for outcome in self._workflows:
            if outcome.status == "fail" and f"workflow '{outcome.name}'" not in failing:
                outcome = replace(outcome, status="known")
            yield outcome

    def _against_baseline(
        self, baseline: Baseline | None, today: date
    ) -> tuple[list[Failure], list[KnownFailure], set[str]]:
        new: list[Failure] = []
        known: list[KnownFailure] = []
        matched: set[str] = set()
        for first in self._failures.values():
            failure = replace(first, occurrences=self._occurrences[first.fingerprint])
            entry = baseline.find(failure.fingerprint) if baseline else None
            if entry is None:
                new.append(failure)
                continue
            matched.add(entry.fingerprint)
            if entry.expired(today):
                new.append(failure)  # reported again; the expired entry fails the run as well
            else:
                known.append(KnownFailure(failure, entry.reason, entry.expires))
        return new, known, matched

    def _gates(self, gates: Gates, coverage: Coverage) -> Iterable[Gate]:
        if gates.min_coverage is not None:
            reached = coverage.percent
            missing = [
                f"{pair.operation_id} {pair.status}"
                for pair in coverage.documented
                if not pair.seen
            ]
            yield Gate(
                "min_coverage",
                f"at least {gates.min_coverage:g} % of documented (operation, status) pairs seen",
                reached >= gates.min_coverage,
                f"{reached:g} % seen" + (f"; never seen: {', '.join(missing)}" if missing else ""),
            )
        for operation_id, status in gates.required:
            count = self._seen.get((operation_id, status), 0)
            yield Gate(
                "require_status",
                f"{operation_id} answers {status} at least once",
                count > 0,
                f"seen {count} times" if count else "never seen",
            )


def failures_by_check(failures: Sequence[Failure]) -> dict[str, list[Failure]]:
    """Failures grouped by check, in order of first appearance."""
    grouped: dict[str, list[Failure]] = {}
    for failure in failures:
        grouped.setdefault(failure.check, []).append(failure)
    return grouped
