"""The hostile battery: the real `customer-session-mock serve` attacked over HTTP and sockets.

These tests know the mock only through its command line, HTTP, sockets, files and the admin
API, so they survive any reshuffle of `mock_server/`'s modules. Each test states the desired
behaviour; a problem found later is added first as `xfail(strict=True, raises=AssertionError)`,
so its fix flips it to a failure that asks for the mark's removal, and a broken set-up
(`PreconditionFailed`) is never mistaken for the expected failure.

    .venv/bin/python -m pytest tests/hostile

The Redis tests need `redis-server` on the PATH (skipped otherwise); the read-only SQLite tests
need a non-root user or `chattr`; the IPv4-mapped test needs dual-stack loopback.
"""
