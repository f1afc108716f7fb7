"""The committed fixtures are exactly what their recipes make today: they never drift."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from mock_server.cli import main
from mock_server.fixtures.files import format_of
from mock_server.fixtures.sessions import load_fixture_sessions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PROGRAM = ["customer-session-mock", "fixtures"]


def recipes() -> dict[str, list[str]]:
    """Output file (relative to fixtures/) -> the fixtures command's arguments."""
    found: dict[str, list[str]] = {}
    for line in (FIXTURES / "recipes.sh").read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        if words[:2] != PROGRAM:
            continue
        args = words[2:]
        found[args[args.index("--out") + 1]] = args
    return found


def test_every_fixture_file_has_a_recipe() -> None:
    files = {
        str(path.relative_to(FIXTURES))
        for path in FIXTURES.rglob("*")
        if path.is_file() and format_of(path) is not None
    }
    assert files == set(recipes())


@pytest.mark.parametrize("name", sorted(recipes()))
def test_regenerating_gives_the_committed_bytes(tmp_path: Path, name: str) -> None:
    args = recipes()[name]
    out = tmp_path / Path(name).name
    args[args.index("--out") + 1] = str(out)
    result = CliRunner().invoke(main, ["fixtures", *args, "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == (FIXTURES / name).read_bytes(), (
        f"fixtures/{name} drifted from its recipe: run `make fixtures` and review the diff"
    )


def test_the_committed_set_covers_every_case() -> None:
    sessions = load_fixture_sessions(FIXTURES)
    assert {s.state.value for s in sessions} == {"open", "closed", "cancelled"}
    assert {s.is_anonymous for s in sessions} == {True, False}
    assert any(not s.cart_items for s in sessions)
    assert max(len(s.cart_items) for s in sessions) >= 25
    assert max(len(s.additional_costs or {}) for s in sessions) >= 3
    assert any(not s.profile_id.isascii() or not str(s.attributes).isascii() for s in sessions)
    assert any(not item.name.isascii() for s in sessions for item in s.cart_items)
    assert any(not s.first_session for s in sessions)
