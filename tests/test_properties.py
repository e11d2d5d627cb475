"""Property tests (hypothesis) complementing tests/test_calibrate.py and tests/test_layout.py.

Those already cover the x <-> value and row <-> depth round trips, monotonicity, reversed
and log scales, and layout dict/TOML round trips. Here: the output depth grid, how a
layout resolves against an image, the whole chain pixel -> (value, depth) -> LAS grid,
and resampling of straight lines.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from logdigit.calibrate import (
    depth_grid,
    depth_to_row,
    resample,
    row_to_depth,
    value_to_x,
    x_to_value,
)
from logdigit.errors import LayoutError
from logdigit.layout import DepthCalibration, parse_layout

STEPS = st.sampled_from([0.1, 0.125, 0.1524, 0.25, 0.5, 1.0, 0.3048])
TOPS = st.floats(-1000, 20000, allow_nan=False).map(lambda v: round(v, 3))


# --------------------------------------------------------------------------- depth grid


@settings(max_examples=300, deadline=None)
@given(top=TOPS, span=st.floats(0, 5000), step=STEPS)
def test_property_depth_grid(top: float, span: float, step: float) -> None:
    bottom = top + span
    grid = depth_grid(depth=DepthCalibration(top=top, bottom=bottom, unit="FT", step=step))
    assert grid.size >= 1
    assert grid[0] == round(top, 6)
    np.testing.assert_array_equal(grid, np.round(grid, 6))  # exact decimals for the LAS
    assert grid[-1] <= bottom + 1e-9
    assert bottom - grid[-1] < step + 1e-6  # nothing left out at the bottom
    if grid.size > 1:
        assert np.all(np.abs(np.diff(grid) - step) < 1e-6)  # regular: STEP is exact


@settings(max_examples=200, deadline=None)
@given(top=TOPS, span=st.floats(1, 5000), step=STEPS, top_row=st.integers(0, 500),
       n=st.integers(2, 50_000))
def test_property_grid_stays_on_the_calibrated_rows(top, span, step, top_row, n) -> None:
    """Every output depth maps back to a row between top_row and bottom_row."""
    assume(step <= span)
    dc = DepthCalibration(top=top, bottom=top + span, unit="FT", step=step, top_row=top_row,
                          bottom_row=top_row + n)
    rows = depth_to_row(depth_grid(depth=dc), depth=dc)
    tol = 1e-6 * n
    assert rows[0] == pytest.approx(top_row, abs=tol)
    assert np.all(rows >= top_row - tol) and np.all(rows <= top_row + n + tol)
    assert np.all(np.diff(rows) > 0)


# --------------------------------------------------------------------------- layout.resolved


def layout_dict(left_px: float, right_px: float, depth: dict) -> dict:
    return {"depth": {"top": 1000.0, "bottom": 1100.0, "unit": "FT", **depth},
            "tracks": [{"left_px": left_px, "right_px": right_px,
                        "curves": [{"mnemonic": "GR", "left": 0, "right": 150}]}]}


@settings(max_examples=300, deadline=None)
@given(n_rows=st.integers(1, 5000), n_cols=st.integers(1, 3000),
       left=st.floats(0, 4000), width=st.floats(0.01, 4000),
       top_row=st.none() | st.integers(0, 6000), bottom_row=st.none() | st.integers(1, 6000))
def test_property_resolved_accepts_exactly_what_fits(n_rows, n_cols, left, width, top_row,
                                                     bottom_row) -> None:
    depth = {}
    if top_row is not None:
        depth["top_row"] = top_row
    if bottom_row is not None:
        assume(bottom_row > (top_row or 0))
        depth["bottom_row"] = bottom_row
    layout = parse_layout(layout_dict(left, left + width, depth))
    t = top_row or 0
    b = n_rows - 1 if bottom_row is None else bottom_row
    fits = t < n_rows and b < n_rows and t < b and left + width <= n_cols - 1
    if fits:
        res = layout.resolved(n_rows=n_rows, n_cols=n_cols)
        assert (res.depth.top_row, res.depth.bottom_row) == (t, b)
        assert res.resolved(n_rows=n_rows, n_cols=n_cols) == res  # idempotent
        assert layout.depth.bottom_row == bottom_row  # the original is unchanged
    else:
        with pytest.raises(LayoutError) as info:
            layout.resolved(n_rows=n_rows, n_cols=n_cols)
        msg = str(info.value)
        assert msg.startswith("layout: depth.") or msg.startswith("layout: tracks[0].")
        assert f"{n_rows} rows x {n_cols} columns" in msg


# --------------------------------------------------------------------------- pixel -> LAS


@st.composite
def scaled_curves(draw) -> dict:
    if draw(st.booleans()):
        lo = draw(st.floats(1e-3, 1e3))
        hi = lo * draw(st.floats(2, 1e5))
        left, right = (lo, hi) if draw(st.booleans()) else (hi, lo)
        return {"mnemonic": "ILD", "left": left, "right": right, "scale": "log"}
    left = draw(st.floats(-1e4, 1e4))
    right = left + draw(st.sampled_from([-1, 1])) * draw(st.floats(1e-2, 1e4))
    return {"mnemonic": "GR", "left": left, "right": right}


@settings(max_examples=200, deadline=None)
@given(curve=scaled_curves(), left_px=st.floats(0, 2000), width=st.floats(10, 2000),
       top=TOPS, span=st.floats(10, 3000), n_rows=st.integers(50, 20_000),
       fx=st.floats(0, 1), fr=st.floats(0, 1))
def test_property_pixel_to_value_and_depth_through_a_parsed_layout(
        curve, left_px, width, top, span, n_rows, fx, fr) -> None:
    """A point drawn at (row, column) inside the track reads back as (depth, value) within
    the track's value range and the layout's depth range, and both invert exactly."""
    data = {"depth": {"top": top, "bottom": top + span, "unit": "M"},
            "tracks": [{"left_px": left_px, "right_px": left_px + width, "curves": [curve]}]}
    layout = parse_layout(data).resolved(n_rows=n_rows, n_cols=int(left_px + width) + 2)
    (track, c), = layout.curves
    x = track.left_px + fx * (track.right_px - track.left_px)
    row = fr * (n_rows - 1)
    value = float(x_to_value(x, track=track, curve=c))
    depth = float(row_to_depth(row, depth=layout.depth))
    lo, hi = sorted((c.left, c.right))
    tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
    assert lo - tol <= value <= hi + tol
    tol = 1e-9 * max(abs(top), abs(top + span), 1.0)
    assert top - tol <= depth <= top + span + tol
    assert float(value_to_x(value, track=track, curve=c)) == pytest.approx(x, abs=1e-6 * width)
    assert float(depth_to_row(depth, depth=layout.depth)) == pytest.approx(row, abs=1e-6 * n_rows)


# --------------------------------------------------------------------------- resampling


@settings(max_examples=100, deadline=None)
@given(slope=st.floats(-50, 50), offset=st.floats(-1e3, 1e3), px_per_step=st.floats(0.5, 12),
       n=st.integers(40, 3000), smooth=st.booleans())
def test_property_straight_line_is_resampled_exactly(slope, offset, px_per_step, n,
                                                     smooth) -> None:
    """A straight line in depth is kept, whatever the sampling and smoothing; no value
    appears outside the sampled depths."""
    step = 0.5
    depths = 1000 + np.arange(n) * step / px_per_step
    values = offset + slope * (depths - 1000)
    grid = depth_grid(depth=DepthCalibration(top=990.0, bottom=float(depths[-1]) + 10,
                                             unit="FT", step=step))
    out = resample(depths, values, grid, smooth=smooth)
    # resample counts grid points within 1e-9 (relative) of a sampled end as inside:
    # float noise in the sample depths must not drop the last grid point
    tol = 1e-9 * max(1.0, float(np.abs(grid).max()))
    inside = (grid >= depths[0] - tol) & (grid <= depths[-1] + tol)
    assert np.all(np.isnan(out[~inside]))
    assert np.isfinite(out[inside]).all()
    expected = offset + slope * (grid[inside] - 1000)
    scale = max(1.0, abs(offset), abs(slope) * (depths[-1] - 1000))
    np.testing.assert_allclose(out[inside], expected, rtol=0, atol=1e-6 * scale)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(20, 2000), gap=st.tuples(st.floats(0, 1), st.floats(0, 0.5)),
       max_gap=st.none() | st.floats(0, 20))
def test_property_gaps_are_never_invented_beyond_max_gap(n, gap, max_gap) -> None:
    depths = 1000 + np.arange(n) * 0.25
    values = np.sin(depths / 7)
    a = int(gap[0] * n)
    b = min(n, a + int(gap[1] * n))
    values[a:b] = np.nan
    grid = depth_grid(depth=DepthCalibration(top=1000, bottom=float(depths[-1]), unit="FT",
                                             step=0.5))
    out = resample(depths, values, grid, max_gap=max_gap)
    finite_d = depths[np.isfinite(values)]
    if finite_d.size == 0:
        assert np.isnan(out).all()
        return
    # distance from each grid depth to the nearest traced sample
    idx = np.clip(np.searchsorted(finite_d, grid), 1, max(1, finite_d.size - 1))
    near = np.minimum(np.abs(grid - finite_d[idx - 1]), np.abs(grid - finite_d[idx]))
    # inside a run: at most half a sample spacing away; bridged or held: max_gap / 2
    allowed = 0.125 + (max_gap or 0.0) / 2 + 1e-9
    assert np.isnan(out[near > allowed]).all()
    if not max_gap:  # no bridging: a value only between two traced samples (or on one)
        assert np.isnan(out[(grid < finite_d[0]) | (grid > finite_d[-1])]).all()
