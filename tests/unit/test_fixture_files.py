"""Fixture file formats: what the writers write is what the readers read, in every format."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from mock_server.core.errors import MockServerError
from mock_server.fixtures.files import FORMATS, fixture_files, read_records, write_records
from mock_server.fixtures.sessions import generate_sessions

SUFFIXES = {"json": ".json", "ndjson": ".ndjson", "yaml": ".yaml"}


def written(documents: list[dict[str, object]], fmt: str) -> bytes:
    stream = io.BytesIO()
    assert write_records(iter(documents), stream, fmt) == len(documents)
    return stream.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("count", [0, 1, 7])
def test_every_format_reads_back_what_it_wrote(tmp_path: Path, fmt: str, count: int) -> None:
    documents = list(generate_sessions(count, 3, locale="ja_JP"))
    path = tmp_path / f"sessions{SUFFIXES[fmt]}"
    path.write_bytes(written(documents, fmt))
    assert [document for _, document in read_records(path)] == documents


def test_json_is_what_json_dumps_writes_for_the_whole_list() -> None:
    documents = list(generate_sessions(3, 5, locale="de_DE"))
    expected = json.dumps(documents, indent=2, ensure_ascii=False) + "\n"
    assert written(documents, "json").decode("utf-8") == expected
    assert written([], "json") == b"[]\n"


def test_ndjson_is_one_compact_utf8_document_per_line() -> None:
    documents = list(generate_sessions(20, 5, locale="ja_JP"))
    lines = written(documents, "ndjson").decode("utf-8").splitlines()
    assert lines == [json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in documents]
    assert any(not line.isascii() for line in lines)


def test_yaml_keeps_timestamps_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "hand-written.yml"
    path.write_text(
        yaml.safe_dump([{"created": "2025-01-01T00:00:00Z"}]).replace("'", ""),
        encoding="utf-8",
    )
    assert "'" not in path.read_text()
    assert list(read_records(path)) == [(1, {"created": "2025-01-01T00:00:00Z"})]


def test_a_single_object_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{"a": 1}')
    assert list(read_records(path)) == [(1, {"a": 1})]


def test_a_folder_gives_its_own_fixture_files_in_name_order(tmp_path: Path) -> None:
    for name in ("b.ndjson", "a.yaml", "c.jsonl", "notes.txt", "sub/d.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("[]")
    assert [p.name for p in fixture_files(tmp_path)] == ["a.yaml", "b.ndjson", "c.jsonl"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", '[{"a": 1},', "bad.json: not valid JSON"),
        ("bad.ndjson", '{"a": 1}\n\n{"a": \n', r"bad.ndjson: record 2 \(line 3\): not valid JSON"),
        ("nan.ndjson", '{"price": NaN}\n', "NaN is not a JSON number"),
        ("scalar.json", "42", "expected a list"),
        ("bad.yaml", "- a: [1\n", "bad.yaml: not valid YAML"),
        ("latin1.json", '["caf\xe9"]', "cannot read"),
    ],
    ids=["json", "ndjson-line", "nan", "scalar", "yaml", "encoding"],
)
def test_unreadable_files_are_named(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(MockServerError, match=message):
        list(read_records(path))


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.json", "no such fixture file"), ("sessions.csv", "unknown fixture format")],
)
def test_paths_that_hold_no_fixtures_are_refused(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "sessions.csv").write_text("")
    with pytest.raises(MockServerError, match=message):
        fixture_files(tmp_path / name)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MockServerError, match="no fixture files"):
        fixture_files(tmp_path)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        write_records([], io.BytesIO(), "csv")


def test_the_yaml_emitter_in_use_writes_what_the_pure_python_one_writes() -> None:
    documents = list(generate_sessions(40, 9, locale="ja_JP", items=(0, 12)))
    options = {"allow_unicode": True, "sort_keys": False, "default_flow_style": False}
    expected = "".join(
        yaml.dump([d], Dumper=yaml.SafeDumper, width=100, **options)  # type: ignore[call-overload]
        for d in documents
    )
    assert written(documents, "yaml").decode("utf-8") == expected


def test_a_byte_order_mark_is_not_data(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"a": "\u00e9"}]).encode())
    assert list(read_records(path)) == [(1, {"a": "\u00e9"})]
