"""What the traffic checks find: violations, the exchanges they were found in, and their tally.

One model for the live proxy and for `verify-traffic`, rendered as response headers, journal
entries, a text report, JSON and JUnit. A `CheckedExchange` is one row of a contract report:
the operation and status it covered, its violations (each with the check that found it and
a JSON pointer or a parameter where one applies) and the request as a curl command.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

# Every check the traffic checks run, and what it holds the exchange to.
CHECKS: Final = {
    "request_schema_conformance": "the request matches openapi.yaml: operation, parameters, "
    "API key, content type and body",
    "status_code_conformance": "the answer's status is one the operation documents",
    "content_type_conformance": "the answer's content type is one openapi.yaml documents",
    "response_schema_conformance": "the answer's body matches its schema in openapi.yaml",
    "error_response_well_formed": "a documented 4xx answer is a well-formed ErrorResponse",
    "session_rules": "a session's totals add up to the cent, integrationId is the path id, an "
    "anonymous session is a first session, updated is not behind created",
    "session_history": "across calls: only legal state moves, created kept, a PUT keeps what "
    "it did not name, a dry run changes nothing a later GET shows",
}
# Longest message a header, the journal or a report carries for one violation.
MAX_MESSAGE_CHARS: Final = 500
# Most violations one journal entry keeps.
MAX_ENTRY_VIOLATIONS: Final = 50
CUT_MARK: Final = "..."


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken promise of the contract, found in a request or in its answer."""

    check: str
    message: str
    side: str  # "request" or "response"
    pointer: str | None = None  # a JSON pointer into that side's body
    parameter: str | None = None  # a path or query parameter, or a header

    def to_json(self, limit: int = MAX_MESSAGE_CHARS) -> dict[str, Any]:
        """The violation as a JSON object; the message cut at `limit` characters."""
        shown: dict[str, Any] = {
            "check": self.check,
            "side": self.side,
            "message": _cut(self.message, limit),
        }
        if self.pointer is not None:
            shown["pointer"] = self.pointer
        if self.parameter is not None:
            shown["parameter"] = self.parameter
        return shown

    def describe(self) -> str:
        """One line: the check, where, and what."""
        where = self.pointer if self.pointer is not None else self.parameter
        located = f" {where or '/'}" if self.pointer is not None or self.parameter else ""
        return f"[{self.check}] {self.side}{located}: {self.message}"


@dataclass(frozen=True)
class CheckedExchange:
    """One request and its answer, and what the checks made of them."""

    time: datetime
    method: str
    path: str
    query: str = ""
    operation_id: str | None = None  # None: no operation of openapi.yaml; nothing checked
    status: int | None = None  # of the answer checked; None when there was none
    source: str = "upstream"  # who answered: "upstream", "mock" (a fallback) or "proxy"
    violations: tuple[Violation, ...] = ()
    skipped: tuple[str, ...] = ()  # checks that could not run, and why
    curl: str = ""

    @property
    def checked(self) -> bool:
        """Whether the exchange was an operation of the contract, and so checked."""
        return self.operation_id is not None

    @property
    def passed(self) -> bool:
        """No violation found (an unchecked exchange passes: nothing was asked of it)."""
        return not self.violations

    @property
    def target(self) -> str:
        """Method, path and query, as a report names the exchange."""
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")

    def to_json(self) -> dict[str, Any]:
        """The exchange as a report row."""
        return {
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "operationId": self.operation_id,
            "status": self.status,
            "source": self.source,
            "violations": [violation.to_json() for violation in self.violations],
            "skipped": list(self.skipped),
            "curl": self.curl,
        }

    def describe(self) -> str:
        """A readable, multi-line account of the exchange and its violations."""
        answered = f"answered {self.status}" if self.status is not None else "no answer"
        operation = self.operation_id or "no operation of openapi.yaml"
        lines = [f"{self.target}  ({operation}, {answered}, from the {self.source})"]
        lines += [f"    {violation.describe()}" for violation in self.violations]
        lines += [f"    skipped: {reason}" for reason in self.skipped]
        if self.curl:
            lines += ["    Reproduce with:", f"        {self.curl}"]
        return "\n".join(lines)


def journal_violations(violations: Sequence[Violation]) -> list[dict[str, Any]]:
    """The violations as a journal entry keeps them: at most MAX_ENTRY_VIOLATIONS."""
    kept = [violation.to_json() for violation in violations[:MAX_ENTRY_VIOLATIONS]]
    if len(violations) > MAX_ENTRY_VIOLATIONS:
        kept.append({"truncated": True, "omitted": len(violations) - MAX_ENTRY_VIOLATIONS})
    return kept


def detail_header(violations: Sequence[Violation], limit: int) -> str:
    """The violations as a JSON array for a header: ASCII only, at most `limit` characters.

    Non-ASCII text is escaped (`\\u00e9`), so the value survives any HTTP stack. When the
    violations do not fit, as many as fit are kept, and a last element
    `{"truncated": true, "omitted": N}` says how many were left out.
    """
    items = [
        json.dumps(violation.to_json(limit=200), ensure_ascii=True, separators=(",", ":"))
        for violation in violations
    ]
    reserve = len(json.dumps({"truncated": True, "omitted": len(items)}, separators=(",", ":")))
    kept: list[str] = []
    size = 2  # the brackets
    for index, item in enumerate(items):
        last = index == len(items) - 1
        room = limit - (0 if last else reserve + 1)
        if size + len(item) + (1 if kept else 0) > room:
            break
        kept.append(item)
        size += len(item) + (1 if len(kept) > 1 else 0)
    omitted = len(items) - len(kept)
    if omitted:
        marker = {"truncated": True, "omitted": omitted}
        kept.append(json.dumps(marker, separators=(",", ":")))
    return "[" + ",".join(kept) + "]"


@dataclass
class Tally:
    """Counts over every exchange seen, and the last exchanges that broke the contract."""

    keep: int = 100
    exchanges: int = 0
    checked: int = 0
    failed: int = 0
    by_check: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    coverage: Counter[tuple[str, int | None]] = field(default_factory=Counter)
    recent: deque[CheckedExchange] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, exchange: CheckedExchange) -> None:
        """Count one exchange."""
        with self._lock:
            self.exchanges += 1
            self.sources[exchange.source] += 1
            for reason in exchange.skipped:
                self.skipped[reason] += 1
            if not exchange.checked:
                return
            self.checked += 1
            assert exchange.operation_id is not None
            self.coverage[(exchange.operation_id, exchange.status)] += 1
            if exchange.violations:
                self.failed += 1
                self.by_check.update(violation.check for violation in exchange.violations)
                self.recent.append(exchange)
                while len(self.recent) > self.keep:
                    self.recent.popleft()

    def clear(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self.exchanges = self.checked = self.failed = 0
            for counter in (self.by_check, self.skipped, self.sources, self.coverage):
                counter.clear()
            self.recent.clear()

    @property
    def violations(self) -> int:
        """How many violations were found in all."""
        return sum(self.by_check.values())

    def to_json(self) -> dict[str, Any]:
        """The tally as `GET /__admin/violations` shows it."""
        with self._lock:
            return {
                "exchanges": self.exchanges,
                "checked": self.checked,
                "withViolations": self.failed,
                "violations": sum(self.by_check.values()),
                "byCheck": dict(sorted(self.by_check.items())),
                "skipped": dict(sorted(self.skipped.items())),
                "sources": dict(sorted(self.sources.items())),
                "coverage": [
                    {"operationId": operation, "status": status, "count": count}
                    for (operation, status), count in sorted(
                        self.coverage.items(), key=lambda item: (item[0][0], item[0][1] or 0)
                    )
                ],
                "recent": [exchange.to_json() for exchange in reversed(self.recent)],
            }

    def summary(self) -> list[str]:
        """The tally as lines of text: exchanges checked, violations by check, what was skipped."""
        with self._lock:
            lines = [
                f"{self.checked} exchanges checked ({self.exchanges - self.checked} not an "
                f"operation of openapi.yaml), {self.failed} with violations, "
                f"{sum(self.by_check.values())} violations"
            ]
            width = max((len(name) for name in self.by_check), default=0)
            lines += [
                f"  {name.ljust(width)}  {count}" for name, count in sorted(self.by_check.items())
            ]
            if self.skipped:
                lines.append("Checks skipped:")
                lines += [f"  {count} x {reason}" for reason, count in sorted(self.skipped.items())]
            answered = {source: n for source, n in self.sources.items() if source != "upstream"}
            if answered:
                lines.append(
                    "Not answered by the upstream: "
                    + ", ".join(f"{n} by the {source}" for source, n in sorted(answered.items()))
                )
            return lines


def write_junit(path: Path, exchanges: Iterable[CheckedExchange], suite: str) -> None:
    """A JUnit XML file: one test case per exchange, failed when it broke the contract."""
    root = ET.Element("testsuites")
    element = ET.SubElement(root, "testsuite", name=suite)
    tests = failures = skipped = 0
    for index, exchange in enumerate(exchanges, start=1):
        tests += 1
        status = exchange.status if exchange.status is not None else "no answer"
        case = ET.SubElement(
            element,
            "testcase",
            name=f"#{index} {exchange.target} -> {status}",
            classname=exchange.operation_id or "unchecked",
        )
        if not exchange.checked:
            skipped += 1
            ET.SubElement(case, "skipped", message="not an operation of openapi.yaml")
        elif exchange.violations:
            failures += 1
            checks = sorted({violation.check for violation in exchange.violations})
            failure = ET.SubElement(case, "failure", message=", ".join(checks))
            failure.text = exchange.describe()
    for name, value in (("tests", tests), ("failures", failures), ("skipped", skipped)):
        element.set(name, str(value))
        root.set(name, str(value))
    element.set("errors", "0")
    root.set("errors", "0")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def report_json(exchanges: Sequence[CheckedExchange], tally: Tally) -> dict[str, Any]:
    """A whole run as JSON: the verdict, the tally and every exchange."""
    return {
        "verdict": "fail" if tally.failed else "pass",
        "summary": {key: value for key, value in tally.to_json().items() if key != "recent"},
        "exchanges": [exchange.to_json() for exchange in exchanges],
    }
