import numpy as np
import pytest
from PIL import Image, ImageDraw

from logdigit.scale import expand_trace, shrink, stroke_width, working_factor


def lines(width, shape=(400, 300)):
    img = Image.new("L", shape[::-1], 255)
    d = ImageDraw.Draw(img)
    for x in (40, 120, 200):
        d.line([(x, 0), (x + 30, shape[0])], fill=0, width=width)
    return np.asarray(img).copy()


@pytest.mark.parametrize("w", [1, 2, 4, 8, 12])
def test_stroke_width_measures_line_width(w):
    assert stroke_width(lines(w)) == pytest.approx(w, abs=max(1.0, 0.25 * w))


def test_no_ink_is_nan():
    assert np.isnan(stroke_width(np.full((50, 50), 255, np.uint8)))


def test_working_factor():
    assert working_factor(1.0) == 1
    assert working_factor(3.0) == 1
    assert working_factor(5.0) == 1  # a page with 4-px pens: the training pages' scale
    assert working_factor(6.0) == 2
    assert working_factor(8.5) == 2
    assert working_factor(12.0) == 4  # 3-px strokes scanned at 4x
    assert working_factor(4.0, target=2.0) == 2
    assert working_factor(100.0) == 8
    assert working_factor(float("nan")) == 1


def test_shrink_block_mean_and_padding():
    a = np.array([[0, 255, 0], [255, 0, 255]], np.uint8)
    out = shrink(a, 2)
    assert out.shape == (1, 2)
    assert out[0, 0] == 128 and out[0, 1] == 191  # padded with paper
    assert shrink(a, 1) is a


def test_expand_trace_maps_coordinates_and_gaps():
    k = 4
    x_low = np.array([10.0, 11.0, np.nan, 13.0])
    out = expand_trace(x_low, k, 16)
    assert out.shape == (16,)
    # the centre of working row 0 is full row 1.5; working x 10 -> full x 41.5
    assert out[1] == pytest.approx(41.5, abs=0.5)
    assert np.isnan(out[8:12]).all()
    assert np.isfinite(out[:8]).all() and np.isfinite(out[12:]).all()
    np.testing.assert_array_equal(expand_trace(x_low, 1, 4), x_low)


@pytest.mark.parametrize(("shape", "share"), [((7, 9), 0.7), ((40, 60), 0.9), ((1, 5), 1.0),
                                              ((5, 1), 0.5), ((30, 30), 1.0), ((3, 4), 0.0),
                                              ((120, 80), 0.97)])
def test_distance_to_paper_is_scipys_euclidean_distance_transform(shape, share):
    from scipy.ndimage import distance_transform_edt

    from logdigit.scale import distance_to_paper

    rng = np.random.default_rng(sum(shape))
    for _ in range(5):
        ink = rng.random(shape) < share
        want = distance_transform_edt(np.pad(ink, 1))[1:-1, 1:-1]  # paper all around
        np.testing.assert_array_equal(distance_to_paper(ink), want)


def test_distance_to_paper_of_an_empty_image():
    from logdigit.scale import distance_to_paper

    assert distance_to_paper(np.zeros((0, 5), bool)).shape == (0, 5)


def test_a_rough_curve_drawn_with_a_4px_pen_is_not_shrunk():
    """A scribble of stacked horizontal strokes from a 4-px pen over 1-px rules measures
    5 px: the scale of the training pages, segmented at full size. Shrunk by 2 (the rule
    before session 45) its rules and any 1-px curve would fade to half a pixel."""
    from logdigit.render import _centred_line

    img = Image.new("L", (600, 1200), 255)
    d = ImageDraw.Draw(img)
    for gx in range(20, 600, 55):
        d.line([(gx, 0), (gx, 1200)], fill=0, width=1)
    for gy in range(0, 1200, 40):
        d.line([(0, gy), (600, gy)], fill=0, width=1)
    rows = np.arange(1200.0)
    x = np.clip(300 + 150 * np.sin(rows / 150)
                + np.random.default_rng(0).normal(0, 60, rows.size), 30, 570)
    _centred_line(d, np.stack([x, rows], 1), fill=0, width=4)
    width = stroke_width(np.asarray(img))
    assert 4.0 <= width < 6.0  # the old rule (target 2) would shrink it by 2
    assert working_factor(width, target=2.0) == 2
    assert working_factor(width) == 1


def test_a_page_scanned_at_4x_is_shrunk_back_towards_its_own_scale():
    from logdigit.render import random_walk_bank, render_page

    bank = random_walk_bank(np.random.default_rng(0))
    page = render_page(rng=np.random.default_rng(3), bank=bank, height=600, width=500,
                       tier="clean", line_width=3)
    big = np.asarray(Image.fromarray(page.image).resize((2000, 2400), Image.BILINEAR))
    assert 2 <= working_factor(stroke_width(big)) <= 4
