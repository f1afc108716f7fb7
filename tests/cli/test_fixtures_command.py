"""`customer-session-mock fixtures` through click's runner, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mock_server.cli import main
from mock_server.fixtures.sessions import load_fixture_sessions
from tests.unit.test_fixtures import strict_spec


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> tuple[bytes, str]:
    result = runner.invoke(main, ["fixtures", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes, result.stderr


def test_the_same_arguments_write_the_same_bytes(runner: CliRunner, tmp_path: Path) -> None:
    args = ["--count", "40", "--seed", "5", "--items", "1-9", "--locale", "de_DE"]
    first, _ = run(runner, *args)
    again, _ = run(runner, *args)
    run(runner, *args, "--out", str(tmp_path / "s.ndjson"))
    assert first == again == (tmp_path / "s.ndjson").read_bytes()
    other, _ = run(runner, *args[:-2], "--locale", "fr_FR")
    assert other != first


def test_the_closing_line_says_how_many_how_fast_where(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    stdout, stderr = run(runner, "-n", "25", "--out", str(out))
    assert stdout == b""
    assert stderr.startswith(f"Wrote 25 valid sessions (json, seed 42) to {out} in ")
    assert "sessions/s" in stderr
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 25


def test_quiet_says_nothing(runner: CliRunner) -> None:
    stdout, stderr = run(runner, "-n", "3", "--quiet")
    assert stderr == ""
    assert len(stdout.splitlines()) == 3


def ndjson(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize(
    ("out", "fmt", "parse"),
    [
        ("x.yaml", None, yaml.safe_load),
        ("x.jsonl", None, ndjson),
        ("x.txt", None, ndjson),
        ("x.txt", "json", json.loads),
        ("-", "json", json.loads),
        ("-", None, ndjson),
    ],
    ids=["yaml-suffix", "jsonl-suffix", "unknown-suffix", "format-wins", "json-stdout", "default"],
)
def test_the_format_follows_the_option_then_the_suffix(
    runner: CliRunner,
    tmp_path: Path,
    out: str,
    fmt: str | None,
    parse: Callable[[bytes], list[dict[str, object]]],
) -> None:
    target = out if out == "-" else str(tmp_path / out)
    stdout, _ = run(runner, "-n", "4", "-q", "--out", target, *(["--format", fmt] if fmt else []))
    documents = parse(stdout if out == "-" else Path(target).read_bytes())
    assert documents == ndjson(run(runner, "-n", "4", "-q")[0])


def test_written_files_are_fixtures_the_mock_accepts(runner: CliRunner, tmp_path: Path) -> None:
    for fmt in ("json", "ndjson", "yaml"):
        run(runner, "-n", "30", "--seed", "8", "--out", str(tmp_path / f"s.{fmt}"), "-q")
        assert len(load_fixture_sessions(tmp_path / f"s.{fmt}")) == 30


def test_snake_case_on_the_command_line(runner: CliRunner) -> None:
    stdout, _ = run(runner, "-n", "2", "--case", "snake", "-q")
    assert "cart_item_total" in json.loads(stdout.splitlines()[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--items", "5-2"], "MIN <= MAX"),
        (["--items", "a-b"], "is not MIN-MAX"),
        (["--locale", "xx_YY"], "not a faker locale"),
        (["--anonymous-ratio", "2"], "anonymous-ratio"),
        (["--state", "paused"], "paused"),
        (["--format", "csv"], "csv"),
    ],
)
def test_bad_options_are_usage_errors(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(main, ["fixtures", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unwritable_place_is_an_error_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["fixtures", "--out", str(tmp_path / "missing" / "s.json")])
    assert result.exit_code == 1
    assert "Error: cannot write" in result.stderr


def test_an_invalid_record_stops_the_run_and_leaves_no_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "sessions.ndjson"
    spec = strict_spec(tmp_path)
    result = runner.invoke(
        main, ["fixtures", "--items", "1-3", "--spec", str(spec), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "Error: generated: record 1 (integrationId '" in result.stderr
    assert "/cartItems/0/sku" in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [spec]


def test_the_bytes_do_not_depend_on_the_process_clock_zone_or_language(
    runner: CliRunner,
) -> None:
    args = ["fixtures", "-n", "60", "--seed", "3", "--locale", "ja_JP", "--format", "yaml", "-q"]
    expected, _ = run(runner, *args[1:])
    command = str(Path(sys.executable).parent / "customer-session-mock")
    for variant in (
        {"PYTHONHASHSEED": "1", "TZ": "Asia/Tokyo"},
        {"PYTHONHASHSEED": "2", "LANG": "C"},
    ):
        env = {**os.environ, **variant}
        result = subprocess.run([command, *args], capture_output=True, env=env, check=True)
        assert result.stdout == expected


def test_a_reader_that_stops_early_ends_the_run_quietly() -> None:
    command = str(Path(sys.executable).parent / "customer-session-mock")
    with subprocess.Popen(
        [command, "fixtures", "-n", "50000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert json.loads(process.stdout.readline())["integrationId"]
        process.stdout.close()  # as `| head -1` does
        stderr = process.stderr.read()
        assert process.wait(timeout=60) == 141
    assert stderr == b""
