import warnings

import numpy as np
import pytest

from logdigit.trace import (
    Trace,
    bridge_gaps,
    edge_excursions,
    exclude_trace,
    reroute_gaps,
    rule_spikes,
    solid_off_rules,
    trace_curve,
    unsupported_runs,
)


def draw(xs, width=3, cols=200, value=255):
    """A probability map with a curve of the given half-width at x = xs[row]."""
    rows = len(xs)
    prob = np.zeros((rows, cols), np.uint8)
    c = np.arange(cols)
    prev = np.nan
    for r, x in enumerate(xs):
        if np.isfinite(x):
            # like a pen: the stroke joins the previous row's point (sharp peaks are
            # horizontal strokes of ink)
            lo, hi = (min(prev, x), max(prev, x)) if np.isfinite(prev) else (x, x)
            prob[r, (c >= lo - width / 2) & (c <= hi + width / 2)] = value
        prev = x
    return prob


def sine(rows=600, amp=40.0, centre=100.0):
    return centre + amp * np.sin(np.arange(rows) / 37.0)


def test_follows_a_curve_subpixel():
    xs = sine()
    tr = trace_curve(draw(xs, width=5))
    assert tr.coverage == 1.0
    # whole-pixel strokes joined row to row: about half a pixel is the honest bound
    assert np.nanmax(np.abs(tr.x - xs)) <= 1.0
    assert np.mean(np.abs(tr.x - xs)) < 0.5


def test_x_offset_is_added():
    xs = sine()
    tr = trace_curve(draw(xs), x_offset=1000)
    assert np.nanmedian(tr.x - xs) == pytest.approx(1000, abs=0.6)


@pytest.mark.parametrize("skeleton_bonus", [0.0, 1.0])
def test_long_gap_is_null_short_gap_is_bridged(skeleton_bonus):
    xs = sine()
    drawn = xs.copy()
    drawn[100:110] = np.nan  # short gap: bridged
    drawn[300:400] = np.nan  # long gap: NULL
    tr = trace_curve(draw(drawn), max_gap=24, skeleton_bonus=skeleton_bonus)
    assert np.isfinite(tr.x[100:110]).all()
    assert np.abs(tr.x[100:110] - xs[100:110]).max() < 3
    assert np.isnan(tr.x[300:400]).all()
    assert np.isfinite(tr.x[:300]).all() and np.isfinite(tr.x[400:]).all()


def test_dashed_curve_is_continuous():
    xs = sine()
    drawn = xs.copy()
    for start in range(0, len(xs), 20):  # 12 px dashes, 8 px gaps
        drawn[start + 12 : start + 20] = np.nan
    tr = trace_curve(draw(drawn), max_gap=24)
    last = 592  # the page ends in a gap: no values are invented after the last dash
    assert np.isfinite(tr.x[:last]).all() and np.isnan(tr.x[last:]).all()
    assert np.abs(tr.x[:last] - xs[:last]).max() < 2.5


def test_does_not_hop_to_another_curve_through_a_weak_stretch():
    xs = np.full(400, 60.0)
    prob = draw(xs)
    prob[150:160] //= 8  # the curve fades for 10 rows
    prob |= draw(np.full(400, 140.0), value=200)  # another, slightly fainter curve
    tr = trace_curve(prob)
    assert np.nanmax(np.abs(tr.x - 60)) < 1.0


def test_crossing_line_does_not_capture_the_trace():
    xs = np.full(400, 60.0)
    prob = draw(xs)
    prob[200:203, :] = 255  # a horizontal grid line crossing the curve
    prob[:, 150:152] = 120  # a fainter vertical line elsewhere
    tr = trace_curve(prob)
    assert np.abs(tr.x - 60).max() < 1.0


def draw_polyline(xs, width=3, cols=200, value=255):
    """A probability map of the polyline through (xs[r], row centre r), as a scan cuts it:
    row r holds the line from the midpoint with the row above to the midpoint with the
    row below (a turning point's row reaches out to the vertex)."""
    rows = len(xs)
    prob = np.zeros((rows, cols), np.uint8)
    c = np.arange(cols)
    for r in range(rows):
        ends = [xs[r]]
        if r > 0:
            ends.append((xs[r - 1] + xs[r]) / 2)
        if r + 1 < rows:
            ends.append((xs[r] + xs[r + 1]) / 2)
        prob[r, (c >= min(ends) - width / 2) & (c <= max(ends) + width / 2)] = value
    return prob


def test_sharp_peak_is_followed():
    xs = np.full(300, 50.0)
    xs[150:153] = [90, 130, 90]  # a spike of 80 px over three rows
    tr = trace_curve(draw_polyline(xs, width=3))
    assert tr.x[151] > 125  # the tip of the peak, not the near end of the stroke
    assert abs(tr.x[152] - 90) < 3 and abs(tr.x[150] - 90) < 3
    assert np.abs(tr.x[:148] - 50).max() < 1 and np.abs(tr.x[156:] - 50).max() < 1


def test_steep_straight_stroke_is_read_at_each_rows_centre():
    """A rough curve's steep stretch crosses 20 px per row: each row's ink is a short
    horizontal stroke centred on the curve's value at that row. Its far end (right for a
    peak's tip) overshoots by half a step; ``onward`` reads such rows at their centroid."""
    xs = np.full(120, 30.0)
    xs[50:60] = 30 + 14 * np.arange(1, 11)  # 14 px per row, to 170
    xs[60:] = 170.0
    p = draw_polyline(xs, width=3)
    steep = np.arange(51, 59)
    new = trace_curve(p)
    assert np.abs(new.x[steep] - xs[steep]).max() < 2
    old = trace_curve(p, onward=-1)
    assert np.abs(old.x[steep] - xs[steep]).min() > 4  # the far end: about half a step on


def test_empty_map_gives_all_nan():
    tr = trace_curve(np.zeros((50, 30), np.uint8))
    assert np.isnan(tr.x).all() and tr.coverage == 0.0


def test_rejects_float_maps():
    with pytest.raises(ValueError):
        trace_curve(np.zeros((5, 5)))


def test_bridge_edges():
    x = np.arange(10, dtype=float)
    sup = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0], bool)
    out = bridge_gaps(x, sup, max_gap=2)
    assert np.isnan(out[0]) and np.isnan(out[6:]).all()  # no extrapolation at the ends
    np.testing.assert_allclose(out[1:6], [1, 2, 3, 4, 5])


def test_exclude_trace_removes_the_curve_and_its_stroke():
    from logdigit.trace import exclude_trace

    prob = np.zeros((4, 40), np.uint8)
    prob[:, 4:7] = 200  # the traced curve
    prob[1, 4:20] = 200  # ... with a horizontal stroke (a peak) in row 1
    prob[:, 30:33] = 150  # another curve
    x = np.array([5.0, 5.0, np.nan, 5.0])
    out = exclude_trace(prob, x, half_width=2)
    assert out[[0, 1, 3], :25].max() == 0  # the curve and its whole stroke are gone
    assert (out[:, 30:33] == 150).all()  # the other curve stays
    assert (out[2] == prob[2]).all()  # NaN rows untouched
    assert prob[1, 15] == 200  # input not modified


def test_resolve_crossings_swaps_back_by_continuity():
    from logdigit.trace import resolve_crossings

    rows, cols = 300, 100
    a = np.full(rows, 20.0)  # the solid line: ink on every row
    b = np.full(rows, 70.0)  # the dashed line: 6 rows on, 4 off
    ink = np.zeros((rows, cols), np.uint8)
    ink[:, 19:22] = 1
    for r in range(rows):
        if r % 10 < 6:
            ink[r, 69:72] = 1
    style = np.zeros((rows, cols), np.int16)
    # the traces changed curves for rows 100..199 (at a jump)
    xs, xd = a.copy(), b.copy()
    xs[100:200], xd[100:200] = b[100:200], a[100:200]
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)
    # already right: nothing changes
    fs, fd = resolve_crossings(a, b, ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(fs, a)


def test_resolve_crossings_decides_short_stretches_too():
    """Two rough curves that touch every few rows: the traces traded curves for a 5-row
    stretch between two meetings. The segmenter's style says which is which; a stretch
    this short is decided too (it was left as the paths ran with the old ``min_rows=8``)."""
    from logdigit.trace import resolve_crossings

    rows, cols = 40, 100
    a = np.full(rows, 20.0)  # the solid curve ...
    b = np.full(rows, 20.0)  # ... and the dashed one, together except for rows 10-14
    b[10:15] = 60.0
    ink = np.zeros((rows, cols), np.uint8)
    style = np.zeros((rows, cols), np.int16)
    ink[:, 19:22] = 1
    ink[10:15, 59:62] = 1
    style[:, 19:22] = 255  # solid
    style[10:15, 59:62] = -255  # dashed
    xs, xd = a.copy(), b.copy()
    xs[10:15], xd[10:15] = b[10:15], a[10:15]  # traded between the two meetings
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)
    fs, _ = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3, min_rows=8)
    np.testing.assert_array_equal(fs, xs)  # too short for min_rows=8: left alone
    # a stretch on horizontal-rule rows only has no ink evidence: no decision, no warning
    skip = np.zeros(rows, bool)
    skip[10:15] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3,
                                   skip_rows=skip)
    np.testing.assert_array_equal(fs, xs)


def test_a_gap_in_one_trace_does_not_split_the_decision_where_no_trade_was_possible():
    """The traces start on the wrong curves and never come near each other; the dashed
    trace has a gap (a faint stretch). After the gap, the evidence alone is misleading (a
    few rows where the dashed line's ink has no gaps); judged with the rows before the
    gap, both stretches are exchanged, and the curves keep their identities throughout."""
    from logdigit.trace import _no_trade_between, resolve_crossings

    rows, cols = 300, 100
    a = np.full(rows, 20.0)  # the solid line
    b = np.full(rows, 70.0)  # the dashed line
    ink = np.zeros((rows, cols), np.uint8)
    ink[:, 19:22] = 1
    for r in range(rows):
        if r % 10 < 6 or r >= 250:  # the last 50 rows: the dashes' gaps filled in
            ink[r, 69:72] = 1
    ink[250:, 19:22] = 0
    ink[250:300:2, 19:22] = 1  # ... and the solid line broken up there
    style = np.zeros((rows, cols), np.int16)
    xs, xd = b.copy(), a.copy()  # wrong way round from the start
    xs[240:250] = np.nan  # a gap in one trace
    got_s, got_d = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(got_s, a)
    want_d = b.copy()
    want_d[240:250] = np.nan  # the gap goes with the trace that had it
    np.testing.assert_array_equal(got_d, want_d)
    # where the traces met or changed sides in the gap, the stretches stay apart
    jumped = np.zeros(rows, bool)
    assert _no_trade_between(xs, xd, 239, 250, meet=6, jumped=jumped)
    met = xs.copy()
    met[240:250] = np.nan
    met[250:] = 24.0  # changed sides (of xd = 20)
    assert not _no_trade_between(met, xd, 239, 250, meet=6, jumped=jumped)
    close = xd.copy()
    close[245] = 68.0  # came within 6 px of the other trace's path across its gap
    assert not _no_trade_between(xs, close, 239, 250, meet=6, jumped=jumped)
    jumped[250] = True
    assert not _no_trade_between(xs, xd, 239, 250, meet=6, jumped=jumped)


def test_a_jagged_curve_jumping_on_its_own_does_not_cut_the_stretch():
    """A jagged log jumps sideways every few rows. Only jumps of both traces together can
    be a trade of curves; one trace's own jumps must not chop the log into stretches too
    short to judge."""
    from logdigit.trace import resolve_crossings

    rows, cols = 300, 100
    a = np.full(rows, 80.0)  # the solid line, straight
    b = np.where(np.arange(rows) // 3 % 2 == 0, 10.0, 30.0)  # dashed, jumps 20 px
    ink = np.zeros((rows, cols), np.uint8)
    ink[:, 79:82] = 1
    for r in range(rows):
        if r % 10 < 6:
            ink[r, int(b[r]) - 1 : int(b[r]) + 2] = 1
    style = np.zeros((rows, cols), np.int16)
    fs, fd = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)


def test_resolve_crossings_reads_dash_gaps_in_the_scan_when_the_ink_map_has_none():
    """On a blurred scan the segmenter's ink runs through the dash gaps, so both traces
    look continuous; the scan itself still shows the gaps, over a long stretch."""
    from logdigit.trace import resolve_crossings

    rows, cols = 400, 100
    a, b = np.full(rows, 20.0), np.full(rows, 70.0)  # solid at 20, dashed at 70
    ink = np.zeros((rows, cols), np.uint8)
    ink[:, 19:22] = ink[:, 69:72] = 1  # both unbroken in the segmenter's map
    style = np.zeros((rows, cols), np.int16)
    pixels = np.full((rows, cols), 230, np.uint8)
    pixels[:, 19:22] = 40
    for r in range(rows):
        if r % 10 < 6:
            pixels[r, 69:72] = 40
    xs, xd = b.copy(), a.copy()  # the solid trace took the dashed curve for the whole log
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(fs, b)  # the ink map alone cannot tell
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3, pixels=pixels)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)
    # the rows of a horizontal grid rule (dark everywhere) are left out of the scores
    skip = np.zeros(rows, bool)
    skip[::10] = True
    fs, _ = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3, pixels=pixels,
                              skip_rows=skip)
    np.testing.assert_array_equal(fs, a)
    # a short stretch has too few dash periods to go by: left as it is
    fs, _ = resolve_crossings(xs[:100], xd[:100], ink=ink[:100], style=style[:100],
                              half_width=3, pixels=pixels[:100])
    np.testing.assert_array_equal(fs, b[:100])


def test_resolve_crossings_finds_dash_gaps_on_the_horizontal_strokes_of_a_jagged_curve():
    """A jagged log is drawn as one horizontal stroke per row; a dotted one has its gaps
    along those strokes, while the pixel at each row's value is ink. Sampled once per row
    both traces look unbroken; measured along the path the dotted one is not."""
    from logdigit.trace import resolve_crossings

    rows, cols = 300, 100
    phase = np.arange(rows) % 10
    zig = 6.0 * np.minimum(phase, 10 - phase)  # 6 px per row, under the tracer's jump
    a, b = 10.0 + zig, 60.0 + zig  # solid zigzags over 10..40, dotted over 60..90
    pixels = np.full((rows, cols), 235, np.uint8)
    ink = np.zeros((rows, cols), np.uint8)
    pixels[:, 10:41] = 30
    for c in range(60, 91):
        if (c - 60) // 5 % 2 == 0:
            pixels[:, c] = 30
    for r in range(rows):  # ink right at every row's value
        pixels[r, int(b[r]) - 1 : int(b[r]) + 2] = 30
    ink[:, 10:41] = ink[:, 60:91] = 1  # the segmenter's ink runs through the gaps
    style = np.zeros((rows, cols), np.int16)
    xs, xd = b.copy(), a.copy()  # swapped over the whole log
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3, pixels=pixels)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)
    fs, fd = resolve_crossings(a, b, ink=ink, style=style, half_width=3, pixels=pixels)
    np.testing.assert_array_equal(fs, a)  # already right: left alone


def test_the_scan_outweighs_the_segmenter_on_a_faint_solid_beside_a_bold_dashed_line():
    """The segmenter misses a third of a faint solid line and runs its ink through the
    gaps of a bold dashed one; the scan shows the faint line whole and the gaps open."""
    from logdigit.trace import resolve_crossings

    rows, cols = 400, 100
    a, b = np.full(rows, 20.0), np.full(rows, 70.0)  # faint solid at 20, bold dashed at 70
    ink = np.zeros((rows, cols), np.uint8)
    ink[:, 68:73] = 1
    ink[np.arange(rows) % 3 != 0, 19:22] = 1
    pixels = np.full((rows, cols), 235, np.uint8)
    pixels[:, 20] = 175  # faint
    pixels[np.arange(rows) % 10 < 7, 68:73] = 20  # bold, 3 rows of every 10 open
    style = np.zeros((rows, cols), np.int16)
    fs, fd = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3,
                               pixels=pixels)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)
    fs, _ = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3,
                              pixels=pixels, scan_weight=1.0)
    np.testing.assert_array_equal(fs, b)  # at equal weight the two opinions cancel out


def test_arc_darkness_reads_the_pixels_between_rows():
    from logdigit.trace import arc_darkness

    dark = np.zeros((3, 20), np.int16)
    dark[1, 5:16] = 100
    x = np.array([0.0, 10.0, 20.0])
    v = arc_darkness(dark, x, rows=(1, 2))
    # row 1 covers columns 5..15 (halfway to its neighbours): all ink
    np.testing.assert_array_equal(v, np.full(11, 100))
    v = arc_darkness(dark, x, rows=(0, 1))  # columns 0..5; 5 sits beside row 1's ink
    np.testing.assert_array_equal(v, [0, 0, 0, 0, 0, 100])
    assert len(arc_darkness(dark, x, skip_rows=np.array([False, True, False]))) == 6 + 5
    np.testing.assert_array_equal(arc_darkness(dark, np.array([np.nan, 10.0, np.nan])),
                                  [100])


def test_path_continuity_measures_each_path_against_its_own_ink():
    from logdigit.trace import path_continuity

    faint_solid = np.full(200, 40)
    bold_dashed = np.where(np.arange(200) % 10 < 7, 200, 5)
    dotted = np.where(np.arange(200) % 10 < 3, 200, 5)  # gaps are most of its length
    assert path_continuity(faint_solid) == 1.0
    assert path_continuity(bold_dashed) == pytest.approx(0.7)
    assert path_continuity(dotted) == pytest.approx(0.3)
    assert path_continuity(np.zeros(50)) == 0.0


def test_wrap_lets_the_path_leave_at_one_edge_and_come_back_at_the_other():
    cols = 120
    # a short excursion onto the backup scale: out at the right edge, 16 rows in from the
    # left, and back out at the left edge to continue on the main scale at the right
    main1, backup, main2 = np.linspace(60, 118, 100), 1 + 9 * np.sin(np.linspace(0, np.pi, 16)), \
        np.linspace(118, 60, 100)
    xs = np.concatenate([main1, backup, main2])
    strokes = []
    for lo, hi in ((0, 100), (100, 116), (116, 216)):
        part = np.full(len(xs), np.nan)
        part[lo:hi] = xs[lo:hi]
        strokes.append(draw(part, width=3, cols=cols))
    prob = np.maximum.reduce(strokes)
    wrapped = trace_curve(prob, wrap=4.0)
    assert np.nanmax(np.abs(wrapped.x - xs)) < 2.0
    assert wrapped.coverage == 1.0
    # without wrapping, crossing the track on paper twice costs more than 16 inkless rows
    plain = trace_curve(prob)
    assert np.nanmax(np.abs(plain.x[100:116] - xs[100:116])) > 50


# --------------------------------------------------------------------------- same style


def test_same_style_traces_that_turned_back_at_a_crossing_are_exchanged():
    from logdigit.trace import resolve_same_style

    r = np.arange(200, dtype=float)
    up, down = 20 + 0.5 * r, 120 - 0.5 * r  # two straight lines crossing at row 100
    # the tracer turned back at the crossing: each trace is a "V"
    xa = np.where(r < 100, up, down)
    xb = np.where(r < 100, down, up)
    a, b, contacts = resolve_same_style(xa, xb, half_width=2.0)
    assert len(contacts) == 1 and contacts[0].swapped and not contacts[0].ambiguous
    np.testing.assert_allclose(a, up)
    np.testing.assert_allclose(b, down)
    # already right: kept
    a2, b2, c2 = resolve_same_style(up, down, half_width=2.0)
    assert not c2[0].swapped
    np.testing.assert_allclose(a2, up)


def test_same_style_contact_the_slopes_cannot_explain_is_null_not_guessed():
    from logdigit.trace import resolve_same_style

    r = np.arange(200, dtype=float)
    xa = np.where(r < 100, 20 + 0.5 * r, 70.0)  # both arrive at 70 and run on vertically
    xb = np.where(r < 100, 120 - 0.5 * r, 70.0 + 0.02 * np.clip(r - 100, 0, None) ** 1.5)
    a, b, contacts = resolve_same_style(xa, xb, half_width=2.0)
    assert contacts[0].ambiguous
    s = contacts[0].start
    assert np.isnan(a[s:]).all() and np.isnan(b[s:]).all()
    np.testing.assert_allclose(a[: s], xa[: s])


def test_same_style_traces_that_never_meet_are_untouched():
    from logdigit.trace import resolve_same_style

    xa, xb = np.full(50, 10.0), np.full(50, 40.0)
    a, b, contacts = resolve_same_style(xa, xb, half_width=2.0)
    assert contacts == [] and (a == xa).all() and (b == xb).all()


def test_order_left_to_right_uses_the_first_row_where_all_are_apart():
    from logdigit.trace import order_left_to_right

    a = np.array([np.nan, 50.0, 50.0, 10.0])
    b = np.array([5.0, 51.0, 20.0, 60.0])  # row 1: too close; row 2: b is left of a
    assert order_left_to_right([a, b], half_width=2.0) == [1, 0]
    assert order_left_to_right([b, a], half_width=2.0) == [0, 1]
    assert order_left_to_right([a, a], half_width=2.0) == [0, 1]  # never apart: as listed


def test_straight_columns_are_weakened_but_a_blind_map_is_left_alone():
    from logdigit.trace import suppress_straight_columns

    prob = np.zeros((600, 100), np.uint8)
    prob[:, 10] = 255  # a grid line
    prob[np.arange(600), 40 + (np.arange(600) // 50)] = 255  # a wandering curve
    out = suppress_straight_columns(prob, window=200)
    assert (out[:, 10] == 76).all() and (out[:, 40:52] == prob[:, 40:52]).all()
    blind = np.full((600, 100), 200, np.uint8)
    assert suppress_straight_columns(blind, window=200) is blind


def _two_inked_lines(rows: int = 200, cols: int = 100):
    """Traces a (column 20) and b (column 70), an ink map with both lines, no style yet."""
    a, b = np.full(rows, 20.0), np.full(rows, 70.0)
    ink = np.zeros((rows, cols), np.uint8)
    ink[:, 19:22] = 1
    ink[:, 69:72] = 1
    return a, b, ink, np.zeros((rows, cols), np.int16)


def test_the_segmenters_style_opinion_decides_when_the_ink_cannot():
    """Both lines look equally continuous in the ink map; the segmenter calls the line the
    solid trace is on dashed. Its opinion, weighted by ``style_weight``, exchanges them."""
    from logdigit.trace import resolve_crossings

    a, b, ink, style = _two_inked_lines()
    style[:, 19:22] = 60  # line a: more solid than dashed
    style[:, 69:72] = -60  # line b: more dashed
    got_s, got_d = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(got_s, a)
    np.testing.assert_array_equal(got_d, b)
    # without the style opinion nothing tells them apart: left as they were
    got_s, _ = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3,
                                 style_weight=0.0)
    np.testing.assert_array_equal(got_s, b)
    # weighted down, the opinion's margin (0.1 * 2 * 60 / 255 = 0.047) is under the 0.08
    # needed to exchange the traces
    got_s, _ = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3,
                                 style_weight=0.1)
    np.testing.assert_array_equal(got_s, b)


def test_the_segmenters_dashed_opinion_counts_as_much_as_its_solid_one():
    """The segmenter is unsure of line a (style 0) and calls line b, which the solid trace
    is on, dashed (style < 0): a negative opinion is evidence too, not read as 0."""
    from logdigit.trace import resolve_crossings

    a, b, ink, style = _two_inked_lines()
    style[:, 69:72] = -60  # line b: more dashed; line a: no opinion
    got_s, got_d = resolve_crossings(b.copy(), a.copy(), ink=ink, style=style, half_width=3)
    np.testing.assert_array_equal(got_s, a)
    np.testing.assert_array_equal(got_d, b)


def test_centrelines_found_once_serve_the_map_cut_from_them():
    from logdigit.trace import centrelines, exclude_trace

    a, b = sine(centre=60.0), sine(centre=140.0, amp=30.0)
    prob = np.maximum(draw(a, width=5), draw(b, width=5))
    skel = centrelines(prob)
    assert skel.dtype == bool and skel.shape == prob.shape
    assert skel.sum() < (prob >= 128).sum() / 3  # lines, not the strokes
    first = trace_curve(prob)
    assert np.array_equal(trace_curve(prob, skeleton=skel).x, first.x, equal_nan=True)
    # the second curve's map is the first one cut away: the same centrelines do
    cut = exclude_trace(prob, first.x, half_width=4)
    second = trace_curve(cut, skeleton=skel)
    other = b if np.nanmean(np.abs(first.x - a)) < 2 else a
    assert np.nanmean(np.abs(second.x - other)) < 1.0
    assert np.allclose(second.x, trace_curve(cut).x, atol=0.5, equal_nan=True)
    with pytest.raises(ValueError, match="skeleton shape"):
        trace_curve(prob, skeleton=skel[:-1])


def test_stroke_widths_measures_steep_rows_only():
    from logdigit.trace import stroke_widths

    dark = np.zeros((40, 60), np.int16)
    dark[:20, 10:15] = 200  # a vertical line 5 px wide
    x = np.full(40, 12.0)
    x[20:] = 12.0 + 3.0 * np.arange(20)  # then slanted: 3 px per row
    w = stroke_widths(dark, x, np.arange(40), level=100)
    # rows 1..19: the slanted rows are left out, and row 0, which has no row above
    np.testing.assert_array_equal(w, np.full(19, 5.0))
    x[5] = np.nan
    assert len(stroke_widths(dark, x, np.arange(20), level=100)) == 16  # 5 and its neighbours
    assert len(stroke_widths(dark, x, np.arange(20), level=250)) == 0  # not ink at that level
    assert stroke_widths(dark, x, np.arange(0), level=100).shape == (0,)


def test_pen_signature_tells_a_thin_faint_line_from_a_bold_one():
    from logdigit.trace import pen_signature

    dark = np.zeros((100, 80), np.int16)
    dark[:, 20] = 80  # thin and faint
    dark[:, 50:56] = 220  # bold: 6 px wide
    thin = pen_signature(dark, np.full(100, 20.0), [(0, 100)])
    bold = pen_signature(dark, np.full(100, 52.0), [(0, 100)])
    np.testing.assert_allclose(thin, [np.log2(1.5), 80 / 64])
    np.testing.assert_allclose(bold, [np.log2(6.5), 220 / 64])
    assert pen_signature(dark, np.full(100, 20.0), [(0, 5)]) is None  # too short to tell
    assert pen_signature(dark, np.full(100, 35.0), [(0, 100)]) is None  # no ink there


def test_pen_decisions_overrule_misleading_style_only_where_the_pens_differ():
    from logdigit.trace import pen_decisions

    thin, bold = np.array([0.6, 1.3]), np.array([2.5, 3.4])
    base = np.array([-0.4, -0.4, -0.5, -0.4])  # style says: keep all four stretches
    sizes = np.full(4, 100.0)
    # ... but in the third the solid trace follows the bold pen, the dashed one the thin
    pens = [(thin, bold), (thin, bold), (bold, thin), (thin, bold)]
    got = pen_decisions(base, pens, sizes, margin=0.08, pen_weight=2.0)
    np.testing.assert_array_equal(got, [False, False, True, False])
    # the same evidence with the other pen drawing the solid curve mostly: mirror image
    mirrored = [(b, a) for a, b in pens]
    got = pen_decisions(base, mirrored, sizes, margin=0.08, pen_weight=2.0)
    np.testing.assert_array_equal(got, [False, False, True, False])
    # one pen for both curves: nothing to go by, the style decides
    same = [(thin, thin + 0.05)] * 4
    np.testing.assert_array_equal(pen_decisions(base, same, sizes, margin=0.08,
                                                pen_weight=2.0), [False] * 4)
    # off, or too few stretches measured
    np.testing.assert_array_equal(pen_decisions(base, pens, sizes, margin=0.08,
                                                pen_weight=0.0), [False] * 4)
    few = [(thin, bold), (None, thin), (bold, thin), (thin, None)]
    np.testing.assert_array_equal(pen_decisions(base, few, sizes, margin=0.08,
                                                pen_weight=2.0), [False] * 4)


def test_resolve_crossings_keeps_each_curve_with_its_pen():
    """A thin faint solid line and a bold dashed one cross three times. Over rows 200..299
    the traces took each other's curves, and there the segmenter's ink misleads: the bold
    dashed line's gaps are filled in and the faint solid line is broken up. Line style
    alone keeps the exchange; the pens undo it."""
    from logdigit.trace import resolve_crossings

    rows, cols = 400, 100
    side = np.arange(rows) // 100 % 2  # 0, 1, 0, 1 per hundred rows
    a = np.where(side == 0, 20.0, 70.0)  # the thin solid line
    b = np.where(side == 0, 70.0, 20.0)  # the bold dashed line
    meet = np.abs((np.arange(rows) + 2) % 100 - 2) <= 2  # rows 98..102, 198..202, ...
    meet[:3] = False
    a[meet] = b[meet] = 45.0  # the crossings
    pixels = np.full((rows, cols), 235, np.uint8)
    ink = np.zeros((rows, cols), np.uint8)
    for r in range(rows):
        misleading = 200 <= r < 300
        pixels[r, int(a[r])] = 150
        if not misleading or r % 2:
            ink[r, int(a[r])] = 1
        if r % 10 < 6 or misleading:
            pixels[r, int(b[r]) - 2 : int(b[r]) + 3] = 20
            ink[r, int(b[r]) - 2 : int(b[r]) + 3] = 1
    style = np.zeros((rows, cols), np.int16)
    xs, xd = a.copy(), b.copy()
    xs[203:298], xd[203:298] = b[203:298], a[203:298]
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3, pixels=pixels,
                               pen_weight=0.0)
    np.testing.assert_array_equal(fs, xs)  # style alone: the exchange stays
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=3, pixels=pixels)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)
    fs, fd = resolve_crossings(a, b, ink=ink, style=style, half_width=3, pixels=pixels)
    np.testing.assert_array_equal(fs, a)  # already right: left alone


def test_a_jagged_curve_keeps_its_turning_points():
    """A curve that zigzags 10 px from row to row is drawn as short horizontal strokes:
    each row's run of ink reaches from halfway to its neighbours out to its own value.
    The run's centroid cuts every turning point short; the run's far end (less half the
    line width, measured where the curve runs straight) does not."""
    from logdigit.trace import trace_curve

    rows, cols = 200, 100
    x = np.full(rows, 50.0)
    x[100:] = 50.0 + 5.0 * (-1.0) ** np.arange(100)  # 55, 45, 55, ...
    prob = np.zeros((rows, cols), np.uint8)
    for r in range(rows):
        ends = [x[r]] + [0.5 * (x[r] + x[q]) for q in (r - 1, r + 1) if 0 <= q < rows]
        prob[r, int(min(ends)) - 1 : int(max(ends)) + 2] = 255  # a pen 3 px wide
    got = trace_curve(prob, max_gap=0)
    zig = slice(101, rows - 1)
    np.testing.assert_allclose(got.x[:99], 50.0)
    np.testing.assert_allclose(got.x[zig], x[zig])
    plain = trace_curve(prob, max_gap=0, tips=False)
    assert np.abs(plain.x[zig] - x[zig]).min() >= 2.0  # the centroid: 2.5 px short


def _dashed_column(rows: int, cols: int, x: int, *, dash: int = 8, gap: int = 8):
    """Darkness image with one vertical dashed line of ink at column ``x``."""
    dark = np.zeros((rows, cols), np.int16)
    for r in range(0, rows, dash + gap):
        dark[r:r + dash, x - 1:x + 2] = 200
    return dark


def test_a_stretch_the_solid_trace_took_from_the_dashed_curve_is_handed_over():
    from logdigit.trace import hand_over_dashed_stretches

    rows, cols = 120, 60
    dark = _dashed_column(rows, cols, 30)
    style = np.zeros((rows, cols), np.int16)
    style[:, 29:32] = -200  # the segmenter calls it dashed
    xs = np.full(rows, 30.0)
    xd = np.full(rows, 10.0)
    xd[40:100] = np.nan  # the dashed trace had nothing there
    got_s, got_d = hand_over_dashed_stretches(xs, xd, style=style, dark=dark)
    assert np.isnan(got_s[40:100]).all()
    np.testing.assert_array_equal(got_d[40:100], 30.0)
    np.testing.assert_array_equal(got_s[:40], 30.0)  # rows where both had a trace: kept
    np.testing.assert_array_equal(got_d[:40], 10.0)
    # too short a stretch is left alone
    xd2 = np.full(rows, 10.0)
    xd2[40:50] = np.nan
    got_s, got_d = hand_over_dashed_stretches(xs, xd2, style=style, dark=dark)
    np.testing.assert_array_equal(got_s, xs)
    np.testing.assert_array_equal(got_d, xd2)


def test_an_unbroken_line_is_not_handed_over_whatever_the_segmenter_says():
    from logdigit.trace import hand_over_dashed_stretches

    rows, cols = 120, 60
    dark = np.zeros((rows, cols), np.int16)
    dark[:, 29:32] = 200  # continuous in the scan: a solid line
    style = np.zeros((rows, cols), np.int16)
    style[:, 29:32] = -200
    xs, xd = np.full(rows, 30.0), np.full(rows, np.nan)
    got_s, got_d = hand_over_dashed_stretches(xs, xd, style=style, dark=dark)
    np.testing.assert_array_equal(got_s, xs)
    assert np.isnan(got_d).all()
    # a broken line the segmenter calls solid stays with the solid trace too
    style[:, 29:32] = 200
    got_s, _ = hand_over_dashed_stretches(xs, xd, style=style,
                                          dark=_dashed_column(rows, cols, 30))
    np.testing.assert_array_equal(got_s, xs)


def test_a_long_excursion_along_ink_is_followed_rather_than_a_short_gap_crossed():
    """Sideways moves along ink are cheap (``jump_ink`` 0.005 per column): a peak drawn
    as horizontal strokes 400 columns out and back is followed, not cut off across a
    2-row gap of its base line. With the former 0.02 per column the path crossed the gap
    (800 columns cost 16 against 11 for two rows of paper)."""
    D = 400
    prob = np.zeros((100, 40 + D), np.uint8)
    prob[:, 19:22] = 255
    prob[50:52, 19:22] = 0  # a 2-row gap in the line
    prob[44:47, 20:20 + D + 2] = 255  # out along a horizontal stroke
    prob[44:57, 20 + D - 1:20 + D + 2] = 255  # down the far side
    prob[54:57, 20:20 + D + 2] = 255  # and back
    tr = trace_curve(prob)
    assert tr.path[50] == 20 + D and abs(tr.x[50] - (20 + D)) < 1
    assert abs(trace_curve(prob, jump_ink=0.02).x[50] - 20) < 1


# --------------------------------------------------------------------------- ink_off_rules


def test_ink_off_rules_keeps_dark_pixels_away_from_the_rules():
    from logdigit.trace import ink_off_rules

    pix = np.full((40, 30), 255, np.uint8)
    pix[:, 10] = 0  # a vertical rule
    pix[20, :] = 0  # a horizontal rule
    pix[5:15, 20] = 40  # curve ink
    pix[30, 25] = 200  # light: not ink
    rule_cols = np.zeros(30, bool)
    rule_cols[10] = True
    rule_rows = np.zeros(40, bool)
    rule_rows[20] = True
    out = ink_off_rules(pix, rule_cols=rule_cols, rule_rows=rule_rows, level=0.4)
    assert out.dtype == np.uint8 and out.shape == pix.shape
    assert (out[5:15, 20] == 102).all()  # round(0.4 * 255)
    assert out[:, 8:13].max() == 0  # the rule and two columns either side
    assert out[19:22].max() == 0  # the rule row and one row either side
    assert np.count_nonzero(out) == 10


def test_ink_off_rules_level_zero_and_bad_arguments():
    from logdigit.trace import ink_off_rules

    pix = np.zeros((5, 6), np.uint8)
    none_c, none_r = np.zeros(6, bool), np.zeros(5, bool)
    assert ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r, level=0.0).max() == 0
    assert (ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r, level=1.0) == 255).all()
    with pytest.raises(ValueError, match="rule_cols"):
        ink_off_rules(pix, rule_cols=np.zeros(5, bool), rule_rows=none_r)
    with pytest.raises(ValueError, match="level"):
        ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r, level=1.5)


def test_ink_off_rules_leaves_out_a_rule_kept_only_in_places_on_the_lattice():
    from logdigit.trace import ink_off_rules

    pix = np.full((400, 60), 255, np.uint8)
    pix[150:300, 20] = 0  # a minor rule the binarisation kept on 150 of 400 rows
    pix[100:300, 45] = 0  # a flat curve as straight, but off the lattice
    pix[50:60, 20] = 0  # a curve crossing the rule's column elsewhere: a short stretch
    none_c, none_r = np.zeros(60, bool), np.zeros(400, bool)
    lattice = np.zeros(60, bool)
    lattice[18:23] = True
    plain = ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r)
    out = ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r, lattice=lattice)
    assert (plain[150:300, 20] > 0).all()  # without the lattice the stretch is ink
    assert out[168:282, 20].max() == 0  # every window inside the stretch finds it
    assert (out[100:300, 45] == plain[100:300, 45]).all()  # off the lattice: kept
    assert (out[50:60, 20] > 0).all()  # too short to be a rule: kept
    assert np.array_equal(ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r,
                                        lattice=np.zeros(60, bool)), plain)
    with pytest.raises(ValueError, match="lattice"):
        ink_off_rules(pix, rule_cols=none_c, rule_rows=none_r, lattice=np.ones(5, bool))


def test_straight_stretches_marks_windows_and_neighbours():
    from logdigit.trace import straight_stretches

    mask = np.zeros((100, 10), bool)
    mask[:, 4] = True
    mask[::2, 7] = True  # half the rows: not straight enough
    out = straight_stretches(mask, window=20, min_fraction=0.9)
    assert out[:, 3:6].all() and not out[:, [0, 1, 2, 6, 7, 8, 9]].any()
    short = straight_stretches(mask[:5], window=20, min_fraction=0.9)  # one window
    assert short[:, 4].all()
    assert not straight_stretches(np.zeros((0, 3), bool), window=8, min_fraction=0.9).any()
    with pytest.raises(ValueError, match="window"):
        straight_stretches(mask, window=0, min_fraction=0.9)


def _dashed_peak(rows=70, cols=220, base=50, tip=150, top=25, bottom=45):
    """A 3-px line at column ``base`` with a sharp dashed peak out to ``tip`` between rows
    ``top`` and ``bottom`` (ink on three rows of every four: the dashes along a steep stroke)."""
    p = np.zeros((rows, cols), np.uint8)
    truth = np.full(rows, base + 1.0)
    mid, half = (top + bottom) / 2, (bottom - top) / 2
    for r in range(rows):
        if top <= r < bottom:
            x = base + (tip - base) * (1 - abs(r - mid) / half)
            truth[r] = x + 1
            if r % 4 != 3:
                p[r, int(x):int(x) + 3] = 255
        else:
            p[r, base:base + 3] = 255
    return p, truth


def test_trace_curve_cuts_a_dashed_peak_and_reroute_gaps_follows_it():
    p, truth = _dashed_peak()
    tr = trace_curve(p, max_gap=24)
    assert tr.path is not None and tr.path.dtype == np.int32 and len(tr.path) == len(p)
    tip = 36  # ink on the peak's tip row
    assert abs(tr.x[tip] - truth[tip]) > 50  # the first pass goes straight across
    new = reroute_gaps(p, tr, max_gap=24)
    on = np.arange(25, 45)
    assert np.nanmax(np.abs(new.x[on] - truth[on])) < 15
    assert abs(new.x[tip] - truth[tip]) < 3
    off = np.r_[0:20, 50:70]  # the rest of the line is untouched
    np.testing.assert_array_equal(new.x[off], tr.x[off])
    assert (new.confidence[on] >= 0.25).mean() > 0.4


def test_reroute_gaps_never_takes_another_curves_ink():
    """A long gap in a dashed line beside ink of another curve: searched on a route
    without that curve's ink, the gap stays bridged straight."""
    p = np.zeros((60, 130), np.uint8)
    p[:, 30:33] = 255  # the neighbour
    p[20:36, 44:47] = 255  # a branch of the neighbour's ink, 55 px from the gap
    p[:, 100:103] = 255  # the dashed line ...
    p[20:36, 100:103] = 0  # ... with a long gap
    other = trace_curve(np.ascontiguousarray(p[:, :40]), max_gap=24)
    mine = exclude_trace(p, other.x, half_width=8)
    tr = trace_curve(mine, max_gap=24)
    assert np.allclose(tr.x[20:36], 101, atol=1)
    greedy = reroute_gaps(mine, tr, max_gap=24)  # the route still has the branch
    assert np.allclose(greedy.x[22:34], 45, atol=1)
    clear = exclude_trace(mine, other.x, half_width=20)
    assert reroute_gaps(mine, tr, route=clear, max_gap=24) is tr


def test_reroute_gaps_edge_cases():
    p, _ = _dashed_peak()
    tr = trace_curve(p, max_gap=24)
    no_path = Trace(x=tr.x, confidence=tr.confidence)
    assert reroute_gaps(p, no_path) is no_path
    line = np.zeros((30, 40), np.uint8)
    line[:, 10:13] = 255
    full = trace_curve(line)
    assert reroute_gaps(line, full) is full  # nothing unsupported
    short = line.copy()
    short[10:12] = 0  # a 2-row gap: too short to search again
    t = trace_curve(short)
    assert reroute_gaps(short, t) is t
    with pytest.raises(ValueError):
        reroute_gaps(p[:10], tr)
    with pytest.raises(ValueError):
        reroute_gaps(p, tr, route=p[:, :5])
    # x_offset carries through
    shifted = trace_curve(p, max_gap=24, x_offset=100.0)
    a = reroute_gaps(p, shifted, x_offset=100.0)
    b = reroute_gaps(p, tr)
    np.testing.assert_allclose(a.x, b.x + 100.0)


def test_unsupported_runs():
    c = np.ones(20)
    c[3:6] = 0.1  # 3 rows
    c[8:9] = 0.0  # 1 row: too short
    c[12:19] = 0.2  # 7 rows
    assert unsupported_runs(c) == [(2, 6), (11, 19)]
    assert unsupported_runs(c, max_rows=5) == [(2, 6)]
    assert unsupported_runs(c, min_rows=1) == [(2, 6), (7, 9), (11, 19)]
    c[19] = 0.0  # now the last stretch runs to the end: no supported row after it
    assert unsupported_runs(c) == [(2, 6)]
    assert unsupported_runs(np.ones(5)) == []
    assert unsupported_runs(np.zeros(5)) == []


def test_reroute_gaps_searches_doubtful_rows_again():
    """A rule inked on every row (the segmenter took it for curve) beats a dashed stretch
    of the curve beside it in the first pass; with the rule's rows doubtful and the rule
    off the search map, the trace moves onto the dashes."""
    rows = 200
    p = np.zeros((rows, 120), np.uint8)
    p[30:170, 40:43] = 255  # the rule
    p[:40, 80:83] = 255  # the curve, solid above and below ...
    p[160:, 80:83] = 255
    for r0 in range(40, 160, 20):  # ... dashed in between: 12 rows on, 8 off
        p[r0:r0 + 12, 80:83] = 255
    tr = trace_curve(p, max_gap=24)
    mid = np.arange(60, 140)
    assert np.allclose(tr.x[mid], 41, atol=1)  # on the rule
    doubtful = np.abs(tr.x - 41) <= 2
    route = p.copy()
    route[:, 39:44] = 0
    new = reroute_gaps(p, tr, route=route, doubtful=doubtful, max_gap=24)
    assert np.abs(new.x[mid] - 81).max() < 2
    assert reroute_gaps(p, tr, route=route, max_gap=24) is tr  # nothing unsupported
    with pytest.raises(ValueError):
        reroute_gaps(p, tr, doubtful=doubtful[:10])


def test_a_short_doubtful_stretch_with_no_other_way_becomes_a_gap():
    p = np.zeros((100, 60), np.uint8)
    p[:, 20:23] = 255
    p[50:56, 20:23] = 0  # a dash gap ...
    p[48:58, 30:33] = 255  # ... with a stub of rule beside it
    tr = trace_curve(p, max_gap=24)
    assert np.allclose(tr.x[50:56], 31, atol=1)
    doubtful = np.abs(tr.x - 31) <= 2  # the rows traced along the stub
    route = p.copy()
    route[:, 29:34] = 0
    new = reroute_gaps(p, tr, route=route, doubtful=doubtful, max_gap=24)
    np.testing.assert_allclose(new.x[48:58], 21, atol=0.5)  # bridged straight
    np.testing.assert_allclose(new.x[:48], tr.x[:48])
    # longer than max_gap: left as it was (a curve may really run along a rule)
    assert reroute_gaps(p, tr, route=route, doubtful=doubtful, max_gap=4) is tr



def test_reroute_gaps_keeps_no_detour_over_paper_to_faint_ink():
    """A dash gap followed by rows along a rule (doubtful, but on the curve's own ink),
    with the faint fringe of another stroke beside the gap (dev13/clean-0006 C2D): a way
    out to the fringe and back has most of the stretch's rows on ink, but not the rows it
    moves to; the trace stays on the curve."""
    p = np.zeros((100, 80), np.uint8)
    p[:, 19:22] = 255  # the curve ...
    p[40:48, 19:22] = 0  # ... with a dash gap
    p[41:47, 50] = 110  # the fringe of another stroke, under 0.5
    tr = trace_curve(p, max_gap=24)
    np.testing.assert_allclose(tr.x[40:48], 20, atol=0.5)
    doubtful = np.zeros(100, bool)
    doubtful[48:70] = True  # the trace runs along a rule here
    assert reroute_gaps(p, tr, doubtful=doubtful, max_gap=24) is tr
    # where the fringe is ink (a real peak's dashes), the way out is taken
    q = p.copy()
    q[41:47, 50] = 255
    new = reroute_gaps(q, tr, doubtful=doubtful, max_gap=24)
    assert np.abs(new.x[42:46] - 50).max() < 2

def _dotted_line_with_speck(rows=80, cols=140, x=100, period=8, dot=4):
    """A dotted vertical line at column ``x`` (``dot`` rows of ink in every ``period``)
    and, in one of its dot gaps (rows 44-47), a speck of noise 57 px to its left
    (held-out hard-0005 C3D, session 37)."""
    p = np.zeros((rows, cols), np.uint8)
    for r0 in range(0, rows, period):
        p[r0:r0 + dot, x - 1:x + 2] = 255
    p[44:47, x - 58:x - 56] = 255
    return p


def test_ink_along_counts_the_ink_on_a_way_and_its_length():
    from logdigit.trace import ink_along

    p = np.zeros((20, 30), np.uint8)
    p[:, 5] = 255
    rows = np.arange(10)
    on, n = ink_along(p, rows, np.full(10, 5))
    assert (on, n) == (9, 9)  # 9 segments of 1 px, all on ink
    on, n = ink_along(p, np.arange(3), np.array([5, 25, 5]))  # out 20 px and back
    assert n == 40 and on == 1  # only the start (a segment's end is the next's start)
    # only the pixels more than ``radius`` columns from another way count
    on, n = ink_along(p, np.arange(3), np.array([5, 25, 5]), away_from=np.full(3, 5.0),
                      radius=3)
    assert on == 0 and n == 16 + 17  # columns 9..24 out, 25..9 back
    p[1, 25] = 200
    assert ink_along(p, np.arange(3), np.array([5, 25, 5]), away_from=np.full(3, 5.0),
                     radius=3) == (1, 33)
    assert ink_along(p, np.arange(3), np.array([5, 25, 5]), min_ink=201,
                     away_from=np.full(3, 5.0), radius=3) == (0, 33)
    assert ink_along(p, np.arange(1), np.array([5])) == (0, 0)  # a single point


def test_reroute_gaps_takes_no_way_out_to_a_speck_of_noise():
    """A dotted line's longer gap beside a speck of noise: the way out to the speck has
    most of its rows on ink (the speck's), but its length off the line is paper; with
    ``min_ink_share`` the trace stays on the line."""
    p = _dotted_line_with_speck()
    tr = trace_curve(p, max_gap=24)
    np.testing.assert_allclose(tr.x[40:50], 100, atol=0.5)
    greedy = reroute_gaps(p, tr, max_gap=24)  # no such test: the spike to the speck
    np.testing.assert_allclose(greedy.x[44:47], 42.5, atol=1)
    assert reroute_gaps(p, tr, max_gap=24, min_ink_share=0.1) is tr
    # a real dashed peak is drawn with the curve's own ink: still followed
    q, truth = _dashed_peak()
    t = trace_curve(q, max_gap=24)
    new = reroute_gaps(q, t, max_gap=24, min_ink_share=0.1)
    np.testing.assert_array_equal(new.x, reroute_gaps(q, t, max_gap=24).x)
    assert abs(new.x[36] - truth[36]) < 3


# --------------------------------------------------------------------------- row_gap_links
def test_row_gap_links_fills_short_gaps_between_ink_only():
    from logdigit.trace import row_gap_links

    m = np.zeros((5, 40), bool)
    m[2, 0:5] = m[2, 10:15] = m[2, 35:40] = True  # gaps of 5 and 20 px
    out = row_gap_links(m, max_gap=8, level=200)
    assert out.dtype == np.uint8 and out.shape == m.shape
    assert (out[2, 5:10] == 200).all()  # the short gap is linked
    assert (out[2, 15:35] == 0).all()  # the long one is not
    assert (out[m] == 0).all()  # the ink itself stays the map's
    assert (out[2, :5] == 0).all()
    # ink in the row above counts (dashes of a slanted stroke are a row apart)
    assert (out[1, 5:10] == 200).all() and (out[3, 5:10] == 200).all()
    assert (out[0] == 0).all() and (out[4] == 0).all()


def test_row_gap_links_edge_cases():
    from logdigit.trace import row_gap_links

    assert row_gap_links(np.zeros((0, 5), bool), max_gap=4).shape == (0, 5)
    one = np.zeros((3, 6), bool)
    one[1, 2] = True  # ink on one side only: nothing to link
    assert not row_gap_links(one, max_gap=4).any()
    two = np.zeros((3, 6), bool)
    two[1, [0, 5]] = True
    assert not row_gap_links(two, max_gap=0).any()
    assert (row_gap_links(two, max_gap=4, level=255)[1, 1:5] == 255).all()


def test_row_gap_links_links_longer_gaps_along_rules_between_dashes_only():
    from logdigit.trace import row_gap_links

    m = np.zeros((9, 120), bool)
    m[1, 0:20] = m[1, 60:80] = True  # a 40 px gap between two dashes, in a plain row
    m[4, 0:20] = m[4, 60:80] = True  # the same along a rule
    m[7, 0:3] = m[7, 43:63] = True  # along a rule too, but one side is a steep crossing
    rules = np.zeros(9, bool)
    rules[[4, 7]] = True
    out = row_gap_links(m, max_gap=16, long_rows=rules, long_gap=48)
    assert (out[4, 20:60] == 200).all()  # linked along the rule
    assert not out[1].any()  # not in a plain row
    assert not out[7].any()  # a 3-px run is no dash lying along the row
    # gaps longer than long_gap stay open, and without long_rows nothing changes
    assert not row_gap_links(m, max_gap=16, long_rows=rules, long_gap=32)[4].any()
    np.testing.assert_array_equal(
        row_gap_links(m, max_gap=16),
        row_gap_links(m, max_gap=16, long_rows=np.zeros(9, bool), long_gap=48))
    # only along the rules (a solid curve's ink), with the runs' least length given
    solid = row_gap_links(m, max_gap=0, long_rows=rules, long_gap=48, min_run=3)
    assert (solid[4, 20:60] == 200).all() and (solid[7, 3:43] == 200).all()
    assert not solid[1].any()
    with pytest.raises(ValueError, match="long_rows"):
        row_gap_links(m, max_gap=16, long_rows=np.zeros(3, bool), long_gap=48)


def test_trace_follows_an_excursion_along_a_rule_across_a_dropped_dash():
    """The segmenter drops a dash lying on a rule: with the longer links along the rule
    the trace still goes out along the excursion."""
    from logdigit.trace import row_gap_links

    prob = _dashed_excursion(dash=24.0, gap=8.0)
    prob[26:30, 86:120] = 0  # the dash out at x 90..116 dropped: a 37 px gap in row 28
    rules = np.zeros(len(prob), bool)
    rules[24:37] = True
    short = trace_curve(prob, link=row_gap_links(prob >= 128, max_gap=16)).x
    long = trace_curve(prob, link=row_gap_links(prob >= 128, max_gap=16, long_rows=rules,
                                                long_gap=64)).x
    assert short[27:34].max() < 100  # stuck before the dropped dash
    assert long[30] > 170 and long[29] > 130  # out to the tip (x = 180, row 30)
    np.testing.assert_allclose(long[:20], short[:20])
    np.testing.assert_allclose(long[40:], short[40:])


def _dashed_excursion(*, dash=12.0, gap=10.0, width=2):
    """A vertical curve at x = 20 that makes an excursion to x = 180 and back in rows
    25..35 (tip in row 30), dashed along that excursion (arc length): (60, 200) uint8."""
    H, W = 60, 200
    pts = [(0, 20), (25, 20), (30, 180), (35, 20), (59, 20)]
    prob = np.zeros((H, W), np.uint8)
    s = 0.0
    for (r0, x0), (r1, x1) in zip(pts[:-1], pts[1:], strict=False):
        length = float(np.hypot(r1 - r0, x1 - x0))
        for t in np.linspace(0, 1, int(4 * length) + 1, endpoint=False):
            r, x = r0 + t * (r1 - r0), x0 + t * (x1 - x0)
            if 25 <= r0 and r1 <= 35 and (s + t * length) % (dash + gap) >= dash:
                continue  # a gap of the dash pattern
            lo = max(0, int(round(x - width / 2)))
            prob[int(round(r)), lo:int(round(x + width / 2)) + 1] = 255
        s += length
    return prob


def test_trace_follows_a_dashed_excursion_across_its_gaps_with_links():
    from logdigit.trace import row_gap_links

    prob = _dashed_excursion()
    cut = trace_curve(prob).x
    followed = trace_curve(prob, link=row_gap_links(prob >= 128, max_gap=16)).x
    assert cut[30] < 60  # without links, jumping a dash gap costs as much as paper
    assert followed[30] > 150  # with them the trace goes out to the tip (180)
    assert followed[28] > cut[28] + 50 and followed[32] > cut[32] + 50
    # rows away from the excursion are not touched
    np.testing.assert_allclose(followed[:20], cut[:20])
    np.testing.assert_allclose(followed[40:], cut[40:])


def test_trace_curve_link_must_match_prob():
    with pytest.raises(ValueError, match="link"):
        trace_curve(np.zeros((5, 5), np.uint8), link=np.zeros((4, 5), np.uint8))


def test_back_pointers_fit_any_width():
    """The Viterbi's back pointers are int16 for tracks under 32,768 columns and int32
    beyond, where a column index would not fit in 16 bits."""
    from logdigit.trace import _back_pointers

    assert _back_pointers((10, 32767)).dtype == np.int16
    assert _back_pointers((10, 32768)).dtype == np.int32
    prob = np.zeros((6, 40000), np.uint8)
    prob[:, 39000] = 255  # a line far beyond column 32,767
    tr = trace_curve(prob, skeleton_bonus=0.0)
    np.testing.assert_allclose(tr.x, 39000.0)
    prob = np.zeros((6, 300), np.uint8)
    prob[:, 250] = 255
    np.testing.assert_allclose(trace_curve(prob, skeleton_bonus=0.0).x, 250.0)


def _dotted_beside_a_solid_inked_rule():
    """A dotted curve at column 20 (6 rows of ink, 2 of paper) and a rule at column 35 that
    the segmenter inked as a solid line (150) over rows 60-119."""
    H, W = 180, 60
    solid = np.zeros((H, W), np.uint8)
    dashed = np.zeros((H, W), np.uint8)
    dots = (np.arange(H) % 8) < 6
    dashed[dots, 19:22] = 255
    solid[60:120, 35] = 150
    lines = np.zeros(W, bool)
    lines[35] = True
    return np.maximum(solid, dashed), solid, dashed, lines


def test_solid_off_rules_weakens_only_the_solid_ink_on_rule_columns():
    ink, solid, dashed, lines = _dotted_beside_a_solid_inked_rule()
    dashed[90:95, 35] = 200  # the dashed curve's own ink on the rule stays
    ink = np.maximum(ink, dashed)
    out = solid_off_rules(ink, solid=solid, dashed=dashed, lines=lines, keep=0.3)
    assert out[70, 35] == 45 and out[70, 34] == 0  # 150 * 0.3; one column off: no ink
    assert out[92, 35] == 200
    off = np.ones(60, bool)
    off[34:37] = False  # the rule and one column either side
    assert np.array_equal(out[:, off], ink[:, off])
    assert ink[70, 35] == 150  # a new array
    assert solid_off_rules(ink, solid=solid, dashed=dashed, lines=np.zeros(60, bool)) is ink
    with pytest.raises(ValueError):
        solid_off_rules(ink, solid=solid, dashed=dashed, lines=lines[:-1])
    with pytest.raises(ValueError):
        solid_off_rules(ink, solid=solid, dashed=dashed, lines=lines, keep=1.5)


def test_a_dotted_curve_is_no_longer_drawn_down_a_rule_inked_as_solid():
    ink, solid, dashed, lines = _dotted_beside_a_solid_inked_rule()
    before = trace_curve(ink, max_gap=8)
    assert np.nanmax(np.abs(before.x[60:120] - 20)) > 10  # the rule captures the path
    after = trace_curve(solid_off_rules(ink, solid=solid, dashed=dashed, lines=lines),
                        max_gap=8)
    assert np.nanmax(np.abs(after.x - 20)) < 1.5


def test_traded_rows_finds_an_exchange_without_a_long_jump():
    from logdigit.trace import traded_rows

    xa = np.array([10.0, 10.0, 10.0, 21.0, 21.0])
    xb = np.array([20.0, 20.0, np.nan, 11.0, 11.0])  # a dash gap just before the trade
    got = traded_rows(xa, xb, min_jump=4)
    np.testing.assert_array_equal(got, [False, False, False, True, False])
    # both moving the same way (a step in both curves) is no exchange
    assert not traded_rows(xa, xb + [0, 0, 0, 20, 20], min_jump=4).any()
    # one trace alone jumping is a jagged curve
    assert not traded_rows(xa, np.full(5, 20.0), min_jump=4).any()
    # moves under min_jump: still on their own curves
    assert not traded_rows(np.array([10.0, 13.0]), np.array([13.0, 10.0]), min_jump=4).any()
    # last positions too far back are forgotten
    far = np.array([20.0, np.nan, np.nan, np.nan, np.nan, 11.0])
    assert not traded_rows(np.array([10.0] * 5 + [21.0]), far, min_jump=4, within=3).any()
    assert not traded_rows(np.array([]), np.array([]), min_jump=4).any()


def _solid_and_dashed_maps(rows: int, cols: int, *, solid: int, dashed: int):
    """Ink (0/1) and style (-255..255) maps of a 3-px solid line at column ``solid`` and a
    3-px dashed one (6 rows on, 4 off) at column ``dashed``, each labelled by its style."""
    ink = np.zeros((rows, cols), np.uint8)
    style = np.zeros((rows, cols), np.int16)
    ink[:, solid - 1:solid + 2] = 1
    style[:, solid - 1:solid + 2] = 255
    on = np.arange(rows) % 10 < 6
    ink[on, dashed - 1:dashed + 2] = 1
    style[on, dashed - 1:dashed + 2] = -255
    return ink, style


def test_resolve_crossings_splits_where_close_curves_were_traded():
    """Two curves 11 px apart (more than twice the half-width, less than the long-jump
    threshold of three half-widths): the traces exchange them in one row, each moving 11 px.
    The stretches before and after are decided apart: the solid trace is on the dashed
    curve before the trade and on its own after it, so only the first stretch swaps (as
    one stretch, both halves would be swapped or neither)."""
    from logdigit.trace import resolve_crossings

    rows, cols = 200, 60
    a = np.full(rows, 20.0)  # solid
    b = np.full(rows, 31.0)  # dashed
    ink, style = _solid_and_dashed_maps(rows, cols, solid=20, dashed=31)
    xs, xd = a.copy(), b.copy()
    xs[:100], xd[:100] = b[:100], a[:100]  # wrong before row 100, right after
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=4)
    np.testing.assert_array_equal(fs, a)
    np.testing.assert_array_equal(fd, b)


def test_bridged_trades_finds_a_jump_while_the_other_trace_bridged_across():
    from logdigit.trace import bridged_trades

    # xa jumps from 35 to 100 at row 10; xb had been at 100 and crosses to 35 on a
    # bridge drawn over rows 5..10 (never one long jump, never an exchange in one row)
    xa = np.array([35.0] * 10 + [100.0] * 10)
    xb = np.array([100.0] * 5 + [87.0, 74.0, 61.0, 48.0, 40.0] + [35.0] * 10)
    got = bridged_trades(xa, xb, min_jump=12, near=8, reach=16)
    assert np.flatnonzero(got).tolist() == [10]
    # ... seen from the other trace, a bridge is no jump
    assert not bridged_trades(xb, xa, min_jump=12, near=8, reach=16).any()
    # the other trace never was where xa landed: a jagged curve jumping alone
    assert not bridged_trades(xa, np.full(20, 60.0), min_jump=12, near=8).any()
    # it was, but never reaches where xa left: no trade
    xc = np.array([100.0] * 10 + [70.0] * 10)
    assert not bridged_trades(xa, xc, min_jump=12, near=8).any()
    # out of reach
    assert not bridged_trades(xa, xb, min_jump=12, near=8, reach=3).any()
    # gaps in xa: the jump is measured between its finite values
    xg = xa.copy()
    xg[8:10] = np.nan
    assert np.flatnonzero(bridged_trades(xg, xb, min_jump=12, near=8)).tolist() == [10]
    assert not bridged_trades(np.array([1.0]), np.array([2.0]), min_jump=1, near=1).any()


def test_resolve_crossings_splits_where_a_trace_jumped_while_the_other_bridged():
    """The solid trace runs on the dashed curve (col 100) for rows 0-69 and jumps to its
    own (col 35) at row 70, just as the dashed trace leaves it there on a bridge to the
    dashed curve (rows 70-75, 11 px a row: no jump). The traces are never close, so
    traced this way rows 0-199 were one decision; split at the jump, the first part
    swaps back."""
    from logdigit.trace import resolve_crossings

    ink, style = _solid_and_dashed_maps(200, 130, solid=35, dashed=100)
    xs = np.array([100.0] * 70 + [35.0] * 130)
    xd = np.array([35.0] * 70 + list(np.linspace(35, 100, 7)[1:6]) + [100.0] * 125)
    fs, fd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=4)
    np.testing.assert_array_equal(fs, 35.0)
    np.testing.assert_array_equal(fd[:70], 100.0)
    np.testing.assert_array_equal(fd[70:], xd[70:])
    # without the bridged trades the whole stretch is one decision, which the longer,
    # right part wins: nothing moves
    ks, kd = resolve_crossings(xs, xd, ink=ink, style=style, half_width=4, bridge_reach=0)
    np.testing.assert_array_equal(ks, xs)
    np.testing.assert_array_equal(kd, xd)


def test_claim_solid_stretches_takes_back_a_skipped_excursion():
    """A solid curve steps out to column 80 for rows 40-79 (joined by horizontal strokes
    the segmenter missed); the solid trace stayed at column 20 on the dashed curve's ink
    there. The excursion's vertical stretch, solid ink no trace explains, takes the solid
    trace over its rows; elsewhere nothing moves."""
    from logdigit.trace import claim_solid_stretches

    rows, cols = 120, 100
    solid = np.zeros((rows, cols), np.uint8)
    dashed = np.zeros((rows, cols), np.uint8)
    solid[:40, 29:32] = 255  # the solid curve at 30 ...
    solid[80:, 29:32] = 255
    solid[40:80, 79:82] = 255  # ... out at 80 for 40 rows
    dashed[:, 19:22] = 255  # the dashed curve at 20
    xs = np.full(rows, 30.0)
    xs[40:80] = 20.0  # on the dashed curve's ink
    xd = np.full(rows, 20.0)
    got = claim_solid_stretches(xs, xd, solid=solid, dashed=dashed, half_width=3,
                                min_rows=24)
    np.testing.assert_allclose(got[40:80], 80.0)
    np.testing.assert_array_equal(np.delete(got, range(40, 80)), np.delete(xs, range(40, 80)))
    assert xs[50] == 20.0  # the input is left as it was
    # too short a piece, or a trace that was on solid ink there: left alone
    short = claim_solid_stretches(xs, xd, solid=solid, dashed=dashed, half_width=3,
                                  min_rows=41)
    np.testing.assert_array_equal(short, xs)
    own = solid.copy()
    own[40:80, 19:22] = 255  # the trace's ink there is solid too
    kept = claim_solid_stretches(xs, xd, solid=own, dashed=np.zeros_like(dashed),
                                 half_width=3, min_rows=24)
    np.testing.assert_array_equal(kept, xs)
    # a piece the segmenter calls dashed as much as solid is not claimed
    mixed = dashed.copy()
    mixed[40:80, 79:82] = 255
    np.testing.assert_array_equal(
        claim_solid_stretches(xs, xd, solid=solid, dashed=mixed, half_width=3, min_rows=24),
        xs)


def test_claim_solid_stretches_edge_cases():
    from logdigit.trace import claim_solid_stretches

    empty = np.zeros((0, 5), np.uint8)
    assert len(claim_solid_stretches(np.zeros(0), np.zeros(0), solid=empty, dashed=empty,
                                     half_width=2)) == 0
    # no solid trace at all: a tall solid line no trace explains becomes the solid trace
    solid = np.zeros((40, 30), np.uint8)
    solid[:, 9:12] = 255
    got = claim_solid_stretches(np.full(40, np.nan), np.full(40, np.nan), solid=solid,
                                dashed=np.zeros_like(solid), half_width=2, min_rows=24)
    np.testing.assert_allclose(got, 10.0)
    # nothing but the traces' own ink: unchanged
    same = claim_solid_stretches(np.full(40, 10.0), np.full(40, np.nan), solid=solid,
                                 dashed=np.zeros_like(solid), half_width=2, min_rows=24)
    np.testing.assert_array_equal(same, 10.0)


# --------------------------------------------------------------------------- straight stretches
def _spike_maps():
    """A solid curve at column 20 with a sharp spike out to column 95 on rows 40-49: a
    thick stroke out (rows 40-43), the tip (rows 44-45, columns 90-97) and a stroke back
    (rows 46-49); a dashed curve at column 30 runs through the spike's base. The solid
    trace follows its curve but for rows 44-45, where it cut across on the dashed
    curve's ink (column 30)."""
    rows, cols = 80, 100
    solid = np.zeros((rows, cols), np.uint8)
    dashed = np.zeros((rows, cols), np.uint8)
    solid[:, 19:22] = 255
    solid[40:44, 19:98] = 255  # out ...
    solid[44:46, 90:98] = 255  # ... the tip ...
    solid[46:50, 19:98] = 255  # ... and back
    dashed[:, 29:32] = 255
    xs = np.full(rows, 20.0)
    xs[44:46] = 30.0
    return solid, dashed, xs, np.full(rows, 30.0)


def test_claim_solid_spikes_takes_the_tip_the_trace_cut_across():
    from logdigit.trace import claim_solid_spikes

    solid, dashed, xs, xd = _spike_maps()
    got = claim_solid_spikes(xs, xd, solid=solid, dashed=dashed, half_width=3, max_rows=24)
    np.testing.assert_allclose(got[44:46], 93.5)  # the tip's middle
    # the rows where the trace was on solid ink (the spike's strokes) are kept
    np.testing.assert_array_equal(np.delete(got, [44, 45]), np.delete(xs, [44, 45]))
    assert xs[44] == 30.0  # the input is left as it was


def test_claim_solid_spikes_leaves_what_is_not_a_skipped_spike():
    from logdigit.trace import claim_solid_spikes

    solid, dashed, xs, xd = _spike_maps()
    # a piece as tall as max_rows is claim_solid_stretches' business
    np.testing.assert_array_equal(
        claim_solid_spikes(xs, xd, solid=solid, dashed=dashed, half_width=3, max_rows=10),
        xs)
    # too narrow a piece
    np.testing.assert_array_equal(
        claim_solid_spikes(xs, xd, solid=solid, dashed=dashed, half_width=3, max_rows=24,
                           min_width=90), xs)
    # ink the segmenter calls dashed as much as solid
    mixed = dashed.copy()
    mixed[40:50, 35:98] = 255
    np.testing.assert_array_equal(
        claim_solid_spikes(xs, xd, solid=solid, dashed=mixed, half_width=3, max_rows=24), xs)
    # a trace on solid ink on every row keeps its place
    own = solid.copy()
    own[44:46, 29:32] = 255
    np.testing.assert_array_equal(
        claim_solid_spikes(xs, xd, solid=own, dashed=dashed, half_width=3, max_rows=24), xs)
    # a wide blob off on its own (not touching either trace's band) is not the curve's
    apart = np.zeros_like(solid)
    apart[:, 19:22] = 255
    apart[44:46, 60:98] = 255
    np.testing.assert_array_equal(
        claim_solid_spikes(xs, xd, solid=apart, dashed=dashed, half_width=3, max_rows=24),
        xs)
    empty = np.zeros((0, 5), np.uint8)
    assert len(claim_solid_spikes(np.zeros(0), np.zeros(0), solid=empty, dashed=empty,
                                  half_width=2)) == 0
    # a trace on a dark line of the scan that neither class claims (a curve along a
    # grid rule) keeps its place; on paper it does not
    pixels = np.full(solid.shape, 230, np.uint8)
    pixels[:, 29:32] = 40
    np.testing.assert_array_equal(
        claim_solid_spikes(xs, xd, solid=solid, dashed=np.zeros_like(dashed), half_width=3,
                           max_rows=24, pixels=pixels), xs)
    np.testing.assert_allclose(
        claim_solid_spikes(xs, xd, solid=solid, dashed=np.zeros_like(dashed), half_width=3,
                           max_rows=24, pixels=np.full(solid.shape, 230, np.uint8))[44:46],
        93.5)
    # ... and a line the segmenter calls dashed is the dashed curve's, not the trace's
    np.testing.assert_allclose(
        claim_solid_spikes(xs, xd, solid=solid, dashed=dashed, half_width=3, max_rows=24,
                           pixels=pixels)[44:46], 93.5)
    # a piece that meets only the dashed trace's band (here: the solid trace is missing
    # where it ran on the dashed curve's ink), as a rough dashed curve's strokes that the
    # segmenter calls solid do
    gap = xs.copy()
    gap[40:50] = np.nan
    got = claim_solid_spikes(gap, xd, solid=solid, dashed=dashed, half_width=3, max_rows=24)
    np.testing.assert_array_equal(got, gap)


def test_straight_stretches_only_keeps_runs_down_one_column():
    from logdigit.trace import straight_stretches_only

    flags = np.zeros(30, bool)
    flags[2:8] = flags[12:20] = flags[25:] = True
    x = np.full(30, 50.0)
    x[12:20] = np.linspace(48, 53, 8)  # crosses the rule: spans 5 columns
    x[4] = np.nan  # gaps do not count
    x[25:] = np.nan  # a run with no trace at all is kept
    out = straight_stretches_only(flags, x, max_spread=2.0)
    assert out.dtype == bool and out is not flags
    np.testing.assert_array_equal(out[2:8], True)
    np.testing.assert_array_equal(out[12:20], False)
    np.testing.assert_array_equal(out[25:], True)
    assert not out[:2].any() and not out[8:12].any() and not out[20:25].any()
    # the spread is max - min: 5 columns pass a limit of 5
    np.testing.assert_array_equal(straight_stretches_only(flags, x, max_spread=5.0), flags)
    assert not straight_stretches_only(np.zeros(0, bool), np.zeros(0), max_spread=1).size
    with pytest.raises(ValueError, match="shape"):
        straight_stretches_only(flags, x[:5], max_spread=2.0)


# --------------------------------------------------------------------------- search_solid_stretches
def _faint_solid_case(*, faint_prob=20, rows=200, cols=120):
    """A solid curve at column 30 the segmenter saw only above row 50 and below row 150
    (faintly in between), a dashed curve at column 70 (strong ink, dashed class); the
    solid trace took the dashed ink over rows 50-149."""
    solid = np.zeros((rows, cols), np.uint8)
    dashed = np.zeros((rows, cols), np.uint8)
    solid[:50, 29:32] = 255
    solid[150:, 29:32] = 255
    solid[50:150, 29:32] = faint_prob
    dashed[:, 69:72] = 255
    ink = np.maximum(solid, dashed)
    xs = np.full(rows, 30.0)
    xs[50:150] = 70.0
    xd = np.full(rows, 70.0)
    return xs, xd, ink, solid, dashed


def test_search_solid_stretches_finds_the_faint_curve_the_trace_left():
    from logdigit.trace import search_solid_stretches

    xs, xd, ink, solid, dashed = _faint_solid_case()
    out = search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed, half_width=3.0)
    np.testing.assert_allclose(out[50:150], 30.0, atol=0.6)
    np.testing.assert_array_equal(out[:50], xs[:50])
    np.testing.assert_array_equal(out[150:], xs[150:])
    assert np.array_equal(xs[50:150], np.full(100, 70.0))  # the input is not modified
    # too short a stretch, or nothing but paper where the curve should be: unchanged
    same = search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed,
                                  half_width=3.0, min_rows=101)
    np.testing.assert_array_equal(same, xs)
    xs0, xd0, ink0, solid0, dashed0 = _faint_solid_case(faint_prob=0)
    np.testing.assert_array_equal(search_solid_stretches(
        xs0, xd0, ink=ink0, solid=solid0, dashed=dashed0, half_width=3.0), xs0)
    # a trace that crossed paper, not dashed ink, is not searched here
    xs_paper = xs.copy()
    xs_paper[50:150] = 50.0
    np.testing.assert_array_equal(search_solid_stretches(
        xs_paper, xd, ink=ink, solid=solid, dashed=dashed, half_width=3.0), xs_paper)
    # a trace on solid ink throughout is left alone
    xs_ok = np.full(len(xs), 30.0)
    np.testing.assert_array_equal(search_solid_stretches(
        xs_ok, xd, ink=ink, solid=solid, dashed=dashed, half_width=3.0), xs_ok)
    assert search_solid_stretches(np.zeros(0), np.zeros(0), ink=np.zeros((0, 5), np.uint8),
                                  solid=np.zeros((0, 5), np.uint8),
                                  dashed=np.zeros((0, 5), np.uint8), half_width=3.0).size == 0


def test_search_solid_stretches_reads_the_scans_faint_ink():
    from logdigit.trace import search_solid_stretches

    xs, xd, ink, solid, dashed = _faint_solid_case(faint_prob=0)
    pixels = np.full(ink.shape, 240, np.uint8)  # paper
    pixels[:, 29:32] = 190  # the faint line on the scan, 50 grey levels darker
    pixels[:, 69:72] = 20
    out = search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed,
                                 half_width=3.0, pixels=pixels)
    np.testing.assert_allclose(out[50:150], 30.0, atol=0.6)
    # 30 levels darker is not ink; nor is a vertical rule
    pixels[:, 29:32] = 210
    np.testing.assert_array_equal(search_solid_stretches(
        xs, xd, ink=ink, solid=solid, dashed=dashed, half_width=3.0, pixels=pixels), xs)
    pixels[:, 29:32] = 190
    off = np.zeros(ink.shape[1], bool)
    off[28:33] = True
    np.testing.assert_array_equal(search_solid_stretches(
        xs, xd, ink=ink, solid=solid, dashed=dashed, half_width=3.0, pixels=pixels,
        off=off), xs)
    # a horizontal rule across the stretch does not count as the faint line's ink
    rows = np.zeros(ink.shape[0], bool)
    rows[100] = True
    out = search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed,
                                 half_width=3.0, pixels=pixels, rule_rows=rows)
    np.testing.assert_allclose(out[50:150], 30.0, atol=0.6)


def test_search_solid_stretches_follows_a_faint_line_kept_only_as_dots():
    """A 1-bit scan keeps a faded solid curve as scattered dots: too few rows on ink for
    the whole way to count, but with ``trail_share`` the line through the dots replaces
    the stretch; specks off the line are left out, and too sparse or broken a trail is
    not trusted."""
    from logdigit.trace import search_solid_stretches

    xs, xd, ink, solid, dashed = _faint_solid_case(faint_prob=0)
    pixels = np.full(ink.shape, 240, np.uint8)
    pixels[:, 69:72] = 20
    line = 30.0 + 0.1 * (np.arange(ink.shape[0]) - 50)  # the faint curve drifts right
    dots = np.arange(50, 150, 4)  # one row in four keeps a dot
    for r in dots:
        c = int(round(line[r]))
        pixels[r, c - 1:c + 2] = 150
    pixels[101, 10] = 150  # a speck of noise off the line

    def search(**kw):
        return search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed,
                                      half_width=3.0, pixels=pixels, **kw)

    np.testing.assert_array_equal(search(), xs)  # off by default: a quarter of the rows
    out = search(trail_share=0.2, trail_rows=100)
    np.testing.assert_allclose(out[50:147], line[50:147], atol=1.0)
    np.testing.assert_array_equal(out[:50], xs[:50])
    np.testing.assert_array_equal(search(trail_share=0.2, trail_rows=101), xs)  # too short
    np.testing.assert_array_equal(search(trail_share=0.3, trail_rows=100), xs)  # too sparse
    np.testing.assert_array_equal(search(trail_share=0.2, trail_rows=100, trail_gap=3,
                                         min_rows=3), xs)


def test_sparse_trail_drops_specks_and_refuses_gaps_and_jumps():
    from logdigit.trace import _sparse_trail

    path = np.full(40, 10.0)
    on = np.zeros(40, bool)
    on[::3] = True
    path[9] = 60.0  # a speck
    got = _sparse_trail(path, on, share=0.2, max_gap=8, max_slope=4.0)
    np.testing.assert_allclose(got, 10.0)
    on2 = on.copy()
    on2[12:30] = False  # a long stretch without a dot
    assert _sparse_trail(path, on2, share=0.1, max_gap=8, max_slope=4.0) is None
    steep = np.where(np.arange(40) < 20, 10.0, 50.0)  # the dots jump 40 px in 2 rows
    assert _sparse_trail(steep, on, share=0.2, max_gap=8, max_slope=4.0) is None
    assert _sparse_trail(path, np.zeros(40, bool), share=0.1, max_gap=8,
                         max_slope=4.0) is None
    assert _sparse_trail(np.zeros(0), np.zeros(0, bool), share=0.1, max_gap=8,
                         max_slope=4.0) is None


def test_search_solid_stretches_never_takes_ink_joined_to_the_dashed_curve():
    """A rough dashed curve's strokes reach beyond its trace's band: strong ink joined to
    them, or on their fringe, is not a faint solid curve, even where the segmenter
    called it solid."""
    from logdigit.trace import search_solid_stretches

    def search(solid, dashed):
        return search_solid_stretches(xs, xd, ink=np.maximum(solid, dashed), solid=solid,
                                      dashed=dashed, half_width=3.0)

    xs, xd, _ink, solid, dashed = _faint_solid_case(faint_prob=0)
    joined = solid.copy()
    joined[40:160, 40:42] = 255  # a solid-class line ...
    d2 = dashed.copy()
    d2[100:103, 40:70] = 255  # ... that one of the dashed curve's strokes reaches
    np.testing.assert_array_equal(search(joined, d2), xs)
    np.testing.assert_allclose(search(joined, dashed)[50:150], 40.5, atol=0.6)  # not joined
    fringe = solid.copy()
    fringe[40:160, 64:66] = 255  # solid-class ink 4 px from the dashed curve's stroke
    np.testing.assert_array_equal(search(fringe, dashed), xs)


def test_trace_style_reads_the_best_style_within_a_column():
    from logdigit.trace import trace_style

    solid = np.zeros((4, 10), np.uint8)
    dashed = np.zeros((4, 10), np.uint8)
    solid[0, 5] = 255  # on the trace's column
    dashed[1, 4:7] = 255  # dashed all around
    solid[2, 6] = 255  # a column off: still counts
    dashed[2, 5] = 255
    x = np.array([5.0, 5.0, 5.0, np.nan])
    st = trace_style(x, solid=solid, dashed=dashed)
    np.testing.assert_allclose(st[:3], [1.0, -1.0, 1.0])
    assert np.isnan(st[3])
    np.testing.assert_allclose(trace_style(np.array([-3.0, 5.4, 0.0, 40.0]), solid=solid,
                                           dashed=dashed), [0.0, -1.0, 0.0, 0.0])



def test_search_solid_stretches_keeps_the_rows_the_faint_line_is_followed_from_an_end():
    """The faint solid line is seen on the scan over the first 40 rows of the stretch only
    (dev/hard-0026 C2S: then the curves run close together and its ink goes with the
    dashed one's): the whole new way is mostly on paper and is not kept, but its first 40
    rows, on the line from the trace's last row before the stretch, are."""
    from logdigit.trace import search_solid_stretches

    xs, xd, ink, solid, dashed = _faint_solid_case(faint_prob=0)
    pixels = np.full(ink.shape, 240, np.uint8)
    pixels[50:90, 29:32] = 190  # the faint line, rows 50-89 of the stretch 50-149
    pixels[:, 69:72] = 20
    out = search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed,
                                 half_width=3.0, pixels=pixels, min_rows=24)
    np.testing.assert_allclose(out[50:88], 30.0, atol=0.6)
    np.testing.assert_array_equal(out[92:], xs[92:])
    np.testing.assert_array_equal(out[:50], xs[:50])
    # ... and symmetrically from the other end
    flip = search_solid_stretches(xs[::-1].copy(), xd[::-1].copy(), ink=ink[::-1].copy(),
                                  solid=solid[::-1].copy(), dashed=dashed[::-1].copy(),
                                  half_width=3.0, pixels=pixels[::-1].copy(), min_rows=24)
    np.testing.assert_allclose(flip[::-1][50:88], 30.0, atol=0.6)
    np.testing.assert_array_equal(flip[::-1][92:], xs[92:])
    # a run shorter than half of min_rows is not enough
    pixels[60:90, 29:32] = 240
    short = search_solid_stretches(xs, xd, ink=ink, solid=solid, dashed=dashed,
                                   half_width=3.0, pixels=pixels, min_rows=24)
    np.testing.assert_array_equal(short, xs)

def test_search_solid_stretches_takes_no_line_elsewhere_on_the_page():
    """The search must not move the solid trace to a faint line that is not the curve
    leading on from the rows either side: one on the grid's lattice (a faint rule's
    remains), or one the way would have to jump to."""
    from logdigit.trace import search_solid_stretches

    xs, xd, _ink, solid, dashed = _faint_solid_case(faint_prob=0)
    solid[:] = 0
    solid[:50, 99:102] = solid[150:, 99:102] = 255  # the solid curve, seen at the ends
    pixels = np.full(solid.shape, 240, np.uint8)
    pixels[:, 69:72] = 20
    pixels[:, 99:102] = 190  # ... and faint on the scan in between
    xs[:50] = xs[150:] = 100.0  # the trace on it at the ends, on the dashed curve between

    def search(**kw):
        return search_solid_stretches(xs, xd, ink=np.maximum(solid, dashed), solid=solid,
                                      dashed=dashed, half_width=3.0, pixels=pixels, **kw)

    np.testing.assert_allclose(search()[50:150], 100.0, atol=0.6)  # leads on: taken
    lattice = np.zeros(solid.shape[1], bool)
    lattice[100] = True
    np.testing.assert_array_equal(search(lattice=lattice), xs)  # a faint rule: not taken
    solid[:] = 0
    solid[:50, 39:42] = solid[150:, 39:42] = 255  # the rows either side are 60 px away
    xs[:50] = xs[150:] = 40.0
    np.testing.assert_array_equal(search(), xs)
    np.testing.assert_allclose(search(max_jump=30)[60:140], 100.0, atol=0.6)


def _flat_solid_case(*, line_grey=150, rows=200, cols=120):
    """A flat solid curve at column 30 the segmenter marked only above row 50 and below row
    150 (between, it is a straight line on the scan, ``line_grey``), a dashed curve at
    column 70; the solid trace took the dashed ink over rows 50-149."""
    xs, _xd, _ink, solid, dashed = _faint_solid_case(faint_prob=0, rows=rows, cols=cols)
    pixels = np.full((rows, cols), 240, np.uint8)
    pixels[:, 29:32] = line_grey
    pixels[:, 69:72] = 20
    return xs, solid, dashed, pixels


def test_flat_solid_stretches_puts_the_trace_back_on_the_straight_line():
    from logdigit.trace import flat_solid_stretches

    xs, solid, dashed, pixels = _flat_solid_case()

    def flat(x=xs, **kw):
        return flat_solid_stretches(x, solid=solid, dashed=dashed, pixels=pixels,
                                    half_width=3.0, **kw)

    out = flat()
    np.testing.assert_allclose(out[50:150], 30.0)
    np.testing.assert_array_equal(out[:50], xs[:50])
    np.testing.assert_array_equal(out[150:], xs[150:])
    assert np.array_equal(xs[50:150], np.full(100, 70.0))  # the input is not modified
    # a gap in the trace over the stretch is filled the same way
    gap = xs.copy()
    gap[50:150] = np.nan
    np.testing.assert_allclose(flat(gap)[50:150], 30.0)
    # a slight slope between the two ends is followed
    pixels[:, 29:34] = 150
    sloped = xs.copy()
    sloped[150:] = 32.0
    np.testing.assert_allclose(flat(sloped)[50:150], np.linspace(30, 32, 102)[1:-1])
    # horizontal rules crossing the stretch are not counted either way
    rules = np.zeros(len(xs), bool)
    rules[100] = True
    np.testing.assert_allclose(flat(rule_rows=rules)[50:150], 30.0)
    # two rows of the path on a speck of solid ink do not end the stretch; three do (its
    # two halves then end on different columns)
    solid[100:102, 69:72], dashed[100:102, 69:72] = 255, 0
    np.testing.assert_allclose(flat()[50:150], 30.0)
    np.testing.assert_array_equal(flat(max_blip=1), xs)
    solid[100:103, 69:72], dashed[100:103, 69:72] = 255, 0
    np.testing.assert_array_equal(flat(), xs)


def test_flat_solid_stretches_needs_a_dark_straight_line_between_level_ends():
    from logdigit.trace import flat_solid_stretches

    def flat(x, pixels, solid, dashed, **kw):
        return flat_solid_stretches(x, solid=solid, dashed=dashed, pixels=pixels,
                                    half_width=3.0, **kw)

    # paper (or a line only 30 levels darker) where the line would be: unchanged
    xs, solid, dashed, pixels = _flat_solid_case(line_grey=210)
    np.testing.assert_array_equal(flat(xs, pixels, solid, dashed), xs)
    # the line broken on half the rows (a curve that wanders, not a flat one)
    xs, solid, dashed, pixels = _flat_solid_case()
    pixels[60:110, 29:32] = 240
    np.testing.assert_array_equal(flat(xs, pixels, solid, dashed), xs)
    np.testing.assert_allclose(flat(xs, pixels, solid, dashed, min_dark=0.4)[50:150], 30.0)
    # ends at different columns: no straight stretch between them
    xs, solid, dashed, pixels = _flat_solid_case()
    xs[150:] = 40.0
    np.testing.assert_array_equal(flat(xs, pixels, solid, dashed), xs)
    # too short a stretch, or a trace already on the line (faintly marked): unchanged
    xs, solid, dashed, pixels = _flat_solid_case()
    np.testing.assert_array_equal(flat(xs, pixels, solid, dashed, min_rows=101), xs)
    on = np.full(len(xs), 30.0)
    np.testing.assert_array_equal(flat(on, pixels, solid, dashed), on)
    # a trace on solid ink throughout is never moved, whatever the scan shows
    solid[:, 69:72] = 255
    dashed[:] = 0
    np.testing.assert_array_equal(flat(xs, pixels, solid, dashed), xs)
    # a stretch reaching the first or last row has no end to lead from
    xs, solid, dashed, pixels = _flat_solid_case()
    xs[:150] = 70.0
    np.testing.assert_array_equal(flat(xs, pixels, solid, dashed), xs)
    empty = np.zeros((0, 5), np.uint8)
    assert flat(np.zeros(0), empty, empty, empty).size == 0


def excursion(cols=100, edge_col=0):
    """A curve at column 50 that goes out to the edge ``edge_col`` over rows 40-46, runs
    along it to row 73 and comes back over rows 74-80: (truth per row, own-ink map with
    the stretch along the edge hidden, as the segmenter misses it under the edge's line)."""
    truth = np.full(120, 50.0)
    truth[40:47] = np.linspace(50, edge_col, 8)[1:]
    truth[47:74] = edge_col
    truth[74:81] = np.linspace(edge_col, 50, 8)[:-1]
    own = draw(truth, width=3, cols=cols) >= 128
    own[49:72] = False
    return truth, own


def test_edge_excursions_follow_the_curve_out_to_the_edge_and_back():
    truth, own = excursion()
    x = np.full(120, 50.0)  # the path stayed put and bridged across the missing ink
    got = edge_excursions(x, own=own, edges=(0.0, 99.0), half_width=2.0)
    assert np.all(got[49:72] == 0.0)  # along the hidden edge
    assert np.all(got[:38] == 50.0) and np.all(got[83:] == 50.0)
    assert np.max(np.abs(got[40:81] - truth[40:81])) < 8  # the strokes out and back
    assert np.max(np.abs(x[40:81] - truth[40:81])) == 50


def test_edge_excursions_leave_a_long_stretch_between_as_a_gap():
    truth, own = excursion()  # 23 rows between the two stretches at the edge
    x = np.full(120, 50.0)
    x[47:74] = np.nan  # no curve found there
    kw = dict(edges=(0.0, 99.0), half_width=2.0)
    assert np.all(edge_excursions(x, own=own, max_rows=30, **kw)[49:72] == 0.0)
    np.testing.assert_array_equal(edge_excursions(x, own=own, max_rows=20, **kw), x)


def test_edge_excursions_at_the_right_edge_mirror_the_left():
    truth, own = excursion(edge_col=99)
    got = edge_excursions(np.full(120, 50.0), own=own, edges=(0.0, 99.0), half_width=2.0)
    assert np.all(got[49:72] == 99.0)
    assert np.max(np.abs(got - truth)) < 8


def test_edge_excursions_leave_a_curve_that_came_back_in_between():
    truth, own = excursion()
    own[40:81, 49:52] = True  # the trace's own ink runs on between the two strokes
    x = np.full(120, 50.0)
    np.testing.assert_array_equal(
        edge_excursions(x, own=own, edges=(0.0, 99.0), half_width=2.0), x)


def test_edge_excursions_leave_a_trace_on_faint_ink_in_between():
    truth, own = excursion()
    faint = np.zeros_like(own)  # the segmenter missed the curve there; the scan has it
    faint[40:81, 49:52] = True
    x = np.full(120, 50.0)
    np.testing.assert_array_equal(
        edge_excursions(x, own=own, faint=faint, edges=(0.0, 99.0), half_width=2.0), x)
    with pytest.raises(ValueError, match="faint"):
        edge_excursions(x, own=own, faint=faint[1:], edges=(0.0, 99.0), half_width=2.0)


def test_edge_excursions_need_ink_to_the_edge_twice_and_to_the_trace():
    x = np.full(120, 50.0)
    truth, own = excursion()
    one_way = own.copy()
    one_way[72:] = False  # no way back to the edge
    one_way[81:, 49:52] = True
    np.testing.assert_array_equal(
        edge_excursions(x, own=one_way, edges=(0.0, 99.0), half_width=2.0), x)
    apart = np.zeros_like(own)  # two marks at the edge (text, a stain), not the curve's
    apart[:, 49:52] = True
    apart[40:81, 49:52] = False
    apart[44:48, 0:5] = apart[74:78, 0:5] = True
    np.testing.assert_array_equal(
        edge_excursions(x, own=apart, edges=(0.0, 99.0), half_width=2.0), x)


def tip(cols=100, edge_col=0):
    """A curve at column 50 that goes out to the edge ``edge_col`` over rows 40-46, stays
    on it for rows 47-50 and comes straight back over rows 51-57: (truth per row, own-ink
    map, all of the excursion marked)."""
    truth = np.full(100, 50.0)
    truth[40:47] = np.linspace(50, edge_col, 8)[1:]
    truth[47:51] = edge_col
    truth[51:58] = np.linspace(edge_col, 50, 8)[:-1]
    return truth, draw(truth, width=3, cols=cols) >= 128


def test_edge_excursions_follow_a_tip_on_the_edge_the_path_cut_across():
    truth, own = tip()
    x = np.full(100, 50.0)  # the path cut straight across the excursion's base
    kw = dict(edges=(0.0, 99.0), half_width=2.0)
    got = edge_excursions(x, own=own, tips=True, **kw)
    assert np.all(got[47:51] == 0.0)
    assert np.all(got[:38] == 50.0) and np.all(got[60:] == 50.0)
    assert np.max(np.abs(got - truth)) < 8 < np.max(np.abs(x - truth))
    # without ``tips`` only an excursion touching the edge twice is taken
    np.testing.assert_array_equal(edge_excursions(x, own=own, **kw), x)
    # the right edge mirrors the left
    truth, own = tip(edge_col=99)
    got = edge_excursions(x, own=own, tips=True, **kw)
    assert np.all(got[47:51] == 99.0) and np.max(np.abs(got - truth)) < 8


def test_edge_excursions_follow_a_dashed_tip_across_its_gaps():
    truth, own = tip()
    for c in (12, 24, 36):  # the dash gaps cut both strokes
        own[:, c:c + 4] = False
    x = np.full(100, 50.0)
    kw = dict(edges=(0.0, 99.0), half_width=2.0, tips=True)
    got = edge_excursions(x, own=own, link_gap=6, **kw)
    assert np.all(got[47:51] == 0.0) and np.max(np.abs(got - truth)) < 8
    # without linking the gaps the ink at the edge does not reach the trace
    np.testing.assert_array_equal(edge_excursions(x, own=own, **kw), x)


def test_edge_excursions_leave_a_tip_where_the_trace_is_on_ink():
    truth, own = tip()
    x = np.full(100, 50.0)
    # on the tip's rows (few against the strokes' rows), off them, or on all of them
    for rows in (np.s_[47:51], np.r_[38:47, 51:60], np.s_[38:60]):
        faint = np.zeros_like(own)  # the curve's own faint ink where the trace runs
        faint[rows, 49:52] = True
        np.testing.assert_array_equal(
            edge_excursions(x, own=own, faint=faint, edges=(0.0, 99.0), half_width=2.0,
                            tips=True), x)
    # a trace already out at the edge is left alone
    np.testing.assert_array_equal(
        edge_excursions(truth, own=own, edges=(0.0, 99.0), half_width=2.0, tips=True),
        truth)


def along_rule(arm_end=80, gaps=()):
    """A curve at column 49-51 that goes out along the rule of row 40 to the right edge
    (column 99), down the edge and back along the rule of row 53: the segmenter marked
    the arms only to ``arm_end`` (the rest lies on the rule) and not the edge stretch.
    Returns (own ink, rows along the rules)."""
    own = np.zeros((100, 100), bool)
    own[:40, 49:52] = own[54:, 49:52] = True
    own[39:42, 49:arm_end] = own[52:55, 49:arm_end + 5] = True
    for c in gaps:  # a stroke the segmenter saw in pieces
        own[39:42, c:c + 5] = own[52:55, c:c + 5] = False
    along = np.zeros(100, bool)
    along[38:43] = along[51:56] = True
    return own, along


def test_edge_excursions_follow_arms_along_rules_out_to_the_edge():
    own, along = along_rule()
    x = np.full(100, 50.0)  # the path ran straight down between the two arms
    kw = dict(edges=(0.0, 99.0), half_width=2.0, min_run=8)
    got = edge_excursions(x, own=own, along=along, **kw)
    assert np.all(got[42:52] == 99.0)
    assert np.all(got[:39] == 50.0) and np.all(got[55:] == 50.0)
    # without the rules the marked ink does not reach the edge
    np.testing.assert_array_equal(edge_excursions(x, own=own, **kw), x)
    # arms marked less than half the way out are no excursion
    short, along = along_rule(arm_end=65)
    np.testing.assert_array_equal(edge_excursions(x, own=short, along=along, **kw), x)
    with pytest.raises(ValueError, match="along"):
        edge_excursions(x, own=own, along=along[1:], **kw)
    # a trace in a gap between the arms (no curve found there) is no cut across
    gap = x.copy()
    gap[42:52] = np.nan
    np.testing.assert_array_equal(edge_excursions(gap, own=own, along=along, **kw), gap)


def test_edge_excursions_join_the_pieces_of_an_arm_along_a_rule():
    own, along = along_rule(gaps=(60, 70))
    x = np.full(100, 50.0)
    kw = dict(edges=(0.0, 99.0), half_width=2.0, min_run=8, along=along)
    assert np.all(edge_excursions(x, own=own, rule_gap=8, **kw)[42:52] == 99.0)
    # pieces too far apart: only the first, short one leaves the trace
    np.testing.assert_array_equal(edge_excursions(x, own=own, rule_gap=3, **kw), x)


def test_edge_excursions_edge_cases():
    own = np.zeros((10, 20), bool)
    with pytest.raises(ValueError, match="rows"):
        edge_excursions(np.zeros(9), own=own, edges=(0, 19), half_width=2)
    x = np.full(10, np.nan)
    np.testing.assert_array_equal(
        edge_excursions(x, own=own, edges=(0, 19), half_width=2), x)
    assert edge_excursions(np.zeros(0), own=np.zeros((0, 5), bool), edges=(0, 4),
                           half_width=2).shape == (0,)
    assert edge_excursions(np.zeros(4), own=np.zeros((4, 0), bool), edges=(0, 0),
                           half_width=2).shape == (4,)


def _sweep(rows=(40,), to=90.0):
    """A dashed trace at column 50 that sweeps to ``to`` on ``rows``, onto the solid
    class's ink along a rule at row 40 (and 41): (x, own, other, rules)."""
    x = np.full(80, 50.0)
    x[list(rows)] = to
    own = np.zeros((80, 120), bool)
    own[:, 49:52] = True
    own[38:44] = False  # a dash gap where the curve crosses the rule
    other = np.zeros_like(own)
    other[40:42, 70:110] = True  # the rule, marked where a solid stroke lies along it
    rules = np.zeros(80, bool)
    rules[39:43] = True
    return x, own, other, rules


def test_rule_spikes_take_back_a_sweep_along_a_rule_onto_other_ink():
    for rows in ((40,), (40, 41)):
        x, own, other, rules = _sweep(rows)
        got = rule_spikes(x, own=own, other=other, rules=rules, min_jump=12.0)
        np.testing.assert_allclose(got, 50.0)
    x, own, other, rules = _sweep((40,))
    kw = dict(own=own, other=other, min_jump=12.0)
    # off a rule, on the curve's own ink (a peak), off the other ink, a short move,
    # three rows, or rows either side that do not agree (a step): left alone
    np.testing.assert_array_equal(rule_spikes(x, rules=np.zeros(80, bool), **kw), x)
    mine = own.copy()
    mine[40, 85:95] = True
    np.testing.assert_array_equal(
        rule_spikes(x, own=mine, other=other, rules=rules, min_jump=12.0), x)
    np.testing.assert_array_equal(
        rule_spikes(x, own=own, other=np.zeros_like(other), rules=rules, min_jump=12.0), x)
    np.testing.assert_array_equal(rule_spikes(x, rules=rules, **dict(kw, min_jump=50.0)), x)
    x3, own, other, rules = _sweep((40, 41, 42))
    other[42, 70:110] = True
    np.testing.assert_array_equal(
        rule_spikes(x3, own=own, other=other, rules=rules, min_jump=12.0), x3)
    step = x.copy()
    step[41:] = 70.0
    np.testing.assert_array_equal(rule_spikes(step, rules=rules, **kw), step)


def test_rule_spikes_edge_cases():
    x, own, other, rules = _sweep()
    with pytest.raises(ValueError, match="rows"):
        rule_spikes(x[1:], own=own, other=other, rules=rules, min_jump=12.0)
    with pytest.raises(ValueError, match="rows"):
        rule_spikes(x, own=own, other=other[:, 1:], rules=rules, min_jump=12.0)
    gap = x.copy()
    gap[39] = np.nan  # no row before the sweep to come back to
    np.testing.assert_array_equal(
        rule_spikes(gap, own=own, other=other, rules=rules, min_jump=12.0), gap)
    empty = np.zeros((0, 3), bool)
    assert rule_spikes(np.zeros(0), own=empty, other=empty, rules=np.zeros(0, bool),
                       min_jump=1.0).shape == (0,)


# --------------------------------------------------------------------------- give_back_dashed_ink
def _dashed_line_and_dotted_rule(rows: int) -> np.ndarray:
    """A dashed map (rows, 100): the curve's line at columns 29-31 and a dotted rule the
    dashed trace fell on, rarely inked, at columns 79-81 every 7th row."""
    dashed = np.zeros((rows, 100), np.uint8)
    dashed[:, 29:32] = 255
    dashed[::7, 79:82] = 255
    return dashed


def test_give_back_dashed_ink_keeps_the_part_where_the_dashed_trace_found_its_curve():
    """The solid trace ran on the dashed curve (column 30) over rows 40-119 and on to
    column 60 (paper) over rows 120-159, then a later step moved it to column 55 over
    rows 40-159; the dashed trace was on a dotted rule (column 80) until row 119 and on
    its own curve (column 30) after it. Only rows 40-119 are given back (session 43:
    confirm19/scanned-0010 C2D 0.945 -> 0.995, where the whole run had been)."""
    from logdigit.trace import give_back_dashed_ink

    rows = 200
    dashed = _dashed_line_and_dotted_rule(rows)
    before = np.full(rows, 55.0)
    before[40:120] = 30.0
    before[120:160] = 60.0
    after = np.full(rows, 55.0)
    xd = np.full(rows, 30.0)
    xd[40:120] = 80.0
    out = give_back_dashed_ink(xd, before, after, dashed=dashed, half_width=3.0)
    np.testing.assert_array_equal(out[40:110], 30.0)
    np.testing.assert_array_equal(out[120:], xd[120:])  # its own curve: kept
    np.testing.assert_array_equal(out[:40], xd[:40])


def test_give_back_dashed_ink_returns_the_stretch_the_solid_trace_left():
    """The solid trace ran on the dashed curve (column 30) over rows 40-139, the dashed
    trace on a dotted rule (column 80); a later step moved the solid trace to column 55:
    the dashed trace gets column 30 back there, and nowhere else."""
    from logdigit.trace import give_back_dashed_ink

    rows = 200
    dashed = _dashed_line_and_dotted_rule(rows)
    before = np.full(rows, 55.0)
    before[40:140] = 30.0
    after = np.full(rows, 55.0)
    xd = np.full(rows, 30.0)
    xd[40:140] = 80.0
    out = give_back_dashed_ink(xd, before, after, dashed=dashed, half_width=3.0)
    np.testing.assert_array_equal(out[40:140], 30.0)
    np.testing.assert_array_equal(out[:40], xd[:40])
    np.testing.assert_array_equal(out[140:], xd[140:])
    assert np.all(xd[40:140] == 80.0)  # the input is not modified
    # the dashed trace's own place is as well inked: it stays
    dashed[:, 79:82] = 255
    np.testing.assert_array_equal(
        give_back_dashed_ink(xd, before, after, dashed=dashed, half_width=3.0), xd)
    dashed[:, 79:82] = 0
    dashed[::7, 79:82] = 255
    # a gap in the dashed trace counts as no ink; too short a move is left alone
    gap = xd.copy()
    gap[40:140] = np.nan
    np.testing.assert_array_equal(
        give_back_dashed_ink(gap, before, after, dashed=dashed, half_width=3.0)[40:140], 30.0)
    np.testing.assert_array_equal(give_back_dashed_ink(
        xd, before, after, dashed=dashed, half_width=3.0, min_rows=101), xd)
    # where the solid trace did not move, or the old path was not on dashed ink: unchanged
    np.testing.assert_array_equal(
        give_back_dashed_ink(xd, after, after, dashed=dashed, half_width=3.0), xd)
    paper = np.zeros_like(dashed)
    np.testing.assert_array_equal(
        give_back_dashed_ink(xd, before, after, dashed=paper, half_width=3.0), xd)
