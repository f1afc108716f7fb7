"""`serve`, the gunicorn entry and the pytest plugin start from the same Settings defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mock_server.cli.pytest_plugin import SessionFactory
from mock_server.settings import DEFAULT_STORE_URL, Settings

PYTHON = sys.executable


def _environment_without_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("CSM_")}


def _run(code: str, cwd: Path) -> str:
    result = subprocess.run(
        [PYTHON, "-c", code],
        cwd=cwd,
        env=_environment_without_settings(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_serve_and_the_gunicorn_entry_keep_sessions_in_the_same_store(tmp_path: Path) -> None:
    wsgi_store = _run(
        "from mock_server.wsgi import app\n"
        "from mock_server.http.state import state_of\n"
        "print(state_of(app).settings.store_url)",
        tmp_path,
    )
    serve_default = _run(
        "from mock_server.cli.serve import serve\n"
        "print(next(p.default for p in serve.params if p.name == 'store_url'))",
        tmp_path,
    )
    assert wsgi_store == serve_default == Settings().store_url == DEFAULT_STORE_URL
    # The gunicorn entry really opened it, under the working folder, as serve does.
    assert (tmp_path / "data" / "customer-sessions.db").is_file()


def test_the_pytest_plugin_generates_for_the_default_application() -> None:
    session = SessionFactory(base_seed=3).one()
    assert session["applicationId"] == Settings().default_application_id


def test_serving_imports_neither_schemathesis_nor_pytest(tmp_path: Path) -> None:
    loaded = _run(
        "import sys\n"
        "from mock_server.cli import main\n"
        "import mock_server.cli.serving\n"
        "try:\n"
        "    main(['serve', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('schemathesis', 'pytest', 'hypothesis') if m in sys.modules))",
        tmp_path,
    ).splitlines()[-1]
    assert loaded == "[]"


def test_the_contract_command_is_still_listed_and_runs_its_help(tmp_path: Path) -> None:
    listing = _run(
        "from mock_server.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        tmp_path,
    )
    assert "contract" in listing and "serve" in listing and "fixtures" in listing
    contract_help = _run(
        "from mock_server.cli import main\n"
        "try:\n    main(['contract', '--help'])\nexcept SystemExit:\n    pass",
        tmp_path,
    )
    assert "--base-url" in contract_help


def test_command_line_options_override_the_environment(tmp_path: Path) -> None:
    shown = _run(
        "import os\n"
        "os.environ['CSM_SEED'] = '5'\n"
        "os.environ['CSM_PRELOAD'] = '1'\n"
        "os.environ['CSM_API_KEYS'] = 'shop=1,outlet=2'\n"
        "from mock_server.cli.serve import _settings, serve\n"
        "ctx = serve.make_context('serve', ['--seed', '9'])\n"
        "settings = _settings(ctx, ctx.params)\n"
        "print(settings.seed, settings.preload, sorted(settings.api_keys.items()))",
        tmp_path,
    )
    assert shown == "9 1 [('outlet', 2), ('shop', 1)]"
