"""Owner-only files for client data and secrets: directories 0700, files 0600 from creation.

The data directory holds the SQLite read model (plan text, notes, webhook secrets), the
embedded Temporal database and the codec key file; nobody but the account running the service
may read them. A file or directory of ours left readable by others (by an earlier version) is
tightened when it is next opened, with a log line; someone else's is left alone.
"""

import contextlib
import logging
import os
import stat
from pathlib import Path

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
# Group and other permission bits: none of them on our files.
OTHERS = 0o077
# Started processes (the embedded Temporal server) create their files owner-only too.
PRIVATE_UMASK = 0o077

# Standard logging, not structlog: the CLI does not configure logging, and structlog's default
# would print to stdout, where commands write their output.
log = logging.getLogger(__name__)


def private_directory(path: Path, *, tighten: bool = False) -> Path:
    """Create ``path`` (and any missing parents) with ``path`` itself 0700.

    An existing directory is left as it is unless ``tighten``: then, when this account owns
    it and others may enter it, it becomes owner-only (for the data directory, which is ours
    by configuration; not for any directory a database URL happens to name).
    """
    try:
        path.mkdir(mode=PRIVATE_DIRECTORY, parents=True)
    except FileExistsError:
        if not path.is_dir():
            raise
        if tighten:
            tighten_permissions(path)
        return path
    # mkdir's mode passes through the umask: never looser than 0700, but make it exact.
    path.chmod(PRIVATE_DIRECTORY)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 unless it exists; tighten an existing one of ours."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        tighten_permissions(path)
    else:
        os.close(fd)
    return path


def open_private_append(path: Path) -> int:
    """A file descriptor appending to ``path``, created 0600 (an existing one tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    tighten_permissions(path)
    return fd


def sqlite_files(database: Path) -> list[Path]:
    """A SQLite database and the files SQLite keeps beside it in WAL mode (-wal, -shm)."""
    return [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]


def tighten_permissions(*paths: Path) -> None:
    """Take group and other permissions off each path this account owns, with a log line.

    Missing paths and paths owned by another account are skipped.
    """
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            _tighten(path)


def _tighten(path: Path) -> None:
    status = path.stat()
    mode = stat.S_IMODE(status.st_mode)
    if not mode & OTHERS or status.st_uid != os.geteuid():
        return
    path.chmod(mode & ~OTHERS)
    log.warning("permissions of %s were %04o; now %04o (owner only)", path, mode, mode & ~OTHERS)
