"""Render synthetic well-log scans with pixel-exact labels from real curves.

A rendered page looks like a paper log: a depth track with depth numbers, one to three
curve tracks with linear or logarithmic grids, depth lines, and in each track one solid and
one dashed or dotted curve drawn from real LAS data. Every page comes with

* ``labels``: (rows, cols) uint8 class mask, 0 background / 1 solid curve / 2 dashed curve,
  drawn with the same geometry as the ink (one pixel fatter, to favour recall);
* ``layout``: a layout dictionary in the sidecar schema of :mod:`logdigit.layout`;
* ``truth``: every target curve's value on the layout's regular depth grid.

The renderer is used by training (crops sampled from pages on the fly), by ``make demo``
(the bundled example) and by evaluation-case generation.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

logger = logging.getLogger(__name__)

TIERS = ("clean", "scanned", "hard")

#: A target curve must swing by at least this much across its track (standard deviation
#: of its drawn x, px): the R² of a curve that stays within a pixel or two of one column
#: (a constant bit size, a flat stretch of a curve with a few spikes) measures the
#: sub-pixel position of the line, not its digitization. Flatter windows are re-picked.
MIN_SWING_PX = 3.0
_PICK_TRIES = 8


@dataclass(frozen=True)
class BankCurve:
    """One contiguous finite run of a real curve, on a regular depth step."""

    mnemonic: str
    unit: str
    top: float
    step: float
    values: np.ndarray  # (n,) float64, finite
    depth_unit: str = "FT"  # of top and step: "FT" or "M" (else taken as the page's)

    @property
    def span(self) -> float:
        """Depth span covered, in depth units."""
        return self.step * (len(self.values) - 1)


#: A curve is *rough* from this :func:`roughness` on (the held-out curves' failures
#: gather there: model card, Session 37).
ROUGH = 0.15


#: Feet per depth unit a bank curve or a page can be in.
_FEET = {"FT": 1.0, "M": 1.0 / 0.3048}


def depth_scale(curve_unit: str, page_unit: str) -> float:
    """Depth units of a curve per depth unit of the page it is drawn on.

    A curve recorded in metres drawn on a page in feet advances 0.3048 m per foot of the
    page, so that its samples lie as far apart as on the well's own log; 1 when the units
    are the same or either is not "FT" or "M".

    >>> depth_scale("M", "FT"), depth_scale("FT", "FT"), depth_scale("?", "FT")
    (0.3048, 1.0, 1.0)
    """
    a, b = _FEET.get(curve_unit), _FEET.get(page_unit)
    return 1.0 if a is None or b is None else round(b / a, 12)


def roughness(values: np.ndarray) -> float:
    """The share of a curve's variance in its sample-to-sample steps.

    Parameters
    ----------
    values : (n,) float
        A curve's samples on a regular depth step (NaN skipped).

    Returns
    -------
    float
        ``var(diff(v)) / (2 var(v))``: near 0 for a smooth curve, about 1 for white noise;
        NaN with fewer than 3 finite samples or no variance.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 3:
        return float("nan")
    var = float(np.var(v))
    return float(np.var(np.diff(v)) / (2.0 * var)) if var > 0 else float("nan")


@dataclass
class CurveBank:
    """Real curves to draw from; :func:`load_bank` builds one from a folder of LAS files.

    ``weights`` (one per curve, positive) makes :meth:`pick` choose curves in proportion
    to them; None picks every curve alike (see :meth:`favour_rough`)."""

    curves: list[BankCurve] = field(default_factory=list)
    weights: np.ndarray | None = None

    def pick(self, rng: np.random.Generator, span: float, *,
             page_unit: str = "FT") -> tuple[BankCurve, float]:
        """Pick a curve that spans at least ``span`` depth units of a page in
        ``page_unit`` and a start depth inside it (in the curve's own units: the page's
        depth offsets times :func:`depth_scale`)."""
        need = [span * depth_scale(c.depth_unit, page_unit) for c in self.curves]
        idx = [i for i, c in enumerate(self.curves) if c.span >= need[i]]
        if not idx:
            raise ValueError(f"no curve in the bank spans {span:.1f} depth units")
        if self.weights is None:
            i = idx[rng.integers(len(idx))]
        else:
            w = np.asarray(self.weights, dtype=np.float64)[idx]
            i = idx[int(rng.choice(len(idx), p=w / w.sum()))]
        c = self.curves[i]
        return c, c.top + rng.uniform(0, c.span - need[i])

    def favour_rough(self, factor: float, *, threshold: float = ROUGH,
                     step: float | None = None, page_unit: str = "FT") -> CurveBank:
        """The same curves with the rough ones (:func:`roughness` >= ``threshold``)
        picked ``factor`` times as often as the others; ``factor`` 1: as this bank.

        ``step`` (depth units of a page in ``page_unit``): measure a curve's roughness on
        its values interpolated every ``step`` of the page (e.g. its output step, 0.5 ft;
        :func:`depth_scale` converts), i.e. as rough as it looks on a page read at that
        step, instead of on its own samples. A curve sampled every 0.1 ft whose
        sample-to-sample noise averages out is smooth on its own samples but rough every
        0.5 ft. None (default): its own samples."""
        if not factor > 0:
            raise ValueError(f"factor must be positive, got {factor}")
        if step is not None and not step > 0:
            raise ValueError(f"step must be positive, got {step}")
        if factor == 1:
            return CurveBank(list(self.curves), self.weights)
        rough = np.array([roughness(c.values if step is None else _every(
            c, step * depth_scale(c.depth_unit, page_unit))) >= threshold
            for c in self.curves], bool)
        base = np.ones(len(self.curves)) if self.weights is None else np.asarray(
            self.weights, np.float64)
        return CurveBank(list(self.curves), base * np.where(rough, float(factor), 1.0))


    def with_flat_stretches(self, rng: np.random.Generator, *, share: float,
                            feet: tuple[float, float] = (15.0, 150.0),
                            cover: float = 0.15) -> CurveBank:
        """The same bank with stretches of some curves held at one value.

        A curve that reads one value over a long stretch (a tool at its limit, a caliper
        in a gauge hole) is drawn as a straight vertical line, which a segmenter trained
        on few such lines takes for a grid rule (model card, Session 39). Each curve is
        taken with probability ``share``; a taken curve gets stretches of ``feet`` (low,
        high; uniform, converted to its depth unit) depth at the value of their first
        sample, about ``cover`` of its samples in all. ``share`` 0: this bank, and no
        number is drawn from ``rng``.

        Parameters
        ----------
        rng : numpy Generator
            All randomness.
        share : float
            Probability (0..1) that a curve gets flat stretches.
        feet : (float, float)
            Shortest and longest stretch, in feet of depth.
        cover : float
            Share (0..1) of a taken curve's samples aimed at.
        """
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be in 0..1, got {share}")
        if not 0 < feet[0] <= feet[1] or not 0.0 < cover < 1.0:
            raise ValueError(f"need 0 < feet[0] <= feet[1] and 0 < cover < 1, got {feet}, "
                             f"{cover}")
        if share == 0.0:
            return CurveBank(list(self.curves), self.weights)
        out = []
        for c in self.curves:
            if rng.random() >= share:
                out.append(c)
                continue
            v = np.array(c.values, dtype=np.float64)
            per_foot = depth_scale(c.depth_unit, "FT") / c.step  # samples per foot
            lo, hi = (max(2, int(round(f * per_foot))) for f in feet)
            n = len(v)
            for _ in range(max(1, int(round(cover * n / ((lo + hi) / 2))))):
                length = int(rng.integers(lo, hi + 1))
                if length >= n:
                    break
                a = int(rng.integers(0, n - length))
                v[a:a + length] = v[a]
            out.append(BankCurve(c.mnemonic, c.unit, c.top, c.step, v, c.depth_unit))
        return CurveBank(out, self.weights)


def _every(curve: BankCurve, step: float) -> np.ndarray:
    """(m,) ``curve``'s values linearly interpolated every ``step`` from its top."""
    depths = np.arange(curve.top, curve.top + curve.span, step)
    return np.interp(depths, curve.top + curve.step * np.arange(len(curve.values)),
                     curve.values)


def random_walk_bank(rng: np.random.Generator, *, n: int = 12, length: int = 20000) -> CurveBank:
    """A bank of log-like synthetic curves (blocky beds, drift, noise, spikes).

    Used by tests, by the bundled example and when no LAS folder is available.
    """
    out = []
    for i in range(n):
        # beds: piecewise-constant levels of random thickness
        cuts = np.cumsum(rng.integers(8, 160, size=length // 8))
        cuts = cuts[cuts < length]
        levels = rng.normal(0, 1, len(cuts) + 1)
        beds = levels[np.searchsorted(cuts, np.arange(length), side="right")]
        drift = np.cumsum(rng.standard_normal(length)) * 0.02
        noise = np.convolve(rng.standard_normal(length), np.ones(3) / 3, mode="same") * 0.08
        v = beds + drift + noise
        kernel = np.hanning(int(rng.integers(3, 12)))
        v = np.convolve(v, kernel / kernel.sum(), mode="same")
        spikes = rng.random(length) < 0.001
        v = v + spikes * rng.normal(0, 1.5, length)
        out.append(BankCurve(f"RW{i}", "", 0.0, 0.5, 50 + 15 * v))
    return CurveBank(out)


def _depth_unit(las) -> str:
    """``"FT"`` or ``"M"`` from a lasio file's index unit or its STRT unit, else ``"FT"``
    (the renderer's pages are in feet: such a curve is drawn as it was before units
    counted)."""
    from .lasfile import normalize_depth_unit

    for unit in (las.index_unit, getattr(las.well.get("STRT"), "unit", None)):
        u = normalize_depth_unit(unit or "")
        if u in _FEET:
            return u
    return "FT"


def load_bank(las_dir: Path, *, min_samples: int = 400) -> CurveBank:
    """Read every LAS file in ``las_dir`` into a bank of contiguous finite curve runs.

    Curves with little variation (flags, constant curves) are skipped. Each run keeps
    its file's depth unit (:func:`_depth_unit`), so that a curve in metres is drawn on a
    page in feet at its real depth scale (:func:`depth_scale`; until session 38 its
    metres were drawn as feet, 3.28 times compressed).
    """
    import lasio  # local: only training and synthesis need it

    curves: list[BankCurve] = []
    for path in sorted(Path(las_dir).glob("*")):
        if path.suffix.lower() != ".las":
            continue
        try:
            las = lasio.read(str(path), ignore_header_errors=True)
            depth = np.asarray(las.index, dtype=float)
        except Exception as exc:  # noqa: BLE001 - a bad file only shrinks the bank
            logger.warning("%s: skipped (%s)", path, exc)
            continue
        if len(depth) < min_samples:
            continue
        step = float(np.median(np.diff(depth)))
        if not np.isfinite(step) or step <= 0:
            continue
        unit = _depth_unit(las)
        for c in las.curves[1:]:
            v = np.asarray(c.data, dtype=float)
            if v.shape != depth.shape:
                continue
            finite = np.isfinite(v)
            # split into runs of finite values
            edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(int), [0]])))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                run = v[a:b]
                if b - a < min_samples:
                    continue
                lo, hi = np.percentile(run, [2, 98])
                if hi - lo <= 1e-6 * max(1.0, abs(hi)) or len(np.unique(run[:200])) < 5:
                    continue
                curves.append(BankCurve(c.mnemonic, c.unit or "", float(depth[a]), step, run,
                                        depth_unit=unit))
    logger.info("curve bank: %d runs from %s", len(curves), las_dir)
    return CurveBank(curves)


@dataclass
class RenderedPage:
    """A rendered scan with its labels, layout and true curves."""

    image: np.ndarray  # (rows, cols) uint8, 0 ink .. 255 paper
    labels: np.ndarray  # (rows, cols) uint8, 0 bg / 1 solid / 2 dashed
    layout: dict  # sidecar schema
    grid: np.ndarray  # (m,) regular depth grid of the layout
    truth: list[tuple[str, str, np.ndarray]]  # (mnemonic, unit, (m,) values on grid)
    x_rows: dict[str, np.ndarray]  # mnemonic -> (rows,) true x in px per row
    rules: np.ndarray | None = None  # (rows, cols) bool: the printed grid's ruled lines
    sources: dict[str, BankCurve] = field(default_factory=dict)  # mnemonic -> curve drawn


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _nice_scale(rng, lo: float, hi: float, *, log: bool) -> tuple[float, float]:
    """A left/right scale pair that holds [lo, hi] with a margin."""
    if log:
        a = 10 ** math.floor(math.log10(max(lo, 1e-3)))
        b = 10 ** math.ceil(math.log10(max(hi, a * 10)))
        if b / a < 100:
            b = a * 100
        return a, b
    span = hi - lo
    m = span * rng.uniform(0.05, 0.35)
    left, right = lo - m * rng.uniform(0.3, 1), hi + m * rng.uniform(0.3, 1)
    mag = 10 ** math.floor(math.log10(max(right - left, 1e-9)))
    left = math.floor(left / mag) * mag
    right = math.ceil(right / mag) * mag
    return float(left), float(right)


def _value_to_x(v, left, right, lpx, rpx, log):
    if log:
        v = np.log10(np.clip(v, 1e-6, None))
        left, right = math.log10(left), math.log10(right)
    return lpx + (v - left) / (right - left) * (rpx - lpx)


def _dash_polyline(points: np.ndarray, dash: float, gap: float, phase: float):
    """Split a polyline into dashes by arc length, as a plotter pen draws them.

    Parameters
    ----------
    points : (n, 2) float
        The polyline's vertices, (x, y) in px.
    dash, gap : float
        Lengths of a dash and of the gap after it, px along the line.
    phase : float
        Arc length (px) already travelled in the pattern at the first vertex.

    Returns
    -------
    list of (m, 2) float arrays, one per dash: the dash's exact start and end on the line
    (interpolated inside a segment) and the vertices between them. A segment longer than
    the pattern (a sharp peak drawn across the track) is dashed along its length.
    """
    points = np.asarray(points, np.float64)
    seg = np.hypot(*np.diff(points, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)]) + phase  # arc length at each vertex
    period = dash + gap
    if len(points) < 2 or s[-1] <= s[0] or dash <= 0:
        return [points] if dash > 0 else []

    k = np.arange(np.floor(s[0] / period), np.floor(s[-1] / period) + 1)
    a, b = np.maximum(k * period, s[0]), np.minimum(k * period + dash, s[-1])
    a, b = a[b > a], b[b > a]  # each dash's start and end, as arc lengths

    def at(t):  # points at arc lengths t
        return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], 1)

    first, last = np.searchsorted(s, a, side="right"), np.searchsorted(s, b, side="left")
    return [np.vstack([p, points[i:j], q])
            for p, q, i, j in zip(at(a), at(b), first, last, strict=True)]


def _centred_line(draw, xy: np.ndarray, *, fill: int, width: int) -> None:
    """Draw a polyline (``xy``: (n, 2) x, y in px, pixel centres) with its ink centred on it.

    PIL draws a line of odd width on the pixels ``floor(x)``, so it is given ``x + 0.5``.
    An even-width line of PIL's is lopsided where it slants (up to 2 px left of ``x``
    at 3 px per row), so an even width is drawn as two lines one px narrower, half a pixel
    either side of the polyline: sideways where it runs down the page, up and down where
    it runs across (a horizontal stroke keeps its width).
    """
    xy = np.asarray(xy, np.float64)
    if len(xy) == 1:
        xy = np.repeat(xy, 2, axis=0)
    if width % 2:
        offsets, w = [np.zeros_like(xy)], width
    else:
        tangent = np.gradient(xy, axis=0)
        across = np.abs(tangent[:, 0]) > np.abs(tangent[:, 1])  # runs across the page
        half = np.where(across[:, None], [0.0, 0.5], [0.5, 0.0])
        offsets, w = [half, -half], width - 1
    for off in offsets:
        pts = xy + off + 0.5
        draw.line([(float(x), float(y)) for x, y in pts], fill=fill, width=w, joint="curve")


def _draw_curve(draw_img, draw_lab, pts, *, width, ink, cls, style, dash, gap, phase):
    """Draw one curve (``pts``: (n, 2) x, y in px, pixel centres) in the image and labels,
    its ink centred on ``x`` on average as an unbiased plotter's is (:func:`_centred_line`;
    PIL's own placement put curves up to 2 px left of the values in ``truth.las``)."""
    pieces = [pts] if style == "solid" else _dash_polyline(pts, dash, gap, phase)
    for p in pieces:
        _centred_line(draw_img, p, fill=ink, width=width)
        _centred_line(draw_lab, p, fill=cls, width=width + 2)


def _place_curve(rng, bank: CurveBank, *, span: float, rows: np.ndarray, ppu: float,
                 track: tuple[int, int], log_track: bool, page_unit: str = "FT"):
    """Pick a stretch of a bank curve and a scale for it in ``track`` (left, right px).

    Returns (source curve, start depth, scale left, scale right, log scale, drawn x per
    row clipped to the track, px).
    """
    src, start = bank.pick(rng, span, page_unit=page_unit)
    # curve depth of row r: shift so its own start maps onto row 0, in the curve's units
    scale = depth_scale(src.depth_unit, page_unit)
    v_rows = np.interp(start + scale * rows / ppu,
                       src.top + src.step * np.arange(len(src.values)), src.values)
    lo, hi = np.percentile(v_rows, [0.5, 99.5])
    is_log = log_track and lo > 0
    if hi - lo < 1e-9:
        hi = lo + 1.0
    left, right = _nice_scale(rng, lo, hi, log=is_log)
    if rng.random() < 0.2:
        left, right = right, left
    lpx, rpx = track
    xr = np.clip(_value_to_x(v_rows, left, right, lpx, rpx, is_log), lpx, rpx)
    return src, start, left, right, is_log, xr


def render_page(
    *,
    rng: np.random.Generator,
    bank: CurveBank,
    height: int = 1024,
    width: int = 1024,
    n_tracks: int | None = None,
    tier: str = "scanned",
    px_per_unit: float | None = None,
    line_width: int | None = None,
    depth_unit: str = "FT",
    extras: bool = False,
) -> RenderedPage:
    """Render one page.

    Parameters
    ----------
    rng : numpy Generator
        All randomness comes from here: the same seed gives the same page.
    bank : CurveBank
        Curves to draw.
    height, width : int
        Page size in px (rows = depth).
    n_tracks : int, optional
        Curve tracks, 1 to 3 (random when omitted).
    tier : {"clean", "scanned", "hard"}
        Strength of the paper and scanner degradations.
    px_per_unit : float, optional
        Vertical scale in px per depth unit (random 2..16 when omitted).
    line_width : int, optional
        Curve line width in px (random 1..4 when omitted).
    depth_unit : {"FT", "M"}
        Depth unit written into the layout.
    extras : bool
        Also draw what real logs carry besides the target curves (:func:`_draw_extras`):
        shading fills, text blocks inside the tracks, a distractor curve in the depth
        track (not in the layout), and line widths up to 12 px. Off by default, so pages
        drawn without it stay the same for a given seed.
    """
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}")
    H, W = int(height), int(width)
    n_tracks = int(n_tracks or rng.integers(1, 4))
    ppu = float(px_per_unit or rng.uniform(2.0, 16.0))
    step = 0.5 if depth_unit == "FT" else 0.1524
    span = (H - 1) / ppu

    # --- geometry: depth track + curve tracks
    depth_w = int(rng.integers(50, 110))
    margin = int(rng.integers(4, 30))
    avail = W - 2 * margin - depth_w
    fr = rng.uniform(0.7, 1.3, n_tracks)
    widths = (fr / fr.sum() * (avail - 4 * n_tracks)).astype(int)
    depth_pos = int(rng.integers(0, min(n_tracks, 1) + 1))  # 0: depth first, 1: after track 1
    x = margin
    track_px: list[tuple[int, int]] = []
    depth_box = None
    for i in range(n_tracks):
        if i == depth_pos:
            depth_box = (x, x + depth_w)
            x += depth_w
        track_px.append((x, x + int(widths[i])))
        x += int(widths[i]) + 4
    if depth_box is None:
        depth_box = (x, x + depth_w)

    paper = int(rng.integers(225, 256)) if tier != "clean" else 255
    img = Image.new("L", (W, H), paper)
    lab = Image.new("L", (W, H), 0)
    d_img, d_lab = ImageDraw.Draw(img), ImageDraw.Draw(lab)
    # where the grid's rules are drawn (a pixel wider each side): training can weigh the
    # segmenter's mistakes there (``train --rule-weight``); no random draws of its own
    rul = Image.new("L", (W, H), 0)
    d_rul = ImageDraw.Draw(rul)

    def rule(xy, *, fill: int, width: int) -> None:
        d_img.line(xy, fill=fill, width=width)
        d_rul.line(xy, fill=1, width=width + 2)

    dark_grid = tier == "hard" and rng.random() < 0.5
    grid_ink = int(rng.integers(20, 90)) if dark_grid else int(rng.integers(90, 190))
    major_ink = max(0, grid_ink - int(rng.integers(0, 60)))

    # --- depth lines
    minor_units = float(rng.choice([1, 2, 5, 10])) if ppu * 2 >= 6 else 10.0
    while minor_units * ppu < 5:
        minor_units *= 2
    major_every = 5
    d0 = None  # filled with curve start later (depth of row 0)

    # --- curves (need depth of row 0 first: take it from the first curve)
    curves_meta = []
    x_rows: dict[str, np.ndarray] = {}
    rows = np.arange(H, dtype=float)
    for ti, (lpx, rpx) in enumerate(track_px):
        log_track = rng.random() < 0.25
        styles = ["solid", "dashed" if rng.random() < 0.7 else "dotted"]
        for style in styles:
            for _ in range(_PICK_TRIES):
                src, start, left, right, is_log, xr = _place_curve(
                    rng, bank, span=span + 2 * step, rows=rows, ppu=ppu, track=(lpx, rpx),
                    log_track=log_track, page_unit=depth_unit)
                if np.std(xr) >= MIN_SWING_PX:
                    break
            scale = depth_scale(src.depth_unit, depth_unit)  # its units per page unit
            if d0 is None:  # the page's depths: the first curve's, in the page's unit
                d0 = round(float(start) / scale / step) * step
            mnem = f"C{ti + 1}{'S' if style == 'solid' else 'D'}"
            curves_meta.append(dict(track=ti, mnemonic=mnem, unit=src.unit, left=left,
                                    right=right, scale="log" if is_log else "linear",
                                    style=style, src=src, start=start, per_page=scale))
            x_rows[mnem] = xr

        # grid of the track
        if log_track and all(m["scale"] == "log" for m in curves_meta if m["track"] == ti):
            dec = math.log10(curves_meta[-1]["right"] / curves_meta[-1]["left"])
            dec = abs(dec)
            n_dec = max(1, round(dec))
            for k in range(n_dec):
                for j in range(1, 10):
                    f = (k + math.log10(j)) / n_dec
                    gx = lpx + f * (rpx - lpx)
                    w = 2 if j == 1 else 1
                    rule([(gx, 0), (gx, H)], fill=major_ink if j == 1 else grid_ink, width=w)
        else:
            for k in range(11):
                gx = lpx + k / 10 * (rpx - lpx)
                heavy = k in (0, 5, 10)
                rule([(gx, 0), (gx, H)], fill=major_ink if heavy else grid_ink,
                     width=2 if heavy else 1)
        rule([(lpx, 0), (lpx, H)], fill=major_ink, width=int(rng.integers(1, 4)))
        rule([(rpx, 0), (rpx, H)], fill=major_ink, width=int(rng.integers(1, 4)))

    # horizontal depth lines across the tracks
    first = math.ceil(d0 / minor_units) * minor_units
    dd = first
    font = _font(int(rng.integers(11, 18)))
    while (dd - d0) * ppu < H:
        r = (dd - d0) * ppu
        k = round(dd / minor_units)
        major = k % major_every == 0
        for lpx, rpx in track_px:
            rule([(lpx, r), (rpx, r)], fill=major_ink if major else grid_ink,
                 width=2 if major else 1)
        if major:
            d_img.text((depth_box[0] + 6, r - 7), f"{dd:g}", fill=int(rng.integers(0, 60)),
                       font=font)
        dd += minor_units

    if extras:
        img = _draw_extras(img, d_lab, rng=rng, track_px=track_px, depth_box=depth_box,
                           curves_meta=curves_meta, x_rows=x_rows, grid_ink=grid_ink,
                           paper=paper, bank=bank, ppu=ppu, span=span,
                           page_unit=depth_unit)
        d_img = ImageDraw.Draw(img)

    # draw curves: ink and labels; random order so crossings vary
    order = rng.permutation(len(curves_meta))
    lw_page = line_width
    if extras and lw_page is None and rng.random() < 0.3:  # thick pens / high-dpi scans
        lw_page = int(rng.integers(5, 13))
    for i in order:
        m = curves_meta[i]
        w = int(lw_page or rng.integers(1, 5))
        ink = int(rng.integers(0, 70))
        pts = np.stack([x_rows[m["mnemonic"]], rows], axis=1)
        if m["style"] == "dashed":
            dash, gap = rng.uniform(8, 30), rng.uniform(4, 14)
        else:
            dash, gap = rng.uniform(1.5, 3) * w, rng.uniform(3, 8) + w
        _draw_curve(d_img, d_lab, pts, width=w, ink=ink, cls=1 if m["style"] == "solid" else 2,
                    style=m["style"], dash=dash, gap=gap, phase=rng.uniform(0, dash + gap))

    image = _degrade(np.asarray(img, dtype=np.float32), rng=rng, tier=tier)
    labels = np.asarray(lab, dtype=np.uint8).copy()

    # --- layout and truth
    top = float(d0)
    bottom = top + (H - 1) / ppu
    n_grid = int(math.floor((bottom - top) / step + 1e-9)) + 1
    grid = np.round(top + step * np.arange(n_grid), 6)
    truth = []
    tracks = []
    for ti, (lpx, rpx) in enumerate(track_px):
        tcurves = []
        for m in curves_meta:
            if m["track"] != ti:
                continue
            src = m["src"]
            # depth of row r in page terms is top + r/ppu; the curve's own depth is
            # start + per_page * r/ppu (per_page: its depth units per page unit)
            g_src = m["start"] + m["per_page"] * (grid - top)
            vals = np.interp(g_src, src.top + src.step * np.arange(len(src.values)), src.values)
            lo_v, hi_v = sorted((m["left"], m["right"]))
            vals = np.clip(vals, lo_v, hi_v)  # ink is clipped at the track edges too
            truth.append((m["mnemonic"], m["unit"], vals))
            tcurves.append(dict(mnemonic=m["mnemonic"], unit=m["unit"], left=m["left"],
                                right=m["right"], scale=m["scale"], style=m["style"]))
        tracks.append(dict(left_px=lpx, right_px=rpx, curves=tcurves))
    layout = dict(
        orientation="depth-down",
        depth=dict(top=top, bottom=round(bottom, 6), top_row=0, bottom_row=H - 1,
                   unit=depth_unit, step=step),
        well=dict(WELL="SYNTHETIC", COMP="logdigit render"),
        tracks=tracks,
    )
    return RenderedPage(image=image, labels=labels, layout=layout, grid=grid, truth=truth,
                        x_rows=x_rows, rules=np.asarray(rul, dtype=bool),
                        sources={m["mnemonic"]: m["src"] for m in curves_meta})


_HEADER_WORDS = ("GR", "SP", "ILD", "SFL", "RHOB", "NPHI", "DT", "CALI", "GAPI", "MV",
                 "OHMM", "G/CC", "0", "150", "-80", "20", "0.2", "2000", "1.95", "2.95",
                 "REPEAT SECTION", "MAIN PASS", "SCALE", "LINEAR", "LOG")


def _draw_extras(img: Image.Image, d_lab: ImageDraw.ImageDraw, *, rng, track_px, depth_box,
                 curves_meta, x_rows, grid_ink, paper, bank, ppu, span,
                 page_unit: str = "FT") -> Image.Image:
    """Shading fills, text blocks and a distractor curve (see :func:`render_page`).

    Everything here is drawn before the target curves, so their ink lies on top. Fills and
    text are background in the labels; the distractor curve is curve ink (labelled with
    its style) in the depth track, outside every track of the layout.
    """
    a = np.asarray(img, dtype=np.float32).copy()
    H, W = a.shape
    rows = np.arange(H)
    cols = np.arange(W)[None, :]
    for ti, (lpx, rpx) in enumerate(track_px):
        if rng.random() < 0.4:  # shade between the track's first curve and an edge
            m = next(m for m in curves_meta if m["track"] == ti)
            x = x_rows[m["mnemonic"]][:, None]
            to_left = rng.random() < 0.5
            inside = ((cols >= lpx) & (cols < x)) if to_left else ((cols > x) & (cols <= rpx))
            if rng.random() < 0.5:  # flat tone
                tone = float(rng.uniform(25, 70))
                a = np.where(inside, np.maximum(a - tone, 0), a)
            else:  # hatching
                period = int(rng.integers(6, 16))
                diag = ((cols + rows[:, None] * (1 if rng.random() < 0.5 else -1)) % period) == 0
                a = np.where(inside & diag, np.minimum(a, grid_ink), a)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    d_img = ImageDraw.Draw(img)
    font = _font(int(rng.integers(11, 22)))
    for _ in range(int(rng.integers(0, 4))):  # text blocks over the grid, inside tracks
        lpx, rpx = track_px[int(rng.integers(len(track_px)))]
        bw = int(min(rpx - lpx - 4, rng.integers(60, 240)))
        bh = int(rng.integers(20, 70))
        if bw < 20 or H <= bh + 2:
            continue
        x0 = int(rng.integers(lpx + 2, rpx - bw + 1))
        y0 = int(rng.integers(0, H - bh))
        if rng.random() < 0.6:
            d_img.rectangle([x0, y0, x0 + bw, y0 + bh], fill=paper, outline=grid_ink)
        for k in range(int(rng.integers(1, 4))):
            words = " ".join(rng.choice(_HEADER_WORDS, size=int(rng.integers(1, 4))))
            d_img.text((x0 + 4, y0 + 3 + 16 * k), words, fill=int(rng.integers(0, 80)),
                       font=font)
    if rng.random() < 0.5 and depth_box[1] - depth_box[0] > 20:  # distractor curve
        src, start = bank.pick(rng, span, page_unit=page_unit)
        v = np.interp(start + depth_scale(src.depth_unit, page_unit) * rows / ppu,
                      src.top + src.step * np.arange(len(src.values)), src.values)
        lo, hi = np.percentile(v, [1, 99])
        f = (v - lo) / max(hi - lo, 1e-9)
        xd = depth_box[0] + 4 + np.clip(f, 0, 1) * (depth_box[1] - depth_box[0] - 8)
        style = "solid" if rng.random() < 0.5 else "dashed"
        w = int(rng.integers(1, 4))
        _draw_curve(d_img, d_lab, np.stack([xd, rows.astype(float)], axis=1), width=w,
                    ink=int(rng.integers(0, 70)), cls=1 if style == "solid" else 2,
                    style=style, dash=rng.uniform(8, 30), gap=rng.uniform(4, 14),
                    phase=0.0)
    return img


def _degrade(a: np.ndarray, *, rng: np.random.Generator, tier: str) -> np.ndarray:
    """Paper and scanner effects on a float image (0 ink .. 255 paper) -> uint8."""
    H, W = a.shape
    if tier == "clean":
        return np.clip(a, 0, 255).astype(np.uint8)
    strength = 1.0 if tier == "scanned" else 2.0
    # uneven illumination
    gy = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    gx = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    tilt = gx * rng.uniform(-1, 1) + gy * rng.uniform(-1, 1)
    a = a * (1 - 0.08 * strength * rng.random() * tilt)
    # stains / smudges
    for _ in range(int(rng.integers(0, 3 * strength + 1))):
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        r = rng.uniform(10, 80)
        yy, xx = np.ogrid[:H, :W]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)).astype(np.float32)
        a = a - blob * rng.uniform(20, 90)
    # fold mark
    if rng.random() < 0.15 * strength:
        r0 = int(rng.integers(0, H))
        a[max(0, r0 - 2) : r0 + 2] -= rng.uniform(30, 90)
    if rng.random() < 0.5:
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9 * strength)))
        a = np.asarray(im, dtype=np.float32)
    a = a + rng.normal(0, rng.uniform(2, 8 * strength), a.shape).astype(np.float32)
    a = np.clip(a, 0, 255)
    p = rng.random()
    if p < 0.3 * strength:
        thr = rng.uniform(110, 180)
        if rng.random() < 0.3:  # ordered dither
            bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
            t = (bayer / 16.0 - 0.5) * 60
            a = a + np.tile(t, (H // 4 + 1, W // 4 + 1))[:H, :W]
        a = np.where(a > thr, 255.0, 0.0)
    elif p < 0.5:
        import io

        buf = io.BytesIO()
        Image.fromarray(a.astype(np.uint8)).save(buf, format="JPEG",
                                                 quality=int(rng.integers(30, 90)))
        a = np.asarray(Image.open(buf), dtype=np.float32)
    return np.clip(a, 0, 255).astype(np.uint8)
