"""Measure and correct the skew of a scan from its long vertical grid lines.

Convention
----------
``angle`` is in degrees and describes the slant of the vertical grid lines of the image
*as stored*: a line that crosses the centre row ``rc = (n_rows - 1) / 2`` at column ``c``
crosses row ``r`` at column ``c + (r - rc) * tan(angle)``. Positive means the lines drift
to the right going down the image (the page was turned counter-clockwise as displayed).

:func:`deskew` removes that slant with a horizontal shear about the centre row::

    out[r, c] = pixels[r, c + (r - rc) * tan(angle)]      (linear interpolation, white outside)

so that

* row indices are unchanged: stored row ``r`` is output row ``r`` (depth rows such as a
  layout's ``top_row``/``bottom_row`` keep their meaning);
* the centre row is unchanged, and a stored pixel ``(r, c)`` moves to column
  ``c - (r - rc) * tan(angle)``;
* a vertical grid line lands on the column where it crosses the centre row of the stored
  image. A layout's ``left_px``/``right_px`` for a skewed scan are therefore the columns
  of its track edges *on the centre row of the stored image*, which are also the columns
  of the deskewed image (``logdigit layout`` writes them that way).

A shear rather than a rotation keeps memory bounded (the image is processed in blocks of
rows, with only the output as a large allocation) and is exact for a scanner that feeds
the paper at a slant. When the paper itself was rotated on a flatbed, the horizontal depth
lines stay tilted by the same angle after the shear: across ``w`` columns a depth line
moves by ``w * tan(angle)`` rows (1.7 px per 100 px at 1 degree), which is the residual
depth error of a curve point measured ``w`` columns away from where a depth line was read.

Estimation
----------
:func:`estimate_skew` searches the angle (within +-2 degrees) that maximises the sum of
squares of the column projection of the ink, i.e. the angle that makes the long vertical
grid lines sharpest. It looks at a few bands of rows (by default 6 bands of 2,000 rows,
spread over the image), first band by band in 0.05 degree steps, then over all bands at
once with their true row offsets, which on a tall scan pins the angle to a few
thousandths of a degree. Without clear vertical structure, or when the bands disagree
(pages pasted together at different slants, paper that wandered), it returns 0.0: leave
the scan as it is. :func:`measure_skew` also gives the strength of the evidence and the
disagreement between bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage

__all__ = [
    "SkewEstimate",
    "deskew",
    "estimate_skew",
    "ink_threshold",
    "measure_skew",
    "sample_bands",
    "shear_columns",
]

MAX_ANGLE = 2.0  # degrees searched either side of 0
_STRIP = 16  # rows summed into one strip of the projection
_MIN_STRENGTH = 0.02  # relative peak height below which the skew is called unknown
_BAND_TOLERANCE = 0.1  # degrees a band's own slant may differ from the whole scan's


@dataclass(frozen=True)
class SkewEstimate:
    """The result of :func:`measure_skew`.

    Attributes
    ----------
    angle : float
        Slant of the vertical grid lines in degrees (see the module docstring); 0.0 when
        ``confident`` is False.
    measured : float
        The angle that maximised the projection, even when not confident.
    strength : float
        How much sharper the projection is at ``measured`` than at a typical angle of the
        search range: ``max / median - 1`` of the per-band objective. About 0 for a page
        without vertical lines; well above 0.1 for a gridded log.
    confident : bool
        ``strength`` is above a small threshold, the peak is not at the edge of the search
        range, and at least 3 in 4 of the bands with clear lines, each measured on its
        own, agree with ``measured`` within 0.1 degree. When they do not, pages were
        pasted together at different slants or the paper wandered through the scanner: a
        single shear cannot straighten such a scan, so it is left alone.
    spread : float
        Largest difference, in degrees, between one band's own slant and ``measured``.
    """

    angle: float
    measured: float
    strength: float
    confident: bool
    spread: float = 0.0


def sample_bands(n_rows: int, *, n_bands: int = 6, band_rows: int = 2000) -> list[tuple[int, int]]:
    """Row ranges ``(start, stop)`` of ``n_bands`` bands spread evenly over the image.

    The first band starts at row 0 and the last one ends at the last row. An image with at
    most ``n_bands * band_rows`` rows is cut into ``n_bands`` consecutive bands of equal
    height (fewer when that would make them shorter than 1,000 rows).
    """
    n_rows, n_bands, band_rows = int(n_rows), max(1, int(n_bands)), max(1, int(band_rows))
    if n_rows <= n_bands * band_rows:
        n = max(1, min(n_bands, n_rows // 1000))
        cuts = np.linspace(0, n_rows, n + 1).round().astype(int)
        return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    starts = np.linspace(0, n_rows - band_rows, n_bands).round().astype(int)
    return [(int(s), int(s) + band_rows) for s in starts]


def ink_threshold(pixels: np.ndarray) -> float:
    """Gray level below which a pixel counts as ink (light grid lines included).

    Paper is the 75th percentile of the gray levels. The threshold sits below it by five
    times the paper's noise (robust spread of the light pixels), at least 8 levels and at
    most 15 % of the range from paper to the darkest ink (1st percentile), so a clean
    digital page keeps its light-grey grid while a noisy scan's paper is not called ink.
    """
    values = np.asarray(pixels).ravel()
    if values.size > 2_000_000:
        values = values[:: values.size // 1_000_000]
    values = values.astype(np.float32)
    paper, dark = (float(v) for v in np.percentile(values, [75, 1]))
    light = values[values >= paper - 40]
    noise = 1.4826 * float(np.median(np.abs(light - np.median(light)))) if light.size else 0.0
    margin = min(max(8.0, 5 * noise), max(8.0, 0.15 * (paper - dark)))
    return paper - margin


def measure_skew(
    pixels: np.ndarray,
    *,
    max_angle: float = MAX_ANGLE,
    n_bands: int = 6,
    band_rows: int = 2000,
) -> SkewEstimate:
    """Measure the slant of the vertical grid lines; see the module docstring.

    Parameters
    ----------
    pixels : ndarray, shape (rows, cols)
        Gray image, 0 ink .. 255 paper, depth down the rows.
    max_angle : float
        Largest slant searched, in degrees either side of 0.
    n_bands, band_rows : int
        The bands of rows looked at (see :func:`sample_bands`).
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise ValueError(f"pixels must be a 2-D image, got shape {pixels.shape}")
    n_rows, n_cols = pixels.shape
    if n_rows <= n_bands * band_rows:  # long bands see the slant best: consecutive ones
        bands = [(r, min(n_rows, r + band_rows)) for r in range(0, n_rows, band_rows)]
    else:
        bands = sample_bands(n_rows, n_bands=n_bands, band_rows=band_rows)
    thr = ink_threshold(np.concatenate([pixels[a:b:7].ravel() for a, b in bands]))
    rc = (n_rows - 1) / 2
    strips, ys, band_of = [], [], []
    for i, (a, b) in enumerate(bands):
        k = (b - a) // _STRIP
        if k < 2:
            continue
        ink = pixels[a : a + k * _STRIP] < thr
        s = ink.reshape(k, _STRIP, n_cols).sum(axis=1, dtype=np.float32)
        strips.append(s)
        ys.append(a + (np.arange(k) + 0.5) * _STRIP - 0.5 - rc)
        band_of.append(np.full(k, i))
    if not strips:
        return SkewEstimate(0.0, 0.0, 0.0, False, 0.0)
    # a slight blur across the columns, so that sub-pixel interpolation does not favour
    # angles whose shifts happen to be whole pixels
    S = ndimage.gaussian_filter1d(np.concatenate(strips), 1.0, axis=1, mode="constant")
    Y = np.concatenate(ys)
    B = np.concatenate(band_of)
    if not S.any():
        return SkewEstimate(0.0, 0.0, 0.0, False, 0.0)

    # stage 1: band by band (each band about its own centre): 0.05 degree steps, then
    # 0.005 degree steps around the best
    local_y = Y.copy()
    for i in np.unique(B):
        sel = B == i
        local_y[sel] -= local_y[sel].mean()
    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.05)
    starts = np.flatnonzero(np.diff(B, prepend=-1))
    per_band = _objective(S, local_y, np.tan(np.radians(coarse)), starts, per_group=True)
    obj = per_band.sum(axis=1)
    best = int(np.argmax(obj))
    strength = float(obj[best] / max(np.median(obj), 1e-12) - 1.0)
    at_edge = best in (0, len(coarse) - 1)
    fine = np.linspace(coarse[best] - 0.05, coarse[best] + 0.05, 21)
    angle = _peak(fine, _objective(S, local_y, np.tan(np.radians(fine)), starts))
    # every band with clear lines should agree: pages pasted together, or paper that
    # wanders, have no single slant to remove
    deviations = []
    for j in range(per_band.shape[1]):
        o = per_band[:, j]
        k = int(np.argmax(o))
        if o[k] / max(float(np.median(o)), 1e-12) - 1.0 >= 0.1 and 0 < k < len(o) - 1:
            deviations.append(abs(_peak(coarse, o) - angle))
    spread = max(deviations, default=0.0)
    agree = np.mean(np.asarray(deviations) <= _BAND_TOLERANCE) if deviations else 1.0

    # stage 2: one profile per band (deskewed about its own centre by the stage-1 angle),
    # then the bands shifted by their offsets from the centre row and summed; on
    # a tall scan this long baseline pins the angle down. The step moves the farthest band
    # by a quarter of a pixel.
    t1 = math.tan(math.radians(angle))
    bands_y, profiles = [], []
    for i in np.unique(B):
        sel = B == i
        profiles.append(_profile(S[sel], local_y[sel], t1))
        bands_y.append(float(Y[sel].mean()))
    reach = max(abs(y) for y in bands_y)
    if len(profiles) > 1 and reach > 2 * (Y.max() - Y.min()) / len(profiles):
        P = np.stack(profiles)
        by = np.asarray(bands_y)
        half = 0.03
        step = math.degrees(math.atan(0.25 / reach))
        grid = np.linspace(angle - half, angle + half, min(2001, int(2 * half / step) + 1))
        obj = _objective(P, by, np.tan(np.radians(grid)), np.array([0]))
        if 0 < int(np.argmax(obj)) < len(grid) - 1:  # else keep the stage-1 angle
            angle = _peak(grid, obj)
    angle = float(np.clip(angle, -max_angle, max_angle))
    confident = strength >= _MIN_STRENGTH and not at_edge and agree >= 0.75
    return SkewEstimate(angle if confident else 0.0, angle, strength, confident, spread)


def estimate_skew(pixels: np.ndarray, *, max_angle: float = MAX_ANGLE) -> float:
    """Slant of the vertical grid lines in degrees (0.0 when there is no clear evidence).

    Parameters
    ----------
    pixels : ndarray, shape (rows, cols)
        Gray image, 0 ink .. 255 paper, depth down the rows.
    max_angle : float
        Largest slant searched, in degrees either side of 0.

    Returns
    -------
    float
        ``angle`` such that a vertical line at column ``c`` on the centre row lies at
        column ``c + (r - rc) * tan(angle)`` on row ``r``; pass it to :func:`deskew`.
    """
    return measure_skew(pixels, max_angle=max_angle).angle


def deskew(pixels: np.ndarray, angle: float, *, fill: float = 255, block_rows: int = 1024
           ) -> np.ndarray:
    """Remove a slant of ``angle`` degrees by a horizontal shear about the centre row.

    Parameters
    ----------
    pixels : ndarray, shape (rows, cols)
        The image as stored (any real dtype; uint8 scans are the usual case).
    angle : float
        Slant from :func:`estimate_skew` (degrees, see the module docstring).
    fill : float
        Value for pixels shifted in from outside the image (white paper by default).
    block_rows : int
        Rows processed at a time; memory beyond the output is a few blocks.

    Returns
    -------
    ndarray
        A new array of the same shape and dtype: ``out[r, c] = pixels[r, c + (r - rc) *
        tan(angle)]``, ``rc = (rows - 1) / 2``. Row indices are unchanged; see the module
        docstring for how columns map.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise ValueError(f"pixels must be a 2-D image, got shape {pixels.shape}")
    return shear_columns(pixels, math.tan(math.radians(float(angle))),
                         row0=0, rc=(pixels.shape[0] - 1) / 2, fill=fill, block_rows=block_rows)


def shear_columns(block: np.ndarray, tan_angle: float, *, row0: int, rc: float,
                  fill: float = 255, block_rows: int = 1024) -> np.ndarray:
    """Deskew a block of rows cut from a larger image (rows ``row0 ..``, centre row ``rc``).

    ``out[i, c] = block[i, c + (row0 + i - rc) * tan_angle]``; :func:`deskew` is this with
    ``row0 = 0`` and ``rc`` the centre row of the whole image, so a band deskewed on its own
    matches the same rows of the deskewed image exactly.
    """
    block = np.asarray(block)
    n_rows, n_cols = block.shape
    out = np.empty_like(block)
    if n_rows == 0 or n_cols == 0:
        return out
    ends = (row0 - rc, row0 + n_rows - 1 - rc)
    if max(abs(e) for e in ends) * abs(tan_angle) < 0.02:
        out[...] = block
        return out
    integer = np.issubdtype(block.dtype, np.integer)
    cols = np.arange(n_cols)
    for a in range(0, n_rows, max(1, int(block_rows))):
        b = min(n_rows, a + max(1, int(block_rows)))
        shift = (np.arange(row0 + a, row0 + b) - rc) * tan_angle
        k = np.floor(shift).astype(np.int64)
        f = (shift - k).astype(np.float32)[:, None]
        lo, hi = int(k.min()), int(k.max())
        pad_l, pad_r = max(0, -lo), max(0, hi + 1)
        padded = np.full((b - a, n_cols + pad_l + pad_r), fill, dtype=np.float32)
        padded[:, pad_l : pad_l + n_cols] = block[a:b]
        idx = cols[None, :] + (k + pad_l)[:, None]
        left = np.take_along_axis(padded, idx, axis=1)
        right = np.take_along_axis(padded, np.minimum(idx + 1, padded.shape[1] - 1), axis=1)
        values = left + f * (right - left)
        if integer:
            info = np.iinfo(block.dtype)
            values = np.clip(np.rint(values), info.min, info.max)
        out[a:b] = values.astype(block.dtype)
    return out


def _peak(angles: np.ndarray, obj: np.ndarray) -> float:
    """The angle of the largest objective, refined by a parabola through its neighbours."""
    j = int(np.argmax(obj))
    angle = float(angles[j])
    if 0 < j < len(angles) - 1:
        y0, y1, y2 = obj[j - 1], obj[j], obj[j + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            angle += float(0.5 * (y0 - y2) / den * (angles[1] - angles[0]))
    return angle


def _profile(strips: np.ndarray, ys: np.ndarray, t: float) -> np.ndarray:
    """Column projection of ``strips`` sheared by slope ``t`` (same length as a strip)."""
    shift = ys * t
    kk = np.floor(shift).astype(np.int64)
    f = (shift - kk).astype(np.float32)[:, None]
    reach = int(np.abs(kk).max()) + 2
    n_cols = strips.shape[1]
    padded = np.zeros((strips.shape[0], n_cols + 2 * reach), dtype=np.float32)
    padded[:, reach : reach + n_cols] = strips
    idx = np.arange(n_cols)[None, :] + (kk + reach)[:, None]
    left = np.take_along_axis(padded, idx, axis=1)
    right = np.take_along_axis(padded, idx + 1, axis=1)
    return (left + f * (right - left)).sum(axis=0)


def _objective(strips: np.ndarray, ys: np.ndarray, tans: np.ndarray, starts: np.ndarray,
               *, per_group: bool = False) -> np.ndarray:
    """Sum of squares of the column projections of ``strips`` sheared by each slope.

    ``starts`` are the first strips of each group (band): every group gets its own
    projection, so groups far apart need not line up with each other. Returns one value
    per slope, or with ``per_group`` an array (slopes, groups).

    Parameters
    ----------
    strips : (k, n_cols) float
        Ink counts of strips of rows.
    ys : (k,) float
        Row of each strip relative to the shear's centre row; strip i moves sideways by
        ``ys[i] * t`` px (linear interpolation) for slope t.
    tans : (m,) float
        Slopes (tangents of the angles).
    starts : (g,) int
        First strip of each group, increasing, ``starts[0] == 0``.
    """
    k, n_cols = strips.shape
    reach = int(math.ceil(float(np.abs(ys).max()) * float(np.abs(tans).max()))) + 2
    padded = np.zeros((k, n_cols + 4 * reach), dtype=np.float32)
    padded[:, 2 * reach : 2 * reach + n_cols] = strips
    out = _sheared_energy(padded, np.asarray(ys, np.float64), np.asarray(tans, np.float64),
                          np.asarray(starts, np.int64), reach)
    return out if per_group else out.sum(axis=1)


@numba.njit(cache=True, nogil=True)
def _sheared_energy(padded: np.ndarray, ys: np.ndarray, tans: np.ndarray, starts: np.ndarray,
                    reach: int) -> np.ndarray:  # pragma: no cover - jitted
    """(slopes, groups) sums of squares of the sheared projections (see :func:`_objective`).

    One pass per slope and strip, accumulating straight into the group's projection: no
    (strips, columns) gather per slope is made.
    """
    k, width = padded.shape
    n_out = width - 2 * reach  # columns -reach .. n_cols + reach of the unpadded strips
    n_groups = len(starts)
    out = np.empty((len(tans), n_groups))
    prof = np.empty(n_out, np.float32)
    for i in range(len(tans)):
        for g in range(n_groups):
            stop = starts[g + 1] if g + 1 < n_groups else k
            prof[:] = 0.0
            for r in range(starts[g], stop):
                shift = ys[r] * tans[i]
                kk = int(math.floor(shift))
                f = np.float32(shift - kk)
                base = kk + reach
                for c in range(n_out):
                    left = padded[r, base + c]
                    prof[c] += left + f * (padded[r, base + c + 1] - left)
            energy = 0.0
            for c in range(n_out):
                energy += float(prof[c]) * float(prof[c])
            out[i, g] = energy
    return out
