import numpy as np
import pytest
from PIL import Image, ImageDraw

from logdigit.scale import (
    THIN_RULES,
    expand_trace,
    rule_width,
    shrink,
    stroke_width,
    working_factor,
)


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
    assert working_factor(4.0) == 2
    assert working_factor(8.5) == 4
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


def ruled(width=1, *, rows=600, cols=300, step=30):
    """A track's window: vertical rules ``width`` px wide every ``step`` px."""
    img = np.full((rows, cols), 255, np.uint8)
    for x in range(step // 2, cols - width, step):
        img[:, x:x + width] = 40
    return img


@pytest.mark.parametrize("w", [1, 2, 4])
def test_rule_width_measures_the_rules(w):
    assert rule_width([ruled(w), ruled(w, cols=200)]) == w


def test_rule_width_without_rules_is_nan():
    assert np.isnan(rule_width([np.full((300, 200), 255, np.uint8)]))
    assert np.isnan(rule_width([]))
    two = ruled(1, cols=250, step=100)  # two rules: too few to be a grid
    assert np.isnan(rule_width([two]))
    assert rule_width([two], min_rules=2) == 1


def test_thin_rules_keep_a_thick_stroked_page_at_full_size():
    assert working_factor(5.0) == 2
    assert working_factor(5.0, rules=1.0) == 1  # rules as thin as the training pages'
    assert working_factor(5.0, rules=THIN_RULES) == 1
    assert working_factor(5.0, rules=2.0) == 2  # a scan at twice the resolution
    assert working_factor(5.0, rules=float("nan")) == 2  # no rules found: strokes decide
    assert working_factor(12.0, rules=4.0) == 6
    assert working_factor(3.0, rules=4.0) == 1
