"""tools/dev_visibility.py: how much of each curve the scan still shows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import load_tool

dvis = load_tool("dev_visibility.py")

TRACKS = [{"left_px": 0, "right_px": 40,
           "curves": [{"mnemonic": "C1S", "style": "solid"},
                      {"mnemonic": "C1D", "style": "dashed"}]}]


def _page():
    scan = np.full((50, 41), 250, np.uint8)
    labels = np.zeros((50, 41), np.uint8)
    labels[:, 10:13] = 1  # the solid curve: three columns wide, the middle one inked
    scan[:, 11] = 0
    labels[:, 25:27] = 2  # the dashed curve: labelled, faded to nearly paper
    scan[:, 25:27] = 230
    return scan, labels


def test_visibility_is_the_inked_share_of_each_curves_labels():
    scan, labels = _page()
    vis = dvis.curve_visibility(scan, labels, TRACKS)
    assert vis["C1S"] == pytest.approx(1 / 3)
    assert vis["C1D"] == 0.0  # 20 grey levels below paper is no ink
    assert dvis.curve_visibility(scan, labels, TRACKS, dark=10)["C1D"] == 1.0


def test_a_curve_without_labels_has_no_visibility_and_shapes_must_agree():
    scan, labels = _page()
    labels[labels == 2] = 0
    assert dvis.curve_visibility(scan, labels, TRACKS)["C1D"] is None
    with pytest.raises(ValueError, match="differ"):
        dvis.curve_visibility(scan[:10], labels, TRACKS)


def test_bands_count_passes_and_a_missing_r2_fails():
    vis = {"a/C1S": 0.05, "a/C1D": 0.6, "b/C1S": 0.6, "b/C1D": 0.95, "c/C1S": None}
    scores = {"a/C1S": 0.99, "a/C1D": 0.97, "b/C1S": None, "b/C1D": 0.5, "c/C1S": 1.0}
    bands = {(lo, hi): (ok, n) for lo, hi, ok, n in dvis.by_band(vis, scores)}
    assert bands[(0.0, 0.1)] == (1, 1)
    assert bands[(0.5, 0.7)] == (1, 2)
    assert bands[(0.7, 1.0)] == (0, 1)  # the top band holds 1.0 too
    assert sum(n for _, n in bands.values()) == 4


def test_main_reads_case_folders_and_writes_json(tmp_path, capsys):
    from PIL import Image

    scan, labels = _page()
    case = tmp_path / "cases" / "clean-0000"
    case.mkdir(parents=True)
    Image.fromarray(scan).save(case / "scan.tif")
    Image.fromarray(labels).save(case / "labels.png")
    (case / "scan.toml").write_text(
        '[[tracks]]\nleft_px = 0\nright_px = 40\n'
        '  [[tracks.curves]]\n  mnemonic = "C1S"\n  style = "solid"\n'
        '  [[tracks.curves]]\n  mnemonic = "C1D"\n  style = "dashed"\n')
    scores = tmp_path / "s.json"
    scores.write_text(json.dumps({"set/clean-0000/C1S": 0.99, "set/clean-0000/C1D": 0.2}))
    out = tmp_path / "vis.json"
    assert dvis.main([str(tmp_path / "cases"), "--prefix", "set/", "--scores", str(scores),
                      "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 curves in 1 cases; 1 under 0.1 visible: set/clean-0000/C1D" in text
    assert "visibility 0.0-0.1: 0/1" in text
    assert json.loads(out.read_text())["set/clean-0000/C1S"] == pytest.approx(1 / 3)


def test_main_refuses_a_folder_without_cases(tmp_path, capsys):
    assert dvis.main([str(tmp_path)]) == 1
    assert "no case folder with labels.png" in capsys.readouterr().err
