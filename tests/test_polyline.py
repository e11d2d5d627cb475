import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from logdigit.polyline import (
    read_polyline,
    refine_rough_trace,
    thin_strokes,
    vertical_run_length,
)
from logdigit.trace import trace_curve


def pen(xs, *, cols=200, half=0, thick=0):
    """Ink of the polyline through (row, xs[row]) cut into rows: each row holds half of
    the stroke from the row above and half of the stroke to the row below, ``half`` px
    either side, then ``thick`` px more above and below (a wider pen)."""
    rows = len(xs)
    m = np.zeros((rows, cols), bool)
    c = np.arange(cols)
    for r in range(rows):
        ends = [xs[r]]
        if r > 0:
            ends.append(0.5 * (xs[r - 1] + xs[r]))
        if r + 1 < rows:
            ends.append(0.5 * (xs[r] + xs[r + 1]))
        lo, hi = min(ends) - half, max(ends) + half
        m[r, (c >= np.floor(lo + 0.5)) & (c <= np.floor(hi + 0.5))] = True
    if thick:
        m = binary_dilation(m, structure=np.ones((2 * thick + 1, 1), bool))
    return m


def zigzag(rows=300, seed=0):
    """A curve that turns in every row: a noisy log on a compressed depth scale."""
    rng = np.random.default_rng(seed)
    base = 100 + 20 * np.sin(np.arange(rows) / 40.0)
    return np.round(base + np.where(np.arange(rows) % 2, 15.0, -15.0)
                    + rng.normal(0, 3, rows))


def test_reads_the_vertices_of_a_zigzag():
    xs = zigzag()
    got = read_polyline(pen(xs))
    assert np.isfinite(got).all()
    assert np.abs(got - xs)[1:-1].max() <= 0.5


def test_the_least_cost_path_cuts_a_zigzag_short_and_the_polyline_does_not():
    xs = zigzag()
    ink = (pen(xs, half=1) * 255).astype(np.uint8)
    path = trace_curve(ink).x
    err_path = np.nanmedian(np.abs(path - xs))
    fixed = refine_rough_trace(ink, path, others=[], half=4.0, dashed=False, link_gap=16)
    err_fixed = np.nanmedian(np.abs(fixed - xs))
    assert err_path > 5  # the path misses the turns by about half a stroke
    assert err_fixed <= 1.0
    # the amplitude of the turns is kept
    assert np.std(np.diff(fixed)) > 0.9 * np.std(np.diff(xs))


def test_a_thick_pen_is_thinned_first():
    xs = zigzag(seed=0)
    ink = (pen(xs, half=1, thick=1) * 255).astype(np.uint8)
    path = trace_curve(ink).x
    fixed = refine_rough_trace(ink, path, others=[], half=4.0, dashed=False, link_gap=16)
    assert np.nanmedian(np.abs(fixed - xs)) <= 1.0
    assert np.nanmedian(np.abs(path - xs)) > 5


def test_a_smooth_trace_is_left_alone():
    xs = 100 + 30 * np.sin(np.arange(400) / 60.0)  # under 0.5 px per row
    ink = (pen(xs, half=1) * 255).astype(np.uint8)
    x = xs + 0.25
    out = refine_rough_trace(ink, x, others=[], half=4.0, dashed=False, link_gap=16)
    assert np.array_equal(out, x)
    assert out is not x


def test_other_curves_ink_is_not_used():
    xs = zigzag(seed=2)
    other = np.full(len(xs), 40.0)  # a straight curve close to the zigzag's left turns
    m = pen(xs, half=1) | pen(other, half=1)
    ink = (m * 255).astype(np.uint8)
    path = trace_curve((pen(xs, half=1) * 255).astype(np.uint8)).x
    fixed = refine_rough_trace(ink, path, others=[other], half=3.0, dashed=False,
                               link_gap=16)
    assert np.nanmedian(np.abs(fixed - xs)) <= 1.0
    assert np.nanmin(fixed) > 45


def test_dash_gaps_are_crossed():
    xs = zigzag(seed=3)
    m = pen(xs, half=1)
    m[:, 95:99] = False  # a dash gap in the middle of every stroke
    ink = (m * 255).astype(np.uint8)
    path = trace_curve(ink).x
    fixed = refine_rough_trace(ink, path, others=[], half=4.0, dashed=True, link_gap=16)
    assert np.nanmedian(np.abs(fixed - xs)) <= 1.0


def test_rows_without_ink_keep_the_trace_and_are_nan_in_the_reading():
    xs = zigzag(seed=4)
    m = pen(xs, half=1)
    m[100:110] = False
    got = read_polyline(m, half_width=1.0)
    assert np.isnan(got[100:110]).all()
    assert np.isfinite(got[:100]).all() and np.isfinite(got[110:]).all()
    ink = (m * 255).astype(np.uint8)
    path = trace_curve(ink).x
    fixed = refine_rough_trace(ink, path, others=[], half=4.0, dashed=False, link_gap=16)
    assert np.array_equal(fixed[100:110], path[100:110], equal_nan=True)


def test_too_few_rows():
    assert np.isnan(read_polyline(np.ones((2, 5), bool))).all()
    assert np.isnan(read_polyline(np.zeros((10, 5), bool))).all()
    assert read_polyline(np.zeros((0, 5), bool)).shape == (0,)
    x = np.array([1.0, np.nan])
    out = refine_rough_trace(np.zeros((2, 5), np.uint8), x, others=[], half=2.0,
                             dashed=False, link_gap=4)
    assert np.array_equal(out, x, equal_nan=True)


def test_bad_arguments():
    with pytest.raises(ValueError, match="2-D"):
        read_polyline(np.ones(5, bool))
    with pytest.raises(ValueError, match="link shape"):
        read_polyline(np.ones((5, 5), bool), link=np.ones((4, 5), bool))
    with pytest.raises(ValueError, match="max_candidates"):
        read_polyline(np.ones((5, 5), bool), max_candidates=200)
    with pytest.raises(ValueError, match="does not match"):
        refine_rough_trace(np.zeros((5, 5), np.uint8), np.zeros(4), others=[], half=2.0,
                           dashed=False, link_gap=4)
    with pytest.raises(ValueError, match="2-D"):
        vertical_run_length(np.ones(3, bool))


def test_vertical_run_length():
    assert vertical_run_length(np.zeros((4, 4), bool)) == 0.0
    m = np.zeros((20, 6), bool)
    m[2:5, :] = True  # runs of 3 in every column
    m[10:17, 0] = True  # one run of 7
    assert vertical_run_length(m) == 3.0
    m = np.ones((5, 3), bool)  # runs touching both edges
    assert vertical_run_length(m) == 5.0


def test_thin_strokes_takes_the_pen_height_off_a_horizontal_stroke():
    xs = np.array([50.0] * 5 + [150.0] + [50.0] * 5)
    m = pen(xs, half=0, thick=2)
    assert vertical_run_length(m) >= 6
    thin, h = thin_strokes(m)
    assert h == 2
    # each column's stroke loses h rows above and below: the tip's single row (5 with
    # the pen) is left 1 row high, the rows where both strokes pass (7) 3 rows high
    assert (thin[:, 110:140].sum(axis=0) == 1).all()
    assert (thin[:, 60:90].sum(axis=0) == 3).all()
    same, h0 = thin_strokes(pen(xs))
    assert h0 == 0 and np.array_equal(same, pen(xs))
