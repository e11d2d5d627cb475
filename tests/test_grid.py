import numpy as np
import pytest

from logdigit.grid import rule_columns, rule_rows
from logdigit.trace import suppress_straight_columns, trace_curve


def _paper(h=600, w=200):
    rng = np.random.default_rng(0)
    return np.clip(235 + rng.normal(0, 4, (h, w)), 0, 255).astype(np.uint8)


def _draw_curve(img, x, width=3, value=20):
    for r, c in enumerate(np.round(x).astype(int)):
        img[r, max(0, c - width // 2): c + width // 2 + 1] = value


def test_rule_rows_finds_solid_and_dotted_rules_but_not_a_curve():
    img = _paper()
    img[100:102, :] = 60  # solid rule, 2 px
    img[300, ::2] = 60  # dotted rule: every other column
    x = 100 + 60 * np.sin(np.arange(600) / 20.0)  # a wiggly curve with steep parts
    _draw_curve(img, x)
    img[450, 40:90] = 20  # a sharp peak drawn as a horizontal stroke (25 % of the row)
    rows = rule_rows(img)
    assert rows[100] and rows[101] and rows[300]
    assert not rows[450]
    assert rows.sum() == 3


def test_rule_rows_across_row_bands_and_at_the_exact_share():
    img = np.full((2600, 100), 230, np.uint8)
    for r in (4, 1027, 1028, 1029, 2051, 2052, 2595):  # around the 1,024-row bands
        img[r, :] = 60
    img[1500, :40] = 60  # exactly 40 % of the columns: a rule
    img[1700, :39] = 60  # 39 %: not
    img[1900, :] = 230 - 24  # exactly delta darker: not (it must be more)
    img[1950, :] = 230 - 25
    rows = rule_rows(img, reach=4, delta=24.0, min_fraction=0.4)
    assert set(np.flatnonzero(rows)) == {4, 1027, 1028, 1029, 1500, 1950, 2051, 2052, 2595}


def test_rule_rows_edge_cases():
    assert rule_rows(np.zeros((5, 10), np.uint8)).sum() == 0  # shorter than 2 * reach
    assert rule_rows(np.zeros((50, 0), np.uint8)).shape == (50,)
    assert rule_rows(np.full((50, 40), 255, np.uint8)).sum() == 0


def test_rule_columns_finds_a_rule_but_not_a_flat_curve():
    img = _paper(h=3000)
    img[:, 50] = 90  # a grey vertical rule over the whole depth
    x = 140 + np.linspace(0, 8, 3000)  # a nearly flat curve: drifts 8 px over the log
    _draw_curve(img, x)
    cols = rule_columns(img)
    assert cols[50]
    assert not cols[130:160].any()
    assert cols.sum() == 1


def test_rule_columns_edge_cases():
    assert rule_columns(np.zeros((0, 7), np.uint8)).shape == (7,)
    assert not rule_columns(np.full((100, 30), 255, np.uint8)).any()


@pytest.mark.parametrize("with_lines", [True, False])
def test_a_flat_curve_beside_a_wiggly_one_survives_straight_column_suppression(with_lines):
    """A flat solid curve used to be weakened as if it were a grid rule."""
    H, W = 1024, 120
    prob = np.zeros((H, W), np.uint8)
    prob[:, 40:43] = 250  # flat curve, perfectly straight in this window
    x = 80 + 20 * np.sin(np.arange(H) / 30.0)
    for r, c in enumerate(np.round(x).astype(int)):
        prob[r, c - 1: c + 2] = 250
    lines = np.zeros(W, bool)  # the scan shows no rule there
    out = suppress_straight_columns(prob, lines=lines if with_lines else None)
    if with_lines:
        assert out is prob
        tr = trace_curve(out, x_offset=0, max_gap=8)
        assert abs(np.nanmedian(tr.x) - 41) < 1.5
    else:
        assert out[:, 41].max() < 128  # the old rule took it for a grid line
    lines[41] = True  # a real rule there is weakened either way
    assert suppress_straight_columns(prob, lines=lines)[:, 41].max() < 128


def _mask(width: int, cols) -> np.ndarray:
    m = np.zeros(width, bool)
    for c in cols:
        m[int(round(c))] = True
    return m


def test_periodic_rules_drop_a_straight_curve_no_rule_echoes():
    from logdigit.grid import periodic_rules

    grid = [10 + 38.1 * k for k in range(11)]  # a linear grid, 10 divisions
    lines = _mask(420, grid + [157])
    lines[[10, 11, 392, 393]] = True  # heavier edge rules span two columns
    got = periodic_rules(lines)
    assert not got[157]  # the curve
    np.testing.assert_array_equal(got, lines & ~_mask(420, [157]))


def test_periodic_rules_leave_grids_that_are_not_equally_spaced_alone():
    import math

    from logdigit.grid import periodic_rules

    decade = 150
    log2 = [5 + (k + math.log10(j)) * decade for k in range(2) for j in range(1, 10)] + [305]
    log3 = [5 + (k + math.log10(j)) * 83.3 for k in range(3) for j in range(1, 10)] + [255]
    for grid, width in ((log2, 320), (log2[:10], 170), (log3, 270)):  # 2, 1 and 3 decades
        lines = _mask(width, grid + [83])
        np.testing.assert_array_equal(periodic_rules(lines), lines)
    few = _mask(100, [3, 50, 97])
    np.testing.assert_array_equal(periodic_rules(few), few)
    assert not periodic_rules(np.zeros(50, bool)).any()
    # a linear grid with two straight curves between its rules: still a grid
    grid = [10 + 38.1 * k for k in range(11)]
    lines = _mask(420, grid + [157, 300])
    np.testing.assert_array_equal(periodic_rules(lines), _mask(420, grid))
    # a track edge off the lattice (the grid starts a little inside it) stays a rule
    lines = _mask(420, [3] + grid + [157])
    np.testing.assert_array_equal(periodic_rules(lines), _mask(420, [3] + grid))
    # two minor rules missing: the rules beyond are still whole spacings from the first
    sparse = grid[:5] + grid[7:]
    lines = _mask(420, sparse + [157])
    np.testing.assert_array_equal(periodic_rules(lines), _mask(420, sparse))


def test_track_lattice_marks_the_edges_and_the_tenths():
    from logdigit.grid import track_lattice

    lat = track_lattice(120, left=10.0, right=110.0)
    assert lat.shape == (120,) and lat.dtype == bool
    for g in range(10, 111, 10):
        assert lat[g - 2:g + 3].all()
    assert not lat[13:18].any() and not lat[113:].any() and not lat[:8].any()
    # edges outside the window: only the rules inside are marked
    part = track_lattice(30, left=-50.0, right=50.0)
    assert part[0:3].all() and part[8:13].all() and not part[3:8].any()
    assert track_lattice(5, left=100.0, right=200.0).sum() == 0
    with pytest.raises(ValueError, match="divisions"):
        track_lattice(10, left=0, right=9, divisions=0)


def test_track_lattice_of_a_log_track_marks_each_decades_rules():
    from logdigit.grid import track_lattice

    lat = track_lattice(260, left=20.0, right=220.0, decades=2, reach=0.4)
    expected = {20, 120, 220}  # the decades' first rules and the right edge
    for d0 in (20, 120):
        expected |= {round(d0 + 100 * np.log10(j)) for j in range(2, 10)}
    assert set(np.flatnonzero(lat)) <= {c + o for c in expected for o in (-1, 0, 1)}
    for c in expected:
        assert lat[c - 1:c + 2].any()
    assert not lat[22:49].any()  # between a decade's first and second rules
    with pytest.raises(ValueError, match="decades"):
        track_lattice(10, left=0, right=9, decades=0)


def test_rules_on_lattice_drop_a_flat_curve_off_a_log_grid():
    """A two-decade log track 460 px wide: its rules sit at the 1, 2, ... 9 places of
    each decade; a curve that stays at one value over the log is found among the rules
    at column 35 (1.42 on the first decade), which no rule of the grid holds."""
    from logdigit.grid import rules_on_lattice, track_lattice

    lattice = track_lattice(461, left=0, right=460, decades=2)
    places = 230 * np.log10(np.arange(1, 10))
    lines = np.zeros(461, bool)
    for p in np.concatenate([places, 230 + places, [460]]):
        lines[int(round(p))] = True
    lines[34:38] = True  # the flat curve
    got = rules_on_lattice(lines, lattice)
    assert not got[34:38].any()
    np.testing.assert_array_equal(np.delete(got, range(34, 38)),
                                  np.delete(lines, range(34, 38)))
    assert lines[34:38].all()  # the input is left as it was


def test_rules_on_lattice_trust_the_scan_when_the_grid_does_not_match():
    """Edges set loosely or a grid of another kind: fewer than ``min_share`` of the rules
    touch the layout's places, so none is dropped; no lattice, no rules: unchanged."""
    from logdigit.grid import rules_on_lattice, track_lattice

    lattice = track_lattice(401, left=0, right=400)  # ten divisions: every 40 px
    lines = np.zeros(401, bool)
    lines[[0, 400]] = True
    lines[[17, 57, 97, 137, 177]] = True  # a grid 17 px off the layout's
    np.testing.assert_array_equal(rules_on_lattice(lines, lattice), lines)
    np.testing.assert_array_equal(rules_on_lattice(lines, None), lines)
    empty = np.zeros(401, bool)
    np.testing.assert_array_equal(rules_on_lattice(empty, lattice), empty)
    with pytest.raises(ValueError, match="shape"):
        rules_on_lattice(lines, lattice[:-1])


def test_rules_on_lattice_drop_a_lone_straight_line_far_from_a_grid_the_scan_hides():
    """A 1-bit scan whose grid came out dotted: :func:`rule_columns` finds no rule of it,
    only a flat curve's straight line midway between two tenths, which is dropped (a
    curve). A lone line near a place (the layout's edges a little off) is kept, as is
    one on a place, and three lines off the places are a grid of the scan's own."""
    from logdigit.grid import rules_on_lattice, track_lattice

    lattice = track_lattice(401, left=0, right=400)  # every 40 px
    lone = np.zeros(401, bool)
    lone[99:102] = True  # midway between 80 and 120
    assert not rules_on_lattice(lone, lattice).any()
    assert lone[99:102].all()  # the input is left as it was
    two = lone.copy()
    two[295:297] = True  # another flat curve, 15 px from 280 (a quarter is 10)
    assert not rules_on_lattice(two, lattice).any()
    near = np.zeros(401, bool)
    near[125:127] = True  # 5-6 px from 120: a rule the layout placed loosely
    np.testing.assert_array_equal(rules_on_lattice(near, lattice), near)
    on = np.zeros(401, bool)
    on[200] = True
    np.testing.assert_array_equal(rules_on_lattice(on, lattice), on)
    grid = np.zeros(401, bool)
    grid[[17, 57, 97]] = True  # three: the scan's own grid, 17 px off the layout's
    np.testing.assert_array_equal(rules_on_lattice(grid, lattice), grid)
    # with the lone case switched off, the curve stays a rule (as before session 42)
    np.testing.assert_array_equal(rules_on_lattice(lone, lattice, lone=0), lone)
