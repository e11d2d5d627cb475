"""Tests for logdigit.metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from logdigit.metrics import (
    MaskScores,
    compare_on_grid,
    coverage,
    mae,
    mask_scores,
    r2,
    rmse,
)

NAN = np.nan


def test_r2_known_values() -> None:
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2(ref, ref) == 1.0
    # SSres = 4 * 0.25 = 1, SStot = 5 -> 0.8
    assert r2(ref + 0.5, ref) == pytest.approx(0.8)
    # predicting the mean gives 0
    assert r2(np.full(4, 2.5), ref) == pytest.approx(0.0)
    assert r2(-ref, ref) < 0


def test_r2_ignores_nan_and_needs_three_points() -> None:
    ref = np.array([1.0, 2.0, NAN, 4.0, 5.0])
    pred = np.array([1.0, NAN, 3.0, 4.0, 5.0])
    assert r2(pred, ref) == 1.0  # points 0, 3, 4
    assert math.isnan(r2([1.0, 2.0], [1.0, 2.0]))
    assert math.isnan(r2([1.0, NAN, 3.0], [1.0, 2.0, 3.0]))
    assert math.isnan(r2([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]))  # SStot == 0
    assert math.isnan(r2([np.inf, 1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 2.0]))


def test_rmse_mae_known_values() -> None:
    ref = np.array([0.0, 0.0, 0.0, 0.0, 7.0])
    pred = np.array([1.0, -1.0, 3.0, -3.0, NAN])
    assert rmse(pred, ref) == pytest.approx(math.sqrt(5.0))
    assert mae(pred, ref) == pytest.approx(2.0)
    assert math.isnan(rmse([NAN], [1.0]))
    assert math.isnan(mae([], []))


def test_coverage() -> None:
    ref = np.array([1.0, 2.0, 3.0, 4.0, NAN])
    pred = np.array([1.0, NAN, 3.0, NAN, 5.0])
    assert coverage(pred, ref) == 0.5
    assert coverage(ref, ref) == 1.0
    assert math.isnan(coverage([1.0], [NAN]))


def test_shape_mismatch_raises() -> None:
    for fn in (r2, rmse, mae, coverage):
        with pytest.raises(ValueError):
            fn([1.0, 2.0, 3.0], [1.0, 2.0])


def test_mask_scores_known_values() -> None:
    true = np.array([[0, 1, 1, 1], [0, 0, 2, 2]])
    pred = np.array([[1, 1, 1, 0], [0, 0, 2, 0]])
    s = mask_scores(pred, true, cls=1)  # tp 2, fp 1, fn 1
    assert s == MaskScores(
        iou=0.5,
        f1=pytest.approx(2 / 3),
        precision=pytest.approx(2 / 3),
        recall=pytest.approx(2 / 3),
    )
    s2 = mask_scores(pred, true, cls=2)  # tp 1, fp 0, fn 1
    assert s2.iou == 0.5 and s2.precision == 1.0 and s2.recall == 0.5
    assert s2.f1 == pytest.approx(2 / 3)


def test_mask_scores_empty_classes() -> None:
    z = np.zeros((3, 3), dtype=np.int64)
    assert mask_scores(z, z, cls=1) == MaskScores(1.0, 1.0, 1.0, 1.0)
    one = z.copy()
    one[1, 1] = 1
    missed = mask_scores(z, one, cls=1)  # nothing predicted
    assert missed == MaskScores(iou=0.0, f1=0.0, precision=0.0, recall=0.0)
    spurious = mask_scores(one, z, cls=1)  # nothing true
    assert spurious == MaskScores(iou=0.0, f1=0.0, precision=0.0, recall=0.0)
    for s in (missed, spurious):
        assert not any(math.isnan(v) for v in (s.iou, s.f1, s.precision, s.recall))


def test_mask_scores_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        mask_scores(np.zeros((2, 2)), np.zeros((2, 3)), cls=1)


def test_compare_on_grid_uses_b_depths_in_overlap() -> None:
    da = np.arange(0.0, 10.01, 0.5)
    va = 2.0 * da
    db = np.arange(3.0, 20.0, 1.0)
    vb = db + 100.0
    grid, a, b = compare_on_grid(da, va, db, vb)
    np.testing.assert_array_equal(grid, np.arange(3.0, 10.01, 1.0))
    np.testing.assert_allclose(a, 2.0 * grid)
    np.testing.assert_array_equal(b, grid + 100.0)


def test_compare_on_grid_points() -> None:
    da = np.linspace(0.0, 10.0, 11)
    db = np.linspace(2.5, 12.5, 5)
    grid, a, b = compare_on_grid(da, da * 3, db, -db, points=5)
    np.testing.assert_allclose(grid, [2.5, 4.375, 6.25, 8.125, 10.0])
    np.testing.assert_allclose(a, grid * 3)
    np.testing.assert_allclose(b, -grid)
    with pytest.raises(ValueError):
        compare_on_grid(da, da, db, db, points=1)


def test_compare_on_grid_nan_aware() -> None:
    da = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    va = np.array([0.0, 1.0, NAN, 3.0, 4.0])
    db = np.array([0.0, 0.5, 1.0, 1.5, 2.5, 3.0, 3.5, 4.0])
    grid, a, b = compare_on_grid(da, va, db, np.ones(db.size))
    np.testing.assert_array_equal(grid, db)
    # 0.5 between finite samples; 1.0 is a sample (finite although next to the NaN);
    # 1.5 and 2.5 are next to the NaN; 3.0 is a finite sample.
    np.testing.assert_array_equal(a, [0.0, 0.5, 1.0, NAN, NAN, 3.0, 3.5, 4.0])
    np.testing.assert_array_equal(b, np.ones(db.size))


def test_compare_on_grid_unsorted_and_no_overlap() -> None:
    da = np.array([3.0, 1.0, 2.0])
    grid, a, _ = compare_on_grid(da, da * 10, np.array([1.5, 2.5]), np.zeros(2))
    np.testing.assert_allclose(a, [15.0, 25.0])
    grid, a, b = compare_on_grid([0.0, 1.0], [1.0, 2.0], [5.0, 6.0], [1.0, 2.0])
    assert grid.size == a.size == b.size == 0


def test_compare_then_score() -> None:
    depth = np.arange(1000.0, 1100.0, 0.5)
    ref = np.sin(depth / 7.0)
    pred_depth = np.arange(1010.0, 1090.0, 0.1)
    pred = np.sin(pred_depth / 7.0)
    grid, p, r = compare_on_grid(pred_depth, pred, depth, ref)
    assert grid[0] == 1010.0 and grid[-1] == 1089.5
    assert r2(p, r) > 0.999
    assert rmse(p, r) < 0.01
    assert coverage(p, r) == 1.0
