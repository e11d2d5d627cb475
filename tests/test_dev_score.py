"""tools/dev_score.py: the summary and comparison of development-case scores."""

from __future__ import annotations

import json

import pytest

from .conftest import load_tool

ds = load_tool("dev_score.py")


def test_curve_scores_keys_each_curve_by_set_case_and_mnemonic():
    report = {"cases": [{"case": "clean-0000", "curves": [{"mnemonic": "C1S", "r2": 0.99},
                                                          {"mnemonic": "C1D", "r2": None}]},
                        {"case": "hard-0001", "curves": None}]}
    assert ds.curve_scores(report, "dev") == {"dev/clean-0000/C1S": 0.99,
                                              "dev/clean-0000/C1D": None}


def test_curve_coverage_and_passing_need_both_r2_and_coverage():
    report = {"cases": [{"case": "c", "curves": [
        {"mnemonic": "A", "r2": 0.99, "coverage": 1.0},
        {"mnemonic": "B", "r2": 0.99, "coverage": 0.6},   # good where it has values
        {"mnemonic": "C", "r2": 0.90, "coverage": 1.0},
        {"mnemonic": "D", "r2": None, "coverage": None}]}]}
    scores, cover = ds.curve_scores(report, "s"), ds.curve_coverage(report, "s")
    assert cover == {"s/c/A": 1.0, "s/c/B": 0.6, "s/c/C": 1.0, "s/c/D": None}
    assert ds.passing(scores, cover) == 1
    assert ds.passing(scores, cover, min_coverage=0.5) == 2
    assert ds.passing(scores, {}) == 0  # no coverage known: not passing


def test_a_scored_run_writes_r2_and_coverage_and_counts_both(tmp_path, monkeypatch, capsys):
    for name, _, _ in ds.SETS:
        (tmp_path / name).mkdir()
    report = {"cases": [{"case": "c", "curves": [
        {"mnemonic": "A", "r2": 0.99, "coverage": 1.0},
        {"mnemonic": "B", "r2": 0.99, "coverage": 0.5}]}]}

    class Done:
        returncode, stdout, stderr = 0, json.dumps(report), ""

    monkeypatch.setattr(ds, "_run", lambda cmd: Done())
    assert ds.main(["--name", "x", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"x: {2 * len(ds.SETS)}/{2 * len(ds.SETS)} curves at R² >= 0.95" in out
    assert f"{len(ds.SETS)} curves also at coverage >= 0.9" in out
    cover = json.loads((tmp_path / "scores" / "x.coverage.json").read_text())
    assert cover[f"{ds.SETS[0][0]}/c/B"] == 0.5


def test_summarise_counts_clips_and_takes_the_median():
    s = ds.summarise({"a": 0.999, "b": 0.96, "c": 0.5, "d": -3.0, "e": None})
    assert s["curves"] == 5
    assert s["r2_ge_095"] == 2 and s["r2_ge_099"] == 1
    assert s["mean_clipped"] == pytest.approx((0.999 + 0.96 + 0.5) / 5)
    assert s["median"] == pytest.approx(0.5)
    assert ds.summarise({"a": 0.2, "b": 0.4})["median"] == pytest.approx(0.3)
    assert ds.summarise({})["curves"] == 0


def test_moved_lists_changes_beyond_the_threshold_largest_fall_first():
    old = {"x": 0.90, "y": 0.99, "z": 0.50, "gone": 1.0}
    new = {"x": 0.95, "y": 0.991, "z": 0.10, "new": 1.0}
    assert ds.moved(new, old) == [("z", 0.5, 0.1), ("x", 0.9, 0.95)]
    assert ds.moved(new, old, threshold=0.3) == [("z", 0.5, 0.1)]


def test_an_unknown_baseline_is_refused_before_anything_runs(tmp_path, capsys):
    assert ds.main(["--name", "x", "--against", "nosuch", "--out", str(tmp_path)]) == 1
    assert "nosuch.json: no such score" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_write_json_makes_folders_and_sorts_keys(tmp_path):
    path = tmp_path / "scores" / "x.json"
    ds.write_json(path, {"b": 1, "a": None})
    assert path.read_text() == '{\n "a": null,\n "b": 1\n}'
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]  # no temporary left


def test_summary_line_reports_the_counts_under_a_name():
    line = ds.summary_line("x", {"a": 0.999, "b": 0.96, "c": 0.5})
    assert line == ("x: 2/3 curves at R² >= 0.95, 1 at >= 0.99, mean clipped R² 0.8197, "
                    "median 0.9600")


def test_confirm_sets_are_new_cases_from_the_training_curves(tmp_path, monkeypatch, capsys):
    names = [n for n, _, _ in ds.SETS] + [n for n, _, _ in ds.CONFIRM_SETS]
    seeds = [s for _, _, s in ds.SETS] + [s for _, _, s in ds.CONFIRM_SETS]
    assert len(set(names)) == len(names) and len(set(seeds)) == len(seeds)
    seen = []

    class Failed:
        returncode, stdout, stderr = 1, "", "boom"

    def fake_run(cmd):
        seen.append(cmd)
        return Failed()

    monkeypatch.setattr(ds, "_run", fake_run)
    assert ds.main(["--confirm", "--name", "x", "--out", str(tmp_path),
                    "--shared", "shared"]) == 1
    cmd = seen[0]
    assert "synth" in cmd and cmd[cmd.index("--seed") + 1] == "17"
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "confirm17")
    assert cmd[cmd.index("--las-dir") + 1].endswith("train")
    assert "rendering" in capsys.readouterr().err
    seen.clear()
    assert ds.main(["--name", "x", "--out", str(tmp_path), "--shared", "shared"]) == 1
    assert seen[0][seen[0].index("--seed") + 1] == "7"  # the dev sets by default


def test_rough_sets_render_with_rough_curves_favoured(tmp_path, monkeypatch):
    seen = []

    class Failed:
        returncode, stdout, stderr = 1, "", "boom"

    monkeypatch.setattr(ds, "_run", lambda cmd: seen.append(cmd) or Failed())
    assert ds.main(["--rough", "--name", "x", "--out", str(tmp_path)]) == 1
    cmd = seen[0]
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "rough29")
    assert cmd[cmd.index("--rough-weight") + 1] == str(ds.ROUGH_WEIGHT)
    with pytest.raises(SystemExit):  # one kind of set at a time
        ds.main(["--rough", "--confirm", "--name", "x", "--out", str(tmp_path)])


def test_page_rough_sets_render_in_process_with_the_page_step(tmp_path, monkeypatch):
    rendered, seen = [], []

    class Failed:
        returncode, stdout, stderr = 1, "", "boom"

    monkeypatch.setattr(ds, "render_page_rough",
                        lambda las, folder, *, n, seed: rendered.append((las, folder, n, seed)))
    monkeypatch.setattr(ds, "_run", lambda cmd: seen.append(cmd) or Failed())
    assert ds.main(["--page-rough", "--name", "x", "--out", str(tmp_path),
                    "--shared", "shared"]) == 1
    name, n, seed = ds.PAGE_ROUGH_SETS[0]
    assert rendered == [(ds.Path("shared") / "las" / "train", tmp_path / name, n, seed)]
    assert "synth" not in seen[0] and "eval" in seen[0]  # rendered here, then scored
    assert seed not in {s for _, _, s in ds.SETS + ds.CONFIRM_SETS + ds.ROUGH_SETS}
