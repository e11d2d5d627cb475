"""Batch conversion: discovery, failure isolation, resume, kill-and-resume, the Dask path.

Conversions use the random-weights model (``tiny_model_dir``): the curves are meaningless, so
the tests check statuses, files and manifests, never curve values.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import lasio
import numpy as np
import pytest

from logdigit.batch import (
    MANIFEST_NAME,
    clean_stale_parts,
    discover,
    parse_scheduler,
    read_manifest,
    run_batch,
)
from logdigit.cli import main
from logdigit.errors import EXIT_BATCH_FAILURES, EXIT_USAGE, LayoutError, UsageError
from logdigit.layout import LAYOUT_FILENAME

REPO = Path(__file__).resolve().parents[1]
GOOD = ("well A/log 1.tif", "well A/sub #2/X.TIF", "well A/sub #2/page.png")
BAD = ("bad/corrupt.tif", "bad/text.tif", "orphan/nolayout.tif")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """In-process conversions on one thread: much steadier on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Two small rendered scans with their layouts."""
    from logdigit.render import random_walk_bank
    from logdigit.synth import synth_cases

    bank = random_walk_bank(np.random.default_rng(1), n=4, length=3000)
    out = tmp_path_factory.mktemp("cases")
    return synth_cases(bank, out, n=2, seed=0, height=300, width=400, tiers=("clean",))


def put(case: Path, dest: Path, *, sidecar: bool = True, fmt: str | None = None) -> Path:
    """Copy a case's scan to ``dest`` (converted to ``fmt`` if given), with its sidecar."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if fmt:
        from PIL import Image

        Image.open(case / "scan.tif").convert("L").save(dest, format=fmt)
    else:
        shutil.copyfile(case / "scan.tif", dest)
    if sidecar:
        shutil.copyfile(case / "scan.toml", dest.with_suffix(".toml"))
    return dest


@pytest.fixture(scope="module")
def tree(cases, tmp_path_factory) -> Path:
    """Three good scans in nested folders and three that must fail.

    well A/log 1.tif           sidecar layout
    well A/sub #2/X.TIF        layout from well A/logdigit.toml (two levels up)
    well A/sub #2/page.png     same
    bad/corrupt.tif            a TIFF cut in half (sidecar)
    bad/text.tif               a text file (sidecar)
    orphan/nolayout.tif        no layout anywhere
    .hidden/h.tif, well A/.h.tif   ignored
    """
    root = tmp_path_factory.mktemp("tree") / "in"
    a, b = cases
    put(a, root / "well A/log 1.tif")
    shutil.copyfile(b / "scan.toml", root / "well A" / LAYOUT_FILENAME)
    put(b, root / "well A/sub #2/X.TIF", sidecar=False)
    put(b, root / "well A/sub #2/page.png", sidecar=False, fmt="PNG")
    raw = (a / "scan.tif").read_bytes()
    (root / "bad").mkdir()
    (root / "bad/corrupt.tif").write_bytes(raw[: len(raw) // 2])
    shutil.copyfile(a / "scan.toml", root / "bad/corrupt.toml")
    (root / "bad/text.tif").write_text("not an image\n")
    shutil.copyfile(a / "scan.toml", root / "bad/text.toml")
    put(a, root / "orphan/nolayout.tif", sidecar=False)
    put(a, root / ".hidden/h.tif")
    put(a, root / "well A/.h.tif")
    return root


@pytest.fixture(scope="module")
def first_run(tree, tiny_model_dir, tmp_path_factory):
    """The CLI run over ``tree`` (one worker, in this process): (exit code, out dir, JSON)."""
    out = tmp_path_factory.mktemp("first") / "out"
    code, stdout = run_cli(tree, out, "--model", str(tiny_model_dir), "--json")
    return code, out, json.loads(stdout)


def run_cli(in_dir: Path, out: Path, *args: str) -> tuple[int, str]:
    """``logdigit batch IN -o OUT --workers 1 --quiet ARGS``: (exit code, stdout)."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main(["batch", str(in_dir), "-o", str(out), "--workers", "1", "--quiet", *args])
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, buf.getvalue()


def assert_valid_las(path: Path) -> None:
    las = lasio.read(str(path))
    assert len(las.curves) >= 2
    assert len(las.index) > 10


def statuses(out: Path) -> dict[str, str]:
    return {k: r["status"] for k, r in read_manifest(out / MANIFEST_NAME).items()}


# --------------------------------------------------------------------------- discovery


def test_discover_layout_order_outputs_and_ignored_files(tmp_path, cases):
    a, _ = cases
    root = tmp_path / "in"
    put(a, root / "x/own.tif")                                   # sidecar
    put(a, root / "x/y/deep.TIFF", sidecar=False)                # -> x/logdigit.toml
    shutil.copyfile(a / "scan.toml", root / "x" / LAYOUT_FILENAME)
    put(a, root / "z/plain #1.JPG", sidecar=False)               # -> --layout
    put(a, root / "z/clash.tif", sidecar=False)
    put(a, root / "z/clash.png", sidecar=False)
    put(a, root / "out/old.tif")                                 # OUT_DIR inside IN_DIR
    put(a, root / ".git/h.png")
    (root / "z/notes.txt").write_text("x")
    (root / "z/.clash.tif.abcd1234.part").write_text("x")
    # a logdigit.toml above IN_DIR is never used
    shutil.copyfile(a / "scan.toml", tmp_path / LAYOUT_FILENAME)
    default = a / "scan.toml"

    jobs = {j.rel: j for j in discover(root, out_dir=root / "out", layout=default)}
    assert sorted(jobs) == ["x/own.tif", "x/y/deep.TIFF", "z/clash.png", "z/clash.tif",
                            "z/plain #1.JPG"]
    assert jobs["x/own.tif"].layout == root / "x/own.toml"
    assert jobs["x/y/deep.TIFF"].layout == root / "x" / LAYOUT_FILENAME
    assert jobs["z/plain #1.JPG"].layout == default.resolve()
    assert jobs["z/plain #1.JPG"].output == root / "out/z/plain #1.las"
    assert jobs["x/y/deep.TIFF"].out_rel == "x/y/deep.las"
    # two scans with one stem keep their suffix in the output name
    assert jobs["z/clash.png"].out_rel == "z/clash.png.las"
    assert jobs["z/clash.tif"].out_rel == "z/clash.tif.las"
    assert jobs["z/clash.tif"].overlay.name == "clash.tif.png"
    assert not any(j.error for j in jobs.values())

    # without --layout the scan in z/ has no layout: an error, not an exception
    jobs = {j.rel: j for j in discover(root, out_dir=root / "out")}
    assert jobs["z/plain #1.JPG"].layout is None
    assert "no layout found" in jobs["z/plain #1.JPG"].error
    assert jobs["x/own.tif"].error == ""


def test_discover_gate_references(tmp_path, cases):
    a, _ = cases
    put(a, tmp_path / "in/w/s 1.tif")
    put(a, tmp_path / "in/w/s2.tif")
    (tmp_path / "ref/w").mkdir(parents=True)
    shutil.copyfile(a / "truth.las", tmp_path / "ref/w/s 1.las")
    jobs = discover(tmp_path / "in", out_dir=tmp_path / "out", gate_dir=tmp_path / "ref")
    assert [j.reference for j in jobs] == [tmp_path / "ref/w/s 1.las", None]


def test_discover_missing_folder(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        discover(tmp_path / "nope")


@pytest.mark.parametrize("address,ok", [
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"), ("head:8786", "tcp://head:8786"),
    ("tls://[::1]:8786", "tls://[::1]:8786"), ("http://head:8786", None),
    ("tcp://head", None), ("tcp://head:port", None), ("tcp://:8786", None)])
def test_parse_scheduler(address, ok):
    if ok:
        assert parse_scheduler(address) == ok
    else:
        with pytest.raises(UsageError):
            parse_scheduler(address)


# --------------------------------------------------------------------------- usage errors


def test_usage_errors_exit_2(tmp_path, tree, capsys):
    (tmp_path / "file").write_text("x")
    for args in (
        [str(tmp_path / "missing"), "-o", str(tmp_path / "o")],
        [str(tree), "-o", str(tmp_path / "file")],
        [str(tree), "-o", str(tmp_path / "o"), "--workers", "0"],
        [str(tree), "-o", str(tmp_path / "o"), "--scheduler", "http://x:1"],
        [str(tree), "-o", str(tmp_path / "o"), "--layout", str(tmp_path / "none.toml")],
    ):
        with pytest.raises(SystemExit) as exc:
            main(["batch", *args, "--quiet"])
        assert exc.value.code == EXIT_USAGE, args
        assert "logdigit: error:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_invalid_layout_and_unreachable_scheduler(tmp_path, tree, tiny_model_dir):
    bad = tmp_path / "bad.toml"
    bad.write_text("[depth]\ntop = 1\n")
    with pytest.raises(LayoutError):
        run_batch(tree, tmp_path / "o", layout=bad, workers=1)
    with pytest.raises(UsageError, match="cannot connect"):
        run_batch(tree, tmp_path / "o", scheduler="tcp://127.0.0.1:9", connect_timeout=1,
                  model=str(tiny_model_dir))


# --------------------------------------------------------------------------- one run


def test_failures_are_isolated_and_recorded(first_run):
    code, out, summary = first_run
    assert code == EXIT_BATCH_FAILURES
    assert summary["total"] == 6 and summary["done"] == 3 and summary["failed"] == 3
    recs = read_manifest(out / MANIFEST_NAME)
    assert sorted(recs) == sorted(GOOD + BAD)
    for rel in GOOD:
        r = recs[rel]
        assert r["status"] == "ok", r
        assert r["error"] == "" and r["curves"] and set(r["coverage"]) == set(r["curves"])
        assert_valid_las(out / r["output"])
    assert recs["well A/sub #2/X.TIF"]["output"] == "well A/sub #2/X.las"
    assert recs["well A/sub #2/X.TIF"]["layout"].endswith(f"well A/{LAYOUT_FILENAME}")
    assert "truncated or corrupt" in recs["bad/corrupt.tif"]["error"]
    assert "not an image file" in recs["bad/text.tif"]["error"]
    assert "no layout found" in recs["orphan/nolayout.tif"]["error"]
    for rel in BAD:
        assert recs[rel]["status"] == "failed"
        assert not (out / recs[rel]["output"]).exists()
    assert not (out / ".hidden").exists()
    assert not list(out.rglob("*.part"))
    # every line of the manifest is one JSON object
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["scan"] for line in lines)


def test_rerun_skips_and_force_redoes(first_run, tmp_path, tree, tiny_model_dir):
    _, first_out, _ = first_run
    out = tmp_path / "out"
    shutil.copytree(first_out, out)
    before = (out / "well A/log 1.las").stat().st_mtime_ns

    code, stdout = run_cli(tree, out, "--model", str(tiny_model_dir), "--json")
    s = json.loads(stdout)
    assert code == EXIT_BATCH_FAILURES  # the bad scans fail again
    assert (s["done"], s["skipped"], s["failed"]) == (0, 3, 3)
    recs = read_manifest(out / MANIFEST_NAME)
    assert {rel: recs[rel]["status"] for rel in GOOD} == dict.fromkeys(GOOD, "skipped")
    assert recs["well A/log 1.tif"]["curves"]  # carried from the previous record
    assert len((out / MANIFEST_NAME).read_text().splitlines()) == 12  # appended

    # with only good scans the batch succeeds; --force converts them again
    good = tmp_path / "good"
    for rel in GOOD:
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / rel, good / rel)
    shutil.copyfile(tree / "well A/log 1.toml", good / "well A/log 1.toml")
    shutil.copyfile(tree / "well A" / LAYOUT_FILENAME, good / "well A" / LAYOUT_FILENAME)
    s = run_batch(good, out, workers=1, model=str(tiny_model_dir))
    assert (s.done, s.skipped, s.failed, s.ok, s.exit_code) == (0, 3, 0, True, 0)
    code, stdout = run_cli(good, out, "--model", str(tiny_model_dir), "--force", "--json")
    assert code == 0
    assert json.loads(stdout)["done"] == 3
    assert (out / "well A/log 1.las").stat().st_mtime_ns > before


def test_overlays_and_gate(tmp_path, tree, tiny_model_dir):
    # references: outputs of an identical run (same worker and thread count, so R² = 1;
    # results are not bit-identical across thread counts), except one with no curve in common
    first_out = tmp_path / "first"
    run_batch(tree, first_out, workers=1, model=str(tiny_model_dir))
    ref = tmp_path / "ref"
    for rel in GOOD[:2]:
        src = first_out / Path(rel).with_suffix(".las")
        (ref / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, (ref / rel).with_suffix(".las"))
    shutil.copyfile(first_out / "well A/sub #2/X.las", ref / "well A/log 1.las")
    other = ref / "well A/log 1.las"
    other.write_text(other.read_text().replace("C1S", "ZZ1").replace("C1D", "ZZ2")
                     .replace("C2S", "ZZ3").replace("C2D", "ZZ4").replace("C3S", "ZZ5")
                     .replace("C3D", "ZZ6"))
    out = tmp_path / "out"
    s = run_batch(tree, out, workers=1, model=str(tiny_model_dir), overlays=True,
                  gate_dir=ref, min_r2=0.99, min_coverage=0.0)
    recs = read_manifest(out / MANIFEST_NAME)
    sub = recs["well A/sub #2/X.TIF"]
    # the random-weights model may leave a curve untraced (all NULL): such a curve cannot
    # pass a gate; every curve that was traced matches its own reference exactly
    traced = [m for m, c in sub["coverage"].items() if c > 0]
    assert sub["status"] == "ok" and traced, json.dumps(sub)
    assert all(sub["gate_r2"][m] == pytest.approx(1.0) for m in traced)
    assert sub["gate"] == ("passed" if len(traced) == len(sub["coverage"]) else "failed")
    assert recs["well A/log 1.tif"]["gate"] == "failed"
    assert "no curve in common" in recs["well A/log 1.tif"]["gate_reason"]
    assert recs["well A/sub #2/page.png"]["gate"] == "no-reference"
    assert s.gate_failed == 1 + (sub["gate"] == "failed") and s.exit_code == EXIT_BATCH_FAILURES
    assert s.gate_failures[0]["scan"] == "well A/log 1.tif"
    for rel in GOOD:
        assert (out / rel).with_suffix(".png").is_file()
        assert recs[rel]["overlay"] == Path(rel).with_suffix(".png").as_posix()

    # a LAS whose overlay is missing is not complete: it is redone (and replaced)
    (out / "well A/sub #2/page.png").unlink()
    s = run_batch(tree, out, workers=1, model=str(tiny_model_dir), overlays=True,
                  gate_dir=ref, min_r2=0.99, min_coverage=0.0)
    recs = read_manifest(out / MANIFEST_NAME)
    assert recs["well A/sub #2/page.png"]["status"] == "ok"
    assert (out / "well A/sub #2/page.png").is_file()
    # skipped scans are gated again
    assert recs["well A/log 1.tif"]["status"] == "skipped"
    assert recs["well A/log 1.tif"]["gate"] == "failed"
    assert s.gate_failed == 1 + (sub["gate"] == "failed")


# --------------------------------------------------------------------------- crash safety


def test_manifest_cut_line_stale_parts_and_lock(tmp_path, cases, tiny_model_dir):
    a, _ = cases
    put(a, tmp_path / "in/s.tif")
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / MANIFEST_NAME).write_text('{"scan": "s.tif", "status": "ok"}\n{"scan": "s.t')
    stale = [out / "sub/.s.las.k2j_x9a0.part", out / ".s.png.abcdefgh.part"]
    for p in stale:
        p.write_text("partial")
    keep = out / "sub/.notes.part"
    keep.write_text("not ours")
    assert clean_stale_parts(out) == 2
    assert keep.exists() and not any(p.exists() for p in stale)

    s = run_batch(tmp_path / "in", out, workers=1, model=str(tiny_model_dir))
    assert s.done == 1
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert lines[1] == '{"scan": "s.t'  # the cut line is left alone, never glued to
    assert json.loads(lines[2])["status"] == "ok"
    assert read_manifest(out / MANIFEST_NAME)["s.tif"]["output"] == "s.las"

    # a second batch on the same OUT_DIR while one runs is refused
    import fcntl

    with open(out / ".logdigit-batch.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another logdigit batch"):
            run_batch(tmp_path / "in", out, workers=1, model=str(tiny_model_dir))


def test_sigkill_then_resume(tmp_path, cases, tiny_model_dir):
    a, b = cases
    n = 6
    for i in range(n):
        put((a, b)[i % 2], tmp_path / f"in/f{i % 2}/scan {i}.tif")
    out = tmp_path / "out"
    manifest = out / MANIFEST_NAME
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logdigit", "batch", str(tmp_path / "in"), "-o", str(out),
         "--workers", "1", "--model", str(tiny_model_dir), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists() and '"ok"' in manifest.read_text():
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    done_before = len(manifest.read_text().splitlines())
    assert 1 <= done_before < n
    # what a writer killed mid-file leaves behind
    (out / "f1").mkdir(exist_ok=True)
    (out / "f1/.scan 5.las.a1b2c3d4.part").write_text("~Version\n")

    s = run_batch(tmp_path / "in", out, workers=1, model=str(tiny_model_dir))
    assert s.ok and s.failed == 0
    assert s.skipped >= 1 and s.done >= 1 and s.skipped + s.done == n
    for i in range(n):
        assert_valid_las(out / f"f{i % 2}/scan {i}.las")
    assert not list(out.rglob("*.part"))
    assert set(statuses(out).values()) <= {"ok", "skipped"} and len(statuses(out)) == n


# --------------------------------------------------------------------------- Dask


def test_dask_cluster_gives_the_same_manifest(first_run, tree, tmp_path, tiny_model_dir):
    from dask.distributed import LocalCluster

    _, local_out, _ = first_run
    out = tmp_path / "out"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", scheduler_port=0, dashboard_address=None) as cluster:
        code, stdout = run_cli(tree, out, "--model", str(tiny_model_dir), "--json",
                               "--scheduler", cluster.scheduler_address)
        assert code == EXIT_BATCH_FAILURES
        assert json.loads(stdout)["done"] == 3
        # resume semantics are the same: everything done is skipped
        s = run_batch(tree, out, model=str(tiny_model_dir), scheduler=cluster.scheduler_address)
        assert (s.done, s.skipped, s.failed) == (0, 3, 3)

    local = read_manifest(local_out / MANIFEST_NAME)
    dask_recs = read_manifest(out / MANIFEST_NAME)
    assert sorted(local) == sorted(dask_recs)
    for rel, rec in local.items():
        d = dask_recs[rel]
        want = "skipped" if rec["status"] == "ok" else rec["status"]
        assert d["status"] == want, rel
        assert (d["output"], d["curves"], d["error"]) == (rec["output"], rec["curves"],
                                                          rec["error"])
        assert set(d["coverage"]) == set(rec["coverage"])
    for rel in GOOD:
        assert_valid_las(out / dask_recs[rel]["output"])


def test_worker_processes_give_the_same_manifest(first_run, tree, tmp_path, tiny_model_dir):
    _, local_out, _ = first_run
    out = tmp_path / "out"
    s = run_batch(tree, out, workers=2, model=str(tiny_model_dir))
    assert (s.done, s.skipped, s.failed) == (3, 0, 3)
    local = read_manifest(local_out / MANIFEST_NAME)
    pool = read_manifest(out / MANIFEST_NAME)
    assert {k: (r["status"], r["output"], r["curves"], r["error"]) for k, r in pool.items()} == {
        k: (r["status"], r["output"], r["curves"], r["error"]) for k, r in local.items()}
    for rel in GOOD:
        assert_valid_las(out / pool[rel]["output"])


def test_flip_average_reaches_every_scan(tmp_path, tree, tiny_model_dir, monkeypatch):
    import logdigit.convert

    seen = []
    real = logdigit.convert.segment_array
    monkeypatch.setattr(logdigit.convert, "segment_array",
                        lambda pixels, **kw: seen.append(kw["config"].get("flip_average"))
                        or real(pixels, **kw))
    run_batch(tree, tmp_path / "o", workers=1, model=str(tiny_model_dir), flip_average=True)
    assert seen and all(v is True for v in seen)
