"""`customer-session-mock fixtures`: write validated sessions to a file or stdout."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click
from faker.config import AVAILABLE_LOCALES

from mock_server.contract.spec import load_spec
from mock_server.core.errors import MockServerError
from mock_server.fixtures.files import FORMATS, format_of, write_records
from mock_server.fixtures.sessions import MIXED, generate_sessions
from mock_server.settings import DEFAULT_APPLICATION_ID, DEFAULT_SEED, ENV_PREFIX, Settings
from mock_server.wire.documents import JsonObject

STATES = ("open", "closed", "cancelled", MIXED)
# Runs shorter than this finish before a progress bar would tell anything.
PROGRESS_MIN_COUNT = 10_000
PROGRESS_STEP = 1_000
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE


def _items(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    low, sep, high = value.partition("-")
    try:
        bounds = (int(low), int(high) if sep else int(low))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not MIN-MAX, e.g. 0-6 or 3") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise click.BadParameter(f"{value!r}: need 0 <= MIN <= MAX")
    return bounds


def _locale(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value not in AVAILABLE_LOCALES:
        raise click.BadParameter(f"{value!r} is not a faker locale (e.g. en_US, de_DE, ja_JP)")
    return value


@click.command()
@click.option("--count", "-n", default=100, type=click.IntRange(0), help="How many sessions.")
@click.option("--seed", default=DEFAULT_SEED, type=int, help="Same seed, same bytes.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Default: from the --out suffix (.json, .ndjson/.jsonl, .yaml/.yml), else ndjson.",
)
@click.option(
    "--out",
    default="-",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="File to write, or - for stdout.",
)
@click.option("--state", type=click.Choice(STATES), default=MIXED, help="State of every session.")
@click.option(
    "--anonymous-ratio",
    default=0.3,
    type=click.FloatRange(0.0, 1.0),
    help="Share of sessions without a profile.",
)
@click.option(
    "--items", default="0-6", callback=_items, metavar="MIN-MAX", help="Cart lines per session."
)
@click.option("--locale", default="en_US", callback=_locale, help="Faker locale of names.")
@click.option("--application-id", default=DEFAULT_APPLICATION_ID, type=click.IntRange(1))
@click.option(
    "--case",
    type=click.Choice(("camel", "snake")),
    default="camel",
    help="camel: the wire format; snake: the SDK's property names.",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Check against another copy of openapi.yaml  [default: {ENV_PREFIX}SPEC_PATH, "
    "else the packaged one]",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no closing line.")
def fixtures(
    count: int,
    seed: int,
    fmt: str | None,
    out: Path,
    state: str,
    anonymous_ratio: float,
    items: tuple[int, int],
    locale: str,
    application_id: int,
    case: str,
    spec_path: Path | None,
    quiet: bool,
) -> None:
    """Generate realistic sessions, each checked against openapi.yaml and the rules."""
    to_stdout = str(out) == "-"
    fmt = fmt or (None if to_stdout else format_of(out)) or "ndjson"
    try:
        spec = load_spec(spec_path or Settings.from_env().spec_path)
    except (MockServerError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    documents = generate_sessions(
        count,
        seed,
        spec=spec,
        case="snake" if case == "snake" else "camel",
        state=state,
        anonymous_ratio=anonymous_ratio,
        items=items,
        locale=locale,
        application_id=application_id,
    )
    started = time.perf_counter()
    show_progress = not quiet and count >= PROGRESS_MIN_COUNT and sys.stderr.isatty()
    try:
        with _output(out) as stream:
            written = write_records(_with_progress(documents, count, show_progress), stream, fmt)
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from exc
    except BrokenPipeError:
        # The reader stopped early (`| head`): end quietly, as SIGPIPE would.
        _silence_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    elapsed = time.perf_counter() - started
    if not quiet:
        where = "stdout" if to_stdout else str(out)
        rate = written / elapsed if elapsed > 0 else 0.0
        click.echo(
            f"Wrote {written:,} valid sessions ({fmt}, seed {seed}) to {where} "
            f"in {elapsed:.2f} s ({rate:,.0f} sessions/s).",
            err=True,
        )


@contextlib.contextmanager
def _output(out: Path) -> Iterator[BinaryIO]:
    """Bytes to stdout, or to a file that appears only once every record is valid."""
    if str(out) == "-":
        sys.stdout.flush()
        stream = sys.stdout.buffer
        try:
            yield stream
        finally:
            stream.flush()
        return
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        with partial.open("wb", buffering=1 << 20) as stream:
            yield stream
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _silence_stdout() -> None:
    # Python flushes stdout at exit; on a closed pipe that would raise once more.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file descriptor (e.g. under a test runner)
        pass


def _with_progress(documents: Iterator[JsonObject], count: int, show: bool) -> Iterator[JsonObject]:
    if not show:
        yield from documents
        return
    with click.progressbar(length=count, label="Generating", file=sys.stderr) as bar:
        for index, document in enumerate(documents, start=1):
            yield document
            if index % PROGRESS_STEP == 0:
                bar.update(PROGRESS_STEP)
        bar.update(count % PROGRESS_STEP)
