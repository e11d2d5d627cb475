"""tools/drawn_oracle.py: curves read from the renderer's own drawn x."""

from __future__ import annotations

import numpy as np
import pytest

from logdigit.render import random_walk_bank

from .conftest import load_tool, synth_case_folder

dro = load_tool("drawn_oracle.py")


def bank():
    return random_walk_bank(np.random.default_rng(0), n=4, length=4000)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return synth_case_folder(tmp_path_factory.mktemp("drawn"), n=2, seed=5)


def test_reading_the_drawn_x_recovers_the_truth(cases):
    scores = dro.score_cases(cases, bank(), seed=5)
    assert len(scores) >= 4 and all(set(s) == set(dro.KINDS) for s in scores.values())
    for s in scores.values():
        assert s["linear"] > 0.99  # rows drawn through the truth, read back exactly
        assert s["drawn"] > 0.9 and s["visible"] <= s["drawn"] + 0.05


def test_a_case_from_another_seed_is_refused(cases):
    with pytest.raises(SystemExit, match="not the page"):
        dro.score_cases(cases, bank(), seed=6)


def test_visible_rows():
    labels = np.zeros((3, 8), np.uint8)
    labels[0, 4] = 2
    labels[1, 2] = 2
    labels[2, 4] = 1
    seen = dro.visible_rows(labels, np.array([3.6, 4.0, 4.0]), 2)
    assert seen.tolist() == [True, False, False]


def test_main_renders_with_synths_rough_weight(cases, monkeypatch, tmp_path, capsys):
    """``--rough-weight`` / ``--rough-step`` pick curves as ``synth`` did: weighted picks
    draw other pages than the plain bank, so cases rendered without them are refused."""
    monkeypatch.setattr(dro, "random_walk_bank", lambda rng: bank())
    out = tmp_path / "s.json"
    dro.main(["--cases", str(cases), "--seed", "5", "--json", str(out)])
    assert out.is_file() and "linear:" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not the page"):
        dro.main(["--cases", str(cases), "--seed", "5", "--rough-weight", "8",
                  "--rough-step", "0.5"])
