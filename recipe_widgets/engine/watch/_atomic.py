"""Writing a file so that readers see the old content or the new, never part of one.

The bytes go to a temporary file in the same folder, named after its writer:
``.<name>.<pid>.<host>.<token>.tmp``; it is flushed to disk and renamed over the target. A
writer killed before the rename (SIGKILL, power loss) leaves that temporary file behind; the
next save or load in the folder removes the ones whose writer is gone: written on this host by a
process id that no longer exists. A live writer's file is never touched, nor one written from
another host (a shared folder), nor anything not named this way.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
from pathlib import Path

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<host>[A-Za-z0-9-]+)\.[0-9a-f]{8}\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"


def temp_name(target: Path) -> str:
    """``.<name>.<pid>.<host>.<token>.tmp``: who writes it, so a leftover can be told apart."""
    return f".{target.name}.{os.getpid()}.{_host()}.{secrets.token_hex(4)}.tmp"


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: existence only, nothing is sent
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale(folder: Path) -> list[Path]:
    """Remove the temporary files in ``folder`` left by writers of this host that are dead;
    the paths removed. POSIX only (elsewhere a process cannot be probed without touching it)."""
    if os.name != "posix":
        return []
    host, removed = _host(), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        m = _TEMP.match(entry.name) if entry.name.endswith(".tmp") else None
        if m is None or m["host"] != host or _alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def write_atomic(path: Path, payload: bytes) -> None:
    """``payload`` into ``path``, all or nothing (stale temporary files of the folder removed
    first)."""
    remove_stale(path.parent)
    tmp = path.parent / temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself to disk (not possible everywhere)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
