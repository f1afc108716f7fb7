"""In-flight marks that cost no database write: open-file-description byte-range locks.

A mark on (application, session id) is a non-blocking write lock (F_OFD_SETLK) on one byte of
a marks file, at an offset derived from a stable 62-bit hash of the key (blake2b, never
Python's hash(), which differs between processes). OFD locks belong to an open file
description, not to a process: each held mark takes its own descriptor from a per-process
pool, so two threads of one process conflict as two processes do. The kernel drops the lock
when its descriptor closes, so a holder killed with SIGKILL releases its marks at once: no
expiry is needed, and a dead worker never leaves a session answering 409. Descriptors
inherited through fork() share their description with the parent and are never used: the
pool starts empty in every child.

Linux only (F_OFD_SETLK since Linux 3.15).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import threading
from pathlib import Path

# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
# (+ padding). l_pid must be 0 for OFD locks.
_FLOCK = "hhqqi4x"
_OFFSET_BITS = 62  # off_t is signed 64-bit: stay well inside it; the file itself stays empty


def mark_offset(application_id: int, integration_id: str) -> int:
    """The byte that stands for a session: the same in every process.

    Two sessions whose hashes collide share a byte: a rare false 409, never a lost write.
    """
    key = f"{application_id}\x00{integration_id}".encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - _OFFSET_BITS)


def _flock(kind: int, offset: int) -> bytes:
    return struct.pack(_FLOCK, kind, os.SEEK_SET, offset, 1, 0)


class OfdMarks:
    """The `try_lock`/`unlock` of the SessionStore protocol, on a marks file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)
        self._lock = threading.Lock()
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        # In a forked child: forget (never use) the parent's descriptors and held marks.
        self._free: list[int] = []
        self._held: dict[tuple[int, str, str], tuple[int, int]] = {}

    def _descriptor(self) -> int:
        with self._lock:
            if self._free:
                return self._free.pop()
        return os.open(self.path, os.O_RDWR | os.O_CLOEXEC)

    def try_lock(self, application_id: int, integration_id: str, token: str) -> bool:
        """Take the mark unless another holder (thread or process) has it."""
        if (application_id, integration_id, token) in self._held:
            return True  # the holder renews its own mark
        offset = mark_offset(application_id, integration_id)
        fd = self._descriptor()
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_WRLCK, offset))
        except OSError:  # EAGAIN/EACCES: held through another description
            with self._lock:
                self._free.append(fd)
            return False
        with self._lock:
            self._held[(application_id, integration_id, token)] = (fd, offset)
        return True

    def unlock(self, application_id: int, integration_id: str, token: str) -> None:
        """Release the mark `token` took, if it still holds it."""
        with self._lock:
            held = self._held.pop((application_id, integration_id, token), None)
        if held is None:
            return
        fd, offset = held
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK, offset))
        with self._lock:
            self._free.append(fd)

    def release_all(self) -> None:
        """Release every mark this process holds (another process's end with its requests)."""
        with self._lock:
            held, self._held = self._held, {}
        for fd, offset in held.values():
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_UNLCK, offset))
            with self._lock:
                self._free.append(fd)

    def close(self) -> None:
        """Release this process's marks and close its descriptors."""
        self.release_all()
        with self._lock:
            free, self._free = self._free, []
        for fd in free:
            os.close(fd)
