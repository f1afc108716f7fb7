"""`customer-session-mock contract`: workflows, then Schemathesis, then one verdict.

Against `--base-url` it tests any server; without it, it starts the mock on a free port with
a fresh API key (so that ignored-auth findings mean something) and stops it afterwards.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import schemathesis
from werkzeug.serving import make_server

import contract_tests.checks  # noqa: F401 - registers the business checks
from contract_tests.client import Client, RateLimit, RequestsTransport
from contract_tests.workflows import WorkflowResult, run_workflows
from mock_server.contract.spec import default_spec_path
from mock_server.http.app import create_app
from mock_server.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

Echo = Callable[[str], None]

# Schema-valid input may still break a business rule: such a 400 is legitimate when the
# `business_rejection_justified` check confirms the rule; a 400 it cannot explain fails there.
POSITIVE_STATUSES = '["2xx", "3xx", "400", "401", "403", "404", "409", "429"]'
SCHEMATHESIS_CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = {positive}

[checks.SessionRules]
concurrent = {concurrent}

[output.sanitization]
# Filter credentials but keep `customerSession` bodies readable in reproductions.
keys-to-sanitize = ["authorization", "x-api-key", "api_key", "apikey", "cookie", "set-cookie",
                    "password", "secret", "token"]
sensitive-markers = ["token", "secret", "password", "credential", "authorization", "api-key"]
"""
READ_ONLY_CONFIG = """
[phases.coverage]
# Only the operations of the contract: no DELETE, POST or PATCH probes.
unexpected-methods = []
"""


@dataclass(frozen=True)
class ContractOptions:
    """Everything the `contract` command takes."""

    base_url: str | None = None
    api_key: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    max_examples: int = 50
    seed: int = 0
    workers: int = 1
    rate_limit: str | None = None
    read_only: bool = False
    junit_xml: Path | None = None
    spec_path: Path | None = None


_READ_ONLY = threading.Event()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """In read-only runs, every PUT becomes a dry run (the checks then see it as such)."""
    if _READ_ONLY.is_set() and str(case.method).upper() == "PUT":
        case.query = {**(case.query or {}), "dry": "true"}


@contextmanager
def serve_app(app: Flask) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: let the OS pick
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def serve_mock(api_key: str) -> AbstractContextManager[str]:
    """The mock with one API key, served on a free port."""
    # Werkzeug would log every request of the run to the terminal.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return serve_app(create_app(Settings(store_url="memory://", api_keys={api_key: 1})))


def run_contract(options: ContractOptions, echo: Echo) -> int:
    """Test one server; 0 when it keeps the contract, 1 when it does not."""
    if options.base_url is not None:
        if not options.api_key and "authorization" not in {n.lower() for n, _ in options.headers}:
            echo("Warning: no --api-key given; every request will be unauthenticated.")
        return _run_against(options.base_url.rstrip("/"), options, echo)
    key = options.api_key or f"contract-{secrets.token_hex(8)}"
    with serve_mock(key) as url:
        origin = "the one given" if options.api_key else "one generated for this run"
        echo(f"Started the mock at {url}; it accepts one API key: {origin}")
        return _run_against(url, replace(options, api_key=key), echo)


def _headers(options: ContractOptions) -> dict[str, str]:
    headers = dict(options.headers)
    if options.api_key:
        headers["Authorization"] = f"ApiKey-v1 {options.api_key}"
    return headers


def _run_against(url: str, options: ContractOptions, echo: Echo) -> int:
    mode = "read-only (GET and dry-run PUT only)" if options.read_only else "read-write"
    echo(f"Contract of {url}  [{mode}, seed {options.seed}, {options.max_examples} examples]")
    echo("")
    echo("Workflows")
    rate = RateLimit.parse(options.rate_limit) if options.rate_limit else None
    transport = RequestsTransport()
    client = Client(url, transport, _headers(options), rate)
    results = []
    try:
        for result in run_workflows(client, read_only=options.read_only):
            mark = "PASS" if result.passed else "FAIL"
            echo(f"  {mark}  {result.workflow.name}: {result.workflow.description}")
            results.append(result)
    finally:
        transport.close()
    echo("")
    with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
        junit = Path(tmp) / "schemathesis.xml"
        schemathesis_code = _run_schemathesis(url, options, Path(tmp), junit)
        if options.junit_xml is not None:
            write_junit(options.junit_xml, junit if junit.exists() else None, results)
    failed = [result for result in results if not result.passed]
    echo("")
    echo("=" * 30 + " CONTRACT SUMMARY " + "=" * 30)
    for result in failed:
        if result.error:
            echo(f"Workflow '{result.workflow.name}' could not finish: {result.error}")
        for violation in result.violations:
            echo(violation.describe())
            echo("")
    echo(
        f"Workflows: {len(results) - len(failed)} passed, {len(failed)} failed. "
        f"Schemathesis: {'passed' if schemathesis_code == 0 else 'FAILED (see above)'}."
    )
    conforms = not failed and schemathesis_code == 0
    echo("The server keeps the contract." if conforms else "The server BREAKS the contract.")
    return 0 if conforms else 1


def schemathesis_arguments(
    url: str, options: ContractOptions, config: Path, junit: Path
) -> list[str]:
    """The `schemathesis` command line of a run."""
    spec = options.spec_path or default_spec_path()
    args = ["--config-file", str(config), "run", str(spec), "--url", url, "--checks", "all"]
    for name, value in _headers(options).items():
        args += ["--header", f"{name}: {value}"]
    args += [
        "--max-examples", str(options.max_examples),
        "--seed", str(options.seed),
        "--workers", str(options.workers),
        "--report", "junit", "--report-junit-path", str(junit),
        "--suppress-health-check", "all",
    ]  # fmt: skip
    if options.rate_limit:
        args += ["--rate-limit", options.rate_limit]
    if options.read_only:
        # The stateful phase follows PUT -> GET links, which dry runs cannot satisfy.
        args += ["--phases", "examples,coverage,fuzzing"]
    return args


def schemathesis_config(*, read_only: bool = False, concurrent: bool = False) -> str:
    """The Schemathesis configuration (TOML) that teaches it this API's rules."""
    text = SCHEMATHESIS_CONFIG.format(
        positive=POSITIVE_STATUSES, concurrent="true" if concurrent else "false"
    )
    return text + (READ_ONLY_CONFIG if read_only else "")


def _run_schemathesis(url: str, options: ContractOptions, tmp: Path, junit: Path) -> int:
    from schemathesis.cli import schemathesis as schemathesis_cli

    config = tmp / "schemathesis.toml"
    text = schemathesis_config(read_only=options.read_only, concurrent=options.workers > 1)
    config.write_text(text, encoding="utf-8")
    args = schemathesis_arguments(url, options, config, junit)
    if options.read_only:
        _READ_ONLY.set()
    try:
        code = schemathesis_cli.main(args=args, prog_name="schemathesis", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    finally:
        _READ_ONLY.clear()
    return code if isinstance(code, int) else 1


def write_junit(path: Path, schemathesis_xml: Path | None, results: list[WorkflowResult]) -> None:
    """One JUnit file: Schemathesis' test suites and one suite for the workflows."""
    if schemathesis_xml is not None:
        root = ET.parse(schemathesis_xml).getroot()
        if root.tag != "testsuites":
            wrapper = ET.Element("testsuites")
            wrapper.append(root)
            root = wrapper
    else:
        root = ET.Element("testsuites")
    failures = sum(1 for result in results if not result.passed)
    suite = ET.SubElement(
        root,
        "testsuite",
        name="contract workflows",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
    )
    for name, added in (("tests", len(results)), ("failures", failures)):
        root.set(name, str(int(root.get(name, "0")) + added))
    for result in results:
        case = ET.SubElement(suite, "testcase", name=result.workflow.name, classname="workflows")
        if not result.passed:
            text = "\n\n".join(v.describe() for v in result.violations)
            if result.error:
                text = f"{result.error}\n\n{text}"
            first = result.violations[0].check if result.violations else "error"
            failure = ET.SubElement(case, "failure", message=first)
            failure.text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
