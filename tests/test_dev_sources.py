"""tools/dev_sources.py: the bank curve each rendered curve came from."""

from __future__ import annotations

import numpy as np

from logdigit.render import BankCurve, CurveBank, render_page

from .conftest import load_tool

dsrc = load_tool("dev_sources.py")


def _bank():
    rng = np.random.default_rng(0)
    return CurveBank([
        BankCurve("FEET", "", 0.0, 0.5, np.cumsum(rng.standard_normal(20000))),
        BankCurve("METRES", "", 0.0, 0.1524, np.cumsum(rng.standard_normal(20000)),
                  depth_unit="M")])


def test_sources_name_the_curve_each_page_drew_and_leave_the_renderer_alone(monkeypatch):
    import logdigit.render as render
    import logdigit.synth as synth

    def small(rng, bank, height=3000, width=1200, tier="clean", extras=False):
        return render_page(rng=rng, bank=bank, height=300, width=400, tier=tier)

    monkeypatch.setattr(synth, "render_page", small)
    placed = render._place_curve
    got = dsrc.sources(_bank(), n=3, seed=5)
    assert render._place_curve is placed
    pages = list(synth.render_cases(_bank(), n=3, seed=5))
    assert set(got) == {f"{name}/{m}" for name, p in pages for m, _, _ in p.truth}
    assert {v for v in got.values()} <= {("FEET", "FT", 0.5), ("METRES", "M", 0.1524)}


def test_pass_rates_group_by_unit_and_step():
    srcs = {"s/a/C1S": ("GR", "FT", 0.5), "s/a/C1D": ("RT", "M", 0.1),
            "s/b/C1S": ("GR", "FT", 0.5)}
    scores = {"s/a/C1S": 0.99, "s/a/C1D": 0.5, "s/b/C1S": None, "s/c/C1S": 1.0}
    assert dsrc.pass_rates(srcs, scores) == {("FT", 0.5): (1, 2), ("M", 0.1): (0, 1)}


def test_a_set_without_a_seed_is_refused(capsys, tmp_path):
    assert dsrc.main(["--las-dir", str(tmp_path), "--set", "dev"]) == 2
    assert "NAME:SEED" in capsys.readouterr().err
