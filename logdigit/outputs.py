"""Atomic output files: written to a temp file in the same folder, then renamed.

A reader never sees a partial file: either the previous content (or nothing) or the
complete new file. On any error, including KeyboardInterrupt, the temp file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError


def check_output(path: Path, *, overwrite: bool) -> Path:
    """Check that ``path`` can be written before doing expensive work.

    Raises
    ------
    OutputError
        The file exists and ``overwrite`` is false, its folder is missing or not
        writable, or ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists (use --overwrite to replace it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")
    return path


def _default_mode() -> int:
    """0o666 minus the process umask (read without changing it, via /proc when possible)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    return 0o644


@contextlib.contextmanager
def atomic_output(path: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temp path in the folder of ``path``; rename it onto ``path`` on success.

    Examples
    --------
    >>> with atomic_output(Path("out.las"), overwrite=True) as tmp:  # doctest: +SKIP
    ...     tmp.write_text("...")
    """
    path = check_output(Path(path), overwrite=overwrite)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".part", dir=path.parent or "."
        )
    except OSError as exc:
        raise OutputError(f"{path}: cannot create a file there ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600; give the file the mode a plain open() would
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else _default_mode())
        if path.exists() and not overwrite:
            raise OutputError(f"{path}: already exists (use --overwrite to replace it)")
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
