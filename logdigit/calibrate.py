"""Pixel <-> value <-> depth conversions, and resampling onto the output depth grid.

Pixel coordinates are floats measured at pixel centres: column ``x`` and row ``r`` of the
working image, in which depth increases down the rows.

* :func:`x_to_value` / :func:`value_to_x` map a column to a curve value and back, on the
  curve's linear or logarithmic scale across its track.
* :func:`x_to_true_value` does the same for a whole trace, unwrapping backup
  (wrap-around) scales: :func:`wrap_levels` finds which scale each row is on.
* :func:`row_to_depth` / :func:`depth_to_row` map a row to a depth and back.
* :func:`depth_grid` is the regular output depth grid.
* :func:`resample` turns one value per image row (with NaN gaps) into values on that grid.

All functions are pure: they return new arrays and never modify their inputs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import solveh_banded

from .layout import Curve, DepthCalibration, Track

__all__ = [
    "depth_grid",
    "depth_to_row",
    "edge_samples",
    "resample",
    "row_to_depth",
    "value_to_x",
    "wrap_levels",
    "x_to_true_value",
    "x_to_value",
]

logger = logging.getLogger(__name__)

#: Runs with fewer finite samples than this are interpolated linearly, not splined.
MIN_SPLINE_POINTS = 5
#: Pre-average samples into bins when there are more than this many samples per grid step.
_BIN_THRESHOLD = 8.0
#: Bins per grid step when pre-averaging dense samples. 8 since session 24: narrower than
#: the smoothing length grid_step / (2 pi), so the binning no longer smooths more than the
#: spline does (a quarter step before, which cut a jagged curve's row-to-row detail).
#: Dev cases (310 curves): 271 at R² >= 0.95 and 216 at >= 0.99 against 271 and 215, 14
#: curves up and 6 down by more than 0.005; with label masks 295 against 294; on rows read
#: exactly from the drawing 307 against 305.
_BINS_PER_STEP = 8.0
#: The spline's smoothing length is at least the grid step over this. 2 pi since session
#: 21 (the half-power wavelength one grid step; with binned samples the smoothing length
#: was then the bin width, a quarter step, until session 24), pi before (two grid
#: steps). Chosen on the pick and dev cases with the trace's confidence as weights: 263
#: curves at R² >= 0.95 against 261 with pi (the same weights); with label masks in place
#: of the network 287 against 284. On rows read exactly from the drawing
#: (``tools/drawn_oracle.py``, held-out) 114 of 118 against 112.
_MIN_SMOOTHING_WAVES = 2.0 * math.pi
#: ... and at least this many sample spacings (rows, or bins after binning).
_MIN_SMOOTHING_SPACINGS = 1.0


# --------------------------------------------------------------------------- x <-> value


def _scale_params(track: Track, curve: Curve) -> tuple[float, float, float, float, bool]:
    """Validated ``(left_px, right_px, a, b, is_log)``; ``a``/``b`` are in scale space."""
    left_px, right_px = float(track.left_px), float(track.right_px)
    if not (math.isfinite(left_px) and math.isfinite(right_px)) or left_px == right_px:
        raise ValueError(
            f"track columns must be finite and distinct, got left_px={left_px}, right_px={right_px}"
        )
    left, right = float(curve.left), float(curve.right)
    if not (math.isfinite(left) and math.isfinite(right)) or left == right:
        raise ValueError(
            f"curve {curve.mnemonic}: left and right must be finite and distinct, "
            f"got {left} and {right}"
        )
    scale = str(curve.scale).lower()
    if scale == "linear":
        return left_px, right_px, left, right, False
    if scale == "log":
        if left <= 0 or right <= 0:
            raise ValueError(
                f"curve {curve.mnemonic}: a log scale needs left and right > 0, "
                f"got {left} and {right}"
            )
        return left_px, right_px, math.log10(left), math.log10(right), True
    raise ValueError(f"curve {curve.mnemonic}: scale must be 'linear' or 'log', got {scale!r}")


def x_to_value(x: ArrayLike, *, track: Track, curve: Curve) -> np.ndarray:
    """Convert working-image columns to curve values.

    Parameters
    ----------
    x : array_like, shape (...)
        Columns in pixels (pixel centres). NaN gives NaN.
    track : Track
        The track; ``curve.left`` sits at ``track.left_px``, ``curve.right`` at
        ``track.right_px``. Columns outside the track extrapolate the scale.
    curve : Curve
        The curve; ``scale="linear"`` maps ``x`` linearly onto ``[left, right]``;
        ``scale="log"`` maps it linearly onto ``[log10(left), log10(right)]``. A reversed
        scale (``right < left``) needs nothing special.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        Values in ``curve.unit``.

    Raises
    ------
    ValueError
        Degenerate track or curve scale (equal ends, non-finite, log scale with an end <= 0,
        unknown scale name).
    """
    left_px, right_px, a, b, is_log = _scale_params(track, curve)
    x = np.asarray(x, dtype=np.float64)
    scaled = a + (x - left_px) / (right_px - left_px) * (b - a)
    if is_log:
        with np.errstate(over="ignore"):
            scaled = np.power(10.0, scaled)
    return np.asarray(scaled, dtype=np.float64)


def _wrap_events(x: np.ndarray, left_px: float, right_px: float, zone: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Rows where the trace jumps across the track between the edge zones, and the edge left.

    One end of the jump must lie within ``zone`` of its edge and the other within
    ``3 * zone`` of the opposite edge: a fast curve can be well inside the track one row
    after it re-entered (or one row before it leaves), most of all a dashed one.

    A jump to or from a trace that hugs an edge line (within ``max(2, 1 %)`` of the width
    of it over the 24 traced rows on that side) is not a wrap: a trace that lost its curve
    at one edge and ran down the other edge's ruled line would otherwise read as a wrap
    (a real scan's gamma ray, 33-025-02078-0002, came out 150 API too high).

    Returns ``(rows, exits_right)``: the first row after each wrap, and whether the curve
    left through the right edge (True) or the left edge (False).
    """
    idx = np.flatnonzero(np.isfinite(x))
    if len(idx) < 2:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    a, b = x[idx[:-1]], x[idx[1:]]
    width = right_px - left_px
    lo, hi = left_px + zone * width, right_px - zone * width
    lo3, hi3 = left_px + 3 * zone * width, right_px - 3 * zone * width
    out_right = ((a >= hi) & (b <= lo3)) | ((a >= hi3) & (b <= lo))
    out_left = ((a <= lo) & (b >= hi3)) | ((a <= lo3) & (b >= hi))
    k = np.flatnonzero(out_right | out_left)
    # A pen that runs out at an edge came from inside the track and goes on inside it. A
    # trace that sits on an edge line (within ``hug`` px of it) for the ``reach`` traced
    # rows before the jump, or after it, crossed to or from a track-edge line, not a wrap.
    hug, reach = max(2.0, 0.01 * width), 24
    xs = x[idx]
    keep = []
    for j in k:  # j: the jump is between traced rows j and j + 1
        right = out_right[j]
        before = xs[max(0, j + 1 - reach) : j + 1]
        after = xs[j + 1 : j + 1 + reach]
        away_before = (right_px - before) if right else (before - left_px)
        away_after = (after - left_px) if right else (right_px - after)
        keep.append(away_before.max() > hug and away_after.max() > hug)
    k = k[np.asarray(keep, bool)] if len(k) else k
    return idx[1:][k], out_right[k]


def _follow(start: int, exits_right: np.ndarray, scales: list[tuple[float, float]]
            ) -> tuple[list[int], int]:
    """Scale index after each wrap event starting on ``scales[start]``; matched count."""
    level, levels, matched = start, [], 0
    for right in exits_right:
        edge_value = scales[level][1] if right else scales[level][0]
        side = 0 if right else 1  # the scale we enter has edge_value at the opposite edge
        nxt = [j for j, sc in enumerate(scales)
               if j != level and math.isclose(sc[side], edge_value, rel_tol=1e-9, abs_tol=1e-12)]
        if nxt:
            level = nxt[0]
            matched += 1
        levels.append(level)
    return levels, matched


def wrap_levels(x: ArrayLike, *, track: Track, curve: Curve, zone: float = 0.06) -> np.ndarray:
    """Which scale (0 main, ``i`` = ``curve.backup[i - 1]``) each row of a trace is on.

    A wrap is a jump between consecutive traced rows (gaps skipped) from within ``zone`` of
    one track edge to within ``zone`` of the other: the pen runs out at an edge and comes
    back at the other, so both ends sit at the edges; a trace that hops from inside the
    track to the far edge (a stray mark) is not a wrap. Leaving through the edge where the
    current scale reads ``v``, the curve continues on the scale that reads ``v`` at the
    opposite edge; a jump that fits no scale is a jump, not a wrap, and changes nothing.
    The starting scale is the one under which the most jumps are wraps (main on a tie),
    so a trace that begins on its backup scale is recognised.

    Parameters
    ----------
    x : array_like, shape (rows,)
        Traced columns (pixels), NaN in gaps.
    track, curve : Track, Curve
        ``curve.backup`` lists the backup scales.
    zone : float
        Edge zone, as a fraction of the track width.

    Returns
    -------
    numpy.ndarray of int64, shape (rows,)
        Scale index per row (also set in gaps, from the last traced row).
    """
    x = np.asarray(x, dtype=np.float64)
    levels = np.zeros(x.shape, np.int64)
    if not curve.backup:
        return levels
    scales = [(float(curve.left), float(curve.right))] + [tuple(map(float, b))
                                                          for b in curve.backup]
    rows, exits_right = _wrap_events(x, float(track.left_px), float(track.right_px), zone)
    best_start, best = 0, _follow(0, exits_right, scales)
    for start in range(1, len(scales)):
        cand = _follow(start, exits_right, scales)
        if cand[1] > best[1]:
            best_start, best = start, cand
    levels[:] = best_start
    for row, level in zip(rows, best[0], strict=True):
        levels[row:] = level
    return levels


def x_to_true_value(x: ArrayLike, *, track: Track, curve: Curve) -> np.ndarray:
    """:func:`x_to_value` with the backup scales of ``curve`` unwrapped (:func:`wrap_levels`).

    Parameters
    ----------
    x : array_like, shape (rows,)
        One traced column per depth row, in depth order, NaN in gaps.

    Returns
    -------
    numpy.ndarray of float64, shape (rows,)
        True curve values: on the main scale where the trace is on it, on the backup scale
        where it has wrapped.
    """
    x = np.asarray(x, dtype=np.float64)
    if not curve.backup:
        return x_to_value(x, track=track, curve=curve)
    levels = wrap_levels(x, track=track, curve=curve)
    out = np.full(x.shape, np.nan)
    scales = [(curve.left, curve.right)] + list(curve.backup)
    for i, (lo, hi) in enumerate(scales):
        sel = levels == i
        if sel.any():
            out[sel] = x_to_value(x[sel], track=track,
                                  curve=replace(curve, left=lo, right=hi, backup=()))
    return out


def value_to_x(value: ArrayLike, *, track: Track, curve: Curve) -> np.ndarray:
    """Convert curve values to working-image columns: the exact inverse of :func:`x_to_value`.

    Parameters
    ----------
    value : array_like, shape (...)
        Values in ``curve.unit``. NaN gives NaN; on a log scale values <= 0 give NaN.
    track, curve : Track, Curve
        As for :func:`x_to_value`.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        Columns in pixels (pixel centres).

    Raises
    ------
    ValueError
        As for :func:`x_to_value`.
    """
    left_px, right_px, a, b, is_log = _scale_params(track, curve)
    v = np.asarray(value, dtype=np.float64)
    if is_log:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
    return np.asarray(left_px + (v - a) / (b - a) * (right_px - left_px), dtype=np.float64)


# --------------------------------------------------------------------------- row <-> depth


def _depth_params(depth: DepthCalibration) -> tuple[float, float, float, float]:
    """Validated ``(top_row, bottom_row, top, bottom)``."""
    if depth.bottom_row is None:
        raise ValueError("depth.bottom_row is not set; resolve the layout against the image first")
    r0, r1 = float(depth.top_row), float(depth.bottom_row)
    d0, d1 = float(depth.top), float(depth.bottom)
    if not all(math.isfinite(v) for v in (r0, r1, d0, d1)):
        raise ValueError("depth calibration values must be finite")
    if r0 == r1:
        raise ValueError(f"depth.top_row and depth.bottom_row are equal ({depth.top_row})")
    if d0 == d1:
        raise ValueError(f"depth.top and depth.bottom are equal ({depth.top})")
    return r0, r1, d0, d1


def row_to_depth(row: ArrayLike, *, depth: DepthCalibration) -> np.ndarray:
    """Convert working-image rows to depths.

    Parameters
    ----------
    row : array_like, shape (...)
        Rows in pixels (pixel centres; fractional rows allowed). NaN gives NaN.
    depth : DepthCalibration
        Linear scale through ``(top_row, top)`` and ``(bottom_row, bottom)``; rows outside
        that range extrapolate it.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        Depths in ``depth.unit``.

    Raises
    ------
    ValueError
        ``depth.bottom_row`` is None, or the calibration is degenerate.
    """
    r0, r1, d0, d1 = _depth_params(depth)
    r = np.asarray(row, dtype=np.float64)
    return np.asarray(d0 + (r - r0) / (r1 - r0) * (d1 - d0), dtype=np.float64)


def depth_to_row(d: ArrayLike, *, depth: DepthCalibration) -> np.ndarray:
    """Convert depths to working-image rows: the exact inverse of :func:`row_to_depth`.

    Parameters
    ----------
    d : array_like, shape (...)
        Depths in ``depth.unit``. NaN gives NaN.
    depth : DepthCalibration
        As for :func:`row_to_depth`.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        Fractional rows (pixel centres).

    Raises
    ------
    ValueError
        As for :func:`row_to_depth`.
    """
    r0, r1, d0, d1 = _depth_params(depth)
    dd = np.asarray(d, dtype=np.float64)
    return np.asarray(r0 + (dd - d0) / (d1 - d0) * (r1 - r0), dtype=np.float64)


def depth_grid(*, depth: DepthCalibration) -> np.ndarray:
    """The regular output depth grid.

    Parameters
    ----------
    depth : DepthCalibration
        Uses ``top``, ``bottom`` and ``step`` (``bottom_row`` is not needed).

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        ``top + step * arange(m)`` rounded to 6 decimals, with the largest ``m`` such that
        the last point is ``<= bottom`` (with a 1e-9 tolerance). Rounding makes the values,
        and so the LAS STRT/STOP/STEP, exact decimals. ``m >= 1``.

    Raises
    ------
    ValueError
        ``step`` is not a positive finite number, ``top``/``bottom`` are not finite, or
        ``bottom < top``.
    """
    top, bottom, step = float(depth.top), float(depth.bottom), float(depth.step)
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"depth.step must be a positive number, got {depth.step}")
    if not (math.isfinite(top) and math.isfinite(bottom)):
        raise ValueError("depth.top and depth.bottom must be finite")
    if bottom < top:
        raise ValueError(f"depth.bottom ({bottom}) is above depth.top ({top})")
    n = int(math.floor((bottom - top + 1e-9) / step)) + 1
    grid = np.round(top + step * np.arange(n, dtype=np.float64), 6)
    while grid.size > 1 and grid[-1] > bottom + 1e-9:  # guard against rounding up past bottom
        grid = grid[:-1]
    return grid


# --------------------------------------------------------------------------- resampling


def _runs(finite: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges ``[start, stop)`` of consecutive True values."""
    padded = np.concatenate(([False], finite, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _bin_average(d: np.ndarray, v: np.ndarray, width: float, w: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average ``(d, v)`` in consecutive depth bins of ``width`` (``v`` weighted by ``w``);
    empty bins are dropped. Returns the bins' depths, values and mean weights."""
    k = np.floor((d - d[0]) / width).astype(np.int64)
    counts = np.bincount(k)
    keep = counts > 0
    dm = np.bincount(k, weights=d)[keep] / counts[keep]
    ws = np.bincount(k, weights=w)[keep]
    vm = np.bincount(k, weights=v * w)[keep] / ws
    return dm, vm, ws / counts[keep]


def smoothing_spline(x: np.ndarray, y: np.ndarray, *, lam: float,
                     w: np.ndarray | None = None):
    """The cubic smoothing spline of ``(x, y)``, as a function of depth.

    It minimises ``sum w_i (y_i - f(x_i))**2 + lam * integral f''(u)**2 du``: the natural
    cubic spline with knots at ``x`` (the same function as
    :func:`scipy.interpolate.make_smoothing_spline` with ``w`` and ``lam`` given). Solved in the
    Reinsch form, a banded (pentadiagonal) system of ``n - 2`` equations, so it costs
    O(n) with no Python loop over the points.

    Parameters
    ----------
    x : (n,) float
        Strictly increasing abscissae, ``n >= 3``.
    y : (n,) float
        Values.
    lam : float
        Smoothing weight, >= 0 (0 interpolates).
    w : (n,) float or None
        Positive weight of each point (None: all 1). A point of small weight is followed
        less closely.

    Returns
    -------
    callable
        ``f(t)`` for an array ``t`` of any shape; beyond ``[x[0], x[-1]]`` the cubic of the
        end interval is continued.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = x.size
    if n < 3 or y.shape != x.shape:
        raise ValueError("need at least 3 points and matching x and y")
    w = np.ones(n) if w is None else np.asarray(w, np.float64)
    if w.shape != x.shape or not np.all(w > 0):  # NaN fails too
        raise ValueError("weights must match x and be positive")
    iw = 1.0 / w
    h = np.diff(x)
    if np.any(h <= 0):
        raise ValueError("x must be strictly increasing")
    # Q (n x n-2) holds the second divided differences, R (n-2 x n-2) the penalty's Gram
    # matrix: the spline's values g and second derivatives c at the inner knots satisfy
    # (R + lam Q'Q) c = Q'y and g = y - lam Q c (Green & Silverman, section 2.3.3)
    q0, q2 = 1.0 / h[:-1], 1.0 / h[1:]
    q1 = -q0 - q2
    m = n - 2
    ab = np.zeros((3, m))
    ab[2] = (h[:-1] + h[1:]) / 3.0 + lam * (q0 * q0 * iw[:-2] + q1 * q1 * iw[1:-1]
                                            + q2 * q2 * iw[2:])
    ab[1, 1:] = h[1:-1] / 6.0 + lam * (q1[:-1] * q0[1:] * iw[1:-2]
                                       + q2[:-1] * q1[1:] * iw[2:-1])
    ab[0, 2:] = lam * (q2[:-2] * q0[2:] * iw[2:-2])
    rhs = q0 * y[:-2] + q1 * y[1:-1] + q2 * y[2:]
    c = solveh_banded(ab, rhs, lower=False, check_finite=False)
    qc = np.zeros(n)
    qc[:-2] += q0 * c
    qc[1:-1] += q1 * c
    qc[2:] += q2 * c
    g = y - lam * qc * iw
    c2 = np.concatenate([[0.0], c, [0.0]])  # natural: no curvature at the end knots

    def f(t):
        t = np.asarray(t, np.float64)
        i = np.clip(np.searchsorted(x, t, side="right") - 1, 0, n - 2)
        hi = h[i]
        a = (t - x[i]) / hi  # 0..1 inside the interval
        b = 1.0 - a
        return (a * g[i + 1] + b * g[i]
                - hi * hi / 6.0 * a * b * ((1.0 + a) * c2[i + 1] + (1.0 + b) * c2[i]))

    return f


def _fit_run(
    d: np.ndarray, v: np.ndarray, g: np.ndarray, *, smooth: bool, grid_step: float,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """Evaluate one run of finite samples ``(d, v)`` at depths ``g`` (inside the run)."""
    if g.size == 0:
        return np.empty(0)
    if d.size == 1:
        return np.full(g.shape, v[0])
    if not smooth:
        return np.interp(g, d, v)
    h = float(np.median(np.diff(d)))
    # weights relative to the run's surest row: a run's smoothing does not depend on how
    # sure the whole run is, only on which of its rows are surer than others
    w = np.ones(d.shape) if w is None else w / np.max(w)
    if grid_step > 0 and h * _BIN_THRESHOLD < grid_step:
        d, v, w = _bin_average(d, v, grid_step / _BINS_PER_STEP, w)
        h = float(np.median(np.diff(d))) if d.size > 1 else h
    if d.size < MIN_SPLINE_POINTS:
        return np.interp(g, d, v)
    # Smoothing spline: minimises sum w (v - f)^2 + lam * integral f''^2. For samples spaced
    # h (weights near 1) its transfer function is about 1 / (1 + lam * h * k^4), i.e. it
    # smooths over a length b = (lam * h)^(1/4). We take b = one sample spacing (light:
    # removes the ~0.5 px quantisation noise, keeps features a few rows wide); when the
    # samples were binned, that is an eighth of a grid step. Never less than
    # grid_step / (2 pi) (the half-power wavelength 2*pi*b is then one grid step), which
    # is the larger of the two after binning.
    b = max(_MIN_SMOOTHING_SPACINGS * h, grid_step / _MIN_SMOOTHING_WAVES)
    lam = b**4 / h
    try:
        spline = smoothing_spline(d, v, lam=lam, w=w)
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        logger.debug("smoothing spline failed (%s); interpolating linearly", exc)
        return np.interp(g, d, v)
    # g lies inside the original run; after binning that may be up to half a bin beyond the
    # first/last bin centre, where the spline's own (cubic) continuation is used.
    return spline(g)


def edge_samples(depths: np.ndarray, x: np.ndarray, grid: np.ndarray, *,
                 edges: tuple[float, float], tol: float = 1.0) -> np.ndarray:
    """Which output depths the trace reached a track edge at, read from its nearest row.

    A curve beyond its scale is drawn along the track's edge and recorded at the scale's
    end; a one-sample spike out to the edge is a row or two of the trace, which the
    smoothing spline of :func:`resample` cuts short. The caller writes the scale's end
    value at these depths instead.

    Parameters
    ----------
    depths : numpy.ndarray, shape (n,)
        Depth of each row of the trace, strictly increasing.
    x : numpy.ndarray, shape (n,)
        The trace's column in each row (px), NaN in gaps.
    grid : numpy.ndarray, shape (m,)
        Output depths, increasing.
    edges : (float, float)
        Columns (px) of the track's left and right edge.
    tol : float
        A row whose column is at most this many px inside an edge (or beyond it) is on it.

    Returns
    -------
    numpy.ndarray of int8, shape (m,)
        -1 where the row nearest the output depth is on the left edge, 1 on the right
        edge, 0 elsewhere (also outside the trace's depths and where that row is NaN).
    """
    d = np.asarray(depths, dtype=np.float64)
    xs = np.asarray(x, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    if d.ndim != 1 or xs.shape != d.shape:
        raise ValueError(f"depths and x must be 1-D of the same length, got {d.shape} "
                         f"and {xs.shape}")
    out = np.zeros(g.shape, np.int8)
    if d.size == 0 or g.size == 0:
        return out
    if d.size == 1:
        j, step = np.zeros(g.shape, np.int64), 0.0
    else:  # the nearer of the rows either side
        j = np.clip(np.searchsorted(d, g), 1, d.size - 1)
        j = np.where(np.abs(d[j - 1] - g) <= np.abs(d[j] - g), j - 1, j)
        step = float(np.median(np.diff(d)))
    inside = (g >= d[0] - 0.5 * step) & (g <= d[-1] + 0.5 * step)
    xn = xs[j]
    left, right = float(edges[0]), float(edges[1])
    with np.errstate(invalid="ignore"):
        out[inside & (xn <= left + tol)] = -1
        out[inside & (xn >= right - tol)] = 1
    return out


def resample(
    depths: np.ndarray,
    values: np.ndarray,
    grid: np.ndarray,
    *,
    smooth: bool = True,
    max_gap: float | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Resample one value per image row onto the output depth grid.

    Parameters
    ----------
    depths : numpy.ndarray, shape (n,)
        Depth of each sample (one per image row), finite and strictly increasing.
    values : numpy.ndarray, shape (n,)
        Curve value of each sample; NaN where nothing was traced.
    grid : numpy.ndarray, shape (m,)
        Output depths, increasing (e.g. from :func:`depth_grid`).
    smooth : bool
        Fit each run of finite samples with a light smoothing spline
        (:func:`smoothing_spline`); if false, interpolate linearly.
    weights : numpy.ndarray, shape (n,), or None
        Positive weight of each sample in the smoothing spline (e.g. the trace's
        confidence, :func:`logdigit.convert.row_weights`); None: all 1. Only their ratios
        within a run of finite samples count (each run's are divided by its largest).
        Ignored where a run is interpolated linearly.
    max_gap : float or None
        Depth length (in the units of ``depths``) of gaps to bridge. A grid point gets a
        value only inside a run of finite samples ``[first, last]``, or within
        ``max_gap / 2`` of one. Inner gaps no longer than ``max_gap`` are therefore filled
        completely, linearly between the fitted values at the gap's ends; before the first
        and after the last run the end value is held. None (default) or 0: no bridging,
        no extrapolation.

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        Values on ``grid``; NaN where there is no data.

    Notes
    -----
    Runs with fewer than 5 finite samples are interpolated linearly. The smoothing
    parameter is ``lam = b**4 / h`` with ``h`` the median sample spacing of the run and
    ``b = max(h, grid_step / (2 pi))`` the smoothing length: one sample spacing (light
    smoothing, enough to suppress ~0.5 px quantisation noise). When there are more than 8
    samples per grid step the samples are first averaged (weighted) in bins of an eighth
    of a grid step, which keeps 100,000 rows fast; ``h`` is then the bin width (narrower
    than ``grid_step / (2 pi)``, so the binning adds no smoothing of its own).

    Raises
    ------
    ValueError
        Mismatched or non-1-D shapes, non-finite or non-increasing ``depths``, a
        non-increasing ``grid``, or a negative ``max_gap``.
    """
    d = np.asarray(depths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    if d.ndim != 1 or v.shape != d.shape:
        raise ValueError(
            f"depths and values must be 1-D of the same length, got {d.shape} and {v.shape}"
        )
    if g.ndim != 1:
        raise ValueError(f"grid must be 1-D, got shape {g.shape}")
    if not np.all(np.isfinite(d)) or np.any(np.diff(d) <= 0):
        raise ValueError("depths must be finite and strictly increasing")
    if not np.all(np.isfinite(g)) or np.any(np.diff(g) <= 0):
        raise ValueError("grid must be finite and strictly increasing")
    wts = None if weights is None else np.asarray(weights, dtype=np.float64)
    if wts is not None and (wts.shape != d.shape or not np.all(wts > 0)):
        raise ValueError("weights must have the shape of depths and be positive")
    if max_gap is not None and not (max_gap >= 0):
        raise ValueError(f"max_gap must be >= 0 or None, got {max_gap}")
    half = 0.0 if max_gap is None else 0.5 * float(max_gap)
    grid_step = float(np.median(np.diff(g))) if g.size > 1 else 0.0

    out = np.full(g.shape, np.nan)
    scale = max(1.0, float(np.max(np.abs(g)))) if g.size else 1.0
    tol = 1e-9 * scale  # grid points this close to a run end count as inside it
    ends: list[tuple[float, float, float, float]] = []  # (d_first, v_first, d_last, v_last)
    for start, stop in _runs(np.isfinite(v)):
        rd, rv = d[start:stop], v[start:stop]
        lo = int(np.searchsorted(g, rd[0] - tol, side="left"))
        hi = int(np.searchsorted(g, rd[-1] + tol, side="right"))
        inside = slice(lo, hi)
        # Evaluate the fit at the grid points inside the run and at both run ends.
        pts = np.concatenate(([rd[0]], g[inside], [rd[-1]]))
        fit = _fit_run(rd, rv, pts, smooth=smooth, grid_step=grid_step,
                       w=None if wts is None else wts[start:stop])
        out[inside] = fit[1:-1]
        ends.append((float(rd[0]), float(fit[0]), float(rd[-1]), float(fit[-1])))

    if half > 0 and ends:
        # Leading and trailing extensions: hold the end value.
        d_first, v_first = ends[0][0], ends[0][1]
        sel = (g >= d_first - half - tol) & (g < d_first)
        out[sel] = v_first
        d_last, v_last = ends[-1][2], ends[-1][3]
        sel = (g > d_last) & (g <= d_last + half + tol)
        out[sel] = v_last
        # Inner gaps.
        for (_, _, a_d, a_v), (b_d, b_v, _, _) in zip(ends[:-1], ends[1:], strict=True):
            sel = (g > a_d) & (g < b_d)
            if not np.any(sel):
                continue
            gs = g[sel]
            if b_d - a_d <= 2 * half + tol:
                out[sel] = a_v + (gs - a_d) / (b_d - a_d) * (b_v - a_v)
            else:
                near_a = gs <= a_d + half + tol
                near_b = gs >= b_d - half - tol
                filled = np.where(near_a, a_v, np.where(near_b, b_v, np.nan))
                out[sel] = filled
    return out
