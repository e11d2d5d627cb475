"""EXPERIMENT (session 16, not part of the pipeline): fit a pen stroke to a rough curve's ink.

A curve drawn with one vertex per row that moves several pen widths per row leaves a
horizontal stroke in every row, and a pen two or more px wide covers the strokes of the
rows above and below too: the run of ink in a row does not give its vertex directly.
:func:`fit` moves each row's vertex (one at a time, ``sweeps`` passes over the rows) to
where a polyline drawn with a round pen of half width ``hw`` (every point within ``hw`` of
a segment) best reproduces the left and right ends of the observed runs of the rows
around it (L1). On label masks this recovered many rough dev curves; on the network's
masks it did not (they smear a stroke over several rows). See the model card, session 16.
Kept for the next attempt (e.g. with a segmenter trained to keep strokes one row thick);
nothing in ``logdigit`` imports it. Coordinates: x in px (pixel centres), rows in px.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def capsule_row(x0, r0, x1, r1, hw, y):  # pragma: no cover - jitted
    """The x interval where row ``y`` meets the points within ``hw`` of the segment
    (x0, r0)-(x1, r1); (1, 0) when they do not meet."""
    lo, hi = 1e18, -1e18
    dx, dy = x1 - x0, r1 - r0
    length = np.sqrt(dx * dx + dy * dy)
    if length > 0:
        tx, ty = dx / length, dy / length
        a_lo, a_hi, ok = -1e18, 1e18, True
        for j in range(2):  # along the segment: 0..length; across it: -hw..hw
            if j == 0:
                a, c, mn, mx = tx, (y - r0) * ty, 0.0, length
            else:
                a, c, mn, mx = -ty, (y - r0) * tx, -hw, hw
            if abs(a) < 1e-12:
                if c < mn or c > mx:
                    ok = False
                continue
            p, q = (mn - c) / a + x0, (mx - c) / a + x0
            if p > q:
                p, q = q, p
            a_lo, a_hi = max(a_lo, p), min(a_hi, q)
        if ok and a_lo <= a_hi:
            lo, hi = a_lo, a_hi
    for cx, cy in ((x0, r0), (x1, r1)):  # the pen's round ends
        dd = hw * hw - (y - cy) * (y - cy)
        if dd >= 0:
            e = np.sqrt(dd)
            lo, hi = min(lo, cx - e), max(hi, cx + e)
    if lo > hi:
        return 1.0, 0.0
    return lo, hi


@numba.njit(cache=True)
def row_cost(x, r, reach, hw, obs_lo, obs_hi):  # pragma: no cover - jitted
    """|predicted - observed| of both run ends in row ``r`` (0 where nothing observed)."""
    if obs_lo[r] < 0:
        return 0.0
    n = len(x)
    plo, phi = 1e18, -1e18
    for s in range(max(0, r - reach - 1), min(n - 1, r + reach + 1)):
        if np.isnan(x[s]) or np.isnan(x[s + 1]):
            continue
        lo, hi = capsule_row(x[s], float(s), x[s + 1], float(s + 1), hw, float(r))
        if lo <= hi:
            plo, phi = min(plo, lo), max(phi, hi)
    if plo > phi:
        return float(obs_hi[r] - obs_lo[r] + 1)
    return abs(plo - (obs_lo[r] - 0.5)) + abs(phi - (obs_hi[r] + 0.5))


@numba.njit(cache=True)
def total_cost(x, obs_lo, obs_hi, hw):  # pragma: no cover - jitted
    """Sum of :func:`row_cost` over all rows."""
    reach = int(np.ceil(hw)) + 1
    t = 0.0
    for r in range(len(x)):
        t += row_cost(x, r, reach, hw, obs_lo, obs_hi)
    return t


@numba.njit(cache=True)
def fit(x0, obs_lo, obs_hi, hw, sweeps):  # pragma: no cover - jitted
    """Vertices (rows,) float fitted to the observed run ends ``obs_lo``/``obs_hi``
    (rows,) int (-1: nothing observed; that row's vertex stays), from ``x0``."""
    n = len(x0)
    x = x0.copy()
    reach = int(np.ceil(hw)) + 1
    for _ in range(sweeps):
        for r in range(n):
            if obs_lo[r] < 0 or np.isnan(x[r]):
                continue
            a, b = max(0, r - reach - 2), min(n, r + reach + 3)
            best = 0.0
            for rr in range(a, b):
                best += row_cost(x, rr, reach, hw, obs_lo, obs_hi)
            best_x = x[r]
            lo, hi = obs_lo[r] - 0.5 + hw, obs_hi[r] + 0.5 - hw
            if hi < lo:
                lo = hi = 0.5 * (obs_lo[r] + obs_hi[r])
            m = int(hi - lo) + 1
            for j in range(m + 1):
                x[r] = lo + (hi - lo) * j / m
                cost = 0.0
                for rr in range(a, b):
                    cost += row_cost(x, rr, reach, hw, obs_lo, obs_hi)
                if cost < best - 1e-9:
                    best, best_x = cost, x[r]
            x[r] = best_x
    return x


def observed_runs(mask: np.ndarray, x: np.ndarray, *, others=(), reach: int = 2):
    """Per row, the ends of the run of ``mask`` (rows, cols) bool under ``x`` (or the
    nearest within ``reach`` px); -1 where there is none or another trace in ``others``
    touches it."""
    n, w = mask.shape
    lo = np.full(n, -1, np.int64)
    hi = np.full(n, -1, np.int64)
    for r in range(n):
        if not np.isfinite(x[r]):
            continue
        c = int(round(x[r]))
        if not 0 <= c < w:
            continue
        row = mask[r]
        if not row[c]:
            near = [k for k in range(max(0, c - reach), min(w, c + reach + 1)) if row[k]]
            if not near:
                continue
            c = min(near, key=lambda k: abs(k - c))
        a = b = c
        while a > 0 and row[a - 1]:
            a -= 1
        while b < w - 1 and row[b + 1]:
            b += 1
        if any(np.isfinite(o[r]) and a - 1 <= o[r] <= b + 1 for o in others):
            continue
        lo[r], hi[r] = a, b
    return lo, hi


def fit_best_pen(mask, x, *, others=(), half_widths=(0.5, 1.0, 1.5, 2.0, 3.0, 4.5),
                 sweeps=3):
    """:func:`fit` with each pen half width; returns (x, hw) of the smallest total error."""
    lo, hi = observed_runs(mask, x, others=others)
    best = None
    for hw in half_widths:
        xf = fit(np.asarray(x, np.float64), lo, hi, float(hw), int(sweeps))
        cost = total_cost(xf, lo, hi, float(hw))
        if best is None or cost < best[0]:
            best = (cost, xf, hw)
    return best[1], best[2]
