"""The run report rendered for people (HTML, text) and for tools (JSON, JUnit XML).

Every renderer reads the same `RunReport`; none adds findings of its own. The HTML page is
self-contained (inline CSS, no script, no network) and escapes everything (Jinja autoescape):
answers come from the server under test.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2

from contract_tests.advice import advice_for
from contract_tests.report import REPORT_VERSION, RunReport, failures_by_check


@cache
def _template() -> jinja2.Template:
    text = resources.files("contract_tests").joinpath("report.html.j2").read_text("utf-8")
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False
    )
    return environment.from_string(text)


def html_report(report: RunReport) -> str:
    """The report as one self-contained HTML page."""
    return _template().render(
        report=report,
        grouped=failures_by_check(report.failures),
        advice=advice_for,
        version=REPORT_VERSION,
    )


def junit_report(report: RunReport) -> str:
    """The report as JUnit XML: workflows, checks and gates, one test case each."""
    root = ET.Element("testsuites", name="customer-session-mock contract")
    failures = _by_check(report)

    workflows = ET.SubElement(root, "testsuite", name="contract workflows")
    for outcome in report.workflows:
        case = ET.SubElement(workflows, "testcase", name=outcome.name, classname="workflows")
        if outcome.status == "error":
            ET.SubElement(case, "error", message=outcome.error or "error").text = outcome.error
        elif outcome.status == "fail":
            own = [f for f in report.failures if f.source == f"workflow '{outcome.name}'"]
            failure = ET.SubElement(case, "failure", message=own[0].check if own else "violation")
            failure.text = "\n\n".join(_describe(f) for f in own)
        elif outcome.status == "known":
            ET.SubElement(case, "system-out").text = "only failures the baseline accepts"

    checks = ET.SubElement(root, "testsuite", name="contract checks")
    for tally in report.checks:
        case = ET.SubElement(checks, "testcase", name=tally.name, classname="checks")
        described = failures.get(tally.name, [])
        if described:
            failure = ET.SubElement(case, "failure", message=f"{len(described)} failure(s)")
            failure.text = "\n\n".join(described)
        elif tally.undecided and not tally.passed:
            ET.SubElement(case, "skipped", message=f"undecided on {tally.undecided} answer(s)")

    gates = ET.SubElement(root, "testsuite", name="contract gates")
    for gate in report.gates:
        case = ET.SubElement(gates, "testcase", name=gate.requirement, classname=gate.name)
        if not gate.passed:
            ET.SubElement(case, "failure", message=gate.detail).text = gate.detail
    for entry in report.expired_baseline:
        case = ET.SubElement(gates, "testcase", name=entry.fingerprint, classname="baseline")
        text = f"baseline entry {entry.fingerprint} ({entry.check}) expired on {entry.expires}"
        ET.SubElement(case, "failure", message=text).text = text

    run = ET.SubElement(root, "testsuite", name="contract run")
    case = ET.SubElement(run, "testcase", name="harness", classname="run")
    if report.errors:
        text = "\n".join(f"{e.source}: {e.message}" for e in report.errors)
        ET.SubElement(case, "error", message=f"{len(report.errors)} harness error(s)").text = text

    for suite in root.iter("testsuite"):
        cases = list(suite.iter("testcase"))
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    for name in ("tests", "failures", "errors"):
        root.set(name, str(sum(int(s.get(name, "0")) for s in root.iter("testsuite"))))
    root.set("time", f"{report.duration:.2f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _by_check(report: RunReport) -> dict[str, list[str]]:
    return {
        check: [_describe(failure) for failure in found]
        for check, found in failures_by_check(report.failures).items()
    }


def _describe(failure: object) -> str:
    from contract_tests.report import Failure

    assert isinstance(failure, Failure)
    where = f"{failure.operation_id}  " if failure.operation_id else ""
    times = f", {failure.occurrences} times" if failure.occurrences > 1 else ""
    lines = [
        f"{where}[{failure.check}] ({failure.source}{times}, fingerprint {failure.fingerprint})"
    ]
    lines += ["    " + line for line in failure.message.splitlines() or [""]]
    if failure.answer is not None:
        lines.append(f"    Answered {failure.answer.status}")
    if failure.curl:
        lines += ["    Reproduce with:", "        " + failure.curl.replace("\n", "\n        ")]
    return "\n".join(lines)


def text_summary(report: RunReport) -> list[str]:
    """The end of the terminal output: failures, errors, coverage, gates, the verdict."""
    lines = ["=" * 30 + " CONTRACT SUMMARY " + "=" * 30]
    for check, found in failures_by_check(report.failures).items():
        advice = advice_for(check)
        lines += [f"--- {check}: {len(found)} failure(s)", f"    What to do: {advice.todo}", ""]
        for failure in found:
            lines += [_describe(failure), ""]
    for entry in report.expired_baseline:
        lines.append(
            f"Baseline entry {entry.fingerprint} ({entry.check}, {entry.operation_id}) expired "
            f"on {entry.expires}: fix the failure or extend the entry."
        )
    if report.known_failures:
        lines.append(
            f"Known failures (in the baseline, not failing the run): {len(report.known_failures)}"
        )
        for known in report.known_failures:
            lines.append(
                f"    {known.failure.fingerprint}  {known.failure.check}  "
                f"{known.failure.operation_id}  {known.reason or '(no reason given)'}"
            )
    for error in report.errors:
        times = f" ({error.count} times)" if error.count > 1 else ""
        lines.append(f"ERROR {error.source}{times}: {error.message}")
    undecided = sum(warning.count for warning in report.warnings)
    if undecided:
        lines.append(f"Warnings: {undecided} (checks that could not decide; see the report)")
    coverage = report.coverage
    lines.append(
        f"Coverage: {coverage.percent:g} % of {len(coverage.documented)} documented "
        "(operation, status) pairs seen" + _unseen(report)
    )
    for gate in report.gates:
        lines.append(
            f"Gate {gate.requirement}: {'met' if gate.passed else 'MISSED'} ({gate.detail})"
        )
    statuses = Counter(workflow.status for workflow in report.workflows)
    only_known = f", {statuses['known']} with known failures only" if statuses["known"] else ""
    lines.append(
        f"Workflows: {statuses['pass']} passed, {statuses['fail']} failed{only_known}, "
        f"{statuses['error']} could not finish. New failures: {len(report.failures)}. "
        f"Duration: {report.duration:.1f} s."
    )
    if report.failures:
        lines.append(f"Replay with: {report.replay}")
    lines.append(report.summary)
    return lines


def _unseen(report: RunReport) -> str:
    unseen = [f"{p.operation_id} {p.status}" for p in report.coverage.documented if not p.seen]
    return f"; never seen: {', '.join(unseen)}" if unseen else ""


def write_reports(
    report: RunReport,
    *,
    html: Path | None = None,
    json: Path | None = None,
    junit: Path | None = None,
) -> list[Path]:
    """Write the requested files; return their paths."""
    written = []
    for path, render in ((html, html_report), (json, RunReport.to_json), (junit, junit_report)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(report), encoding="utf-8")
            written.append(path)
    return written
