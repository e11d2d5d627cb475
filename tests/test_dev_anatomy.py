"""tools/dev_anatomy.py: the per-curve measures and their summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from .conftest import load_tool

da = load_tool("dev_anatomy.py")


def test_roughness_is_the_median_row_to_row_movement():
    assert da.roughness(np.array([0.0, 10.0, 0.0, 10.0, 0.0])) == pytest.approx(10.0)
    assert da.roughness(np.array([5.0, 5.5, 6.0, np.nan, 6.5])) == pytest.approx(0.5)
    assert math.isnan(da.roughness(np.array([1.0])))


def test_row_error_ignores_rows_without_a_trace():
    x = np.array([1.0, 2.0, np.nan, 4.0])
    drawn = np.array([1.0, 5.0, 3.0, 4.5])
    assert da.row_error(x, drawn) == pytest.approx(0.5)
    assert math.isnan(da.row_error(np.full(3, np.nan), np.zeros(3)))


def test_summarise_counts_rough_failures_and_what_exact_reading_would_pass():
    rows = {
        "a": dict(r2=0.99, roughness=0.2, ceiling_spline=1.0, ceiling_linear=1.0),
        "b": dict(r2=0.90, roughness=4.0, ceiling_spline=0.94, ceiling_linear=0.99),
        "c": dict(r2=None, roughness=0.1, ceiling_spline=1.0, ceiling_linear=1.0),
        "d": dict(r2=float("nan"), roughness=2.0, ceiling_spline=float("nan"),
                  ceiling_linear=0.97),
    }
    s = da.summarise(rows)
    assert s == {"curves": 4, "failures": 3, "rough": 2, "rough_failures": 2,
                 "ceiling_spline": 2, "ceiling_linear": 4}


def test_missing_case_sets_are_refused_before_any_work(tmp_path, capsys):
    assert da.main(["--name", "x", "--out", str(tmp_path)]) == 1
    assert "run make devscore" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
