"""tools/dev_resample.py: resampling variants scored on recorded traces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from logdigit.calibrate import resample

from .conftest import load_tool

dr = load_tool("dev_resample.py")


def _record():
    rows = np.arange(20000, dtype=float)
    d = 100.0 + rows / 40.0  # 20 rows per 0.5 step: binned, the floor step / 2 pi applies
    truth_fn = lambda z: np.sin(z / 0.15)  # noqa: E731 - detail near the step
    grid = 100.0 + 0.5 * np.arange(1000)
    v, w = truth_fn(d), np.ones_like(d)
    return dict(d=d, v=v, w=w, grid=grid, out=resample(d, v, grid, weights=w),
                truth=truth_fn(grid))


def test_the_default_variant_is_the_pipelines_resampling():
    rec = _record()
    np.testing.assert_array_equal(dr.resampled(rec, waves=2 * math.pi), rec["out"])
    assert dr.r2_of(rec, rec["truth"]) == pytest.approx(1.0)


def test_lighter_smoothing_and_linear_interpolation_follow_detail_near_the_step():
    rec = _record()
    default = dr.r2_of(rec, rec["out"])
    light = dr.r2_of(rec, dr.resampled(rec, waves=math.inf))
    linear = dr.r2_of(rec, dr.resampled(rec, waves=None))
    assert default < light <= linear + 1e-9 and linear > 0.99
    import logdigit.calibrate as cal
    assert cal._MIN_SMOOTHING_WAVES == 2 * math.pi  # put back


def test_nothing_recorded_is_an_error(tmp_path, capsys):
    assert dr.main(["--out", str(tmp_path)]) == 1
    assert "nothing recorded" in capsys.readouterr().err


def test_a_robust_fit_drops_a_few_rows_off_the_curve_and_restores_the_pipeline():
    rec = _record()
    v = rec["v"].copy()
    v[5000:5006] += 5.0  # six rows of a trace off on other ink
    rec = dict(rec, v=v, out=resample(rec["d"], v, rec["grid"], weights=rec["w"]))
    import logdigit.calibrate as cal
    fit_run = cal._fit_run
    assert dr.r2_of(rec, dr.resampled(rec, tukey=8.0)) > dr.r2_of(rec, rec["out"])
    assert cal._fit_run is fit_run and cal._MIN_SMOOTHING_SPACINGS == 1.0
    np.testing.assert_array_equal(dr.resampled(rec, spacings=1.0), rec["out"])
