"""Tests for logdigit.calibrate: pixel <-> value <-> depth, depth grid, resampling."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from logdigit.calibrate import (
    depth_grid,
    depth_to_row,
    edge_samples,
    resample,
    row_to_depth,
    smoothing_spline,
    value_to_x,
    x_to_value,
)
from logdigit.layout import Curve, DepthCalibration, Track


def _track(curve: Curve, left_px: float = 10.0, right_px: float = 510.0) -> Track:
    return Track(left_px=left_px, right_px=right_px, curves=(curve,))


GR = Curve(mnemonic="GR", left=0.0, right=150.0, unit="GAPI")
NPHI = Curve(mnemonic="NPHI", left=0.45, right=-0.15, unit="V/V")  # reversed
ILD = Curve(mnemonic="ILD", left=0.2, right=2000.0, unit="OHMM", scale="log")
ILD_REV = Curve(mnemonic="ILD", left=2000.0, right=0.2, unit="OHMM", scale="log")


# --------------------------------------------------------------------------- x <-> value


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        (GR, [0.0, 75.0, 150.0]),
        (NPHI, [0.45, 0.15, -0.15]),
        (ILD, [0.2, 20.0, 2000.0]),
        (ILD_REV, [2000.0, 20.0, 0.2]),
    ],
)
def test_x_to_value_known_points(curve: Curve, expected: list[float]) -> None:
    track = _track(curve)
    values = x_to_value([10.0, 260.0, 510.0], track=track, curve=curve)
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("curve", [GR, NPHI, ILD, ILD_REV])
def test_round_trip_x_value_x(curve: Curve) -> None:
    track = _track(curve)
    x = np.linspace(-20.0, 530.0, 1001)
    back = value_to_x(x_to_value(x, track=track, curve=curve), track=track, curve=curve)
    np.testing.assert_allclose(back, x, rtol=0, atol=1e-9)


def test_log_scale_is_linear_in_log10() -> None:
    track = _track(ILD)
    x = np.array([10.0, 135.0, 260.0, 385.0, 510.0])  # quarter steps = one decade each
    np.testing.assert_allclose(
        np.log10(x_to_value(x, track=track, curve=ILD)), [np.log10(0.2) + k for k in range(5)]
    )


def test_nan_in_nan_out() -> None:
    for curve in (GR, ILD):
        track = _track(curve)
        assert np.isnan(x_to_value([np.nan], track=track, curve=curve)).all()
        assert np.isnan(value_to_x([np.nan], track=track, curve=curve)).all()


def test_log_value_not_positive_gives_nan() -> None:
    track = _track(ILD)
    x = value_to_x([0.0, -1.0, 20.0], track=track, curve=ILD)
    assert np.isnan(x[0]) and np.isnan(x[1])
    assert x[2] == pytest.approx(260.0)


def test_scalar_input_gives_0d_array() -> None:
    out = x_to_value(260.0, track=_track(GR), curve=GR)
    assert isinstance(out, np.ndarray) and out.shape == ()
    assert float(out) == pytest.approx(75.0)


@pytest.mark.parametrize(
    "curve",
    [
        Curve(mnemonic="X", left=0.0, right=100.0, scale="log"),
        Curve(mnemonic="X", left=-1.0, right=100.0, scale="log"),
        Curve(mnemonic="X", left=5.0, right=5.0),
        Curve(mnemonic="X", left=0.0, right=1.0, scale="logarithmic"),
        Curve(mnemonic="X", left=0.0, right=float("nan")),
    ],
)
def test_invalid_scale_raises(curve: Curve) -> None:
    with pytest.raises(ValueError):
        x_to_value([1.0], track=_track(curve), curve=curve)
    with pytest.raises(ValueError):
        value_to_x([1.0], track=_track(curve), curve=curve)


def test_degenerate_track_raises() -> None:
    with pytest.raises(ValueError):
        x_to_value([1.0], track=_track(GR, 5.0, 5.0), curve=GR)


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)


@st.composite
def track_and_curve(draw: st.DrawFn) -> tuple[Track, Curve]:
    left_px = draw(st.floats(min_value=0, max_value=2000))
    width = draw(st.floats(min_value=5, max_value=3000))
    if draw(st.booleans()):
        left, right = draw(positive), draw(positive)
        assume(abs(np.log10(left) - np.log10(right)) > 1e-3)
        curve = Curve(mnemonic="C", left=left, right=right, scale="log")
    else:
        left, right = draw(finite), draw(finite)
        assume(abs(left - right) > 1e-3 * max(1.0, abs(left), abs(right)))
        curve = Curve(mnemonic="C", left=left, right=right)
    return _track(curve, left_px, left_px + width), curve


@settings(max_examples=200, deadline=None)
@given(tc=track_and_curve(), frac=st.lists(st.floats(-0.2, 1.2), min_size=1, max_size=20))
def test_property_round_trip(tc: tuple[Track, Curve], frac: list[float]) -> None:
    track, curve = tc
    x = track.left_px + np.asarray(frac) * (track.right_px - track.left_px)
    back = value_to_x(x_to_value(x, track=track, curve=curve), track=track, curve=curve)
    np.testing.assert_allclose(back, x, rtol=1e-9, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(tc=track_and_curve(), frac=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30))
def test_property_monotonic(tc: tuple[Track, Curve], frac: list[float]) -> None:
    track, curve = tc
    x = np.sort(track.left_px + np.asarray(frac) * (track.right_px - track.left_px))
    v = x_to_value(x, track=track, curve=curve)
    direction = np.sign(curve.right - curve.left)
    assert np.all(direction * np.diff(v) >= 0)
    # the ends map to the curve's ends
    ends = x_to_value([track.left_px, track.right_px], track=track, curve=curve)
    scale = max(abs(curve.left), abs(curve.right))
    np.testing.assert_allclose(ends, [curve.left, curve.right], rtol=1e-9, atol=1e-12 * scale)


# --------------------------------------------------------------------------- row <-> depth

DEPTH = DepthCalibration(
    top=1000.0, bottom=1850.0, unit="FT", step=0.5, top_row=100, bottom_row=8600
)


def test_row_to_depth_known_points() -> None:
    d = row_to_depth([100, 4350, 8600, 0], depth=DEPTH)
    np.testing.assert_allclose(d, [1000.0, 1425.0, 1850.0, 990.0])


def test_depth_row_round_trip() -> None:
    rows = np.linspace(-50, 9000, 777)
    np.testing.assert_allclose(
        depth_to_row(row_to_depth(rows, depth=DEPTH), depth=DEPTH), rows, atol=1e-8
    )


def test_bottom_row_required() -> None:
    dc = DepthCalibration(top=0.0, bottom=100.0, unit="M", step=0.1524)
    with pytest.raises(ValueError, match="bottom_row"):
        row_to_depth([0], depth=dc)
    with pytest.raises(ValueError, match="bottom_row"):
        depth_to_row([0.0], depth=dc)


@settings(max_examples=200, deadline=None)
@given(
    top=st.floats(-1000, 10000),
    span=st.floats(1, 5000),
    top_row=st.integers(0, 1000),
    n_rows=st.integers(2, 100000),
    r=st.floats(-100, 200000),
)
def test_property_row_depth_round_trip(
    top: float, span: float, top_row: int, n_rows: int, r: float
) -> None:
    dc = DepthCalibration(
        top=top,
        bottom=top + span,
        unit="FT",
        step=0.5,
        top_row=top_row,
        bottom_row=top_row + n_rows,
    )
    back = depth_to_row(row_to_depth(r, depth=dc), depth=dc)
    assert float(back) == pytest.approx(r, abs=1e-6 * max(1.0, abs(r)))
    # monotonic: one row further down is deeper
    assert float(row_to_depth(r + 1, depth=dc)) > float(row_to_depth(r, depth=dc))


# --------------------------------------------------------------------------- depth grid


@pytest.mark.parametrize(
    ("top", "bottom", "step", "n", "last"),
    [
        (1000.0, 1850.0, 0.5, 1701, 1850.0),
        (0.1, 110.0, 0.1, 1100, 110.0),
        (0.0, 1.05, 0.1, 11, 1.0),
        (100.0, 250.0, 0.1524, 985, 249.9616),
        (5.0, 5.0, 0.5, 1, 5.0),
    ],
)
def test_depth_grid_exact(top: float, bottom: float, step: float, n: int, last: float) -> None:
    grid = depth_grid(depth=DepthCalibration(top=top, bottom=bottom, unit="FT", step=step))
    assert grid.size == n
    assert grid[0] == top
    assert grid[-1] == last  # exact, not approx
    np.testing.assert_array_equal(grid, np.round(grid, 6))
    assert np.all(np.round(np.diff(grid), 6) == step)
    assert grid[-1] <= bottom + 1e-9


@pytest.mark.parametrize("step", [0.0, -0.5, float("nan")])
def test_depth_grid_bad_step(step: float) -> None:
    with pytest.raises(ValueError):
        depth_grid(depth=DepthCalibration(top=0, bottom=10, unit="FT", step=step))


def test_depth_grid_bottom_above_top() -> None:
    with pytest.raises(ValueError):
        depth_grid(depth=DepthCalibration(top=10, bottom=0, unit="FT", step=0.5))


# --------------------------------------------------------------------------- resample


def _truth(d: np.ndarray) -> np.ndarray:
    return 75.0 + 40.0 * np.sin(2 * np.pi * d / 60.0)


def _rows(n_rows: int, top: float = 1000.0, bottom: float = 1850.0) -> np.ndarray:
    dc = DepthCalibration(
        top=top, bottom=bottom, unit="FT", step=0.5, top_row=0, bottom_row=n_rows - 1
    )
    return row_to_depth(np.arange(n_rows), depth=dc)


def _quantised(d: np.ndarray, *, px_per_unit: float = 2.0, seed: int = 0) -> np.ndarray:
    """Truth traced to whole pixels (+- 0.5 px quantisation) with a little jitter."""
    rng = np.random.default_rng(seed)
    px = _truth(d) * px_per_unit + rng.normal(0, 0.3, d.size)
    return np.round(px) / px_per_unit


@pytest.mark.parametrize("n_rows", [800, 1701, 8500, 100_000])
def test_resample_sine_with_noise_close_to_truth(n_rows: int) -> None:
    d = _rows(n_rows)
    v = _quantised(d)
    grid = depth_grid(depth=DepthCalibration(top=1000, bottom=1850, unit="FT", step=0.5))
    out = resample(d, v, grid)
    assert out.shape == grid.shape
    assert np.isfinite(out).all()
    err = out - _truth(grid)
    noise = v - _truth(d)
    # smoothing reduces the quantisation noise and adds little bias
    assert np.sqrt(np.mean(err**2)) < 0.8 * np.sqrt(np.mean(noise**2)) + 0.02
    assert np.max(np.abs(err)) < 0.6


@pytest.mark.parametrize("rows_per_step", [6, 12, 40])
def test_resample_keeps_detail_of_two_grid_steps(rows_per_step: int) -> None:
    # a jagged curve: a sine two grid steps long, one sample per image row. The smoothing
    # halves only detail one grid step long; binning dense rows must not smooth on top
    # of it (quarter-step bins kept about 0.7 of this amplitude at 6 rows per step)
    step = 0.5
    d = 1000 + np.arange(60 * rows_per_step) * step / rows_per_step
    v = np.sin(2 * np.pi * (d - 1000) / (2 * step))
    grid = 1000 + step * np.arange(1, 58) + step / 4  # between the crests and the zeros
    out = resample(d, v, grid)
    truth = np.sin(2 * np.pi * (grid - 1000) / (2 * step))
    gain = np.sum(out * truth) / np.sum(truth * truth)
    assert gain > 0.9
    assert np.max(np.abs(out - truth)) < 0.12


def test_resample_linear_when_not_smoothing() -> None:
    d = _rows(1000)
    v = 3.0 * d - 7.0
    grid = np.linspace(1000, 1850, 333)
    np.testing.assert_allclose(resample(d, v, grid, smooth=False), 3.0 * grid - 7.0, rtol=1e-12)
    # a straight line is not changed by the smoothing spline either
    np.testing.assert_allclose(resample(d, v, grid), 3.0 * grid - 7.0, rtol=1e-9)


def test_resample_gap_stays_nan() -> None:
    d = _rows(8500)
    v = _truth(d)
    gap = (d > 1300.0) & (d < 1400.0)
    v[gap] = np.nan
    grid = depth_grid(depth=DepthCalibration(top=1000, bottom=1850, unit="FT", step=0.5))
    out = resample(d, v, grid)
    in_gap = (grid > 1300.1) & (grid < 1399.9)
    assert np.isnan(out[in_gap]).all()
    outside = (grid < 1299.9) | (grid > 1400.1)
    assert np.isfinite(out[outside]).all()
    assert np.max(np.abs(out[outside] - _truth(grid[outside]))) < 0.05


def test_resample_no_extrapolation() -> None:
    d = np.linspace(1100.0, 1200.0, 2001)
    v = _truth(d)
    grid = np.arange(1000.0, 1300.0 + 1e-9, 0.5)
    out = resample(d, v, grid)
    assert np.isnan(out[grid < 1100.0]).all()
    assert np.isnan(out[grid > 1200.0]).all()
    inside = (grid >= 1100.0) & (grid <= 1200.0)
    assert np.isfinite(out[inside]).all()
    assert out[grid == 1100.0][0] == pytest.approx(_truth(np.array([1100.0]))[0], abs=0.05)


def test_resample_max_gap_bridges_short_gaps_only() -> None:
    d = np.arange(0.0, 100.0, 0.1)
    v = np.full(d.shape, 5.0)
    v[(d > 20) & (d < 21)] = np.nan  # 1 unit gap: bridged with max_gap=2
    v[(d > 50) & (d < 60)] = np.nan  # 10 unit gap: only its edges
    v[d > 90] = np.nan  # trailing gap: extended by max_gap/2
    grid = np.arange(0.0, 100.0, 0.25)
    out = resample(d, v, grid, max_gap=2.0)
    assert np.isfinite(out[(grid > 20) & (grid < 21)]).all()
    np.testing.assert_allclose(out[(grid > 20) & (grid < 21)], 5.0)
    assert np.isfinite(out[(grid > 50) & (grid <= 51)]).all()
    assert np.isnan(out[(grid > 51.1) & (grid < 58.9)]).all()
    assert np.isfinite(out[(grid > 90) & (grid <= 91)]).all()
    assert np.isnan(out[grid > 91.1]).all()
    # without max_gap the short gap stays open
    assert np.isnan(resample(d, v, grid)[(grid > 20.05) & (grid < 20.95)]).all()


def test_resample_short_runs_are_linear() -> None:
    d = np.arange(10.0)
    v = np.array([np.nan, 1.0, 2.0, 4.0, np.nan, np.nan, 7.0, np.nan, np.nan, np.nan])
    grid = np.arange(0.0, 9.01, 0.5)
    out = resample(d, v, grid)
    expected = np.full(grid.shape, np.nan)
    expected[2:7] = [1.0, 1.5, 2.0, 3.0, 4.0]
    expected[12] = 7.0
    np.testing.assert_allclose(out, expected)


def test_resample_all_nan() -> None:
    d = np.arange(100.0)
    out = resample(d, np.full(100, np.nan), np.arange(0.0, 99.0, 0.5))
    assert np.isnan(out).all()


def test_resample_does_not_modify_inputs() -> None:
    d = _rows(500)
    v = _quantised(d)
    v[100:120] = np.nan
    d0, v0 = d.copy(), v.copy()
    resample(d, v, np.arange(1000.0, 1850.0, 0.5), max_gap=5.0)
    np.testing.assert_array_equal(d, d0)
    np.testing.assert_array_equal(v, v0)


@pytest.mark.parametrize(
    ("depths", "values", "grid"),
    [
        (np.arange(5.0), np.arange(4.0), np.arange(3.0)),
        (np.array([0.0, 2.0, 1.0]), np.arange(3.0), np.arange(3.0)),
        (np.arange(5.0), np.arange(5.0), np.array([2.0, 1.0])),
        (np.array([0.0, np.nan, 2.0]), np.arange(3.0), np.arange(3.0)),
    ],
)
def test_resample_invalid_input(depths: np.ndarray, values: np.ndarray, grid: np.ndarray) -> None:
    with pytest.raises(ValueError):
        resample(depths, values, grid)


@pytest.mark.parametrize("n, lam", [(5, 0.5), (6, 0.0), (50, 1e-3), (2000, 0.05), (300, 1e4)])
def test_smoothing_spline_is_scipys(n: int, lam: float) -> None:
    from scipy.interpolate import make_smoothing_spline

    rng = np.random.default_rng(n)
    x = np.cumsum(rng.uniform(0.1, 1.0, n))
    y = np.sin(x / 3) + rng.normal(0, 0.1, n)
    t = np.linspace(x[0] - 0.3, x[-1] + 0.3, 7 * n)  # also a little beyond the ends
    want = make_smoothing_spline(x, y, lam=lam)(t)
    np.testing.assert_allclose(smoothing_spline(x, y, lam=lam)(t), want, atol=1e-9)


@pytest.mark.parametrize("n, lam", [(5, 0.5), (50, 1e-3), (300, 2.0)])
def test_weighted_smoothing_spline_is_scipys(n: int, lam: float) -> None:
    from scipy.interpolate import make_smoothing_spline

    rng = np.random.default_rng(n + 1)
    x = np.cumsum(rng.uniform(0.1, 1.0, n))
    y = np.sin(x / 3) + rng.normal(0, 0.1, n)
    w = rng.uniform(0.01, 2.0, n)
    t = np.linspace(x[0] - 0.3, x[-1] + 0.3, 7 * n)
    want = make_smoothing_spline(x, y, w=w, lam=lam)(t)
    np.testing.assert_allclose(smoothing_spline(x, y, lam=lam, w=w)(t), want, atol=1e-9)
    np.testing.assert_allclose(smoothing_spline(x, y, lam=lam, w=np.ones(n))(t),
                               smoothing_spline(x, y, lam=lam)(t), atol=1e-12)
    with pytest.raises(ValueError, match="positive"):
        smoothing_spline(x, y, lam=lam, w=np.where(np.arange(n) == 2, 0.0, 1.0))
    with pytest.raises(ValueError, match="weights"):
        smoothing_spline(x, y, lam=lam, w=w[:-1])


@pytest.mark.parametrize("rows_per_step", [2, 16])  # as sampled, and binned
def test_resample_follows_sure_rows_past_an_unsure_excursion(rows_per_step: int) -> None:
    """A trace's short excursion to the wrong ink, on rows of low weight, hardly reaches
    the output; with equal weights the spline follows it."""
    d = np.arange(4000, dtype=float) / rows_per_step
    true = 40 + 10 * np.sin(d / 9.0)
    v = true.copy()
    bad = (d >= 100) & (d < 101.5)  # 1.5 steps of rows 30 units out
    v[bad] += 30.0
    grid = np.arange(1.0, d[-1] - 1.0, 1.0)
    w = np.where(bad, 0.0025, 1.0)
    want = 40 + 10 * np.sin(grid / 9.0)
    near = (grid >= 99) & (grid <= 102)
    plain = resample(d, v, grid)
    weighted = resample(d, v, grid, weights=w)
    assert np.max(np.abs(plain[near] - want[near])) > 10
    # under an eighth of the excursion (eighth-step bins smooth less than the quarter-step
    # ones before session 24, which kept it under 2)
    assert np.max(np.abs(weighted[near] - want[near])) < 30.0 / 8
    assert np.max(np.abs(weighted[~near] - want[~near])) < 0.05
    np.testing.assert_allclose(resample(d, v, grid, weights=np.ones_like(d)), plain,
                               atol=1e-9)
    # only the ratios within a run count: a run that is unsure throughout is smoothed
    # like a sure one
    np.testing.assert_allclose(resample(d, v, grid, weights=0.01 * w), weighted, atol=1e-9)
    np.testing.assert_allclose(resample(d, v, grid, weights=np.full_like(d, 0.003)), plain,
                               atol=1e-9)


@pytest.mark.parametrize("weights", [np.ones(5), np.array([1.0, 1, 0, 1, 1, 1]),
                                     np.array([1.0, 1, np.nan, 1, 1, 1])])
def test_resample_rejects_bad_weights(weights: np.ndarray) -> None:
    d = np.arange(6.0)
    with pytest.raises(ValueError, match="weights"):
        resample(d, d, d, weights=weights)


def test_smoothing_spline_edge_cases() -> None:
    x = np.array([0.0, 1.0, 3.0, 4.5, 7.0])
    line = 2.0 * x - 1.0
    t = np.linspace(-1, 8, 37)
    for lam in (0.0, 1.0, 1e6):  # a straight line has no curvature to smooth away
        np.testing.assert_allclose(smoothing_spline(x, line, lam=lam)(t), 2.0 * t - 1.0,
                                   atol=1e-9)
    y = np.array([0.0, 2.0, -1.0, 3.0, 0.5])
    np.testing.assert_allclose(smoothing_spline(x, y, lam=0.0)(x), y, atol=1e-12)
    flat = smoothing_spline(x, y, lam=1e9)(x)  # infinite smoothing: the least-squares line
    np.testing.assert_allclose(flat, np.polyval(np.polyfit(x, y, 1), x), atol=1e-6)
    assert smoothing_spline(x, y, lam=1.0)(np.zeros((2, 3))).shape == (2, 3)
    with pytest.raises(ValueError, match="at least 3"):
        smoothing_spline(x[:2], y[:2], lam=1.0)
    with pytest.raises(ValueError, match="increasing"):
        smoothing_spline(x[::-1], y, lam=1.0)


def test_resample_speed_dense_rows() -> None:
    d = _rows(100_000)
    v = _quantised(d, seed=1)
    v[30_000:30_500] = np.nan
    v[::997] = np.nan  # many short gaps
    grid = depth_grid(depth=DepthCalibration(top=1000, bottom=1850, unit="FT", step=0.5))
    resample(d[:2000], v[:2000], grid)  # warm up imports
    t0 = time.perf_counter()
    out = resample(d, v, grid)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"resample took {elapsed:.2f} s"
    assert np.isfinite(out).sum() > 0.95 * grid.size


# --------------------------------------------------------------------------- backup scales

GR_BACKUP = Curve(mnemonic="GR", left=0.0, right=150.0, backup=((150.0, 300.0),))


def test_wrap_levels_without_backup_are_all_main() -> None:
    from logdigit.calibrate import wrap_levels

    x = np.array([500.0, 20.0, 500.0])  # big jumps, but GR has no backup
    assert (wrap_levels(x, track=_track(GR), curve=GR) == 0).all()


def test_wrap_out_right_and_back_in() -> None:
    from logdigit.calibrate import wrap_levels, x_to_true_value

    tr = _track(GR_BACKUP)  # columns 10..510
    x = np.array([400.0, 480.0, 505.0, np.nan, 15.0, 60.0, 20.0, 500.0, 450.0])
    lev = wrap_levels(x, track=tr, curve=GR_BACKUP)
    assert lev.tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0]
    v = x_to_true_value(x, track=tr, curve=GR_BACKUP)
    assert v[4] == pytest.approx(150 + 5 / 500 * 150)
    assert v[2] == pytest.approx(495 / 500 * 150)
    assert np.isnan(v[3])


def test_a_jump_that_fits_no_scale_is_not_a_wrap() -> None:
    from logdigit.calibrate import wrap_levels

    # wraps onto the backup, then jumps out through its right edge (300: no scale there)
    x = np.array([400.0, 505.0, 15.0, 300.0, 505.0, 20.0])
    assert wrap_levels(x, track=_track(GR_BACKUP), curve=GR_BACKUP).tolist() == [0, 0, 1, 1,
                                                                                1, 1]


def test_trace_starting_on_the_backup_is_recognised() -> None:
    from logdigit.calibrate import wrap_levels

    x = np.array([100.0, 20.0, 12.0, 505.0, 450.0])  # leaves left, enters right: 150 -> main
    assert wrap_levels(x, track=_track(GR_BACKUP), curve=GR_BACKUP).tolist() == [1, 1, 1, 0, 0]


def test_an_out_and_back_run_to_the_far_edge_keeps_the_log_on_its_main_scale() -> None:
    from logdigit.calibrate import x_to_true_value

    # a real scan (33-025-02078-0002): GR along the left edge, the trace lost it and ran
    # down the right track edge's line for a while, then came back. Read as wraps from a
    # start on the backup, the whole log would be 150 API too high.
    tr = Track(left_px=0.0, right_px=500.0, curves=(GR_BACKUP,))
    x = np.full(200, 5.0)
    x[120:140] = 498.0
    v = x_to_true_value(x, track=tr, curve=GR_BACKUP)
    assert np.allclose(np.delete(v, np.s_[120:140]), 1.5)
    assert np.allclose(v[120:140], 149.4)


def test_several_wraps_and_a_reversed_scale() -> None:
    from logdigit.calibrate import x_to_true_value

    dt = Curve(mnemonic="DT", left=140.0, right=40.0, backup=((240.0, 140.0), (340.0, 240.0)))
    tr = _track(dt)
    # 60 us/ft, out through the left edge (140), in on the right: 200, out left again: 300
    x = np.array([410.0, 200.0, 15.0, 505.0, 260.0, 12.0, 500.0, 260.0])
    v = x_to_true_value(x, track=tr, curve=dt)
    np.testing.assert_allclose(v[[0, 4, 7]], [60.0, 190.0, 290.0])


def test_a_stray_jump_to_the_far_edge_does_not_flip_the_trace_onto_the_backup() -> None:
    from logdigit.calibrate import x_to_true_value

    tr = Track(left_px=0.0, right_px=250.0, curves=(GR_BACKUP,))
    x = np.full(100, 50.0)
    x[40] = 245.0  # one stray row at the far edge, from well inside the track
    v = x_to_true_value(x, track=tr, curve=GR_BACKUP)
    assert np.allclose(np.delete(v, 40), 30.0)


def test_a_fast_curve_that_lands_inside_the_track_after_a_wrap_still_wraps() -> None:
    from logdigit.calibrate import wrap_levels

    # columns 10..510 (zone 30 px): out at the right edge, in at 48 px (a fast dashed curve
    # one row later is already 38 px inside), back out at the left edge and in at the right
    x = np.array([300.0, 450.0, 505.0, 48.0, 60.0, 30.0, 12.0, 506.0, 480.0])
    assert wrap_levels(x, track=_track(GR_BACKUP), curve=GR_BACKUP).tolist() == [
        0, 0, 0, 1, 1, 1, 1, 0, 0]
    # a hop from inside the track (not within the edge zone) is still not a wrap
    y = np.array([300.0, 450.0, 470.0, 48.0, 60.0])
    assert (wrap_levels(y, track=_track(GR_BACKUP), curve=GR_BACKUP) == 0).all()


def test_edge_samples_reads_the_row_nearest_each_depth():
    depths = np.arange(10.0)  # one row per unit
    x = np.array([50, 50, 0.5, 50, 99.2, 100, 50, np.nan, 50, 50], float)
    grid = np.array([-3.0, 0.0, 1.6, 2.2, 3.5, 4.1, 5.4, 7.0, 9.4, 12.0])
    got = edge_samples(depths, x, grid, edges=(0.0, 100.0), tol=1.0)
    # -3 and 12 lie outside the trace; 1.6 -> row 2 (left edge), 2.2 -> row 2, 3.5 -> row 3
    # (a tie goes to the upper row), 4.1 -> row 4 (within 1 px of the right edge), 5.4 ->
    # row 5, 7.0 -> row 7 (NaN)
    np.testing.assert_array_equal(got, [0, 0, -1, -1, 0, 1, 1, 0, 0, 0])
    # a tighter tolerance leaves 99.2 off the edge
    assert edge_samples(depths, x, grid, edges=(0.0, 100.0), tol=0.5)[5] == 0


def test_edge_samples_edge_cases():
    assert edge_samples(np.array([]), np.array([]), np.array([1.0, 2.0]),
                        edges=(0, 10)).tolist() == [0, 0]
    assert edge_samples(np.array([5.0]), np.array([10.0]), np.array([5.0, 9.0]),
                        edges=(0, 10)).tolist() == [1, 0]
    with pytest.raises(ValueError, match="same length"):
        edge_samples(np.arange(3.0), np.arange(4.0), np.arange(2.0), edges=(0, 10))
