"""Draft a layout sidecar from the grid printed on a scan (``logdigit layout``).

What is measured
----------------
* **Skew** of the vertical grid lines (:mod:`logdigit.deskew`). When it moves the lines by
  half a pixel or more over the scan, the scan is deskewed by a shear about its centre
  row first, so the columns reported are those of the track edges on the centre row of
  the stored image (see :mod:`logdigit.deskew`); rows are always the stored rows.
* **Vertical grid lines**, in each of a few bands of rows spread over the scan (8 bands
  of 2,000 rows by default; a short scan is cut into bands of at least 1,000 rows): per
  column, the fraction of rows in long vertical ink runs and the plain ink fraction;
  columns well above their neighbourhood are lines (touching lines are split at the
  lighter column between them).
* **Tracks**, in each band: runs of lines that fit a known grid between two edge lines,
  linear (10 equal divisions) or logarithmic (1 to 6 decades, with lines at 1..9 of each
  decade, or at 1, 1.5, .., 5 as on some re-plotted logs). Dynamic programming picks the
  set of tracks that explains the most lines; a track never spans a gap without
  horizontal grid lines (the depth track, the gap between two tracks); adjacent tracks
  may share an edge line.
* **Consensus** over the bands: a track is kept when the bands that show it (same grid,
  edges within ``max(3, 0.5 % of the width)`` px) outnumber those showing an overlapping
  alternative. Headers, tables and other log sections thus drop out; what each band
  showed is listed in the TOML header.
* **Depth track**: the widest gap between the tracks (or beside them) that holds ink but
  no horizontal grid lines, normally the depth numbers.
* **Depth lines**, over every row of the scan: rows whose ink covers most of the track
  columns (vertical grid lines excluded). Their spacing is the minor spacing; chains of
  lines on that lattice (a stray line is skipped, a few missing lines are bridged) make
  stretches; lines recurring heavier every 5 or 10 minor lines are the major lines. The
  calibration rows are the first and last major line of the longest stretch, so the
  count of minor intervals between them is exact.

Nothing here reads the depth numbers: the depth values, units and curve scales in the
TOML are placeholders marked ``# TO CONFIRM``. When no track grid is found,
:func:`draft_layout` raises :class:`~logdigit.errors.ScanError` rather than guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from .colour import to_hex
from .deskew import deskew, ink_threshold, measure_skew, sample_bands, shear_columns
from .errors import ScanError

__all__ = [
    "DepthLines",
    "DraftTrack",
    "LayoutDraft",
    "draft_image",
    "draft_layout",
    "draft_toml",
]

TO_CONFIRM = "# TO CONFIRM"
_LINE_PROMINENCE = 0.3  # ink fraction above the local background that makes a grid line
_TRACK_COST = 3.0  # dynamic-programming cost of opening a track (in matched lines)
_MIN_FIT = 0.75  # (matched - extra) / expected for a grid to count as recognised
_MAX_DECADES = 6


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DraftTrack:
    """A track found from its vertical grid lines.

    Attributes
    ----------
    left_px, right_px : float
        Columns of the track's edge lines (centre of the line), in the deskewed image.
    scale : {"linear", "log"}
        The grid type.
    decades : int
        Number of log decades (0 for a linear grid).
    matched, expected, extra : int
        Grid lines found where the grid model puts one, lines the model has, and lines
        inside the track that the model does not explain.
    """

    left_px: float
    right_px: float
    scale: str
    decades: int
    matched: int
    expected: int
    extra: int
    pattern: str = ""  # lines per log decade: "1-9" or "1-5 by 0.5"

    @property
    def fit(self) -> float:
        """``(matched - extra) / expected``: 1.0 is a perfect grid."""
        return (self.matched - self.extra) / self.expected

    @property
    def spacing_px(self) -> float:
        """Width of one linear division, or of one log decade, in px."""
        width = self.right_px - self.left_px
        return width / 10 if self.scale == "linear" else width / max(1, self.decades)

    def describe(self) -> str:
        if self.scale == "linear":
            grid = f"linear grid, 10 divisions of {self.spacing_px:.1f} px"
        else:
            n = self.decades
            grid = (f"log grid, {n} decade{'s' if n > 1 else ''} of {self.spacing_px:.1f} px "
                    f"(lines at {self.pattern or '1-9'})")
        return (f"columns {self.left_px:.1f}..{self.right_px:.1f} "
                f"({self.right_px - self.left_px:.0f} px), {grid}; "
                f"{self.matched} of the grid's {self.expected} lines found, "
                f"{self.extra} other line{'s' if self.extra != 1 else ''}")


@dataclass(frozen=True)
class DepthLines:
    """The horizontal depth lines found over the track columns.

    Attributes
    ----------
    spacing_px : float
        Minor depth-line spacing in rows.
    rows : ndarray
        Row (centre) of every line on the regular lattice, in order.
    major_rows : ndarray
        Rows of the major (heavier) lines; empty when none stood out.
    major_every : int or None
        Minor intervals between major lines (5 or 10), None when no major lines stood out.
    regular : float
        Fraction of all line-like rows found that lie on the regular lattice.
    n_found : int
        Line-like rows found in total (on the lattice or not).
    top, bottom : float
        First and last major line (first and last line when no major lines stood out) of
        the longest continuous stretch of depth lines: the calibration rows.
    intervals : int
        Minor intervals between ``top`` and ``bottom``, counted along the stretch.
    stretches : list of (first_row, last_row, n_lines)
        Continuous stretches of depth lines at ``spacing_px`` (a gap of a whole number of
        missing lines does not break a stretch).
    other_spacings : list of float
        Spacings of stretches drawn at another depth scale (another section of the log).
    ends_on_majors : bool
        ``top`` and ``bottom`` are major lines (else plain lines of the stretch).
    """

    spacing_px: float
    rows: np.ndarray
    major_rows: np.ndarray
    major_every: int | None
    regular: float
    n_found: int
    top: float = 0.0
    bottom: float = 0.0
    intervals: int = 0
    stretches: list[tuple[float, float, int]] = field(default_factory=list)
    other_spacings: list[float] = field(default_factory=list)
    ends_on_majors: bool = False


@dataclass
class LayoutDraft:
    """Everything :func:`draft_layout` found on a scan."""

    n_rows: int
    n_cols: int
    skew: float  # degrees applied by deskew (0.0 when none)
    skew_measured: float
    skew_strength: float
    tracks: list[DraftTrack]
    lines: np.ndarray  # x of every vertical line found (deskewed columns)
    depth_track: tuple[int, int] | None
    depth: DepthLines | None
    unexplained: list[tuple[float, float]] = field(default_factory=list)  # gridded, no model
    bands: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    support: list[int] = field(default_factory=list)  # bands showing each track
    band_tracks: list[list[DraftTrack]] = field(default_factory=list)  # per band
    wander_px: float = 0.0  # largest sideways offset of the grid between bands
    edge_doubts: int = 0  # tracks whose uniform grid continues past an edge

    @property
    def top_row(self) -> int | None:
        """First major depth line of the longest stretch of depth lines (None: no lines)."""
        return int(round(self.depth.top)) if self.depth is not None else None

    @property
    def bottom_row(self) -> int | None:
        """Last major depth line of the longest stretch of depth lines (None: no lines)."""
        return int(round(self.depth.bottom)) if self.depth is not None else None

    @property
    def minor_intervals(self) -> int | None:
        """Minor depth-line intervals between ``top_row`` and ``bottom_row``."""
        return self.depth.intervals if self.depth is not None else None

    @property
    def confidence(self) -> str:
        """"high", "medium" or "low", from the grid fits and the depth-line regularity."""
        fits = [t.fit for t in self.tracks]
        if not fits:
            return "low"
        d = self.depth
        if (min(fits) >= 0.9 and d is not None and d.regular >= 0.8 and d.major_every
                and not self.unexplained and not self.wander_px):
            return "high"
        if (min(fits) >= _MIN_FIT and d is not None and d.regular >= 0.5 and not self.wander_px
                and not self.edge_doubts):
            return "medium"
        return "low"


# --------------------------------------------------------------------------- drafting


def draft_layout(pixels: np.ndarray, *, n_bands: int = 8, band_rows: int = 2000,
                 source: str | Path | None = None) -> LayoutDraft:
    """Find the tracks, grid types and depth lines of a scan.

    Parameters
    ----------
    pixels : ndarray, shape (rows, cols), uint8
        The scan (0 ink .. 255 paper), depth down the rows.
    n_bands, band_rows : int
        Bands of rows sampled for the vertical grid lines (see
        :func:`logdigit.deskew.sample_bands`). The depth lines are looked for in every row.
    source : str or Path, optional
        The scan's file name, for messages.

    Returns
    -------
    LayoutDraft

    Raises
    ------
    ScanError
        No track grid was recognised (the message says what was seen).
    """
    where = f"{source}: " if source is not None else ""
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise ValueError(f"pixels must be a 2-D image, got shape {pixels.shape}")
    n_rows, n_cols = pixels.shape
    skew = measure_skew(pixels)
    angle = skew.angle if abs(math.tan(math.radians(skew.angle))) * n_rows / 2 >= 0.5 else 0.0
    work = deskew(pixels, angle) if angle else pixels
    bands = sample_bands(n_rows, n_bands=n_bands, band_rows=band_rows)
    sample = np.concatenate([work[a:b:5].ravel() for a, b in bands])
    lo, hi = np.percentile(sample, [0.1, 99.9])
    if hi - lo < 10:
        raise ScanError(f"{where}no clear grid: the scan has no contrast (every pixel is "
                        f"close to gray level {int(round(float(np.median(sample))))} of 255)")
    thr = ink_threshold(sample)

    # every band on its own: its vertical lines and the tracks they make
    run_h = max(15, int(round(n_cols / 80)) | 1)
    run_v = max(11, int(round(n_cols / 100)) | 1)
    per_band = []
    for a, b in bands:
        band = work[a:b]
        ink = band < thr
        cf = ink.mean(axis=0)
        h = _runs(ink, run_h, axis=1).mean(axis=0)
        v = _runs(ink, run_v, axis=0).mean(axis=0)
        xs = _vertical_lines(v, cf, 255.0 - band.mean(axis=0))
        tracks, _ = _find_tracks(xs, h, n_cols)
        per_band.append(_Band(cf=cf, h=h, xs=xs, tracks=tracks))
    tracks, support = _consensus([pb.tracks for pb in per_band], n_cols)
    if not tracks:
        seen = (f"up to {max(len(pb.xs) for pb in per_band)} long vertical lines per band "
                f"but no linear (10 divisions) or log (1..{_MAX_DECADES} decades) grid among "
                "them") if any(len(pb.xs) for pb in per_band) else "no long vertical grid lines"
        raise ScanError(f"{where}no clear grid in {len(bands)} bands of rows: {seen}; "
                        "write the layout by hand")
    # profiles of the bands that show the chosen grid
    used = sorted({i for members in support for i in members})
    f = np.median(np.stack([per_band[i].cf for i in used]), axis=0)
    h = np.median(np.stack([per_band[i].h for i in used]), axis=0)
    lines = np.unique(np.round(np.concatenate([per_band[i].xs for i in used]), 1))
    _, unexplained = _find_tracks(_vertical_lines_merged(lines), h, n_cols)
    unexplained = [(a, b) for a, b in unexplained
                   if not any(t.left_px - 2 <= a and b <= t.right_px + 2 for t in tracks)]

    notes = []
    n_with = sum(1 for pb in per_band if pb.tracks)
    weakest = min(len(m) for m in support)
    if weakest < len(used):
        notes.append(f"some tracks were recognised in only {weakest} of the {len(used)} "
                     "bands with a grid")
    if n_with < len(bands):
        notes.append(f"{len(bands) - n_with} of {len(bands)} sampled bands of rows show no "
                     "recognised grid (header, tables, blank or another log section?)")
    doubts = _edge_doubts(tracks, lines, h)
    notes += doubts[1]
    wander = _wander(tracks, [pb.tracks for pb in per_band], n_cols)
    if wander:
        notes.append(f"the grid sits up to {wander:.0f} px further left or right in some bands "
                     "(the paper wanders across the scan): no single column fits every row")
    if skew.confident and not angle and abs(skew.measured) >= 0.005:
        notes.append(f"skew {skew.measured:+.3f} deg is below half a pixel over the scan: "
                     "not corrected")
    elif not skew.confident and skew.spread > 0.1:
        notes.append(f"the slant of the grid differs between bands of rows (by up to "
                     f"{skew.spread:.2f} deg: pages pasted together, or paper that wandered "
                     "through the scanner): not deskewed")
    elif not skew.confident:
        notes.append("skew: no clear evidence, not corrected")
    depth_track = _depth_track(tracks, f, h, n_cols)
    depth = _depth_lines(work, tracks, lines, thr)
    if depth is None:
        notes.append("no regular horizontal depth lines found over the tracks")
    return LayoutDraft(
        n_rows=n_rows, n_cols=n_cols, skew=angle, skew_measured=skew.measured,
        skew_strength=skew.strength, tracks=tracks, lines=lines, depth_track=depth_track,
        depth=depth, unexplained=unexplained, bands=bands, notes=notes,
        support=[len(m) for m in support], band_tracks=[pb.tracks for pb in per_band],
        wander_px=wander, edge_doubts=doubts[0],
    )


@dataclass
class _Band:
    cf: np.ndarray  # ink fraction per column
    h: np.ndarray  # fraction of rows in long horizontal runs, per column
    xs: np.ndarray  # vertical grid lines
    tracks: list[DraftTrack]


def _runs(ink: np.ndarray, length: int, *, axis: int) -> np.ndarray:
    """Pixels inside a window of ``length`` px along ``axis`` that is at least 80 % ink."""
    cover = ndimage.uniform_filter1d(ink.astype(np.float32), length, axis=axis, mode="constant")
    return ndimage.maximum_filter1d(cover >= 0.8, length, axis=axis, mode="constant")


def _vertical_lines(v: np.ndarray, cf: np.ndarray, dark: np.ndarray | None = None
                    ) -> np.ndarray:
    """Centres (sub-pixel columns) of the long vertical lines of a band.

    ``v`` is the fraction of rows in long vertical runs per column (solid or dashed lines,
    free of the horizontal grid), ``cf`` the plain ink fraction (dotted lines too); a
    column is on a line when either stands out from its neighbourhood. ``dark`` (mean
    darkness per column) separates lines that touch and weights the centres.
    """
    n = len(v)
    pv = v - ndimage.percentile_filter(v, 20, size=31, mode="nearest")
    pc = cf - ndimage.percentile_filter(cf, 20, size=31, mode="nearest")
    p = np.maximum(pv / 0.2, pc / _LINE_PROMINENCE)  # >= 1 on a line
    on = p >= 1.0
    xs = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    max_width = max(6, n // 150)
    weight = p if dark is None else np.maximum(dark - dark.min(), 1e-6)
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        for a2, b2 in _split_run(weight, a, b, max_width):
            w = weight[a2:b2]
            xs.append(float((np.arange(a2, b2) * w).sum() / w.sum()))
    return np.asarray(xs)


def _split_run(w: np.ndarray, a: int, b: int, max_width: int) -> list[tuple[int, int]]:
    """The line(s) inside a run of line columns ``a:b`` wider than a grid line.

    Such a run is two lines that touch (the edges of adjacent tracks), or a line with a
    curve running along it: its cores, the columns at least 60 % as dark as its darkest,
    are the lines. A run whose core is still too wide is a solid block and is dropped.
    """
    if b - a <= max_width:
        return [(a, b)]
    if b - a > 4 * max_width:
        return []
    core = w[a:b] >= 0.6 * w[a:b].max()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], core.astype(np.int8), [0]])))
    return [(a + s, a + e) for s, e in zip(edges[::2], edges[1::2], strict=True)
            if e - s <= max_width]


def _vertical_lines_merged(xs: np.ndarray) -> np.ndarray:
    """Merge line positions from several bands that are within 2 px of each other."""
    if len(xs) == 0:
        return xs
    groups = [[xs[0]]]
    for x in xs[1:]:
        if x - groups[-1][-1] <= 2.0:
            groups[-1].append(x)
        else:
            groups.append([x])
    return np.asarray([float(np.mean(g)) for g in groups])


def _consensus(band_tracks: list[list[DraftTrack]], n_cols: int
               ) -> tuple[list[DraftTrack], list[list[int]]]:
    """Tracks recognised in the most bands, not overlapping each other.

    Tracks from different bands are the same when both edges agree within
    ``max(3, 0.005 * n_cols)`` px and the grid type is the same. Returns the tracks (median
    edges, the grid fit of the best band) and, for each, the bands that show it.
    """
    tol = max(3.0, 0.005 * n_cols)
    clusters: list[list[tuple[int, DraftTrack]]] = []
    for bi, tracks in enumerate(band_tracks):
        for t in tracks:
            for c in clusters:
                r = c[0][1]
                if (r.scale, r.decades, r.pattern) == (t.scale, t.decades, t.pattern) and abs(
                        r.left_px - t.left_px) <= tol and abs(r.right_px - t.right_px) <= tol:
                    c.append((bi, t))
                    break
            else:
                clusters.append([(bi, t)])
    if not clusters:
        return [], []
    cands = []
    for c in clusters:
        bands_in = sorted({bi for bi, _ in c})
        best = max((t for _, t in c), key=lambda t: t.fit)
        left = float(np.median([t.left_px for _, t in c]))
        right = float(np.median([t.right_px for _, t in c]))
        track = DraftTrack(left_px=left, right_px=right, scale=best.scale, decades=best.decades,
                           matched=best.matched, expected=best.expected, extra=best.extra,
                           pattern=best.pattern)
        cands.append((track, bands_in, len(bands_in) + 0.01 * best.fit))
    # keep what at least half as many bands show as the best-supported track (and, unless
    # no track is seen twice, what more than one band shows)
    top = max(w for _, _, w in cands)
    cands = [c for c in cands if c[2] >= 0.5 * top and (len(c[1]) >= 2 or top < 2)]
    # weighted interval scheduling: tracks may share an edge but not overlap
    cands.sort(key=lambda c: c[0].right_px)
    n = len(cands)
    best_w = [0.0] * (n + 1)
    take: list[bool] = [False] * n
    prev = []
    for k, (t, _, _) in enumerate(cands):
        p = -1
        for q in range(k - 1, -1, -1):
            if cands[q][0].right_px <= t.left_px + tol:
                p = q
                break
        prev.append(p)
    for k in range(n):
        with_k = cands[k][2] + best_w[prev[k] + 1]
        take[k] = with_k > best_w[k]
        best_w[k + 1] = max(best_w[k], with_k)
    chosen = []
    k = n - 1
    while k >= 0:
        if take[k] and best_w[k + 1] != best_w[k]:
            chosen.append(cands[k])
            k = prev[k]
        else:
            k -= 1
    chosen.reverse()
    return [c[0] for c in chosen], [c[1] for c in chosen]


# the lines drawn in each decade of a log grid: the usual 1..9, and a variant seen on
# re-plotted logs with half steps up to 5 and nothing between 5 and 10
_LOG_PATTERNS = {
    "1-9": (1, 2, 3, 4, 5, 6, 7, 8, 9),
    "1-5 by 0.5": (1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5),
}


def _edge_doubts(tracks: list[DraftTrack], xs: np.ndarray, h: np.ndarray
                 ) -> tuple[int, list[str]]:
    """Notes on linear tracks whose edges may be wrong.

    A uniform grid that goes on past a track's edge at the same spacing (with horizontal
    lines in between) means the track may have more than 10 divisions and only 10 of
    them were drafted; two adjacent linear tracks with the same division may be one track
    of 20 divisions. Returns the number of doubtful edges of the first kind and notes.
    """
    count, notes = 0, []
    inside = [float(np.median(h[int(t.left_px) + 2 : int(t.right_px) - 1]))
              for t in tracks]
    for i, t in enumerate(tracks):
        if t.scale != "linear":
            continue
        s = t.spacing_px
        tol = max(1.5, 0.06 * s)
        for side, x in (("left", t.left_px - s), ("right", t.right_px + s)):
            edge = t.left_px if side == "left" else t.right_px
            # a neighbour sharing this edge is the other note's business
            shared = any(abs((u.right_px if side == "left" else u.left_px) - edge) <= tol
                         for u in tracks if u is not t)
            if shared or not len(xs) or np.min(np.abs(xs - x)) > tol:
                continue
            a, b = sorted((x, edge))
            gap = h[int(a) + 2 : int(b) - 1]
            if len(gap) and float(np.median(gap)) >= 0.25 * inside[i]:
                count += 1
                notes.append(f"the grid of track {i + 1} goes on past its {side} edge at the "
                             f"same spacing ({s:.1f} px): the track may have more than 10 "
                             "divisions; check its edges")
        if i + 1 < len(tracks):
            u = tracks[i + 1]
            if (u.scale == "linear" and abs(u.left_px - t.right_px) <= tol
                    and abs(u.spacing_px - s) <= 0.02 * s):
                notes.append(f"tracks {i + 1} and {i + 2} share an edge and have the same "
                             f"divisions ({s:.1f} px): maybe one track of 20 divisions")
    return count, notes


def _wander(tracks: list[DraftTrack], band_tracks: list[list[DraftTrack]], n_cols: int
            ) -> float:
    """Largest sideways offset (px) at which a band shows one of ``tracks`` (same grid and
    width, edges shifted by more than the consensus tolerance, up to 5 % of the width)."""
    tol = max(3.0, 0.005 * n_cols)
    worst = 0.0
    for t in tracks:
        for tracks_b in band_tracks:
            for u in tracks_b:
                shift = u.left_px - t.left_px
                if ((u.scale, u.decades) == (t.scale, t.decades)
                        and abs((u.right_px - u.left_px) - (t.right_px - t.left_px)) <= tol
                        and tol < abs(shift) <= 0.05 * n_cols):
                    worst = max(worst, abs(shift))
    return worst


def _grid_fractions(decades: int, pattern: str = "1-9") -> np.ndarray:
    """Positions of the grid lines across a track, 0..1 (decades 0 means linear)."""
    if decades == 0:
        return np.arange(11) / 10
    marks = _LOG_PATTERNS[pattern]
    fr = {(k + math.log10(j)) / decades for k in range(decades) for j in marks}
    return np.asarray(sorted(fr | {1.0}))


_MODELS = [(0, "", _grid_fractions(0))] + [
    (d, pattern, _grid_fractions(d, pattern))
    for d in range(1, _MAX_DECADES + 1) for pattern in _LOG_PATTERNS
]


def _fit_segment(xs: np.ndarray, i: int, j: int, fracs: np.ndarray) -> tuple[int, int]:
    """(matched, extra) for the grid ``fracs`` between lines ``i`` and ``j``."""
    left, right = xs[i], xs[j]
    width = right - left
    min_gap = float(np.diff(fracs).min()) * width
    tol = min(max(1.5, 0.01 * width), 0.4 * min_gap)
    inner = xs[i + 1 : j]
    pred = left + fracs[1:-1] * width
    matched, used = 2, set()
    if len(inner):
        pos = np.searchsorted(inner, pred)
        for p, k in zip(pred, pos, strict=True):
            best, best_d = -1, tol
            for c in (k - 1, k):
                if 0 <= c < len(inner) and c not in used and abs(inner[c] - p) <= best_d:
                    best, best_d = c, abs(inner[c] - p)
            if best >= 0:
                used.add(best)
                matched += 1
    return matched, len(inner) - len(used)


def _find_tracks(xs: np.ndarray, h: np.ndarray, n_cols: int
                 ) -> tuple[list[DraftTrack], list[tuple[float, float]]]:
    """Split the vertical lines into gridded tracks (dynamic programming)."""
    n = len(xs)
    if n < 3:
        return [], []
    # intervals between consecutive lines without horizontal grid lines split tracks
    h_int = np.full(n - 1, np.nan)
    for k in range(n - 1):
        a, b = int(math.floor(xs[k])) + 3, int(math.ceil(xs[k + 1])) - 2
        if b - a >= 2:
            h_int[k] = float(h[a:b].mean())
    known = h_int[np.isfinite(h_int)]
    h_ref = float(np.median(known)) if len(known) else 0.0
    empty = np.zeros(n - 1, bool)
    if h_ref >= 0.003:
        empty = np.isfinite(h_int) & (h_int < 0.25 * h_ref)
    empty_before = np.concatenate([[0], np.cumsum(empty)])  # empties among intervals < k

    min_w = max(40.0, 0.08 * n_cols)
    best = np.zeros(n)
    choice: list[tuple[int, int, str, int, int] | None] = [None] * n
    for j in range(n):
        best[j] = best[j - 1] if j else 0.0
        for i in range(j - 2, -1, -1):
            if empty_before[j] - empty_before[i] > 0:
                break
            width = xs[j] - xs[i]
            if width < min_w:
                continue
            m = j - i + 1
            for d, pattern, fracs in _MODELS:
                e = len(fracs)
                if not 0.6 * e <= m <= 1.5 * e:
                    continue
                matched, extra = _fit_segment(xs, i, j, fracs)
                if (matched - extra) / e < _MIN_FIT:
                    continue
                gain = matched - extra - _TRACK_COST
                total = best[i] + gain
                if total > best[j]:
                    best[j] = total
                    choice[j] = (i, d, pattern, matched, extra)
    tracks = []
    j = n - 1
    while j > 0:
        if choice[j] is None:
            j -= 1
            continue
        i, d, pattern, matched, extra = choice[j]
        tracks.append(DraftTrack(left_px=float(xs[i]), right_px=float(xs[j]),
                                 scale="log" if d else "linear", decades=d, matched=matched,
                                 expected=len(_grid_fractions(d, pattern or "1-9")),
                                 extra=extra, pattern=pattern))
        j = i  # the previous track may end on this track's left edge
    tracks.reverse()

    # gridded stretches (horizontal lines, several vertical lines) no model explained
    unexplained = []
    covered = np.zeros(n - 1, bool)
    for t in tracks:
        i, j = int(np.searchsorted(xs, t.left_px)), int(np.searchsorted(xs, t.right_px))
        covered[i:j] = True
    if h_ref >= 0.003:
        gridded = ~covered & np.isfinite(h_int) & ~empty
        k = 0
        while k < n - 1:
            if gridded[k]:
                s = k
                while k < n - 1 and gridded[k]:
                    k += 1
                if xs[k] - xs[s] >= min_w:
                    unexplained.append((float(xs[s]), float(xs[k])))
            k += 1
    return tracks, unexplained


def _depth_track(tracks: list[DraftTrack], f: np.ndarray, h: np.ndarray, n_cols: int
                 ) -> tuple[int, int] | None:
    """The widest gap beside or between the tracks that holds ink but no horizontal grid
    (gaps between tracks count 1.5 times their width: the depth track is usually there)."""
    edges = [0.0] + [v for t in tracks for v in (t.left_px, t.right_px)] + [n_cols - 1.0]
    best, best_w = None, 0.0
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        lo, hi = int(math.ceil(a)) + 3, int(math.floor(b)) - 3
        if hi - lo < 20:
            continue
        if h[lo:hi].mean() > 0.02:  # horizontal grid lines: not a depth track
            continue
        ink = f[lo:hi]
        if ink.max() < 0.01:  # blank margin
            continue
        # the region of the gap that holds ink, so margins are not counted
        cols = np.flatnonzero(ink >= 0.2 * ink.max())
        a2, b2 = lo + int(cols[0]), lo + int(cols[-1])
        interior = 0.0 < a and b < n_cols - 1.0
        w = (b - a) * (1.5 if interior else 1.0)
        if w > best_w:
            best, best_w = (a2, b2), w
    return best


def _depth_lines(work: np.ndarray, tracks: list[DraftTrack], xs: np.ndarray, thr: float
                 ) -> DepthLines | None:
    """Rows of the horizontal depth lines over the tracks, their spacing and major lines."""
    n_rows, n_cols = work.shape
    mask = np.zeros(n_cols, bool)
    for t in tracks:
        mask[int(math.ceil(t.left_px)) + 3 : int(math.floor(t.right_px)) - 2] = True
    for x in xs:
        mask[max(0, int(round(x)) - 2) : int(round(x)) + 3] = False
    cols = np.flatnonzero(mask)
    if len(cols) < 10:
        return None
    if len(cols) > 1500:  # enough to see a line; keeps the pass over a big scan quick
        cols = cols[:: int(math.ceil(len(cols) / 1500))]
    rf = np.empty(n_rows, np.float32)
    step = 4096
    for a in range(0, n_rows, step):
        rf[a : a + step] = (work[a : a + step][:, cols] < thr).mean(axis=1)

    level = max(0.3, min(0.6, 0.5 * float(np.percentile(rf, 99.5))))
    on = rf >= level
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    centres, masses = [], []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a > 12:  # a black band, not a line
            continue
        w = rf[a:b]
        centres.append(float((np.arange(a, b) * w).sum() / w.sum()))
        lo, hi = max(0, a - 1), min(n_rows, b + 1)
        masses.append(float(rf[lo:hi].sum()))
    if len(centres) < 6:
        return None
    y = np.asarray(centres)
    mass = np.asarray(masses)
    d = np.diff(y)
    d = d[d >= 3]
    if len(d) < 5:
        return None
    hist = np.bincount(np.round(d * 2).astype(int))
    hist = np.convolve(hist, [1, 2, 1], mode="same")  # rows are whole pixels: 6, 7, 6, ...
    mode = np.argmax(hist) / 2
    near = d[np.abs(d - mode) <= 0.25 * mode]
    s0 = float(np.mean(near))
    if s0 < 3:
        return None
    tol = max(0.12, 1.2 / s0)  # thick lines may sit a pixel off

    # chains of lines whose gaps are whole multiples (1..3) of the spacing
    # (measured from the last line kept, so a stray line in between is skipped, not a break)
    runs: list[list[int]] = [[0]]
    ks: list[list[int]] = [[0]]
    for i in range(1, len(y)):
        q = (y[i] - y[runs[-1][-1]]) / s0
        kq = round(q)
        if 1 <= kq <= 3 and abs(q - kq) <= tol:
            runs[-1].append(i)
            ks[-1].append(ks[-1][-1] + kq)
        elif q > 3.5:
            runs.append([i])
            ks.append([0])
    kept = []
    for r, k in zip(runs, ks, strict=True):
        r, k = np.asarray(r), np.asarray(k)
        if len(r) < 8:
            continue
        # drop lines off the fitted lattice (a fold mark or a stain next to a missing line)
        a, b = np.polyfit(k, y[r], 1)[::-1]
        good = np.abs(y[r] - (a + b * k)) <= max(2.0, 0.1 * s0)
        if good.sum() >= 8:
            kept.append((r[good], k[good]))
    if not kept:
        return None
    slopes = [float(np.polyfit(k, y[r], 1)[0]) for r, k in kept]
    order = np.argsort(slopes)
    cw = np.cumsum(np.asarray([len(r) for r, _ in kept])[order])
    spacing = float(np.asarray(slopes)[order][np.searchsorted(cw, cw[-1] / 2)])
    # chains drawn at another spacing belong to another section (another depth scale)
    same = [c for c, sl in zip(kept, slopes, strict=True) if abs(sl - spacing) <= 0.02 * spacing]
    others = sorted({round(sl, 2) for sl in slopes if abs(sl - spacing) > 0.02 * spacing})
    # join chains separated by a whole number of missing lines
    same.sort(key=lambda c: y[c[0][0]])
    chains = [same[0]]
    for r, k in same[1:]:
        pr, pk = chains[-1]
        gap = y[r[0]] - y[pr[-1]]
        n = round(gap / spacing)
        if 1 <= n <= 60 and abs(gap - n * spacing) <= max(2.0, 0.2 * spacing):
            chains[-1] = (np.concatenate([pr, r]), np.concatenate([pk, k - k[0] + pk[-1] + n]))
        else:
            chains.append((r, k))
    major_every, phases = _major_lines(chains, mass)
    major_rows, stretches = [], []
    for (r, k), phase in zip(chains, phases, strict=True):
        sel = (k % major_every) == phase if major_every else np.zeros(len(r), bool)
        major_rows.extend(y[r][sel])
        stretches.append((r, k, sel))
    # the calibration rows: first and last major line of the longest continuous stretch
    r, k, sel = max(stretches, key=lambda c: y[c[0][-1]] - y[c[0][0]])
    on_majors = bool(sel.sum() >= 2)
    ends = np.flatnonzero(sel) if on_majors else np.array([0, len(r) - 1])
    first, last = int(ends[0]), int(ends[-1])
    rows = np.concatenate([y[c[0]] for c in chains])
    return DepthLines(
        spacing_px=spacing, rows=np.sort(rows), major_rows=np.sort(np.asarray(major_rows)),
        major_every=major_every, regular=len(rows) / len(y), n_found=len(y),
        top=float(y[r[first]]), bottom=float(y[r[last]]), intervals=int(k[last] - k[first]),
        stretches=[(float(y[c[0][0]]), float(y[c[0][-1]]), len(c[0])) for c in chains],
        other_spacings=others, ends_on_majors=on_majors,
    )


def _major_lines(chains: list[tuple[np.ndarray, np.ndarray]], mass: np.ndarray
                 ) -> tuple[int | None, list[int]]:
    """The period (5 or 10 minor lines) of the clearly heavier depth lines, and the phase
    (``k % period``) of the heavy lines in each chain; ``(None, [0, ...])`` if none stand out.

    Each chain of lines gets its own phase. A period wins by how far the median weight
    of its lines stands above the others, in units of the others' spread; 10 is taken
    over 5 only when the lines half-way between its major lines are not heavy too.
    """
    def phase_split(period: int) -> tuple[float, list[int]]:
        score, total, phases = 0.0, 0, []
        for r, k in chains:
            m = mass[r]
            best_phase, best_sep = 0, -np.inf
            for phase in range(period):
                sel = (k % period) == phase
                if sel.sum() < 1 or (~sel).sum() < 3:
                    continue
                light = m[~sel]
                spread = 1.4826 * np.median(np.abs(light - np.median(light)))
                sep = (np.median(m[sel]) - np.median(light)) / (spread + 0.05 * np.median(light))
                if sep > best_sep:
                    best_phase, best_sep = phase, sep
            phases.append(best_phase)
            if np.isfinite(best_sep):
                score += max(best_sep, 0.0) * len(r)
                total += len(r)
        return (score / total if total else 0.0), phases

    score5, phases5 = phase_split(5)
    score10, phases10 = phase_split(10)
    period, phases = 5, phases5
    if score10 > score5:
        # are the lines half-way between the period-10 majors heavier than the minor
        # lines too (a third, heavier level every 10 or 50 lines)? then the period is 5
        half, light = [], []
        for (r, k), phase in zip(chains, phases10, strict=True):
            half.extend(mass[r][(k % 10) == (phase + 5) % 10])
            light.extend(mass[r][(k % 5) != phase % 5])
        if not half or not light or np.median(half) < 1.25 * np.median(light):
            period, phases = 10, phases10
    heavy, light = [], []
    for (r, k), phase in zip(chains, phases, strict=True):
        sel = (k % period) == phase
        heavy.extend(mass[r][sel])
        light.extend(mass[r][~sel])
    if heavy and light and np.median(heavy) >= 1.25 * np.median(light):
        return period, phases
    return None, [0] * len(chains)


# --------------------------------------------------------------------------- outputs


def _num(v: float) -> str:
    return repr(float(v))


def _kv(key: str, value: str, comment: str = "", indent: str = "") -> str:
    """``key = value`` with the comment aligned in one column."""
    text = f"{indent}{key} = {value}"
    return f"{text:<30} # {comment}" if comment else text


def _summary(tracks: list[DraftTrack]) -> str:
    if not tracks:
        return "no recognised grid"
    return ", ".join(
        f"{t.scale}{f' {t.decades} dec' if t.decades else ''} {t.left_px:.0f}-{t.right_px:.0f}"
        for t in tracks
    )


def draft_toml(draft: LayoutDraft, *, scan_name: str = "the scan",
               png_name: str | None = None, orientation: str = "depth-down",
               colours: Sequence[Sequence[tuple[tuple[int, int, int], float]]] | None = None
               ) -> str:
    """The sidecar TOML for a draft, with every guessed field marked ``# TO CONFIRM``.

    The header comment says what was found; the text is valid for
    :func:`logdigit.layout.load_layout`. ``colours`` (one list per track, from
    :func:`logdigit.colour.ink_colours`) adds the ink colours seen in each track as a
    comment, for the curves' ``colour`` keys.
    """
    d = draft.depth
    confirm = TO_CONFIRM.lstrip("# ")
    out = [
        f"# Draft layout written by `logdigit layout` for {scan_name} "
        f"({draft.n_cols} x {draft.n_rows} px).",
        f'# Every value marked "{TO_CONFIRM}" is a guess or a placeholder: check it against',
        "# the scan" + (f" and {png_name}" if png_name else "") + " before converting; "
        "the depth numbers were not read.",
        "#",
        f"# Confidence: {draft.confidence}.",
    ]
    if draft.skew:
        out += [f"# Skew: {draft.skew:+.3f} deg (grid lines drift right going down when > 0). "
                "Columns are those",
                f"#   of the deskewed scan = the track edges on the centre row "
                f"{(draft.n_rows - 1) / 2:.0f} of the stored scan."]
    else:
        out.append(f"# Skew: none corrected (measured {draft.skew_measured:+.3f} deg).")
    out.append(f"# Tracks, from the vertical grid lines in {len(draft.bands)} bands of rows:")
    for i, t in enumerate(draft.tracks, 1):
        seen = (f"; seen in {draft.support[i - 1]} of {len(draft.bands)} bands"
                if draft.support else "")
        out.append(f"#   track {i}: {t.describe()}{seen}")
    for a, b in draft.unexplained:
        out.append(f"#   columns {a:.0f}..{b:.0f}: gridded, but neither a linear (10 divisions) "
                   "nor a log grid: not drafted")
    if draft.depth_track:
        a, b = draft.depth_track
        out.append(f"#   depth track (ink but no grid: the depth numbers?): columns {a}..{b}")
    if draft.band_tracks:
        out.append("# What each band of rows shows:")
        for (a, b), tracks in zip(draft.bands, draft.band_tracks, strict=True):
            out.append(f"#   rows {a}-{b}: {_summary(tracks)}")
    if d is not None:
        major = (f"heavier major lines every {d.major_every} minor "
                 f"({d.major_every * d.spacing_px:.2f} px)") if d.major_every else (
                 "no heavier major lines stood out")
        out += [f"# Depth lines: every {d.spacing_px:.3f} px (minor); {major};",
                f"#   {len(d.rows)} of {d.n_found} line-like rows ({100 * d.regular:.0f} %) lie "
                "on this lattice, in these stretches:"]
        for a, b, n in d.stretches[:12]:
            out.append(f"#   rows {a:.0f}..{b:.0f} ({n} lines)")
        if len(d.stretches) > 12:
            out.append(f"#   ... and {len(d.stretches) - 12} more")
        if d.other_spacings:
            out.append("#   other stretches are drawn at other spacings (another depth scale?): "
                       + ", ".join(f"{v:g}" for v in d.other_spacings[:6]) + " px")
        out.append(f"#   top_row/bottom_row: the first and last "
                   f"{'major ' if d.ends_on_majors else ''}line of the longest stretch, "
                   f"{d.intervals} minor intervals apart.")
    else:
        out.append("# Depth lines: no regular horizontal depth lines found over the tracks.")
    for note in draft.notes:
        out.append(f"# Note: {note}")
    if orientation == "depth-right":
        out += ["# Orientation depth-right: rows and columns are those of the transposed scan",
                "#   (a *_row is a stored column, a *_px a stored row)."]
    out += ["", _kv("orientation", f'"{orientation}"'), "", "[depth]"]

    if d is not None:
        n = d.intervals
        out += [
            _kv("top", "0.0", f"{confirm}: the depth at top_row, read off the scan"),
            _kv("bottom", _num(float(n)),
                f"{confirm}: the depth at bottom_row = top + {n} x (depth per minor line)"),
            _kv("top_row", str(draft.top_row),
                f"{confirm}: {'major ' if d.ends_on_majors else ''}depth line found here"),
            _kv("bottom_row", str(draft.bottom_row),
                f"{confirm}: {'major ' if d.ends_on_majors else ''}depth line found here"),
        ]
    else:
        out += [
            _kv("top", "0.0", f"{confirm}: the depth at top_row"),
            _kv("bottom", _num(float(draft.n_rows - 1)), f"{confirm}: the depth at bottom_row"),
            _kv("top_row", "0", f"{confirm}: no depth lines found; set by hand"),
            _kv("bottom_row", str(draft.n_rows - 1),
                f"{confirm}: no depth lines found; set by hand"),
        ]
    out.append(_kv("unit", '"FT"', f"{confirm}: FT or M"))
    for i, t in enumerate(draft.tracks, 1):
        log = t.scale == "log"
        left, right = (0.2, 0.2 * 10 ** t.decades) if log else (0.0, 100.0)
        grid = f"{t.decades}-decade log grid" if log else "linear grid"
        out += [
            "",
            "[[tracks]]",
            _kv("left_px", f"{t.left_px:.1f}", f"left edge line of a {grid}"),
            _kv("right_px", f"{t.right_px:.1f}", "right edge line"),
        ]
        if colours is not None and colours[i - 1]:
            seen = ", ".join(f"{to_hex(c)} ({100 * share:.1f} %)" for c, share in colours[i - 1])
            out += [f"# ink colours in this track: {seen}",
                    "# a curve drawn in one of them is traced by it with colour = \"#rrggbb\""]
        for style in ("solid", "dashed"):
            out += [
                "  [[tracks.curves]]",
                _kv("mnemonic", f'"T{i}_{style.upper()}"', f"{confirm}: the LAS mnemonic", "  "),
                _kv("unit", '""', f"{confirm}: the LAS unit", "  "),
                _kv("left", _num(left), f"{confirm}: the curve value at left_px", "  "),
                _kv("right", _num(right), f"{confirm}: the curve value at right_px", "  "),
                _kv("scale", f'"{t.scale}"', "from the grid", "  "),
                _kv("style", f'"{style}"', f"{confirm}: solid, dashed or dotted", "  "),
            ]
    return "\n".join(out) + "\n"


_COLOURS = {
    "edge": (220, 0, 0),
    "linear": (0, 90, 255),
    "log": (0, 170, 0),
    "minor": (255, 150, 0),
    "major": (200, 0, 200),
    "depth": (255, 235, 120),
    "text": (0, 0, 0),
}


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def draft_image(draft: LayoutDraft, pixels: np.ndarray, *, width: int = 1400,
                strip_rows: int = 1600) -> Image.Image:
    """A QC picture of the draft: a strip of the scan at readable size with the track
    edges, grid lines and depth lines drawn in colour, and an overview of the whole scan.

    ``pixels`` is the scan as stored; it is deskewed the same way as for drafting.
    """
    pixels = np.asarray(pixels)
    n_rows, n_cols = pixels.shape
    d = draft.depth
    # the strip: in a band of rows that shows the drafted tracks, from a major line
    def shown(tracks: list[DraftTrack]) -> int:
        tol = max(3.0, 0.005 * n_cols)
        return sum(any(abs(u.left_px - t.left_px) <= tol and abs(u.right_px - t.right_px) <= tol
                       for u in tracks) for t in draft.tracks)

    centre = n_rows // 2
    if draft.band_tracks:
        k = max(range(len(draft.bands)), key=lambda i: (shown(draft.band_tracks[i]), -i))
        a, b = draft.bands[k]
        centre = (a + b) // 2
        if d is not None:
            inside = d.major_rows[(d.major_rows >= a) & (d.major_rows < b)]
            if len(inside):
                centre = int(inside[0]) + strip_rows // 2 - 60
    r0 = int(np.clip(centre - strip_rows // 2, 0, max(0, n_rows - strip_rows)))
    r1 = min(n_rows, r0 + strip_rows)
    strip = pixels[r0:r1]
    if draft.skew:
        strip = shear_columns(strip, math.tan(math.radians(draft.skew)), row0=r0,
                              rc=(n_rows - 1) / 2)
    scale = min(1.0, (width * 0.7) / n_cols)
    sw, sh = max(1, round(n_cols * scale)), max(1, round((r1 - r0) * scale))
    img = Image.fromarray(strip).convert("RGB").resize((sw, sh), Image.Resampling.BOX)
    # overview of the whole scan: at most as tall as the strip, at most 28 % of the width
    ov_scale = min(sh / n_rows, 0.28 * width / n_cols)
    ow, oh = max(1, round(n_cols * ov_scale)), max(1, round(n_rows * ov_scale))
    step = max(1, n_rows // (oh * 4))
    ov = Image.fromarray(pixels[::step]).convert("RGB").resize((ow, oh), Image.Resampling.BOX)

    head = 70
    canvas = Image.new("RGB", (sw + ow + 30, sh + head), (255, 255, 255))
    canvas.paste(img, (0, head))
    canvas.paste(ov, (sw + 30, head))
    draw = ImageDraw.Draw(canvas, "RGBA")
    font = _font(13)

    def sx(x: float) -> float:
        return x * scale

    def sy(r: float) -> float:
        return head + (r - r0) * scale

    if draft.depth_track:
        a, b = draft.depth_track
        draw.rectangle([sx(a), head, sx(b), head + sh], fill=(*_COLOURS["depth"], 90))
    for t in draft.tracks:
        fracs = _grid_fractions(t.decades, t.pattern or "1-9")
        for fr in fracs[1:-1]:
            x = sx(t.left_px + fr * (t.right_px - t.left_px))
            draw.line([(x, head), (x, head + 12)], fill=_COLOURS[t.scale], width=1)
            draw.line([(x, head + sh - 12), (x, head + sh)], fill=_COLOURS[t.scale], width=1)
    if d is not None:
        sel = (d.rows >= r0) & (d.rows < r1)
        majors = set(np.round(d.major_rows).astype(int).tolist())
        for r in d.rows[sel]:
            colour = _COLOURS["major"] if int(round(r)) in majors else _COLOURS["minor"]
            y = sy(r)
            for t in draft.tracks:
                draw.line([(sx(t.left_px), y), (sx(t.left_px) + 14, y)], fill=colour, width=2)
                draw.line([(sx(t.right_px) - 14, y), (sx(t.right_px), y)], fill=colour,
                          width=2)
    for i, t in enumerate(draft.tracks, 1):
        for x in (t.left_px, t.right_px):
            draw.line([(sx(x), head), (sx(x), head + sh)], fill=(*_COLOURS["edge"], 200),
                      width=2)
        label = f"T{i} {t.scale}" + (f" {t.decades}dec" if t.decades else "")
        draw.text((sx(t.left_px) + 3, 4), label, fill=_COLOURS[t.scale], font=font)
        draw.text((sx(t.left_px) + 3, 20), f"{t.left_px:.0f}-{t.right_px:.0f}",
                  fill=_COLOURS["text"], font=font)
    # the overview: track edges (following the skew) and the top/bottom rows
    ox = sw + 30
    tan_a = math.tan(math.radians(draft.skew))
    rc = (n_rows - 1) / 2
    for t in draft.tracks:
        for x in (t.left_px, t.right_px):
            xt, xb = x + (0 - rc) * tan_a, x + (n_rows - 1 - rc) * tan_a
            draw.line([(ox + xt * ov_scale, head), (ox + xb * ov_scale, head + oh)],
                      fill=(*_COLOURS["edge"], 160), width=1)
    for r in (draft.top_row, draft.bottom_row):
        if r is not None:
            y = head + r * ov_scale
            draw.line([(ox - 8, y), (ox + ow, y)], fill=_COLOURS["major"], width=2)
    draw.rectangle([ox - 1, head + r0 * ov_scale, ox + ow, head + r1 * ov_scale],
                   outline=(0, 0, 0))
    info = (f"rows {r0}-{r1}" + (f", deskewed {draft.skew:+.3f} deg" if draft.skew else "")
            + (f"; depth lines every {d.spacing_px:.2f} px" if d else "; no depth lines")
            + (f", major every {d.major_every}" if d and d.major_every else "")
            + f"; confidence {draft.confidence}")
    draw.text((4, 38), info, fill=_COLOURS["text"], font=font)
    draw.text((ox, 4), "whole scan", fill=_COLOURS["text"], font=font)
    draw.text((ox, 20), "top/bottom_row", fill=_COLOURS["major"], font=font)
    return canvas
