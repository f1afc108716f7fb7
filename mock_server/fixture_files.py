"""Session documents in files: JSON arrays, NDJSON lines and YAML sequences, both ways.

Writers stream, one record at a time, and write the same bytes on every machine: UTF-8, "\\n"
line ends, keys in the order of the wire format, numbers as their shortest repr. NDJSON is the
format for large runs, so it goes through orjson (ten times faster than the json module, and
the same bytes for every number a session holds); JSON and YAML are for people to read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson
import yaml

from mock_server.errors import MockServerError
from mock_server.wire import JsonObject

FORMATS: Final = ("json", "ndjson", "yaml")
SUFFIX_FORMATS: Final = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".yaml": "yaml",
    ".yml": "yaml",
}

_PRETTY = json.JSONEncoder(ensure_ascii=False, indent=2)


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps timestamps as the strings the contract wants."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# libyaml's emitter is four times faster and writes the same bytes as the pure-Python one
# (a test compares them), so a machine without libyaml still writes identical files.
YAML_DUMPER: Final[type[yaml.SafeDumper]] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def format_of(path: Path) -> str | None:
    """The format a file name stands for, or None."""
    return SUFFIX_FORMATS.get(path.suffix.lower())


def write_records(records: Iterable[JsonObject], stream: BinaryIO, fmt: str) -> int:
    """Write `records` to `stream` as one `fmt` document; return how many were written."""
    if fmt == "ndjson":
        return _write_ndjson(records, stream)
    if fmt == "json":
        return _write_json(records, stream)
    if fmt == "yaml":
        return _write_yaml(records, stream)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _write_ndjson(records: Iterable[JsonObject], stream: BinaryIO) -> int:
    count = 0
    dumps, write, newline = orjson.dumps, stream.write, orjson.OPT_APPEND_NEWLINE
    for record in records:
        write(dumps(record, option=newline))
        count += 1
    return count


def _write_json(records: Iterable[JsonObject], stream: BinaryIO) -> int:
    # Byte for byte what json.dumps(list(records), indent=2) writes, without the list.
    count = 0
    for record in records:
        text = _PRETTY.encode(record).replace("\n", "\n  ")
        stream.write((("[\n  " if count == 0 else ",\n  ") + text).encode())
        count += 1
    stream.write(b"\n]\n" if count else b"[]\n")
    return count


def _write_yaml(records: Iterable[JsonObject], stream: BinaryIO) -> int:
    count = 0
    for record in records:
        # One-item sequences concatenate into one sequence of every record.
        text = yaml.dump(
            [record],
            Dumper=YAML_DUMPER,
            allow_unicode=True,
            sort_keys=False,
            default_flow_style=False,
            width=100,
        )
        stream.write(text.encode())
        count += 1
    if count == 0:
        stream.write(b"[]\n")
    return count


def fixture_files(path: Path) -> list[Path]:
    """The fixture files at `path`: the file itself, or a folder's files in name order.

    Sub-folders are not read, so a folder can keep other material (e.g. SDK-case files) below.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and format_of(p) is not None)
        if not files:
            raise MockServerError(
                f"{path}: no fixture files (*{', *'.join(SUFFIX_FORMATS)}) in this folder"
            )
        return files
    if not path.is_file():
        raise MockServerError(f"{path}: no such fixture file or folder")
    if format_of(path) is None:
        raise MockServerError(
            f"{path}: unknown fixture format; name it *{', *'.join(SUFFIX_FORMATS)}"
        )
    return [path]


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """The records of one fixture file, numbered from 1, as parsed (not yet checked)."""
    try:
        if format_of(path) == "ndjson":
            # Line by line: a large file never sits in memory as text.
            with path.open(encoding="utf-8-sig") as lines:
                yield from _ndjson_records(path, lines)
            return
        text = path.read_text(encoding="utf-8-sig")  # a BOM some editors add is not data
    except (OSError, UnicodeDecodeError) as exc:
        raise MockServerError(f"{path}: cannot read: {exc}") from exc
    if format_of(path) == "json":
        document = _parse_json(text, path, "")
    else:
        try:
            document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise MockServerError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise MockServerError(
            f"{path}: expected a list of CustomerSessionV2 objects (or one), "
            f"not {type(document).__name__}"
        )
    yield from enumerate(document, start=1)


def _ndjson_records(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    index = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        index += 1
        yield index, _parse_json(line, path, f": record {index} (line {line_number})")


def _parse_json(text: str, path: Path, where: str) -> Any:
    try:
        return orjson.loads(text)  # strict JSON, and several times faster than json
    except orjson.JSONDecodeError:
        pass
    # The json module parses what orjson refuses beyond strict JSON (integers wider than 64
    # bits) and words its errors for people.
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise MockServerError(f"{path}{where}: not valid JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
