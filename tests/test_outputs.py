"""Tests for logdigit.outputs: checks before work, atomic writes, nothing partial left."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from logdigit import outputs
from logdigit.errors import EXIT_PROCESSING, OutputError
from logdigit.outputs import atomic_output, check_output

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_REASON = "running as root: permission bits do not stop root, nothing to test"


def leftovers(folder: Path) -> list[str]:
    """Temp files atomic_output may have left (``.NAME.xxxx.part``)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# --------------------------------------------------------------------------- check_output


def test_check_output_accepts_a_new_file(tmp_path: Path) -> None:
    out = tmp_path / "new.las"
    assert check_output(out, overwrite=False) == out
    assert not out.exists()  # checking creates nothing


def test_check_output_relative_name_in_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert check_output(Path("here.las"), overwrite=False) == Path("here.las")


def test_check_output_existing_file_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "old.las"
    out.write_text("old")
    with pytest.raises(OutputError, match=r"old\.las: already exists \(use --overwrite"):
        check_output(out, overwrite=False)
    assert check_output(out, overwrite=True) == out
    assert out.read_text() == "old"


def test_check_output_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder, expected a file name"):
        check_output(tmp_path, overwrite=True)


def test_check_output_missing_folder(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.las"
    with pytest.raises(OutputError) as info:
        check_output(out, overwrite=False)
    assert str(info.value) == f"{out}: folder {out.parent} does not exist"
    assert info.value.exit_code == EXIT_PROCESSING


def test_check_output_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "file" / "out.las", overwrite=False)


@pytest.mark.skipif(IS_ROOT, reason=ROOT_REASON)
def test_check_output_folder_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="is not writable"):
            check_output(folder / "out.las", overwrite=False)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_check_output_not_writable_simulated(tmp_path: Path, monkeypatch) -> None:
    """What root cannot see with chmod: os.access says no (e.g. a read-only mount)."""
    monkeypatch.setattr(outputs.os, "access", lambda *a, **k: False)
    with pytest.raises(OutputError, match=r"folder .* is not writable"):
        check_output(tmp_path / "out.las", overwrite=False)


# --------------------------------------------------------------------------- atomic_output


def test_atomic_output_writes_and_renames(tmp_path: Path) -> None:
    out = tmp_path / "out.las"
    with atomic_output(out, overwrite=False) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".part")
        assert tmp.name.startswith(".out.las.")
        assert not out.exists()  # nothing visible under the final name yet
        tmp.write_text("complete")
    assert out.read_text() == "complete"
    assert leftovers(tmp_path) == []


def test_atomic_output_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "a.las", overwrite=False) as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.las").stat().st_mode) == 0o640


def test_atomic_output_overwrite_keeps_the_old_mode(tmp_path: Path) -> None:
    out = tmp_path / "a.las"
    out.write_text("old")
    out.chmod(0o604)
    with atomic_output(out, overwrite=True) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert stat.S_IMODE(out.stat().st_mode) == 0o604


def test_atomic_output_refuses_existing_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "a.las"
    out.write_text("old")
    with pytest.raises(OutputError, match="already exists"):
        with atomic_output(out, overwrite=False):
            pytest.fail("the body must not run")
    assert out.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_atomic_output_file_appearing_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "a.las"
    with pytest.raises(OutputError, match="already exists"):
        with atomic_output(out, overwrite=False) as tmp:
            tmp.write_text("mine")
            out.write_text("someone else's")  # e.g. a second run writing the same file
    assert out.read_text() == "someone else's"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()],
                         ids=["error", "ctrl-c"])
def test_atomic_output_failure_in_body_leaves_nothing(tmp_path: Path, exc) -> None:
    out = tmp_path / "a.las"
    with pytest.raises(type(exc)):
        with atomic_output(out, overwrite=False) as tmp:
            tmp.write_text("half a fi")
            raise exc
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_atomic_output_failure_keeps_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "a.las"
    out.write_text("previous")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(out, overwrite=True) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert out.read_text() == "previous"
    assert leftovers(tmp_path) == []


def test_atomic_output_disk_full_is_an_output_error(tmp_path: Path) -> None:
    out = tmp_path / "a.las"
    with pytest.raises(OutputError) as info:
        with atomic_output(out, overwrite=False) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(info.value) == f"{out}: cannot write ({os.strerror(errno.ENOSPC)})"
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_atomic_output_rename_failure(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(outputs.os, "replace", refuse)
    out = tmp_path / "a.las"
    with pytest.raises(OutputError, match="cannot write"):
        with atomic_output(out, overwrite=False) as tmp:
            tmp.write_text("data")
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_atomic_output_cannot_create_temp(tmp_path: Path, monkeypatch) -> None:
    """A folder os.access calls writable but that refuses new files (ACLs, read-only mount)."""

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(outputs.tempfile, "mkstemp", refuse)
    out = tmp_path / "a.las"
    with pytest.raises(OutputError) as info:
        with atomic_output(out, overwrite=False):
            pytest.fail("the body must not run")
    assert str(info.value) == f"{out}: cannot create a file there (Permission denied)"
    assert not out.exists()


@pytest.mark.skipif(IS_ROOT, reason=ROOT_REASON)
def test_atomic_output_folder_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="not writable"):
            with atomic_output(folder / "a.las", overwrite=False):
                pass
    finally:
        folder.chmod(stat.S_IRWXU)
    assert list(folder.iterdir()) == []
