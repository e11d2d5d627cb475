"""tools/experiments/polyline_pen.py (an experiment, see the model card, session 44): the
ink it draws and what it measures."""

from __future__ import annotations

import numpy as np

from .conftest import load_tool

pp = load_tool("experiments/polyline_pen.py")


def test_rough_ink_is_the_drawn_polyline():
    x, ink = pp.rough_ink(amp=20.0, width=1, seed=0, rows=60, cols=200)
    assert x.shape == (60,) and ink.shape == (60, 200)
    rows = np.arange(60)
    assert ink[rows, np.floor(x + 0.5).astype(int)].all()  # every vertex is inked


def test_an_odd_pen_is_read_best_thinned_to_one_px():
    """The finding the model card reports: a 3-px pen's zigzag is read to about a pixel
    once its strokes are eroded by a row each side, and far worse unthinned."""
    x, ink = pp.rough_ink(amp=20.0, width=3, seed=1, rows=200, cols=400)
    err = {h: np.nanmedian(np.abs(pp.read(ink, h) - x)[5:-5]) for h in (0, 1)}
    assert err[1] < 2.0
    assert err[0] > 4 * err[1]
