"""``logdigit eval``: finding cases, scoring them, aggregating and reporting."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from logdigit.check import CurveCheck
from logdigit.cli import main
from logdigit.errors import LogdigitError
from logdigit.evaluate import (
    INK,
    CaseResult,
    ClassCounts,
    EvalError,
    aggregate,
    case_name,
    case_tier,
    evaluate_cases,
    find_cases,
    format_table,
    overlay_name,
    predicted_classes,
    report,
    to_markdown,
)
from logdigit.metrics import mask_scores
from logdigit.model import DEFAULT_CONFIG
from logdigit.scanio import read_scan
from logdigit.segment import segment_array

from .conftest import InkModel, synth_case_folder

INK_CONFIG = dict(DEFAULT_CONFIG, tile=256, overlap=32)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return synth_case_folder(tmp_path_factory.mktemp("cases"), n=3, seed=1)


@pytest.fixture(scope="module")
def ink_results(cases):
    folders = find_cases(cases)
    return evaluate_cases(folders, model=InkModel(), config=INK_CONFIG, root=cases)


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


# --------------------------------------------------------------------------- finding


def test_find_cases_recursive_and_tiers(cases, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(cases / "clean-0000", root / "a" / "clean-0000")
    shutil.copytree(cases / "hard-0002", root / "hard-0002")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a case")
    shutil.copytree(cases / "scanned-0001", root / ".hidden" / "scanned-0001")
    # subfolders of a case are not searched
    shutil.copytree(cases / "clean-0000", root / "hard-0002" / "extra" / "clean-0000")
    found = find_cases(root)
    assert [p.relative_to(root).as_posix() for p in found] == ["a/clean-0000", "hard-0002"]
    assert find_cases(cases) == [cases / n for n in ("clean-0000", "hard-0002", "scanned-0001")]
    assert [case_tier(p) for p in found] == ["clean", "hard"]
    assert case_tier(root / "well-12") == case_tier(root / "clean") == "unknown"
    assert overlay_name("a/clean-0000") == "a__clean-0000.png"
    assert case_name(root / "a" / "clean-0000", root) == "a/clean-0000"
    assert case_name(root / "hard-0002", root / "hard-0002") == "hard-0002"
    assert find_cases(root / "hard-0002") == [root / "hard-0002"]
    with pytest.raises(EvalError, match="no such folder"):
        find_cases(tmp_path / "missing")
    assert find_cases(root / "notes") == []


# --------------------------------------------------------------------------- masks


def test_predicted_class_is_the_argmax_ties_to_the_lower_class():
    p1 = np.array([[200, 100, 100, 85, 60, 0]], np.uint8)
    p2 = np.array([[50, 60, 100, 85, 130, 0]], np.uint8)
    # background = 255 - p1 - p2: 5, 95, 55, 85, 65, 255
    assert predicted_classes(np.stack([p1, p2])).tolist() == [[1, 1, 1, 0, 2, 0]]


def test_class_counts_agree_with_mask_scores():
    rng = np.random.default_rng(3)
    pred, true = rng.integers(0, 3, (2, 40, 30))
    for k in (1, 2):
        assert ClassCounts.of(pred, true, cls_id=k).scores() == mask_scores(pred, true, cls=k)
    empty = np.zeros((4, 4), np.uint8)
    assert ClassCounts.of(empty, empty, cls_id=2).scores() == mask_scores(empty, empty, cls=2)


# --------------------------------------------------------------------------- one run


def test_ink_model_results_structure_and_ranges(cases, ink_results):
    assert [r.name for r in ink_results] == ["clean-0000", "hard-0002", "scanned-0001"]
    assert [r.tier for r in ink_results] == ["clean", "hard", "scanned"]
    for r in ink_results:
        assert r.ok and r.error is None
        assert r.shape == (300, 400)
        assert len(r.curves) == 4
        for c in r.curves:
            assert c.mnemonic == c.reference
            assert 0.0 <= c.coverage <= 1.0
            assert math.isnan(c.r2) or c.r2 <= 1.0
            assert math.isnan(c.rmse) or c.rmse >= 0.0
        assert r.seconds > 0 and r.mpix == pytest.approx(0.12)
        assert r.mpix_per_s == pytest.approx(r.mpix / r.seconds)
        assert set(r.stage_seconds) >= {"read", "segment", "trace", "resample"}
        d = json.loads(json.dumps(r.as_dict()))  # JSON-ready
        assert d["status"] == "ok" and len(d["curves"]) == 4


def test_mask_scores_come_from_the_labels(cases, ink_results):
    model = InkModel()
    for r in ink_results:
        labels = np.asarray(Image.open(cases / r.name / "labels.png"))
        scan = read_scan(cases / r.name / "scan.tif")
        pred = predicted_classes(segment_array(scan.pixels, model=model, config=INK_CONFIG))
        for k in (1, 2):
            counts = r.mask[k]
            assert counts.tp + counts.fn == np.count_nonzero(labels == k) > 0
            assert counts.scores() == mask_scores(pred, labels, cls=k)
        # the stand-in model never predicts class 2
        assert r.mask[2].tp == r.mask[2].fp == 0 and r.mask[2].scores().recall == 0.0
        assert 0.0 < r.mask[1].scores().iou < 1.0
        # ink: any curve class against the background, the line style aside; the dashed
        # pixels it calls solid count as found here
        ink = r.mask[INK]
        assert ink.tp + ink.fn == np.count_nonzero(labels > 0)
        assert ink.tp == np.count_nonzero((pred > 0) & (labels > 0)) > r.mask[1].tp
        assert ink.scores().precision > r.mask[1].scores().precision
    summary = aggregate(ink_results)
    assert set(summary["overall"]["mask"]["pooled"]) == {"solid", "dashed", "ink"}
    assert "| **overall** | ink |" in to_markdown(ink_results, summary)


def test_broken_cases_are_reported_and_the_run_goes_on(cases, tmp_path):
    root = tmp_path / "set"
    shutil.copytree(cases, root)
    (root / "clean-0000" / "scan.tif").unlink()
    shutil.copytree(root / "hard-0002", root / "hard-0099")
    (root / "hard-0099" / "scan.tif").write_bytes(b"this is not an image")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "scanned-0001" / "labels.png")
    results = evaluate_cases(find_cases(root), model=InkModel(), config=INK_CONFIG, root=root)
    by = {r.name: r for r in results}
    assert not by["clean-0000"].ok and "missing scan.tif" in by["clean-0000"].error
    assert not by["hard-0099"].ok and "scan.tif" in by["hard-0099"].error
    assert by["hard-0002"].ok and by["hard-0002"].mask is not None
    s = by["scanned-0001"]
    assert s.ok and s.mask is None and any("label mask" in w for w in s.warnings)
    assert len(s.curves) == 4

    summary = aggregate(results)
    ov = summary["overall"]
    assert (ov["cases"], ov["evaluated"], ov["failed"], ov["curves"]) == (4, 2, 2, 8)
    assert ov["mask"]["cases"] == 1
    assert summary["tiers"]["hard"]["failed"] == 1
    assert ov["seconds"] == pytest.approx(sum(r.seconds for r in results if r.ok), abs=1e-3)
    table = format_table(results, summary)
    assert "FAILED" in table and "missing scan.tif" in table
    md = to_markdown(results, summary)
    assert "2 of 4 cases evaluated (2 failed)" in md and "failed: " in md


# --------------------------------------------------------------------------- aggregates


def _curve(name, r2, cov, passed=False):
    return CurveCheck(mnemonic=name, reference=name, unit="", r2=r2, rmse=1.0, mae=1.0,
                      coverage=cov, shift=0.0, points=10, passed=passed)


def test_aggregate_pools_counts_and_groups_by_tier(tmp_path):
    a = CaseResult("hard-1", tmp_path, "hard", curves=[_curve("A", 0.99, 1.0, True),
                                                       _curve("B", 0.5, 0.8)],
                   mask={1: ClassCounts(90, 10, 0), 2: ClassCounts(0, 0, 0)},
                   shape=(1000, 1000), seconds=2.0)
    b = CaseResult("clean-1", tmp_path, "clean", curves=[_curve("A", 0.97, 0.9),
                                                         _curve("B", math.nan, 0.0)],
                   mask={1: ClassCounts(1, 0, 9), 2: ClassCounts(5, 5, 0)},
                   shape=(1000, 3000), seconds=1.0)
    c = CaseResult("odd", tmp_path, "unknown", error="boom", shape=(10, 10), seconds=5.0)
    s = aggregate([a, b, c], min_r2=0.95)
    assert list(s["tiers"]) == ["clean", "hard", "unknown"]
    ov = s["overall"]
    assert (ov["cases"], ov["evaluated"], ov["failed"], ov["curves"]) == (3, 2, 1, 4)
    assert ov["r2_median"] == pytest.approx(0.97)  # undefined R² left out of the median
    assert ov["r2_ok"] == 2 and ov["r2_ok_share"] == 0.5  # ... but counted as below
    assert ov["passed"] == 1
    assert ov["coverage_median"] == pytest.approx(0.85)
    assert ov["seconds"] == 3.0 and ov["mpix"] == 4.0
    assert ov["mpix_per_s"] == pytest.approx(4 / 3, abs=1e-3)
    solid = ov["mask"]["pooled"]["solid"]
    assert (solid["tp"], solid["fp"], solid["fn"]) == (91, 10, 9)
    assert solid["iou"] == pytest.approx(91 / 110)
    assert ov["mask"]["mean_over_cases"]["solid"]["iou"] == pytest.approx((0.9 + 0.1) / 2)
    assert ov["mask"]["pooled"]["dashed"]["precision"] == pytest.approx(0.5)
    assert s["tiers"]["unknown"]["evaluated"] == 0 and s["tiers"]["unknown"]["mask"] is None
    assert s["tiers"]["unknown"]["r2_median"] is None
    d = report([a, b, c], s, meta={"model": "m"})
    assert json.loads(json.dumps(d))["cases"][2]["status"] == "failed"


def test_aggregate_per_set_when_cases_lie_in_sub_folders(tmp_path):
    """Cases in s1/ and s2/ (two seeds) are also summarised per folder; cases in one
    folder only are not."""
    from logdigit.evaluate import case_set

    assert case_set("s2/hard-0005") == "s2" and case_set("hard-0005") == ""
    assert case_set("a/b/clean-1") == "a/b"

    def case(name, r2s):
        return CaseResult(name, tmp_path, name.rpartition("/")[2].split("-")[0],
                          curves=[_curve(f"C{i}", r2, 1.0) for i, r2 in enumerate(r2s)],
                          shape=(100, 100), seconds=1.0)

    results = [case("s1/clean-0000", [0.99, 0.99]), case("s2/clean-0000", [0.99, 0.5]),
               case("s2/hard-0001", [0.2, 0.96, 0.97])]
    s = aggregate(results, min_r2=0.95)
    assert list(s["sets"]) == ["s1", "s2"]
    assert (s["sets"]["s1"]["r2_ok"], s["sets"]["s1"]["curves"]) == (2, 2)
    assert (s["sets"]["s2"]["r2_ok"], s["sets"]["s2"]["curves"]) == (3, 5)
    assert s["overall"]["r2_ok"] == 5 and s["tiers"]["clean"]["curves"] == 4
    table = format_table(results, s)
    assert any(line.startswith("set s2") and " 3/5 " in line for line in table.splitlines())
    md = to_markdown(results, s)
    assert "| tier / set | cases |" in md and "| set `s2` | 2/2 | 5 |" in md
    one = aggregate([case("s1/clean-0000", [0.99]), case("s1/hard-0001", [0.5])])
    assert "sets" not in one
    assert "| tier | cases |" in to_markdown([], one)
    mixed = aggregate([case("clean-0000", [0.99]), case("s1/hard-0001", [0.5])])
    assert list(mixed["sets"]) == ["", "s1"]
    assert any(line.startswith("set .") for line in format_table([], mixed).splitlines())


def test_table_and_markdown_rows(ink_results):
    summary = aggregate(ink_results)
    table = format_table(ink_results, summary)
    lines = table.splitlines()
    for name in ("clean-0000", "hard-0002", "scanned-0001", "tier clean", "tier scanned",
                 "tier hard", "overall"):
        assert sum(line.startswith(name) for line in lines) >= 1, name
    assert "mask scores" in table
    md = to_markdown(ink_results, summary, meta={"model": "ink", "cases_dir": "x"})
    assert "| **overall** | 3/3 | 12 |" in md
    assert "| clean | solid | 1 |" in md and "| clean-0000 | clean |" in md
    assert "| clean-0000 | C1S |" in md


# --------------------------------------------------------------------------- CLI


def test_cli_json_markdown_overlays(cases, tiny_model_dir, tmp_path, capsys):
    md, ov = tmp_path / "report.md", tmp_path / "overlays"
    code, out, err = run_cli(["eval", str(cases), "--model", str(tiny_model_dir), "--device",
                              "cpu", "--json", "--markdown", str(md), "--overlays", str(ov)],
                             capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["model"] == str(tiny_model_dir) and d["device"] == "cpu"
    assert [c["case"] for c in d["cases"]] == ["clean-0000", "hard-0002", "scanned-0001"]
    assert d["summary"]["overall"]["cases"] == 3
    assert set(d["summary"]["tiers"]) == {"clean", "scanned", "hard"}
    for c in d["cases"]:
        if c["status"] == "ok":
            assert set(c["mask"]) == {"solid", "dashed", "ink"}
            assert (ov / f"{c['case']}.png").is_file()
    text = md.read_text()
    assert text.startswith("## Evaluation") and "| **overall** |" in text
    assert "model `tiny`" in text

    # outputs are checked before any work
    code, _, err = run_cli(["eval", str(cases), "--model", str(tiny_model_dir), "--markdown",
                            str(md)], capsys)
    assert code == 1 and "already exists" in err and len(err.strip().splitlines()) == 1


def test_cli_no_cases_is_exit_1(cases, tmp_path, capsys):
    code, out, err = run_cli(["eval", str(tmp_path)], capsys)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "no case folders" in err
    code, _, err = run_cli(["eval", str(tmp_path / "missing")], capsys)
    assert code == 1 and "no such folder" in err
    code, _, err = run_cli(["eval", str(cases), "--device", "tpu"], capsys)
    assert code == 2 and "--device tpu" in err
    code, _, _ = run_cli(["eval"], capsys)
    assert code == 2


def test_cli_all_cases_failed_is_exit_1(cases, tiny_model_dir, tmp_path, capsys):
    case = tmp_path / "set" / "clean-0000"
    shutil.copytree(cases / "clean-0000", case)
    (case / "scan.tif").unlink()
    code, out, err = run_cli(["eval", str(tmp_path / "set"), "--model", str(tiny_model_dir),
                              "--quiet"], capsys)
    assert code == 1 and out == ""
    assert "none of the 1 cases could be evaluated" in err and "missing scan.tif" in err


def test_library_error_type():
    assert issubclass(EvalError, LogdigitError) and EvalError.exit_code == 1
