"""Colour keys: parsing colours and the colour ink map."""

import numpy as np
import pytest

from logdigit.colour import NAMED_COLOURS, colour_ink, parse_colour


@pytest.mark.parametrize(("text", "rgb"), [
    ("#00cc00", (0, 204, 0)), ("00CC00", (0, 204, 0)), (" Red ", NAMED_COLOURS["red"]),
    ("grey", (128, 128, 128)), ("gray", (128, 128, 128)),
])
def test_parse_colour(text, rgb):
    assert parse_colour(text) == rgb


@pytest.mark.parametrize("text", ["#0c0", "#00cc00ff", "chartreuse", "", 255, None])
def test_parse_colour_rejects(text):
    with pytest.raises(ValueError, match="rrggbb|expected"):
        parse_colour(text)


def test_colour_ink_is_255_on_the_colour_and_0_beyond_the_tolerance():
    rgb = np.array([[[0, 204, 0], [0, 0, 0], [255, 255, 255]],
                    [[30, 204, 40], [0, 150, 0], [0, 0, 204]]], np.uint8)
    ink = colour_ink(rgb, (0, 204, 0), tolerance=90)
    assert ink.shape == (2, 3) and ink.dtype == np.uint8
    assert ink[0, 0] == 255
    assert ink[0, 1] == 0 and ink[0, 2] == 0 and ink[1, 2] == 0  # black grid, paper, blue
    assert ink[1, 0] == round(255 * (1 - 50 / 90))  # distance 50: linear in between
    assert 0 < ink[1, 1] < 255


def test_colour_ink_long_images_are_done_in_bands():
    rgb = np.zeros((5000, 300, 3), np.uint8)
    rgb[::7, ::3] = (200, 0, 0)
    ink = colour_ink(rgb, (200, 0, 0))
    assert (ink[::7, ::3] == 255).all()
    assert ink.sum() == 255 * rgb[::7, ::3].shape[0] * rgb[::7, ::3].shape[1]


@pytest.mark.parametrize(("shape", "tol"), [((4, 4), 90), ((4, 4, 4), 90), ((4, 4, 3), 0)])
def test_colour_ink_rejects_bad_arguments(shape, tol):
    with pytest.raises(ValueError):
        colour_ink(np.zeros(shape, np.uint8), (0, 0, 0), tolerance=tol)


def test_ink_colours_finds_the_coloured_inks_and_ignores_grey_and_specks():
    from logdigit.colour import ink_colours, to_hex

    rgb = np.full((200, 100, 3), 250, np.uint8)
    rgb[:, 10:12] = (0, 0, 0)  # black grid: not a colour
    rgb[:, 30:32] = (128, 128, 128)  # grey: not a colour
    rgb[:, 50:53] = (0, 204, 0)  # 3 % of the pixels
    rgb[:, 70:72] = (0, 0, 200)  # 2 %
    rgb[5, 90] = (255, 0, 0)  # one speck
    got = ink_colours(rgb, step=1)
    assert [to_hex(c) for c, _ in got] == ["#00cc00", "#0000c8"]
    assert got[0][1] == pytest.approx(0.03) and got[1][1] == pytest.approx(0.02)
    assert ink_colours(np.full((10, 10, 3), 90, np.uint8)) == []
