"""Read a rough curve as the polyline the pen drew: one vertex per row that explains the ink.

A curve sampled more finely than the scan's rows (a noisy log on a compressed depth scale)
is drawn as a zigzag of nearly horizontal strokes, one from each row's vertex to the
next. Each row's ink then holds half of the stroke from the row above and half of the
stroke to the row below; the vertex itself is the far end of the row's ink where the
curve turns, and lies inside it where the curve runs on. The least-cost path of
:func:`logdigit.trace.trace_curve` has no reason to reach the ends: moving less is cheaper,
so it cuts every turn short and loses the curve's amplitude.

:func:`read_polyline` instead chooses one vertex per row among a few candidates (the ends
and the middle of each run of ink) so that the strokes between consecutive vertices lie on
ink (``paper_cost`` per px of paper they cross) and the strokes through a row cover that
row's ink (``ink_cost`` per px of ink left unexplained). The second term needs three
consecutive vertices, so the dynamic programme runs over pairs of candidates (``K**3``
steps per row, ``K`` candidates).

:func:`refine_rough_trace` applies it to a traced curve: within a band around the trace
(other curves' ink removed), after thinning horizontal strokes to the width a 1-px pen
would leave (vertical erosion by the measured pen width).
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.ndimage import binary_erosion, maximum_filter1d

from .trace import exclude_trace, row_gap_links

#: A trace is read again as a polyline when its median movement from row to row reaches
#: this (px). A path that cuts corners moves less than the curve, so this is well below
#: the curve's own roughness (a rough curve moves by 1.5 px or more per row). Chosen on the
#: pick and dev cases (``las/train``, 310 curves; session 22, ink cost 0.5): 0.5 put 267
#: at R² >= 0.95 against 265 with 1.5 and 264 with 0 (every trace; 15 curves down); 0.3
#: and 0.7: 266. With the kept ink cost 1: 268.
ROUGH_STEP = 0.5

#: Half-width of the band searched around the trace, in half line widths of the track
#: (:func:`refine_rough_trace`). 4: 267 (dev, 310 curves); 2: 265; 8: 267 (3 down, 5 up);
#: no band: 260.
BAND = 4.0

#: Cost per px of paper a stroke between two vertices crosses, and per px of a row's ink
#: that the strokes through the row leave unexplained (:func:`read_polyline`). With the
#: label masks of the 77 rough dev curves, 70 reach R² >= 0.95 against 61 for the
#: least-cost path (ink cost 0.5 or 1: 70); with the network, ink cost 1 gave 268 of 310
#: against 267 with 0.5 and 266 with 0.25.
PAPER_COST = 1.0
INK_COST = 1.0

#: Cost per px of movement between vertices: only breaks ties.
MOVE_COST = 0.001

#: The pen's height is taken as the median vertical run of the curve's ink less
#: ``PEN_SPARE`` px (a stroke between two rows' vertices spans both rows). With the network
#: on the dev cases the 25th percentile less 1 px gave 268 at R² >= 0.95 as well, but 9
#: curves down and 1 up by more than 0.005.
PEN_PERCENTILE = 50.0
PEN_SPARE = 2.0

#: Candidates per row: the ends and middle of up to four runs of ink.
MAX_CANDIDATES = 12


@numba.njit(cache=True, nogil=True)
def _candidates(m, max_k, half):  # pragma: no cover - jitted
    H, W = m.shape
    cand = np.full((H, max_k), np.nan)
    cnt = np.zeros(H, np.int64)
    for r in range(H):
        n = 0
        x = 0
        while x < W and n < max_k:
            if m[r, x]:
                a = x
                while x + 1 < W and m[r, x + 1]:
                    x += 1
                b = x
                if b - a <= 2 * half + 1:
                    cand[r, n] = 0.5 * (a + b)
                    n += 1
                else:
                    cand[r, n] = a + half
                    n += 1
                    if n < max_k:
                        cand[r, n] = b - half
                        n += 1
                    if n < max_k:
                        cand[r, n] = 0.5 * (a + b)
                        n += 1
            x += 1
        cnt[r] = n
    return cand, cnt


@numba.njit(cache=True, nogil=True)
def _prefix(row, out):  # pragma: no cover - jitted
    """out[j] = number of nonzero values in row[:j]."""
    s = 0
    out[0] = 0
    for j in range(len(row)):
        if row[j]:
            s += 1
        out[j + 1] = s


@numba.njit(cache=True, nogil=True)
def _count(pre, x0, x1):  # pragma: no cover - jitted
    """Nonzero pixels of a row (prefix sums ``pre``) between columns x0 and x1 (rounded,
    inclusive, in either order)."""
    n = len(pre) - 1
    a = int(np.floor(min(x0, x1) + 0.5))
    b = int(np.floor(max(x0, x1) + 0.5))
    a = max(a, 0)
    b = min(b, n - 1)
    if b < a:
        return 0.0
    return float(pre[b + 1] - pre[a])


@numba.njit(cache=True, nogil=True)
def _solve(ink, paper, cand, cnt, half, paper_cost, ink_cost, move_cost
           ):  # pragma: no cover - jitted
    """Candidate index per row of the least-cost polyline (-1: none)."""
    H, K = cand.shape
    W = ink.shape[1]
    inf = 1e300
    back = np.full((H, K, K), -1, np.int8)
    ink_pre = np.zeros((3, W + 1), np.int64)  # rows r-1, r, r+1 (rolling)
    pap_pre = np.zeros((3, W + 1), np.int64)
    for j in range(2):
        _prefix(ink[j], ink_pre[j])
        _prefix(paper[j], pap_pre[j])
    cost = np.full((K, K), inf)
    for i in range(cnt[0]):
        for j in range(cnt[1]):
            p = cand[0, i]
            q = cand[1, j]
            m = 0.5 * (p + q)
            cost[i, j] = (paper_cost * (_count(pap_pre[0], p, m) + _count(pap_pre[1], m, q))
                          + move_cost * abs(q - p))
    for r in range(1, H - 1):
        cur = r % 3
        nxt = (r + 1) % 3
        _prefix(ink[r + 1], ink_pre[nxt])
        _prefix(paper[r + 1], pap_pre[nxt])
        total = float(ink_pre[cur, W])
        new = np.full((K, K), inf)
        for i in range(cnt[r - 1]):
            for j in range(cnt[r]):
                c0 = cost[i, j]
                if c0 >= inf:
                    continue
                p = cand[r - 1, i]
                q = cand[r, j]
                above = 0.5 * (p + q)
                for kk in range(cnt[r + 1]):
                    s = cand[r + 1, kk]
                    below = 0.5 * (q + s)
                    lo = min(above, q, below) - half
                    hi = max(above, q, below) + half
                    unexplained = total - _count(ink_pre[cur], lo, hi)
                    crossed = _count(pap_pre[cur], q, below) + _count(pap_pre[nxt], below, s)
                    c = (c0 + ink_cost * unexplained + paper_cost * crossed
                         + move_cost * abs(s - q))
                    if c < new[j, kk]:
                        new[j, kk] = c
                        back[r + 1, j, kk] = i
        cost = new
    idx = np.full(H, -1, np.int64)
    best = inf
    for j in range(cnt[H - 2]):
        for kk in range(cnt[H - 1]):
            if cost[j, kk] < best:
                best = cost[j, kk]
                idx[H - 2] = j
                idx[H - 1] = kk
    if idx[H - 1] < 0:
        return np.full(H, -1, np.int64)
    for r in range(H - 1, 1, -1):
        idx[r - 2] = back[r, idx[r - 1], idx[r]]
    return idx


def read_polyline(mask: np.ndarray, *, link: np.ndarray | None = None, half_width: float = 0.0,
                  paper_cost: float = PAPER_COST, ink_cost: float = INK_COST,
                  move_cost: float = MOVE_COST,
                  max_candidates: int = MAX_CANDIDATES) -> np.ndarray:
    """The vertices of the polyline, one per row, that best explain a curve's ink.

    Parameters
    ----------
    mask : (rows, cols) bool
        The curve's ink, drawn as by a pen ``2 * half_width + 1`` px wide sideways and
        1 px high (thin horizontal strokes: see :func:`thin_strokes`).
    link : (rows, cols) bool, optional
        Paper a stroke may cross free of charge (the gaps between a dashed curve's dashes,
        :func:`logdigit.trace.row_gap_links`); its pixels are candidates' runs too.
    half_width : float
        Half the pen's width (px): a run's end candidates lie this far inside it, and the
        strokes through a row explain this much ink either side of them.
    paper_cost, ink_cost, move_cost : float
        Costs per px of paper crossed between vertices, of a row's ink left unexplained
        and of movement (see the module docstring).
    max_candidates : int
        Candidates per row (at most 127): ends and middle of each run, left to right.

    Rows without ink (nor link) are left out: the strokes run from the row before such a
    stretch to the row after it, as if they were adjacent.

    Returns
    -------
    (rows,) float64
        The vertex (column, pixel centres) in each row, NaN in rows without ink and when
        fewer than three rows hold ink.
    """
    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {m.shape}")
    if link is not None and np.shape(link) != m.shape:
        raise ValueError(f"link shape {np.shape(link)} is not mask's {m.shape}")
    if not 1 <= max_candidates <= 127:
        raise ValueError(f"max_candidates must be 1..127, got {max_candidates}")
    out = np.full(m.shape[0], np.nan)
    allowed = m if link is None else (m | np.asarray(link, bool))
    rows = np.flatnonzero(allowed.any(axis=1))
    if len(rows) < 3:
        return out
    sub = np.ascontiguousarray(allowed[rows])
    cand, cnt = _candidates(sub.view(np.uint8), int(max_candidates), float(half_width))
    idx = _solve(np.ascontiguousarray(m[rows]).view(np.uint8), (~sub).view(np.uint8),
                 cand, cnt, float(half_width), float(paper_cost), float(ink_cost),
                 float(move_cost))
    ok = idx >= 0
    out[rows[ok]] = cand[np.flatnonzero(ok), idx[ok]]
    return out


def vertical_run_length(mask: np.ndarray, *, percentile: float = 50.0) -> float:
    """A percentile (default the median) of the lengths (px) of the vertical runs of
    ``mask`` (rows, cols) bool; 0 if it is empty.

    On a rough curve, mostly horizontal strokes, the short runs are single strokes: the
    pen's height."""
    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {m.shape}")
    pad = np.zeros((m.shape[0] + 2, m.shape[1]), np.int8)
    pad[1:-1] = m
    d = np.diff(pad, axis=0).T  # (cols, rows + 1): +1 where a run starts, -1 after it
    starts = np.flatnonzero(d.ravel() == 1)
    ends = np.flatnonzero(d.ravel() == -1)
    if not len(starts):
        return 0.0
    return float(np.percentile(ends - starts, percentile))


def thin_strokes(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Horizontal strokes thinned towards the height a 1-px pen would ink.

    Returns the mask eroded vertically by ``h = (run - PEN_SPARE) // 2`` px and ``h``,
    where ``run`` is the :data:`PEN_PERCENTILE` percentile of the mask's vertical runs
    (:func:`vertical_run_length`)."""
    m = np.asarray(mask, bool)
    run = vertical_run_length(m, percentile=PEN_PERCENTILE)
    h = max(0, int((run - PEN_SPARE) // 2))
    if h == 0:
        return m.copy(), 0
    return binary_erosion(m, structure=np.ones((2 * h + 1, 1), bool), border_value=1), h


def refine_rough_trace(ink: np.ndarray, x: np.ndarray, *, others: list[np.ndarray],
                       half: float, dashed: bool, link_gap: int,
                       rough_step: float = ROUGH_STEP, band: float = BAND) -> np.ndarray:
    """A rough curve's trace read again as the polyline the pen drew (:func:`read_polyline`).

    Parameters
    ----------
    ink : (rows, cols) uint8
        Curve probability (0..255) the trace was found on, in the trace's columns.
    x : (rows,) float
        The trace (columns of ``ink``), NaN in gaps.
    others : list of (rows,) float
        The track's other traces; their ink (``half`` either side) is not this curve's.
    half : float
        Half-width (px) of a curve's band in this track (as for
        :func:`logdigit.trace.exclude_trace`).
    dashed : bool
        The curve is dashed or dotted: its dash gaps in a row are crossed free of charge
        (:func:`logdigit.trace.row_gap_links`, gaps up to ``link_gap`` px).
    rough_step : float
        Only a trace whose median movement per row reaches this is read again.
    band : float
        Vertices are sought within ``band * half`` px of the trace's extent over the rows
        2 above and below each row.

    Returns
    -------
    (rows,) float64
        ``x`` with each row that holds ink in the band replaced by the polyline's vertex;
        ``x`` itself (a copy) when the trace is not rough.
    """
    x = np.array(x, dtype=np.float64)
    if np.ndim(ink) != 2 or x.shape != (np.shape(ink)[0],):
        raise ValueError(f"x shape {x.shape} does not match ink's rows {np.shape(ink)}")
    finite = np.isfinite(x)
    steps = np.abs(np.diff(x))
    steps = steps[np.isfinite(steps)]
    if finite.sum() < 3 or not steps.size or np.median(steps) < rough_step:
        return x
    p = np.ascontiguousarray(ink)
    for other in others:
        p = exclude_trace(p, other, half_width=half)
    pad = band * half
    lo = -maximum_filter1d(np.where(finite, -x, -np.inf), 5) - pad
    hi = maximum_filter1d(np.where(finite, x, -np.inf), 5) + pad
    cols = np.arange(p.shape[1])[None, :]
    m = (p >= 128) & (cols >= lo[:, None]) & (cols <= hi[:, None])
    thin, h = thin_strokes(m)
    link = (row_gap_links(thin, max_gap=link_gap) > 0) if dashed else None
    vertex = read_polyline(thin, link=link, half_width=float(h))
    return np.where(np.isfinite(vertex) & finite, vertex, x)
