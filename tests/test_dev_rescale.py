"""tools/dev_rescale.py: a case converted as rendered and resized, scored on its truth."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import load_tool

dr = load_tool("dev_rescale.py")


@pytest.mark.slow
def test_a_case_and_its_resized_copy_are_scored_on_the_same_truth(tmp_path, capsys):
    from logdigit.render import random_walk_bank
    from logdigit.synth import synth_cases

    bank = random_walk_bank(np.random.default_rng(3), n=8, length=20000)
    (case,) = synth_cases(bank, tmp_path / "cases", n=1, seed=5, height=1200, width=700,
                          tiers=("clean",))
    row = dr.rescale_case(case, scale=2)
    assert row["scale"] == 2 and row["factors"][0] >= 1 and row["factors"][1] >= 1
    assert set(row["original"]) == set(row["scaled"]) and len(row["original"]) >= 2
    assert all(np.isfinite(v) for v in [*row["original"].values(), *row["scaled"].values()])
    # scored against the right truth at either size (a misplaced layout scores near 0)
    assert np.median(list(row["original"].values())) > 0.9
    assert np.median(list(row["scaled"].values())) > 0.9
    dr.main([str(case), "--scale", "2"])
    out = capsys.readouterr().out
    assert f"{case}: factor" in out and "at R² >= 0.95 as rendered" in out


def test_a_scale_below_two_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        dr.main([str(tmp_path), "--scale", "1"])
    assert exc.value.code == 2 and "--scale must be at least 2" in capsys.readouterr().err
