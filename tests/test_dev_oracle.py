"""tools/dev_oracle.py: label masks in place of the network, and the tool's refusals."""

from __future__ import annotations

import numpy as np
import pytest

from logdigit.model import DEFAULT_CONFIG

from .conftest import ConstantModel, load_tool, synth_case_folder

do = load_tool("dev_oracle.py")
CONFIG = dict(DEFAULT_CONFIG, tile=256, overlap=32)


def test_label_probs_cuts_the_window_and_pools_at_the_working_resolution():
    labels = np.zeros((8, 10), np.uint8)
    labels[2, 3] = 1
    labels[5, 6] = 2
    labels[7, 9] = 1  # outside the window's columns below
    p = do.label_probs(labels, cols=(2, 8), rows=(1, 7), k=1, shape=(6, 6))
    assert p.shape == (2, 6, 6) and p.dtype == np.uint8
    assert p[0, 1, 1] == 255 and p[0].sum() == 255  # solid at (2, 3)
    assert p[1, 4, 4] == 255 and p[1].sum() == 255  # dashed at (5, 6)
    half = do.label_probs(labels, cols=(2, 10), rows=(0, 8), k=2, shape=(4, 4))
    assert half[0, 1, 0] == 255 and half[1, 2, 2] == 255 and half[0, 3, 3] == 255
    assert half.sum() == 3 * 255
    # a window reaching past the image is padded with background
    edge = do.label_probs(labels, cols=(8, 12), rows=(6, 10), k=1, shape=(4, 4))
    assert edge[0, 1, 1] == 255 and edge.sum() == 255


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return synth_case_folder(tmp_path_factory.mktemp("oracle"), n=2, seed=3)


def test_label_masks_replace_a_blind_network_and_restore(cases):
    import logdigit.convert as conv
    from logdigit.evaluate import evaluate_case

    folder = sorted(p for p in cases.iterdir() if p.is_dir())[0]
    blind = ConstantModel((5.0, 0.0, 0.0))  # sees no curve anywhere
    seen = evaluate_case(folder, model=blind, config=CONFIG, masks=False)
    assert not any(c.r2 >= 0.9 for c in seen.curves)
    before = (conv.segment_array, conv.trace_track)
    got = do.score_case(folder, model=blind, config=CONFIG)
    assert (conv.segment_array, conv.trace_track) == before
    assert got and sum(v is not None and v >= 0.9 for v in got.values()) >= len(got) / 2


def test_main_scores_a_case_folder(cases, tmp_path, capsys, monkeypatch):
    import logdigit.model

    monkeypatch.setattr(logdigit.model, "load_model",
                        lambda *_a, **_k: (ConstantModel(), CONFIG))
    assert do.main(["--cases", str(cases), "--name", "o", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "o (label masks):" in out and "curves at R² >= 0.95" in out
    import json

    scores = json.loads((tmp_path / "scores" / "o.json").read_text())
    assert scores and all(k.count("/") == 1 for k in scores)


def test_missing_folders_and_scores_are_refused(tmp_path, capsys):
    assert do.main(["--name", "o", "--out", str(tmp_path)]) == 1
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "c").mkdir()
    assert do.main(["--cases", str(tmp_path / "c"), "--name", "o", "--out", str(tmp_path),
                    "--against", "nope"]) == 1
    assert "no such score" in capsys.readouterr().err
    assert not (tmp_path / "scores").exists()


def test_visible_labels_keep_only_what_the_scan_shows():
    scan = np.full((30, 30), 255, np.uint8)
    labels = np.zeros((30, 30), np.uint8)
    labels[:, 5:8] = 1
    scan[:10, 6] = 0  # inked in the top third only
    got = do.visible_labels(labels, scan)
    assert (got[:10, 5:8] == 1).all() and (got[14:] == 0).all()
    scan[:, 20] = 200  # 55 grey levels below the paper: under the ink level of 60
    labels[:, 20] = 2
    assert (do.visible_labels(labels, scan)[:, 20] == 0).all()


def test_main_with_visible_scores_the_seen_labels(cases, tmp_path, capsys, monkeypatch):
    import logdigit.model

    monkeypatch.setattr(logdigit.model, "load_model",
                        lambda *_a, **_k: (ConstantModel(), CONFIG))
    calls = []
    original = do.visible_labels
    monkeypatch.setattr(do, "visible_labels",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    assert do.main(["--cases", str(cases), "--name", "v", "--out", str(tmp_path),
                    "--visible"]) == 0
    assert "v (label masks where the scan shows ink):" in capsys.readouterr().out
    assert len(calls) == len([p for p in cases.iterdir() if (p / "labels.png").is_file()])
