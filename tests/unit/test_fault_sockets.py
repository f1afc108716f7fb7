"""The fault primitives on a bare TCP connection, without any HTTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mock_server.play.faults import GARBAGE, InjectedFault, client_socket, inject_fault


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected (server side, client side) pair over loopback TCP."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server, _ = listener.accept()
    with server, client:
        yield server, client


def read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_a_reset_reaches_the_client_and_leaves_the_server_socket_harmless(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    with pytest.raises(InjectedFault):
        inject_fault(server, "connection-reset")
    with pytest.raises(ConnectionResetError):
        read_all(client)
    # The server's socket object now reads EOF and closes without touching anyone's descriptor.
    assert server.recv(10) == b""
    server.close()


@pytest.mark.parametrize(("fault", "expected"), [("empty", b""), ("malformed", GARBAGE)])
def test_close_and_garbage(
    connection: tuple[socket.socket, socket.socket], fault: str, expected: bytes
) -> None:
    server, client = connection
    with pytest.raises(InjectedFault):
        inject_fault(server, fault)
    assert read_all(client) == expected


def test_unknown_faults_and_missing_sockets() -> None:
    with socket.socket() as unused, pytest.raises(ValueError, match="unknown fault"):
        inject_fault(unused, "explode")
    assert client_socket({}) is None
    assert client_socket({"werkzeug.socket": "not a socket"}) is None
