"""Where a request's time goes: the mock's WSGI app called directly, under pyinstrument.

No HTTP server and no client, so the profile shows only the app: Flask, validation, rules,
serialisation. `python -m benchmarks.profile_requests [--validator compiled] [--html out.html]`
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from pyinstrument import Profiler
from werkzeug.test import EnvironBuilder

from benchmarks.bare_app import app as bare_app
from benchmarks.http_load import AUTH_HEADER, PUT_BODY
from mock_server import Settings, create_app
from mock_server.http.state import mock_state


def _environ_factory(method: str, path: str, body: bytes | None) -> Callable[[], dict[str, Any]]:
    headers = {"Authorization": AUTH_HEADER}
    if body is not None:
        headers["Content-Type"] = "application/json"
    template = EnvironBuilder(path=path, method=method, headers=headers, data=body).get_environ()

    def fresh() -> dict[str, Any]:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(body or b"")
        return environ

    return fresh


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    if not status.startswith("200"):
        raise RuntimeError(status)


def main() -> None:
    """Profile GETs and PUTs of the mock in-process and print per-request times."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--validator", default="compiled")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--html", help="write pyinstrument's HTML report here")
    parser.add_argument("--no-profile", action="store_true", help="only the timings")
    args = parser.parse_args()
    app = create_app(Settings(store_url="memory://", preload=200, validator=args.validator))
    with app.app_context():
        ids = mock_state().preloaded_ids
    body = json.dumps(PUT_BODY).encode()
    gets = [_environ_factory("GET", f"/v2/customer_sessions/{i}", None) for i in ids]
    puts = [_environ_factory("PUT", f"/v2/customer_sessions/p-{n}", body) for n in range(100)]

    def run(app: Flask, factories: list[Callable[[], dict[str, Any]]], count: int) -> float:
        # CPU time, the best of a few batches: other processes on the machine add less noise.
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            for n in range(count // 5):
                chunks: Iterable[bytes] = app(factories[n % len(factories)](), _start_response)
                b"".join(chunks)
            best = min(best, (time.process_time() - start) / (count // 5))
        return best

    for name, factories in (("GET", gets), ("PUT", puts)):
        run(app, factories, 500), run(bare_app, factories, 500)  # warm-up
        mock, bare = run(app, factories, args.requests), run(bare_app, factories, args.requests)
        sys.stdout.write(
            f"{name}: mock {mock * 1e6:.0f} us, bare Flask {bare * 1e6:.0f} us of CPU per request\n"
        )
    if args.no_profile:
        return
    profiler = Profiler(interval=0.0002)
    with profiler:
        run(app, gets, args.requests)
        run(app, puts, args.requests)
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())
    sys.stdout.write(profiler.output_text(show_all=False, short_mode=False))


if __name__ == "__main__":
    main()
