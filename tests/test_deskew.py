"""Skew measurement and correction (logdigit.deskew) on rendered pages with a known slant."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import ndimage

from logdigit.deskew import deskew, estimate_skew, measure_skew, sample_bands, shear_columns
from logdigit.render import random_walk_bank, render_page


@pytest.fixture(scope="module")
def bank():
    return None  # pages come from the cache below


@functools.cache
def _page(seed: int, tier: str) -> tuple[np.ndarray, dict]:
    bank = random_walk_bank(np.random.default_rng(0), n=6, length=8000)
    page = render_page(rng=np.random.default_rng(seed), bank=bank, height=3000, width=1100,
                       tier=tier)
    page.image.setflags(write=False)
    return page.image, page.layout


def page_image(_bank, seed: int, tier: str) -> tuple[np.ndarray, dict]:
    return _page(seed, tier)


def slant(image: np.ndarray, angle: float) -> np.ndarray:
    """Shear ``image`` so that its vertical lines drift by ``angle`` degrees (see deskew)."""
    return shear_columns(image, -math.tan(math.radians(angle)), row0=0,
                         rc=(image.shape[0] - 1) / 2)


def line_columns(image: np.ndarray, near: list[float]) -> list[float]:
    """Sub-pixel column of the darkest vertical line within 2 px of each column in ``near``
    (track edges can be 4 px apart, so the window is narrow)."""
    dark = 255.0 - image.mean(axis=0)
    out = []
    for x in near:
        c = int(round(x))
        k = c - 2 + int(np.argmax(dark[c - 2 : c + 3]))
        w = dark[k - 1 : k + 2] - dark[k - 3 : k + 4].min()
        out.append(k - 1 + float((np.arange(3) * w).sum() / w.sum()))
    return out


def edges(layout: dict) -> list[float]:
    return [float(v) for t in layout["tracks"] for v in (t["left_px"], t["right_px"])]


@pytest.mark.parametrize("seed,tier", [(1, "clean"), (2, "scanned"), (4, "hard")])
@pytest.mark.parametrize("angle", [1.5, -1.5])
def test_sheared_page_estimate_and_restore(bank, seed, tier, angle):
    image, layout = page_image(bank, seed, tier)
    skewed = slant(image, angle)
    est = measure_skew(skewed)
    assert est.confident
    assert abs(est.angle - angle) < 0.1
    assert abs(estimate_skew(skewed) - est.angle) < 1e-12
    fixed = deskew(skewed, est.angle)
    assert fixed.shape == image.shape and fixed.dtype == np.uint8
    # the grid lines (track edges) are back on their columns, within 1 px
    truth = line_columns(image, edges(layout))
    got = line_columns(fixed, edges(layout))
    assert np.max(np.abs(np.subtract(got, truth))) <= 1.0


@pytest.mark.parametrize("angle", [1.5, -1.5])
def test_rotated_page_estimate_and_restore(bank, angle):
    """A true rotation (scipy) about the centre: positive angle = lines drift right going
    down, as for the shear; the shear brings the grid back within 1 px at the centre row."""
    image, layout = page_image(bank, 2, "scanned")
    rotated = ndimage.rotate(image, angle, reshape=False, order=1, cval=255)
    est = estimate_skew(rotated)
    assert abs(est - angle) < 0.1
    fixed = deskew(rotated, est)
    rows = slice(500, 2500)  # away from the corners the rotation brought in as white
    truth = line_columns(image[rows], edges(layout))
    got = line_columns(fixed[rows], edges(layout))
    assert np.max(np.abs(np.subtract(got, truth))) <= 1.0


def test_unskewed_page_reads_zero(bank):
    image, _ = page_image(bank, 1, "clean")
    assert abs(estimate_skew(image)) < 0.02


def test_tall_scan_uses_the_long_baseline(bank):
    """On a tall scan, bands far apart pin the angle down: a tiny slant of 0.02 deg moves
    the lines ~8 px over 48,000 rows; the estimate leaves under 1 px of drift at the ends."""
    image, _ = page_image(bank, 2, "scanned")
    tall = np.tile(image, (16, 1))
    angle = 0.02
    est = estimate_skew(slant(tall, angle))
    drift = (tall.shape[0] / 2) * abs(math.tan(math.radians(est - angle)))
    assert drift < 1.0


def test_blank_page_is_not_skewed():
    blank = np.full((3000, 800), 255, np.uint8)
    est = measure_skew(blank)
    assert est.angle == 0.0 and not est.confident
    noise = np.random.default_rng(0).normal(235, 8, (3000, 800)).clip(0, 255).astype(np.uint8)
    assert measure_skew(noise).angle == 0.0


def test_deskew_keeps_rows_and_maps_columns():
    """Rows are unchanged; stored (r, c) moves to column c - (r - rc) * tan(angle)."""
    rows, cols = 2001, 400
    img = np.full((rows, cols), 255, np.uint8)
    img[700, :] = 0  # a horizontal line stays on its row
    angle = 1.0
    t = math.tan(math.radians(angle))
    rc = (rows - 1) / 2
    r = np.arange(rows)
    x = np.round(200 + (r - rc) * t).astype(int)  # a vertical line slanted by +1 deg
    img[r, x] = 0
    out = deskew(img, angle)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert (out[700, 50:150] < 128).all() and (out[699, 50:150] > 200).all()
    cols_found = np.argmin(out[np.r_[0:690, 710:rows]], axis=1)
    assert np.abs(cols_found - 200).max() <= 1
    assert (out[0, -5:] == 255).all()  # white comes in from outside


def test_deskew_blocks_and_zero_angle():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (501, 90), dtype=np.uint8)
    a = deskew(img, 0.7, block_rows=7)
    b = deskew(img, 0.7)
    assert np.array_equal(a, b)
    same = deskew(img, 0.0)
    assert np.array_equal(same, img) and same is not img
    f = deskew(img.astype(np.float32), 0.7)
    assert f.dtype == np.float32 and np.abs(f - b).max() <= 0.5 + 1e-3
    # a band deskewed on its own matches the same rows of the whole image
    band = shear_columns(img[100:200], math.tan(math.radians(0.7)), row0=100, rc=250.0)
    assert np.array_equal(band, b[100:200])


def test_sample_bands():
    assert sample_bands(91_000) == [(0, 2000), (17800, 19800), (35600, 37600),
                                    (53400, 55400), (71200, 73200), (89000, 91000)]
    assert sample_bands(3000) == [(0, 1000), (1000, 2000), (2000, 3000)]
    assert sample_bands(500) == [(0, 500)]


def test_pages_at_different_slants_are_left_alone(bank):
    """Two pages pasted together at different slants have no single slant to remove."""
    image, _ = page_image(bank, 2, "scanned")
    pasted = np.concatenate([slant(image, 0.8), slant(image, -0.6)], axis=0)
    est = measure_skew(pasted)
    assert not est.confident and est.angle == 0.0
    assert est.spread > 0.5


def test_sheared_projection_energy_matches_a_direct_computation():
    from logdigit.deskew import _objective

    rng = np.random.default_rng(3)
    strips = rng.random((9, 40)).astype(np.float32)
    ys = np.linspace(-30.0, 30.0, 9)
    tans = np.tan(np.radians([-1.5, -0.3, 0.0, 0.2, 1.9]))
    starts = np.array([0, 4, 7])
    cols = np.arange(-80, 120)  # wider than any shift: nothing falls off the edges
    want = np.zeros((len(tans), len(starts)))
    for i, t in enumerate(tans):
        for g, (a, b) in enumerate(zip(starts, [*starts[1:], len(strips)], strict=True)):
            # column c of the sum reads strip r at c + ys[r] * t; paper beyond its ends
            prof = sum(np.interp(cols + ys[r] * t, np.arange(-1, 41),
                                 np.pad(strips[r], 1), left=0, right=0)
                       for r in range(a, b))
            want[i, g] = (prof ** 2).sum()
    got = _objective(strips, ys, tans, starts, per_group=True)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    np.testing.assert_allclose(_objective(strips, ys, tans, starts), want.sum(axis=1),
                               rtol=1e-4)
