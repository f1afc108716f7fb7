"""Known failures, accepted for a while: a YAML file reviewed in pull requests.

`contract --write-baseline FILE` records the failures of a run; `contract --baseline FILE` then
fails only on failures that are not in it, and on entries past their `expires` date. An entry
is matched by its fingerprint: a hash of the check, the operation and the failure's stable
signature (never its wording or the data it happened to carry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import yaml

from contract_tests.report import Failure

FORMAT_VERSION: Final = 1
HEADER: Final = """\
# Contract failures accepted for now (customer-session-mock contract --baseline FILE).
#
# A run with --baseline fails only on failures missing here, and on entries whose `expires`
# date has passed. For each entry, say in `reason` why it is accepted (link the issue that
# fixes it) and set `expires` (YYYY-MM-DD) to when it must be fixed. Review changes to this
# file like code. `fingerprint` identifies the failure; `check`, `operationId` and `summary`
# are there for people (the summary is the failure's message when it was recorded).
"""


class BaselineError(ValueError):
    """A baseline file that cannot be read."""


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted failure."""

    fingerprint: str
    check: str
    operation_id: str
    summary: str = ""
    reason: str = ""
    expires: str | None = None  # YYYY-MM-DD

    def expired(self, today: date) -> bool:
        """Whether the entry's time is up."""
        return self.expires is not None and date.fromisoformat(self.expires) < today

    @classmethod
    def of(cls, failure: Failure) -> BaselineEntry:
        """An entry accepting `failure`, with its reason and expiry still to fill in."""
        summary = failure.message.splitlines()[0] if failure.message else ""
        return cls(failure.fingerprint, failure.check, failure.operation_id, summary[:200])

    @classmethod
    def from_dict(cls, data: Any, where: str) -> BaselineEntry:
        """From one YAML entry."""
        if not isinstance(data, Mapping):
            raise BaselineError(f"{where}: an entry must be a mapping, not {data!r}")
        fingerprint = data.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise BaselineError(f"{where}: `fingerprint` (text) is missing")
        expires = data.get("expires")
        if isinstance(expires, date):
            expires = expires.isoformat()
        elif expires is not None:
            try:
                date.fromisoformat(str(expires))
            except ValueError:
                raise BaselineError(
                    f"{where}: `expires` must be a date (YYYY-MM-DD), not {expires!r}"
                ) from None
            expires = str(expires)
        return cls(
            fingerprint=fingerprint,
            check=str(data.get("check") or ""),
            operation_id=str(data.get("operationId") or ""),
            summary=str(data.get("summary") or ""),
            reason=str(data.get("reason") or ""),
            expires=expires,
        )

    def to_dict(self) -> dict[str, Any]:
        """As YAML (and JSON)."""
        return {
            "fingerprint": self.fingerprint,
            "check": self.check,
            "operationId": self.operation_id,
            "summary": self.summary,
            "reason": self.reason,
            "expires": self.expires,
        }


@dataclass(frozen=True)
class Baseline:
    """Every accepted failure."""

    entries: tuple[BaselineEntry, ...] = ()

    def find(self, fingerprint: str) -> BaselineEntry | None:
        """The entry with this fingerprint."""
        return next((entry for entry in self.entries if entry.fingerprint == fingerprint), None)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read a baseline file; BaselineError says what is wrong with it."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(f"cannot read {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise BaselineError(f"{path} is not YAML: {exc}") from None
        if document is None:
            return cls()
        if not isinstance(document, Mapping) or not isinstance(document.get("entries", []), list):
            raise BaselineError(f"{path}: expected a mapping with a list of `entries`")
        version = document.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise BaselineError(f"{path}: unsupported baseline version {version!r}")
        entries = document.get("entries") or []
        return cls(
            tuple(
                BaselineEntry.from_dict(entry, f"{path}, entry {index + 1}")
                for index, entry in enumerate(entries)
            )
        )

    @classmethod
    def of(cls, failures: Iterable[Failure], previous: Baseline | None = None) -> Baseline:
        """A baseline accepting `failures`; entries already in `previous` keep reason and expiry."""
        entries: dict[str, BaselineEntry] = {}
        for failure in failures:
            known = previous.find(failure.fingerprint) if previous else None
            entries.setdefault(failure.fingerprint, known or BaselineEntry.of(failure))
        ordered = sorted(entries.values(), key=lambda e: (e.check, e.operation_id, e.fingerprint))
        return cls(tuple(ordered))

    def dump(self) -> str:
        """The YAML text of the file."""
        body = yaml.safe_dump(
            {"version": FORMAT_VERSION, "entries": [entry.to_dict() for entry in self.entries]},
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        return HEADER + body

    def save(self, path: Path) -> None:
        """Write the file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.dump(), encoding="utf-8")
