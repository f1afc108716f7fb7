"""The report model takes checked exchanges from any source; its renderings say the same thing.

Here the source is traffic a proxy would forward: real requests to a stub server, each answer
checked with the harness's rules. The HTML page must be self-contained and show what the
server sent as text; the JSON and JUnit carry the same verdict, coverage and failures.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from contract_tests.baseline import Baseline, BaselineError
from contract_tests.exchange import read_exchange
from contract_tests.operations import Operations
from contract_tests.render import html_report, junit_report
from contract_tests.report import RunRecorder, RunReport
from contract_tests.traffic_report import TrafficChecker
from tests.contract.stub_servers import AUTH, SPEC_PATH, ScriptedServer, serving

SCRIPT = "<script>alert('owned')</script>"


def session(path_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": 1, "integrationId": path_id, "created": "2026-01-01T00:00:00Z",
        "updated": "2026-01-01T00:00:00Z", "applicationId": 1, "profileId": "", "state": "open",
        "cartItems": [{"name": SCRIPT, "sku": "s", "quantity": 3, "price": 0.1}],
        "attributes": {}, "firstSession": True,
        "cartItemTotal": 0.3, "additionalCostTotal": 0, "total": 0.3, **fields,
    }  # fmt: skip


# What the stub answers, in turn, and to which request: as a proxy would see real traffic.
TRAFFIC: list[tuple[str, str, int, Any]] = [
    ("GET", "ok", 200, {"customerSession": session("ok"), "effects": []}),
    ("GET", SCRIPT, 200, {"customerSession": session(SCRIPT, total=0.31), "effects": []}),
    ("GET", "missing", 404, {"message": "not found", "errors": []}),
    ("PUT", "new", 201, {"effects": [], "createdCoupons": [], "createdReferrals": []}),
]


@pytest.fixture(scope="module")
def observed() -> Iterator[list[Any]]:
    """The exchanges, as a proxy between a client and the stub would have recorded them."""
    server = ScriptedServer()
    exchanges = []
    with serving(server) as url:
        for method, session_id, status, body in TRAFFIC:
            server.current = (status, "application/json", json.dumps(body).encode())
            sent = json.dumps({"customerSession": {}}).encode() if method == "PUT" else None
            answer = requests.request(
                method, f"{url}/v2/customer_sessions/{quote(session_id, safe='')}",
                headers={**AUTH, "Content-Type": "application/json"}, data=sent, timeout=5,
            )  # fmt: skip
            exchanges.append(
                read_exchange(
                    method,
                    answer.request.url or "",
                    answer.request.headers,
                    sent,
                    answer.status_code,
                    answer.headers,
                    answer.content,
                )  # fmt: skip
            )
    yield exchanges


def checked(exchanges: list[Any]) -> RunRecorder:
    recorder = RunRecorder(Operations.from_path(SPEC_PATH), server="proxy", replay="(live traffic)")
    checker = TrafficChecker(recorder, source="proxy")
    for exchange in exchanges:
        checker.check(exchange)
    return recorder


@pytest.fixture(scope="module")
def traffic_report(observed: list[Any]) -> RunReport:
    return checked(observed).finish()


def test_traffic_from_a_proxy_gets_a_verdict_coverage_and_failures(
    traffic_report: RunReport,
) -> None:
    document = json.loads(traffic_report.to_json())

    assert document["verdict"] == "fail" and document["exitCode"] == 1
    assert document["sources"] == ["proxy"]
    pairs = {(p["operationId"], p["status"]): p for p in document["coverage"]["pairs"]}
    assert pairs[("getCustomerSession", 200)]["count"] == 2
    assert (
        pairs[("getCustomerSession", 404)]["seen"]
        and pairs[("getCustomerSession", 401)]["seen"] is False
    )
    assert pairs[("updateCustomerSessionV2", 201)]["documented"] is False
    assert document["coverage"]["percent"] == 25.0
    failures = {f["check"]: f for f in document["failures"]}
    assert set(failures) == {"totals_add_up", "status_code_conformance"}
    totals = failures["totals_add_up"]
    assert totals["operationId"] == "getCustomerSession"
    assert "total is 0.31" in totals["message"] and "exactly" in totals["message"]
    assert totals["curl"].startswith("curl -X GET") and "[Filtered]" in totals["curl"]
    assert totals["answer"]["status"] == 200 and totals["expected"] and totals["whatToDo"]
    assert "201 is not documented" in failures["status_code_conformance"]["message"]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_page_is_self_contained_and_shows_the_servers_data_as_text(
    traffic_report: RunReport,
) -> None:
    page = html_report(traffic_report)
    parser = Tags()
    parser.feed(page)

    names = {tag for tag, _ in parser.tags}
    # Nothing to fetch and nothing to run: no scripts, links, images or frames
    assert names.isdisjoint({"script", "link", "img", "iframe", "object", "embed", "base"})
    assert all(
        (attrs.get("href") or "#").startswith("#") and "src" not in attrs
        for _, attrs in parser.tags
    )
    assert not re.search(r"url\(|@import", page)
    # The server's <script> arrives as text, escaped in the markup
    assert SCRIPT not in page and "&lt;script&gt;" in page
    assert any(SCRIPT in text for text in parser.text)
    # What a reader needs
    text = "".join(parser.text)
    for needle in ("FAIL", "The server BREAKS the contract.", "What to do:", "Reproduce with",
                   "getCustomerSession", "never", "not documented", "25.0 %"):  # fmt: skip
        assert needle in text, needle


def test_junit_has_the_same_failures(traffic_report: RunReport) -> None:
    root = ET.fromstring(junit_report(traffic_report).split("\n", 1)[1])

    failed = {
        case.get("name") for case in root.iter("testcase") if case.find("failure") is not None
    }
    assert failed == {"totals_add_up", "status_code_conformance"}
    assert root.get("failures") == "2"


def test_a_baseline_accepts_failures_until_it_expires(observed: list[Any], tmp_path: Path) -> None:
    # Given a baseline of the traffic's failures, reviewed: a reason and an expiry for each
    path = tmp_path / "baseline.yaml"
    recorded = Baseline.of(checked(observed).finish().failures)
    reviewed = Baseline(
        tuple(
            type(entry)(**{**entry.__dict__, "reason": "JIRA-1", "expires": "2027-01-31"})
            for entry in recorded.entries
        )
    )
    reviewed.save(path)
    assert path.read_text().startswith("# Contract failures accepted")

    # When the same traffic is checked against it, before and after the expiry
    loaded = Baseline.load(path)
    before = checked(observed).finish(baseline=loaded, today=date(2027, 1, 31))
    after = checked(observed).finish(baseline=loaded, today=date(2027, 2, 1))

    # Then the known failures pass the run until then, and fail it after
    assert before.verdict == "pass" and before.failures == ()
    assert {known.reason for known in before.known_failures} == {"JIRA-1"}
    assert after.verdict == "fail" and len(after.expired_baseline) == len(loaded.entries)
    # And rewriting the baseline keeps what reviewers wrote
    assert Baseline.of([k.failure for k in before.known_failures], previous=loaded) == loaded


def test_a_malformed_baseline_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "baseline.yaml"
    path.write_text("version: 1\nentries:\n  - fingerprint: abc\n    expires: soon\n")

    with pytest.raises(BaselineError, match="expires"):
        Baseline.load(path)
