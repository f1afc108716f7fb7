"""The id of this process without a system call per read: kept current across fork().

The SQLite store checks it whenever it lends a connection, to notice it now runs in a forked
worker; os.getpid() is a system call each time.
"""

from __future__ import annotations

import os

_current_pid = os.getpid()


def _forked() -> None:
    global _current_pid
    _current_pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def process_id() -> int:
    """This process's id, as os.getpid() would answer."""
    return _current_pid
