"""Transport faults, as WireMock has them: reset the connection, close it, or send garbage.

They act on the client's socket, which the WSGI servers we run under hand to the application
(`werkzeug.socket` for werkzeug's server, `gunicorn.socket` for gunicorn's sync workers). After
the damage, `inject_fault` raises `InjectedFault`, a `ConnectionResetError`: both servers take
that for a client that went away, and send nothing more on the connection.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Mapping
from typing import Any, Final

FAULTS: Final = ("connection-reset", "empty", "malformed")
# Not HTTP: a client must report a protocol error, not parse an answer out of it.
GARBAGE: Final = b"\x00\xff lorem ipsum \xfe\x01 dolor sit amet \r\n\x7f\x80\x81 not http\r\n\r\n"
SOCKET_KEYS: Final = ("gunicorn.socket", "werkzeug.socket")


class InjectedFault(ConnectionResetError):
    """Raised after a fault is injected, so the server drops the connection quietly."""


def client_socket(environ: Mapping[str, Any]) -> socket.socket | None:
    """The socket of the client connection, if the server exposes it."""
    for key in SOCKET_KEYS:
        candidate = environ.get(key)
        if isinstance(candidate, socket.socket):
            return candidate
    return None


def _reset(sock: socket.socket) -> None:
    # Closing with a zero linger sends RST instead of FIN. The server still holds this socket
    # object and will use and close it later, so its descriptor number is taken over by one end
    # of a fresh socket pair (whose other end is closed): the server then reads EOF and closes
    # that end, and no descriptor is closed twice or leaked.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    spare, peer = socket.socketpair()
    try:
        os.dup2(spare.fileno(), sock.fileno())
    finally:
        spare.close()
        peer.close()


def inject_fault(sock: socket.socket, fault: str) -> None:
    """Damage the connection as `fault` says, then raise InjectedFault."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    try:
        if fault == "connection-reset":
            _reset(sock)
        else:
            if fault == "malformed":
                sock.sendall(GARBAGE)
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client left already: the fault has happened anyway
    raise InjectedFault(errno.ECONNRESET, f"fault injected: {fault}")
