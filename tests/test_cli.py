"""End-to-end tests of the ``logdigit`` command: convert, check, synth and train.

A few cases run the command as users do (``python -m logdigit`` in a subprocess, ~2-3 s
each); the many others call :func:`logdigit.cli.main` in-process. The model is the random
``tiny_model_dir`` one: conversions run but the curves are meaningless, so success cases
only check structure (with these weights every track traces something).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import logdigit.model
from logdigit.cli import main
from logdigit.lasfile import LasCurve, read_las, write_las

from .conftest import REPO, cli

ROWS, COLS = 300, 160
LAYOUT = """\
[depth]
top = 1000.0
bottom = 1149.5
unit = "FT"

[well]
WELL = "TEST 1"

[[tracks]]
left_px = 20
right_px = 140

  [[tracks.curves]]
  mnemonic = "GR"
  unit = "GAPI"
  left = 0
  right = 150
"""


# --------------------------------------------------------------------------- helpers


def make_scan(folder: Path, name: str = "scan.png", *, layout: str | None = LAYOUT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    img = Image.new("L", (COLS, ROWS), 255)
    ImageDraw.Draw(img).line(
        [(float(80 + 40 * np.sin(y / 25)), float(y)) for y in range(ROWS)], fill=0, width=3)
    scan = folder / name
    img.save(scan)
    if layout is not None:
        scan.with_suffix(".toml").write_text(layout)
    return scan




def run_logdigit(*args, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m logdigit ARGS`` in a subprocess, stderr not a terminal."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env.update(COLUMNS="200", OMP_NUM_THREADS="1",
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "logdigit", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert "Traceback" not in p.stdout + p.stderr, p.stderr
    return p


def error_line(err: str, *needles: str) -> str:
    """The one line on stderr, ``logdigit: error: ...``, containing every needle."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("logdigit: error: "), err
    for n in needles:
        assert n in lines[0], (n, err)
    return lines[0]


def nothing_written(folder: Path, *names: str) -> None:
    for name in names:
        assert not (folder / name).exists(), name
    parts = [p.name for p in folder.iterdir() if p.name.endswith(".part")]
    assert parts == [], parts


def flat(text: str) -> str:
    """Help text without rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def reference_las(path: Path, values=None) -> Path:
    depth = np.round(1000 + 0.5 * np.arange(300), 6)
    v = np.random.default_rng(3).normal(75, 20, depth.size) if values is None else values
    write_las(path, depth=depth, depth_unit="FT", curves=[LasCurve("GR", "GAPI", v)])
    return path


# --------------------------------------------------------------------------- subprocess


def test_subprocess_shorthand_json_is_deterministic(tmp_path, capsys, model) -> None:
    """``logdigit SCAN -o OUT --json``: one JSON object; the same LAS as an in-process run."""
    scan = make_scan(tmp_path)
    p = run_logdigit(scan, "-o", "a.las", *model, "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert len(p.stdout.splitlines()) == 1
    summary = json.loads(p.stdout)
    assert summary["scan"] == str(scan) and summary["output"] == "a.las"
    assert [c["mnemonic"] for c in summary["curves"]] == ["GR"]
    assert 0 < summary["curves"][0]["coverage"] <= 1
    assert summary["depth"] == {"top": 1000.0, "bottom": 1149.5, "step": 0.5, "unit": "FT"}
    assert (summary["rows"], summary["cols"]) == (ROWS, COLS)
    assert {"read", "segment", "trace", "write", "total"} <= set(summary["seconds"])
    # same scan and layout in another process: byte-identical LAS
    code, _, err = cli(capsys, "convert", scan, "-o", tmp_path / "b.las", *model, "--quiet")
    assert code == 0, err
    assert (tmp_path / "a.las").read_bytes() == (tmp_path / "b.las").read_bytes()
    nothing_written(tmp_path)  # no temp files


def test_subprocess_bad_scan_one_line_nothing_written(tmp_path, model) -> None:
    scan = make_scan(tmp_path, "scan.tif")
    scan.write_text("not really a TIFF\n")
    p = run_logdigit("convert", scan, "-o", "out.las", *model, cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout == ""
    error_line(p.stderr, str(scan), "is not an image file")
    nothing_written(tmp_path, "out.las")


def test_subprocess_check_gate_fails_with_exit_3(tmp_path) -> None:
    ref = reference_las(tmp_path / "ref.las")
    out = reference_las(tmp_path / "out.las", values=np.linspace(0, 150, 300))
    p = run_logdigit("check", out, ref, cwd=tmp_path)
    assert p.returncode == 3
    assert p.stdout.splitlines()[0].startswith("curve")
    assert "GR" in p.stdout and "FAIL" in p.stdout
    error_line(p.stderr, str(out), "acceptance gate failed for GR", str(ref))


def test_subprocess_help_mentions_exit_codes(tmp_path) -> None:
    p = run_logdigit("--help", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    text = flat(p.stdout)
    assert "Exit codes: 0 ok; 1 the scan could not be processed" in text, text
    assert "2 bad usage or invalid layout; 3 an acceptance gate failed" in text


# --------------------------------------------------------------------------- convert


def test_convert_prints_a_summary_line(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    out = tmp_path / "out.las"
    code, stdout, err = cli(capsys, "convert", scan, "-o", out, *model)
    assert code == 0 and err == ""
    assert re.fullmatch(rf"{re.escape(str(out))}: 1 curves \(GR \d+%\) in \d+\.\d s\n", stdout)
    las = read_las(out)
    assert las.depth_unit == "FT" and las.well["WELL"] == "TEST 1"
    assert las.depth[0] == 1000.0 and las.depth[-1] == 1149.5
    assert np.allclose(np.diff(las.depth), 0.5)


def test_shorthand_with_options_first(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    out = tmp_path / "out.las"
    code, _, err = cli(capsys, *model, "-o", out, scan, "--quiet")
    assert code == 0, err
    assert out.exists()


def test_quiet_prints_nothing(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    assert cli(capsys, scan, "-o", tmp_path / "o.las", *model, "-q") == (0, "", "")


def test_overlay_is_written(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    code, out, err = cli(capsys, scan, "-o", tmp_path / "o.las", *model, "--overlay",
                         tmp_path / "qc.png", "--json")
    assert code == 0, err
    assert json.loads(out)["overlay"] == str(tmp_path / "qc.png")
    with Image.open(tmp_path / "qc.png") as img:
        assert img.size[1] == ROWS


def test_deskew_can_be_turned_off(tmp_path, capsys, model, monkeypatch) -> None:
    import logdigit.convert

    calls = []
    real = logdigit.convert.straighten
    monkeypatch.setattr(logdigit.convert, "straighten",
                        lambda scan: calls.append(scan) or real(scan))
    scan = make_scan(tmp_path)
    code, out, err = cli(capsys, scan, "-o", tmp_path / "a.las", *model, "--json")
    assert code == 0, err
    assert json.loads(out)["skew_degrees"] == 0.0 and len(calls) == 1
    code, out, err = cli(capsys, scan, "-o", tmp_path / "b.las", *model, "--json", "--no-deskew")
    assert code == 0, err
    assert json.loads(out)["skew_degrees"] == 0.0 and len(calls) == 1


@pytest.mark.parametrize(("flag", "expected"), [((), None), (("--flip-average",), True),
                                              (("--no-flip-average",), False)])
def test_flip_average_overrides_the_models_setting(tmp_path, capsys, model, monkeypatch,
                                                   flag, expected) -> None:
    import logdigit.convert

    seen = []
    real = logdigit.convert.segment_array
    monkeypatch.setattr(logdigit.convert, "segment_array",
                        lambda pixels, **kw: seen.append(kw["config"].get("flip_average"))
                        or real(pixels, **kw))
    scan = make_scan(tmp_path)
    code, _, err = cli(capsys, scan, "-o", tmp_path / "a.las", *model, "-q", *flag)
    assert code == 0, err
    assert seen and all(v is expected for v in seen)


def test_reference_gate_in_one_json_object(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    ref = reference_las(tmp_path / "ref.las")
    out = tmp_path / "out.las"
    # random weights and a random reference: the gate fails -> exit 3, the LAS is kept
    code, stdout, err = cli(capsys, scan, "-o", out, *model, "--reference", ref, "--json")
    assert code == 3
    error_line(err, str(out), "acceptance gate failed for GR", str(ref))
    assert len(stdout.splitlines()) == 1
    summary = json.loads(stdout)
    assert summary["check"]["passed"] is False
    assert summary["check"]["curves"][0]["mnemonic"] == "GR"
    assert out.exists()
    # a gate everyone passes
    code, stdout, err = cli(capsys, scan, "-o", out, *model, "--reference", ref, "--json",
                            "--overwrite", "--min-r2", "-1e9", "--min-coverage", "0")
    assert code == 0, err
    assert json.loads(stdout)["check"]["passed"] is True


def test_reference_gate_prints_the_table(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    ref = reference_las(tmp_path / "ref.las")
    code, stdout, err = cli(capsys, scan, "-o", tmp_path / "o.las", *model, "--reference", ref)
    assert code == 3
    lines = stdout.splitlines()
    assert lines[0].startswith(str(tmp_path / "o.las"))
    assert lines[1].startswith("curve") and lines[3].startswith("GR")
    error_line(err, "acceptance gate failed")


def test_missing_reference_is_refused_before_work(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path)
    code, _, err = cli(capsys, scan, "-o", tmp_path / "o.las", *model, "--reference",
                       tmp_path / "nope.las")
    assert code == 2
    error_line(err, "nope.las: --reference file does not exist")
    nothing_written(tmp_path, "o.las")


def test_cheap_checks_come_before_loading_the_model(tmp_path, capsys, monkeypatch) -> None:
    def no_model(*args, **kwargs):
        raise AssertionError("model loaded")

    monkeypatch.setattr(logdigit.model, "load_model", no_model)
    scan = make_scan(tmp_path)
    (tmp_path / "o.las").write_text("old")
    code, _, err = cli(capsys, scan, "-o", tmp_path / "o.las")
    assert code == 1
    error_line(err, "already exists")
    code, _, err = cli(capsys, scan, "-o", tmp_path / "missing" / "o.las")
    assert code == 1
    error_line(err, "does not exist")
    code, _, err = cli(capsys, tmp_path / "typo.png", "-o", tmp_path / "new.las")
    assert code == 1
    error_line(err, "typo.png: does not exist")
    code, _, err = cli(capsys, scan, "-o", tmp_path / "new.las", "--page", "1")
    assert code == 1
    error_line(err, "page 1 requested, the file has 1 page")


def test_internal_error_is_one_line(tmp_path, capsys, model, monkeypatch) -> None:
    import logdigit.convert

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(logdigit.convert, "convert_scan", broken)
    scan = make_scan(tmp_path)
    code, _, err = cli(capsys, scan, "-o", tmp_path / "o.las", *model)
    assert code == 1
    error_line(err, "internal error: ZeroDivisionError: a bug", "--verbose")
    nothing_written(tmp_path, "o.las")
    # --verbose adds the details (a logged traceback) for a bug report
    try:
        main([str(scan), "-o", str(tmp_path / "o.las"), *model, "--verbose"])
    except SystemExit as exc:
        assert exc.code == 1
    err = capsys.readouterr().err
    assert err.rstrip().splitlines()[-1].startswith("logdigit: error: internal error")


def test_missing_layout(tmp_path, capsys, model) -> None:
    scan = make_scan(tmp_path, layout=None)
    code, _, err = cli(capsys, scan, "-o", tmp_path / "out.las", *model)
    assert code == 2
    error_line(err, str(scan), "no layout found", "write one")
    nothing_written(tmp_path, "out.las")


CONVERT_USAGE = [
    ("no-output", [], ["Missing option '-o' / '--output'"]),
    ("unknown-option", ["-o", "x.las", "--bogus"], ["No such option: --bogus"]),
    ("negative-page", ["-o", "x.las", "--page", "-1"], ["'--page'"]),
    ("page-not-a-number", ["-o", "x.las", "--page", "two"], ["'--page'"]),
    ("bad-device", ["-o", "x.las", "--device", "tpu"], ["--device tpu: expected auto, cpu"]),
    ("bad-min-r2", ["-o", "x.las", "--min-r2", "high"], ["'--min-r2'"]),
    ("negative-shift", ["-o", "x.las", "--max-shift", "-2"], ["'--max-shift'"]),
]


@pytest.mark.parametrize(("args", "needles"), [c[1:] for c in CONVERT_USAGE],
                         ids=[c[0] for c in CONVERT_USAGE])
def test_convert_usage_errors(tmp_path, capsys, args, needles) -> None:
    scan = make_scan(tmp_path)
    code, out, err = cli(capsys, "convert", scan, *args)
    assert code == 2
    assert out == ""
    error_line(err, *needles)
    nothing_written(tmp_path, "x.las")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is available here")
def test_cuda_without_a_gpu(tmp_path, capsys) -> None:
    scan = make_scan(tmp_path)
    code, _, err = cli(capsys, scan, "-o", tmp_path / "x.las", "--device", "cuda")
    assert code == 2
    error_line(err, "--device cuda: no CUDA device is available")


def test_no_arguments_shows_help(capsys) -> None:
    code, out, err = cli(capsys)
    assert code == 2
    assert "Usage: logdigit" in out and "convert" in out
    assert err == ""


def test_help_in_process(capsys) -> None:
    code, out, _ = cli(capsys, "-h")
    assert code == 0 and "Exit codes" in flat(out)
    code, out, _ = cli(capsys, "convert", "--help")
    text = flat(out)
    assert code == 0 and "Exit codes: 0 ok; 1 the scan could not be processed" in text, text
    assert "2 bad usage or invalid layout; 3 an acceptance gate failed" in text
    for command in ("convert", "check", "synth", "train"):
        code, out, _ = cli(capsys, command, "--help")
        assert code == 0 and f"Usage: logdigit {command}" in flat(out)
    code, out, _ = cli(capsys, "check", "--help")
    assert "Exit codes: 0 every curve passes; 3 a curve failed the gate" in flat(out)


def test_version(capsys) -> None:
    from logdigit import __version__

    assert cli(capsys, "--version") == (0, f"logdigit {__version__}\n", "")


def test_check_usage_errors(tmp_path, capsys) -> None:
    code, _, err = cli(capsys, "check")
    assert code == 2
    error_line(err, "Missing argument", "logdigit check --help")
    ref = reference_las(tmp_path / "ref.las")
    code, _, err = cli(capsys, "check", ref)
    assert code == 2
    error_line(err, "Missing argument")


# --------------------------------------------------------------------------- synth


def test_synth_writes_cases_and_refuses_to_overwrite(tmp_path, capsys) -> None:
    out = tmp_path / "cases"
    args = ["synth", "--out", out, "--n", "1", "--height", "256", "--width", "256"]
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    (folder,) = [Path(line) for line in stdout.splitlines()]
    assert {p.name for p in folder.iterdir()} == {"scan.tif", "scan.toml", "labels.png",
                                                    "truth.las"}
    before = (folder / "truth.las").read_bytes()
    code, _, err = cli(capsys, *args)
    assert code == 1
    error_line(err, "already exists", "--overwrite")
    code, _, err = cli(capsys, *args, "--overwrite")
    assert code == 0, err
    assert (folder / "truth.las").read_bytes() == before  # same seed, same case
    assert [p for p in folder.iterdir() if p.name.endswith(".part")] == []
    code, _, err = cli(capsys, "synth", "--out", tmp_path / "rough", "--n", "1", "--height",
                       "256", "--width", "256", "--rough-weight", "4")
    assert code == 0, err
    assert (tmp_path / "rough" / folder.name / "truth.las").is_file()


def test_synth_errors(tmp_path, capsys) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--out", tmp_path / "o", "--las-dir", tmp_path / "nope"], 2,
         ["nope: --las-dir is not a folder"]),
        (["--out", tmp_path / "o", "--las-dir", a_file], 2, ["--las-dir is not a folder"]),
        (["--out", tmp_path / "o", "--las-dir", empty], 2, ["no usable curves"]),
        (["--out", a_file, "--n", "1"], 2, ["file.txt: --out is a file, expected a folder"]),
        (["--out", tmp_path / "o", "--n", "0"], 2, ["'--n'"]),
        (["--out", tmp_path / "o", "--height", "10"], 2, ["'--height'"]),
        (["--out", tmp_path / "o", "--rough-weight", "0"], 2,
         ["--rough-weight 0.0: must be positive"]),
        (["--n", "1"], 2, ["Missing option '--out'"]),
    ]
    for args, code, needles in cases:
        got, _, err = cli(capsys, "synth", *args)
        assert got == code, (args, err)
        error_line(err, *needles)
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- train


def test_train_errors_never_start_training(tmp_path, capsys, monkeypatch) -> None:
    import logdigit.train

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(logdigit.train, "train", no_training)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    short = tmp_path / "short"
    short.mkdir()
    reference_las(short / "a.las", values=np.linspace(0, 1, 300))  # < 400 samples
    good = tmp_path / "good"
    good.mkdir()
    d = np.round(1000 + 0.5 * np.arange(2000), 6)
    write_las(good / "g.las", depth=d, depth_unit="FT",
              curves=[LasCurve("GR", "GAPI", 75 + 40 * np.sin(d / 13) + np.cos(d / 3))])
    cases = [
        (["--out", tmp_path / "m", "--las-dir", tmp_path / "nope"], 2,
         ["nope: not a folder of LAS files"]),
        (["--out", tmp_path / "m", "--las-dir", a_file], 2, ["not a folder of LAS files"]),
        (["--out", tmp_path / "m", "--las-dir", short], 2, ["short: no usable curves"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--val-las-dir", short], 2,
         ["short: no usable curves"]),
        (["--out", a_file, "--las-dir", good], 2, ["file.txt: --out is a file"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--steps", "0"], 2, ["'--steps'"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--crop", "8"], 2, ["'--crop'"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--ema", "1"], 2, ["'--ema'"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--pool", "0"], 2, ["'--pool'"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--tier-mix", "1,2"], 2,
         ["--tier-mix", "three non-negative shares"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--ink-weight", "-1"], 2,
         ["'--ink-weight'"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--rule-weight", "-1"], 2,
         ["'--rule-weight'"]),
        (["--out", tmp_path / "m", "--las-dir", good, "--rough-weight", "0"], 2,
         ["--rough-weight 0.0: must be positive"]),
        (["--out", tmp_path / "m"], 2, ["Missing option '--las-dir'"]),
    ]
    for args, code, needles in cases:
        got, _, err = cli(capsys, "train", *args, "--quiet")
        assert got == code, (args, err)
        error_line(err, *needles)
    assert not (tmp_path / "m").exists()


def test_train_defaults_are_the_shipped_runs_and_options_reach_the_run(tmp_path, capsys,
                                                                       monkeypatch) -> None:
    import logdigit.train
    from logdigit.model import DEFAULT_CONFIG
    from logdigit.train import TrainOptions, run_config

    seen = []
    monkeypatch.setattr(logdigit.train, "train",
                        lambda opts, *, out, resume: seen.append(opts) or out)
    good = tmp_path / "good"
    good.mkdir()
    d = np.round(1000 + 0.5 * np.arange(2000), 6)
    write_las(good / "g.las", depth=d, depth_unit="FT",
              curves=[LasCurve("GR", "GAPI", 75 + 40 * np.sin(d / 13) + np.cos(d / 3))])
    got, _, err = cli(capsys, "train", "--out", tmp_path / "m", "--las-dir", good, "--quiet")
    assert got == 0, err
    shipped = TrainOptions()
    for field in ("steps", "batch", "crop", "lr", "ema", "pool", "val_every", "ink_weight",
                  "tier_mix", "rule_weight", "rough_weight", "flat_share", "seen_labels"):
        assert getattr(seen[0], field) == getattr(shipped, field), field
    got, _, err = cli(capsys, "train", "--out", tmp_path / "m", "--las-dir", good, "--quiet",
                      "--ema", "0", "--pool", "3", "--steps", "7", "--tier-mix", "0.2,0.4,0.4",
                      "--ink-weight", "2", "--rule-weight", "4", "--rough-weight", "3",
                      "--flat-share", "0.25", "--seen-labels")
    assert got == 0, err
    assert (seen[1].ema, seen[1].pool, seen[1].steps) == (0.0, 3, 7)
    assert seen[0].flat_share == 0.0 and seen[1].flat_share == 0.25
    assert seen[0].seen_labels is False and seen[1].seen_labels is True
    assert seen[0].rough_weight == 1.0 and seen[1].rough_weight == 3.0
    assert (seen[1].tier_mix, seen[1].ink_weight, seen[1].rule_weight) == ("0.2,0.4,0.4",
                                                                          2.0, 4.0)
    assert seen[0].head == "full" and run_config(seen[0]) == DEFAULT_CONFIG
    got, _, err = cli(capsys, "train", "--out", tmp_path / "m", "--las-dir", good, "--quiet",
                      "--head", "subpixel")
    assert got == 0, err
    assert run_config(seen[2])["head"] == "subpixel"
    got, _, err = cli(capsys, "train", "--out", tmp_path / "m", "--las-dir", good, "--quiet",
                      "--head", "sideways")
    assert got == 2 and "--head sideways" in err and len(seen) == 3


class _Exited(Exception):
    """Stands in for ``os._exit`` (which would end the test run)."""


@pytest.mark.parametrize(("raised", "code", "printed"), [
    (None, 0, ""), (SystemExit(3), 3, ""), (SystemExit(None), 0, ""),
    (SystemExit("bad things"), 1, "bad things")])
def test_run_leaves_with_mains_exit_code_and_no_teardown(monkeypatch, capsys, raised, code,
                                                         printed):
    import logdigit.cli as cli

    def fake_main():
        print("result")
        if raised is not None:
            raise raised

    def fake_exit(c):
        raise _Exited(c)

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setattr("os._exit", fake_exit)
    monkeypatch.setattr(sys, "gettrace", lambda: None)  # as without coverage measuring
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    with pytest.raises(_Exited) as got:
        cli.run()
    assert got.value.args == (code,)
    out, err = capsys.readouterr()
    assert out == "result\n" and err.strip() == printed


def test_run_exits_the_ordinary_way_while_another_thread_lives(monkeypatch):
    import threading

    import logdigit.cli as cli

    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    monkeypatch.setattr(cli, "main", lambda: None)
    monkeypatch.setattr("os._exit", lambda c: pytest.fail("os._exit with a thread alive"))
    try:
        with pytest.raises(SystemExit) as got:
            cli.run()
        assert got.value.code == 0
    finally:
        stop.set()
        worker.join()


def test_run_exits_the_ordinary_way_under_a_profiler(monkeypatch):
    import logdigit.cli as cli

    monkeypatch.setattr(cli, "main", lambda: None)
    monkeypatch.setattr("os._exit", lambda c: pytest.fail("os._exit under a profiler"))
    monkeypatch.setattr(sys, "getprofile", lambda: object())  # as cProfile's is
    with pytest.raises(SystemExit) as got:
        cli.run()
    assert got.value.code == 0


def test_the_installed_command_uses_the_quick_exit():
    import tomllib

    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["logdigit"] == "logdigit.cli:run"


def test_threads_option_sets_the_workers_and_keeps_the_curves(tmp_path, capsys, model,
                                                              monkeypatch) -> None:
    import logdigit.convert
    import logdigit.segment

    before = torch.get_num_threads()
    seen = []
    real = logdigit.convert.segment_array
    monkeypatch.setattr(logdigit.convert, "segment_array", lambda pixels, **kw: seen.append(
        logdigit.segment.tile_workers("cpu")) or real(pixels, **kw))
    scan = make_scan(tmp_path)
    try:
        torch.set_num_threads(2)
        code, _, err = cli(capsys, scan, "-o", tmp_path / "two.las", *model, "-q",
                           "--device", "cpu")
        assert code == 0, err
        assert seen and set(seen) == {2}
        seen.clear()
        code, _, err = cli(capsys, scan, "-o", tmp_path / "one.las", *model, "-q",
                           "--device", "cpu", "--threads", "1")
        assert code == 0, err
        assert seen and set(seen) == {1}  # one tile at a time, one track at a time
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    one, two = read_las(tmp_path / "one.las"), read_las(tmp_path / "two.las")
    for name, curve in two.curves.items():
        np.testing.assert_array_equal(one.curves[name].values, curve.values)
    code, _, err = cli(capsys, scan, "-o", tmp_path / "zero.las", *model, "--threads", "0")
    assert code == 2 and "--threads" in err
    assert not (tmp_path / "zero.las").exists()
