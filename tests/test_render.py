import numpy as np
import pytest

from logdigit.layout import parse_layout
from logdigit.render import (
    ROUGH,
    TIERS,
    BankCurve,
    CurveBank,
    depth_scale,
    load_bank,
    random_walk_bank,
    render_page,
    roughness,
)


@pytest.fixture(scope="module")
def bank():
    return random_walk_bank(np.random.default_rng(0), n=4, length=4000)


def page(bank, seed=3, **kw):
    kw.setdefault("height", 600)
    kw.setdefault("width", 700)
    return render_page(rng=np.random.default_rng(seed), bank=bank, **kw)


def test_same_seed_same_page(bank):
    a, b = page(bank), page(bank)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.layout == b.layout


@pytest.mark.parametrize("tier", TIERS)
def test_shapes_labels_and_layout(bank, tier):
    p = page(bank, tier=tier, n_tracks=2)
    assert p.image.shape == p.labels.shape == (600, 700)
    assert p.image.dtype == np.uint8
    assert set(np.unique(p.labels)) <= {0, 1, 2}
    assert (p.labels == 1).any() and (p.labels == 2).any()
    lay = parse_layout(p.layout)  # the layout is valid in the sidecar schema
    assert len(lay.tracks) == 2
    assert len(p.truth) == 4 and all(len(v) == len(p.grid) for _, _, v in p.truth)


def test_labels_sit_on_the_drawn_curve(bank):
    p = page(bank, tier="clean", n_tracks=1, line_width=3)
    for mnem, x in p.x_rows.items():
        cls = 1 if mnem.endswith("S") else 2
        rows = np.arange(len(x))
        xi = np.clip(np.round(x).astype(int), 0, p.labels.shape[1] - 1)
        on = p.labels[rows, xi] > 0
        # solid: (nearly) every row has label ink at the true x (the other curve may cover it)
        assert on.mean() > (0.9 if cls == 1 else 0.4)


def test_truth_matches_x_rows(bank):
    """The truth on the grid and the drawn x per row describe the same curve."""
    # rows much denser than the curve samples: the polyline through the rows is the curve
    p = page(bank, tier="clean", n_tracks=1, px_per_unit=12.0)
    lay = p.layout
    track = lay["tracks"][0]
    c = track["curves"][0]
    x = p.x_rows[c["mnemonic"]]
    top, ppu = lay["depth"]["top"], (lay["depth"]["bottom_row"]) / (
        lay["depth"]["bottom"] - lay["depth"]["top"])
    rows = (p.grid - top) * ppu
    x_grid = np.interp(rows, np.arange(len(x)), x)
    v = dict((m, v) for m, _, v in p.truth)[c["mnemonic"]]
    if c["scale"] == "linear":
        x_from_v = track["left_px"] + (v - c["left"]) / (c["right"] - c["left"]) * (
            track["right_px"] - track["left_px"])
        assert np.abs(x_from_v - x_grid).max() < 1.0


def test_depth_scale_converts_metres_on_a_page_in_feet():
    assert depth_scale("M", "FT") == 0.3048 and depth_scale("FT", "M") == pytest.approx(
        1 / 0.3048)
    assert depth_scale("FT", "FT") == depth_scale("M", "M") == 1.0
    assert depth_scale("", "FT") == depth_scale("M", "?") == 1.0


def test_a_curve_in_metres_is_drawn_at_its_real_depth_scale():
    """A curve recorded every 0.1524 m whose value is its own depth (m): on a page in
    feet its truth advances 0.1524 m per 0.5 ft step (before session 38: 0.5 m, its
    metres drawn as feet), and its drawn x follows the same values."""
    n = 40000
    ramp = BankCurve("D", "m", 1000.0, 0.1524, 1000.0 + 0.1524 * np.arange(n),
                     depth_unit="M")
    p = render_page(rng=np.random.default_rng(4), bank=CurveBank([ramp]), height=600,
                    width=500, n_tracks=1, tier="clean", px_per_unit=6.0)
    for _, _, v in p.truth:
        np.testing.assert_allclose(np.diff(v), 0.1524, atol=1e-6)
    assert p.sources == {m: ramp for m, _, _ in p.truth}  # the curve each was drawn from
    # the page's depths are in feet: its top is the first curve's start converted
    assert p.layout["depth"]["unit"] == "FT"
    first = dict((m, v) for m, _, v in p.truth)["C1S"][0]
    assert abs(p.layout["depth"]["top"] * 0.3048 - first) < 0.5 * 0.3048 + 1e-6
    # a curve in feet as long in samples spans 3.28 times fewer page feet: a span only
    # the metric one covers
    feet = BankCurve("F", "", 0.0, 0.5, np.arange(1000.0))
    both = CurveBank([feet, ramp])
    rng = np.random.default_rng(0)
    assert {both.pick(rng, 2000.0)[0].mnemonic for _ in range(20)} == {"D"}
    with pytest.raises(ValueError, match="spans"):
        CurveBank([feet]).pick(rng, 2000.0)


def test_load_bank_keeps_each_files_depth_unit(tmp_path):
    import lasio

    for name, unit in (("a.las", "M"), ("b.las", "F"), ("c.las", ".1IN")):
        las = lasio.LASFile()
        depth = 100.0 + 0.5 * np.arange(500)
        las.append_curve("DEPT", depth, unit=unit)
        las.append_curve("GR", np.sin(depth / 7.0) * 50 + 60, unit="API")
        las.write(str(tmp_path / name), version=2.0)
    bank = load_bank(tmp_path)
    assert [c.depth_unit for c in bank.curves] == ["M", "FT", "FT"]


def test_extras_add_background_ink_and_a_distractor_but_keep_the_layout(bank):
    seen_fill = seen_distractor = seen_thick = False
    for seed in range(12):
        plain = page(bank, seed=seed, tier="clean")
        rich = page(bank, seed=seed, tier="clean", extras=True)
        assert rich.image.shape == plain.image.shape
        lay = parse_layout(rich.layout)  # still a valid layout, same targets
        assert len(rich.truth) == sum(len(t.curves) for t in lay.tracks)
        # fills and text are ink that is labelled background
        def dark_bg(p):
            return ((p.image < 200) & (p.labels == 0)).mean()

        seen_fill |= dark_bg(rich) > dark_bg(plain) + 0.03
        # a labelled curve outside every track of the layout is the distractor
        outside = np.ones(rich.labels.shape[1], bool)
        for t in lay.tracks:
            outside[int(t.left_px): int(t.right_px) + 1] = False
        seen_distractor |= (rich.labels[:, outside] > 0).sum() > 100
        seen_thick |= (rich.labels > 0).mean() > 2 * (plain.labels > 0).mean()
    assert seen_fill and seen_distractor and seen_thick
    a = page(bank, seed=5, extras=True)
    b = page(bank, seed=5, extras=True)
    assert np.array_equal(a.image, b.image)  # still reproducible by seed


def test_dashes_are_cut_by_arc_length_inside_long_segments():
    from logdigit.render import _dash_polyline
    # a peak drawn across the track in one segment is dashed along its length
    pieces = _dash_polyline(np.array([[0.0, 0.0], [100.0, 0.0]]), 10.0, 5.0, 0.0)
    assert len(pieces) == 7
    starts = [p[0, 0] for p in pieces]
    assert np.allclose(starts, np.arange(0, 100, 15))
    assert all(np.isclose(p[-1, 0] - p[0, 0], 10.0) for p in pieces[:-1])
    assert np.isclose(pieces[-1][-1, 0], 100.0)  # the last dash stops at the line's end
    # vertices inside a dash are kept, the phase shifts the pattern
    line = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [50.0, 3.0], [50.0, 4.0]])
    pieces = _dash_polyline(line, 10.0, 5.0, 3.0)
    assert np.allclose(pieces[0], [[0, 0], [0, 1], [0, 2], [5, 2.1]], atol=0.01)
    inked = sum(np.hypot(*np.diff(p, axis=0).T).sum() for p in pieces)
    total = np.hypot(*np.diff(line, axis=0).T).sum()
    assert 0.55 * total < inked < 0.75 * total  # about dash / (dash + gap) of the line
    # degenerate lines
    assert len(_dash_polyline(np.array([[3.0, 4.0]]), 10.0, 5.0, 0.0)) == 1
    assert _dash_polyline(line, 0.0, 5.0, 0.0) == []


def test_a_dashed_peak_shows_gaps_across_the_track(bank):
    # the dashed label has gaps along the rows where the curve sweeps sideways
    from PIL import Image, ImageDraw

    from logdigit.render import _draw_curve
    img, lab = Image.new("L", (300, 40), 255), Image.new("L", (300, 40), 0)
    pts = np.array([[10.0, 10.0], [290.0, 11.0], [290.0, 30.0]])
    _draw_curve(ImageDraw.Draw(img), ImageDraw.Draw(lab), pts, width=2, ink=0, cls=2,
                style="dashed", dash=12.0, gap=8.0, phase=0.0)
    row = np.asarray(lab)[10:12].max(axis=0)[10:290]
    runs = np.flatnonzero(np.diff(np.concatenate([[0], row > 0, [0]]).astype(int)) == 1)
    assert len(runs) >= 10  # about 280 / 20 dashes, not one solid sweep


def _bank_with_flat_curves(n_flat: int):
    from logdigit.render import BankCurve, CurveBank

    varying = random_walk_bank(np.random.default_rng(5), n=1, length=4000).curves
    flat = [BankCurve(f"BS{i}", "in", 0.0, 0.5, np.full(4000, 8.5 + i)) for i in range(n_flat)]
    return CurveBank(flat + varying)


def test_target_curves_swing_across_their_track():
    # half the picks from this bank are constant curves (R² is undefined on them): every
    # drawn target must still vary by at least MIN_SWING_PX
    from logdigit.render import MIN_SWING_PX

    bank = _bank_with_flat_curves(1)
    for seed in range(6):
        p = page(bank, seed=seed, n_tracks=2)
        for mnem, x in p.x_rows.items():
            assert np.std(x) >= MIN_SWING_PX, (seed, mnem)


def test_a_bank_of_flat_curves_still_renders():
    from logdigit.render import BankCurve, CurveBank

    bank = CurveBank([BankCurve("BS", "in", 0.0, 0.5, np.full(4000, 8.5))])
    p = page(bank, n_tracks=1)  # the re-picks give up and draw the flat curve
    assert len(p.truth) == 2 and all(np.allclose(v, 8.5) for _, _, v in p.truth)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8, 11])
def test_the_drawn_line_is_centred_on_its_x(width):
    """The ink's centroid per row sits on the curve's x (pixel centres), on average over
    sub-pixel positions, for shallow and steep slopes alike: no sideways bias for any
    line width (a steep line may sit a fraction of a row up or down: that flips sign
    with the slope and is not a sideways bias)."""
    from PIL import Image, ImageDraw

    from logdigit.render import _draw_curve

    rng = np.random.default_rng(width)
    for lo, hi in [(0.0, 0.5), (1.0, 3.0)]:
        bias, lab_bias = [], []
        for sign in (1, -1):
            errors, lab_errors = [], []
            for _ in range(20):
                img, lab = Image.new("L", (300, 80), 255), Image.new("L", (300, 80), 0)
                x0, slope = 150 + rng.random(), sign * rng.uniform(lo, hi)
                ys = np.arange(0, 80, 1.0)
                pts = np.stack([x0 + slope * (ys - 40), ys], axis=1)
                _draw_curve(ImageDraw.Draw(img), ImageDraw.Draw(lab), pts, width=width, ink=0,
                            cls=1, style="solid", dash=0, gap=0, phase=0)
                ink = 255.0 - np.asarray(img, np.float64)
                lab_a = np.asarray(lab, np.float64)
                for r in range(30, 50):
                    centroid = (ink[r] * np.arange(300)).sum() / ink[r].sum()
                    errors.append(centroid - (x0 + slope * (r - 40)))
                    # the label mask is centred on the same place
                    lab_c = (lab_a[r] * np.arange(300)).sum() / lab_a[r].sum()
                    lab_errors.append(lab_c - (x0 + slope * (r - 40)))
            bias.append(np.mean(errors))
            lab_bias.append(np.mean(lab_errors))
        assert abs(np.mean(bias)) < 0.15, (lo, hi, bias)
        assert abs(np.mean(lab_bias)) < 0.15, (lo, hi, lab_bias)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 6])
def test_a_horizontal_stroke_keeps_the_line_width(width):
    """A sharp peak's stroke across the track is as thick as the pen, for every width."""
    from PIL import Image, ImageDraw

    from logdigit.render import _draw_curve

    img, lab = Image.new("L", (120, 40), 255), Image.new("L", (120, 40), 0)
    pts = np.array([[10.0, 20.0], [110.0, 20.3]])
    _draw_curve(ImageDraw.Draw(img), ImageDraw.Draw(lab), pts, width=width, ink=0, cls=1,
                style="solid", dash=0, gap=0, phase=0)
    ink_rows = (np.asarray(img) < 128).sum(axis=0)[30:90]
    assert np.median(ink_rows) == width
    assert np.median((np.asarray(lab) > 0).sum(axis=0)[30:90]) == width + 2


def test_rules_mask_marks_the_grid_and_draws_nothing_itself(bank):
    p = page(bank, tier="clean", n_tracks=1)
    assert p.rules.shape == p.image.shape and p.rules.dtype == bool
    t = p.layout["tracks"][0]
    lpx, rpx = t["left_px"], t["right_px"]
    # the track edges are rules on every row, and rule pixels are printed ink
    assert p.rules[:, lpx].all() and p.rules[:, rpx].all()
    assert p.image[p.rules & (p.labels == 0)].mean() < p.image[~p.rules].mean() - 20
    # paper between rules and away from the curves is not a rule
    assert not p.rules[:, rpx + 8:rpx + 20].any()
    # drawing the mask takes no random numbers: the rest of the page is as before
    assert np.array_equal(page(bank, tier="clean", n_tracks=1).image, p.image)


# --------------------------------------------------------------------------- rough curves
def test_roughness_is_the_share_of_variance_in_steps():
    rng = np.random.default_rng(0)
    assert roughness(rng.standard_normal(20000)) == pytest.approx(1.0, abs=0.05)
    assert roughness(np.sin(np.arange(2000) / 50.0)) < 0.001
    walk = np.cumsum(rng.standard_normal(20000))  # a random walk: smooth at this scale
    assert roughness(walk) < 0.01
    assert roughness(np.array([1.0, np.nan, 3.0, 2.0])) == pytest.approx(
        np.var([2.0, -1.0]) / (2 * np.var([1.0, 3.0, 2.0])))
    assert np.isnan(roughness(np.ones(10))) and np.isnan(roughness(np.array([1.0, 2.0])))


def _bank_of_smooth_and_rough(n_smooth=9):
    rng = np.random.default_rng(1)
    smooth = [BankCurve(f"S{i}", "", 0.0, 0.5, np.sin(np.arange(1000) / 40.0 + i))
              for i in range(n_smooth)]
    return CurveBank(smooth + [BankCurve("R", "", 0.0, 0.5, rng.standard_normal(1000))])


def test_favour_rough_can_measure_roughness_at_a_page_step():
    # sampled every 0.1, a wiggle of period 1.3 is smooth sample to sample, but read
    # every 0.5 it looks like noise
    t = 0.1 * np.arange(5000)
    fine = BankCurve("F", "", 0.0, 0.1, np.sin(2 * np.pi * t / 1.3))
    smooth = BankCurve("S", "", 0.0, 0.5, np.sin(np.arange(1000) / 40.0))
    bank = CurveBank([smooth, fine])
    assert roughness(fine.values) < ROUGH
    assert bank.favour_rough(4.0).weights.tolist() == [1.0, 1.0]
    assert bank.favour_rough(4.0, step=0.5).weights.tolist() == [1.0, 4.0]
    assert bank.favour_rough(1.0, step=0.5).weights is None
    with pytest.raises(ValueError):
        bank.favour_rough(4.0, step=0.0)


def test_favour_rough_picks_rough_curves_more_often_and_leaves_the_default_alone():
    bank = _bank_of_smooth_and_rough()
    assert roughness(bank.curves[-1].values) >= ROUGH > roughness(bank.curves[0].values)

    def share(b, n=3000):
        rng = np.random.default_rng(2)
        return np.mean([b.pick(rng, 100.0)[0].mnemonic == "R" for _ in range(n)])

    assert share(bank) == pytest.approx(0.1, abs=0.02)
    assert share(bank.favour_rough(9.0)) == pytest.approx(0.5, abs=0.03)
    same = bank.favour_rough(1.0)
    assert same.weights is None and same.curves == bank.curves
    # unweighted picks draw the same random numbers as before weights existed
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(20):
        c, start = same.pick(a, 100.0)
        ok = [x for x in bank.curves if x.span >= 100.0]
        assert c is ok[b.integers(len(ok))] and start == c.top + b.uniform(0, c.span - 100.0)
    with pytest.raises(ValueError):
        bank.favour_rough(0.0)
    # only curves long enough compete, in proportion to their weights
    short = CurveBank(bank.curves[:1] + [BankCurve("T", "", 0.0, 0.5, np.zeros(10) + 1.0)],
                      weights=np.array([1.0, 1000.0]))
    assert short.pick(np.random.default_rng(0), 100.0)[0].mnemonic == "S0"
    with pytest.raises(ValueError, match="spans"):
        short.pick(np.random.default_rng(0), 1e6)


def test_flat_stretches_hold_a_value_over_feet_of_depth_and_leave_the_rest():
    from logdigit.render import BankCurve, CurveBank

    rng = np.random.default_rng(3)
    feet = BankCurve("GR", "API", 100.0, 0.5, rng.standard_normal(4000))
    metres = BankCurve("RT", "OHMM", 30.0, 0.1524, rng.standard_normal(4000), depth_unit="M")
    bank = CurveBank([feet, metres])
    out = bank.with_flat_stretches(np.random.default_rng(0), share=1.0, feet=(20.0, 40.0))
    for old, new in zip(bank.curves, out.curves, strict=True):
        assert (new.mnemonic, new.top, new.step, new.depth_unit) == (
            old.mnemonic, old.top, old.step, old.depth_unit)
        held = np.diff(new.values) == 0
        assert 0.05 < held.mean() < 0.3  # about 15 % of the samples
        # the longest run: at most 40 ft (80 samples at 0.5 ft, 80 at 0.1524 m)
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], held, [0]]))))[::2]
        assert runs.max() <= 80 and runs.max() >= 39
        changed = new.values != old.values
        assert np.all(np.isin(new.values[changed], old.values))  # values held, not made up
    assert np.array_equal(feet.values, bank.curves[0].values)  # the bank is not changed


def test_flat_stretches_off_draws_nothing_and_bad_arguments_are_refused():
    from logdigit.render import BankCurve, CurveBank

    bank = CurveBank([BankCurve("GR", "", 0.0, 0.5, np.arange(1000.0))])
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert bank.with_flat_stretches(rng, share=0.0).curves == bank.curves
    assert rng.bit_generator.state == state
    none = bank.with_flat_stretches(np.random.default_rng(1), share=1e-12)
    assert np.array_equal(none.curves[0].values, np.arange(1000.0))
    for kw in (dict(share=1.5), dict(share=0.5, feet=(0.0, 10.0)),
               dict(share=0.5, feet=(20.0, 10.0)), dict(share=0.5, cover=1.0)):
        with pytest.raises(ValueError):
            bank.with_flat_stretches(rng, **kw)
