"""`customer-session-mock proxy` and `customer-session-mock verify-traffic`.

Both are imported only when they run (mock_server.cli's LAZY_COMMANDS): `serve` never pays
for them.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
from click.core import ParameterSource

from contract_tests.conformance import TrafficChecker
from contract_tests.proxy import Fallback, ProxyOptions, create_proxy, make_proxy_server
from contract_tests.recording import Recorder
from contract_tests.traffic import read_traffic, verify
from contract_tests.violations import Tally, report_json, write_junit
from mock_server.cli.serve import api_keys_option
from mock_server.contract.spec import load_spec
from mock_server.core.errors import MockServerError
from mock_server.http.logs import configure_logging
from mock_server.settings import LOG_FORMATS, VALIDATORS, Settings, default


class _Unreadable(click.ClickException):
    """A file verify-traffic cannot read: exit 2, apart from a verdict (exit 1)."""

    exit_code = 2


DEFAULT_PORT = 4010  # Prism's proxy port: one mock on 8080, one proxy on 4010
DRAIN_TIMEOUT = 30.0


def _fallback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Fallback:
    try:
        return Fallback.parse(value or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--upstream", required=True, metavar="URL", help="The server to forward to.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--enforce",
    is_flag=True,
    help="Refuse requests that break the contract (400) and replace answers that do (502).",
)
@click.option(
    "--fallback-on",
    "fallback",
    callback=_fallback,
    metavar="LIST",
    help="Let the mock answer instead on these statuses or failures, "
    "e.g. 501,404,unreachable,timeout.",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.001),
    metavar="SECONDS",
    help="Wait this long for the upstream; then 504 (or the mock, with --fallback-on timeout).",
)
@click.option("--insecure", is_flag=True, help="Do not verify the upstream's TLS certificate.")
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write every session of a valid upstream answer to DIR/sessions.ndjson (fixtures).",
)
@click.option("--scrub", is_flag=True, help="With --record: hash profile ids and attributes.")
@click.option(
    "--scrub-salt",
    envvar="CSM_SCRUB_SALT",
    default="",
    show_default=False,
    metavar="TEXT",
    help="Secret mixed into --scrub's hashes (or CSM_SCRUB_SALT).",
)
@click.option(
    "--max-check-bytes",
    default=ProxyOptions.max_check_bytes,
    show_default=True,
    type=click.IntRange(0),
    help="Bodies up to this size are checked; larger ones are streamed through unchecked.",
)
@click.option(
    "--max-header-bytes",
    default=ProxyOptions.max_header_bytes,
    show_default=True,
    type=click.IntRange(64),
    help="Longest X-Contract-Violations-Detail value.",
)
@click.option(
    "--shared-sessions",
    is_flag=True,
    help="Other clients change the same sessions without the proxy: skip the rules that "
    "need to see every call of a session.",
)
@click.option(
    "--journal-size",
    default=default("journal_size"),
    show_default=True,
    type=click.IntRange(0),
    help="Exchanges kept in the journal (GET /__admin/requests).",
)
@click.option(
    "--admin-token",
    envvar="CSM_ADMIN_TOKEN",
    help="Let clients that send it (X-Admin-Token) use /__admin/ from anywhere.",
)
@click.option(
    "--validator",
    type=click.Choice(VALIDATORS),
    default=default("validator"),
    show_default=True,
    help="compiled: checks built once from openapi.yaml; openapi-core: it alone, per call.",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check against another copy of openapi.yaml.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="When the proxy stops, write its summary as JSON.",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=default("log_format"),
    show_default=True,
)
@click.option(
    "--store",
    "store_url",
    default=default("store_url"),
    metavar="URL",
    help="With --fallback-on: the mock's store, as for serve.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    callback=api_keys_option,
    metavar="KEY[=APPLICATION_ID]",
    help="With --fallback-on: keys the mock accepts, as for serve.",
)
@click.option(
    "--fixtures",
    "fixtures_path",
    type=click.Path(exists=True, path_type=Path),
    help="With --fallback-on: the mock starts from these sessions, as for serve.",
)
@click.option("--seed", default=default("seed"), type=int, help="With --fallback-on, as for serve.")
@click.option(
    "--preload",
    default=default("preload"),
    type=click.IntRange(0),
    help="With --fallback-on, as for serve.",
)
def proxy(**options: Any) -> None:
    """Forward to --upstream and check every exchange against openapi.yaml and the rules."""
    ctx = click.get_current_context()
    configure_logging(options["log_format"])
    fallback: Fallback = options["fallback"]
    proxy_options = ProxyOptions(
        upstream=options["upstream"],
        enforce=options["enforce"],
        fallback=fallback,
        timeout=options["timeout"],
        verify_tls=not options["insecure"],
        max_check_bytes=options["max_check_bytes"],
        max_header_bytes=options["max_header_bytes"],
        journal_size=options["journal_size"],
        shared_sessions=options["shared_sessions"],
        validator=options["validator"],
    )
    settings = _mock_settings(ctx, options, bool(fallback))
    recorder = None
    try:
        if options["record_dir"] is not None:
            recorder = Recorder(
                options["record_dir"],
                load_spec(settings.spec_path),
                scrub=options["scrub"],
                salt=options["scrub_salt"],
            )
        app = create_proxy(proxy_options, settings, recorder=recorder)
    except (MockServerError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    server = make_proxy_server(options["host"], options["port"], app)
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    _banner(options, proxy_options, settings, server.server_port)
    server.serve_forever()
    server.server_close()
    app.close()
    click.echo("", err=True)
    click.echo("customer-session-mock proxy stopped.", err=True)
    for line in app.tally.summary():
        click.echo(line, err=True)
    if recorder is not None:
        click.echo(f"Recorded {recorder.written} sessions in {recorder.path}", err=True)
    if options["json_path"] is not None:
        _write_json(options["json_path"], app.tally.to_json())
    sys.exit(0)


def _mock_settings(ctx: click.Context, options: dict[str, Any], fallback: bool) -> Settings:
    """The settings of the mock behind the proxy: `serve`'s, when it answers fallbacks."""
    overrides: dict[str, Any] = {
        "admin_token": options["admin_token"],
        "spec_path": options["spec_path"],
        "validator": options["validator"],
    }
    if not fallback:
        # The mock only serves /__admin/: no sessions needed.
        try:
            return Settings(store_url="memory://", preload=0, **overrides)
        except ValueError as exc:
            raise click.UsageError(f"invalid setting: {exc}") from exc
    for name in ("store_url", "api_keys", "fixtures_path", "seed", "preload"):
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            overrides[name] = options[name]
    try:
        return Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from exc


def _banner(
    options: dict[str, Any], proxy_options: ProxyOptions, settings: Settings, port: int
) -> None:
    url = f"http://{options['host']}:{port}"
    echo = click.echo
    echo(f"customer-session-mock proxy on {url} -> {proxy_options.upstream}")
    if proxy_options.enforce:
        echo("  mode       enforce: bad requests refused (400), bad answers replaced (502)")
    else:
        echo("  mode       observe: answers pass through, with X-Contract-Violations: N")
    if proxy_options.fallback:
        echo(
            f"  fallback   the mock answers on {proxy_options.fallback.describe()} "
            f"(store {settings.store_url})"
        )
    if options["record_dir"] is not None:
        scrubbed = " (scrubbed)" if options["scrub"] else ""
        echo(f"  record     {Path(options['record_dir']) / 'sessions.ndjson'}{scrubbed}")
    echo(f"  admin      {url}/__admin/violations, {url}/__admin/requests")
    if not proxy_options.verify_tls:
        echo(
            "WARNING: --insecure: the upstream's TLS certificate is NOT verified; anyone on "
            "the path can read and change this traffic, API keys included.",
            err=True,
        )
        logging.getLogger("contract_tests.proxy").warning("TLS verification is off (--insecure)")


def _write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@click.command(name="verify-traffic")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a JUnit XML report: one test case per exchange.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the report as JSON: verdict, summary, every exchange.",
)
@click.option(
    "--shared-sessions",
    is_flag=True,
    help="Other clients changed the same sessions: skip the rules that need every call.",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check against another copy of openapi.yaml.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print the summary only.")
def verify_traffic(
    file: Path,
    junit_xml: Path | None,
    json_path: Path | None,
    shared_sessions: bool,
    spec_path: Path | None,
    quiet: bool,
) -> None:
    """Check saved traffic (a HAR file, or the proxy's journal export) as the proxy would.

    Exit 0 when every exchange keeps the contract, 1 when any breaks it, 2 when the file
    cannot be read.
    """
    try:
        saved = read_traffic(file)
        checker = TrafficChecker(load_spec(spec_path), shared_sessions=shared_sessions)
    except MockServerError as exc:
        raise _Unreadable(str(exc)) from exc
    exchanges = verify(saved, checker)
    tally = Tally(keep=0)
    for exchange in exchanges:
        tally.add(exchange)
    if not quiet:
        for exchange in exchanges:
            if exchange.violations:
                click.echo(exchange.describe())
                click.echo("")
    click.echo(f"Traffic of {file}")
    for line in tally.summary():
        click.echo(line)
    if junit_xml is not None:
        write_junit(junit_xml, exchanges, f"verify-traffic {file.name}")
    if json_path is not None:
        _write_json(json_path, report_json(exchanges, tally))
    conforms = tally.failed == 0
    click.echo(
        "The traffic keeps the contract." if conforms else "The traffic BREAKS the contract."
    )
    raise SystemExit(0 if conforms else 1)
