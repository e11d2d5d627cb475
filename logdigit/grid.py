"""Find the printed grid's ruled lines in a track, so that traces do not follow them.

The segmenter sometimes gives curve probability to whole vertical rules (dark grids, track
edges), and the line-style check must not count a horizontal rule, dark across the whole
track, as the ink of a curve. Telling a rule from a curve by the probability map alone
fails for a curve that is itself nearly straight (a flat gamma ray or caliper), so the
rules are found in the scan's pixels, where they are unmistakable: a horizontal rule is
darker than the paper just above and below it across much of the track; a vertical rule
is darker than the columns beside it over the whole depth range, while even a flat curve
drifts by more than its width.

The first three take one track's window of the scan (at the working resolution) and
return a boolean mask; :func:`track_lattice` gives the columns where a track's rules
belong (ten parts of a linear track, the 1..9 rules of each decade of a log track), from
its edges alone (for rules a 1-bit scan kept only in places).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def rule_rows(pixels: np.ndarray, *, reach: int = 4, delta: float = 24.0,
              min_fraction: float = 0.4) -> np.ndarray:
    """Rows that carry a horizontal ruled line across the track.

    Parameters
    ----------
    pixels : (rows, cols) uint8
        Grey scan of one track, 0 = black ink, 255 = white paper.
    reach : int
        Rows above and below compared with (more than half the thickest rule, px).
    delta : float
        Grey levels a pixel must be darker than both rows ``reach`` away.
    min_fraction : float
        Share of the columns that must be so: dotted and dashed rules ink about half
        of them, while a curve's stroke crosses far fewer.

    Returns
    -------
    (rows,) bool
    """
    H, W = pixels.shape
    out = np.zeros(H, bool)
    if H <= 2 * reach or W == 0:
        return out
    need = int(np.ceil(min_fraction * W - 1e-9))  # columns, i.e. a share of min_fraction
    # on integer grey levels, mid + delta < x  <=>  mid + floor(delta) < x
    step = int(np.floor(delta))
    for r0 in range(reach, H - reach, 1024):  # in bands of rows: small temporaries
        r1 = min(H - reach, r0 + 1024)
        mid = pixels[r0:r1].astype(np.int16) + step
        darker = (mid < pixels[r0 - reach:r1 - reach]) & (mid < pixels[r0 + reach:r1 + reach])
        out[r0:r1] = np.count_nonzero(darker, axis=1) >= need
    return out


def rule_columns(pixels: np.ndarray, *, window: int = 512, delta: float = 16.0,
                 min_fraction: float = 0.7, min_windows: float = 0.8) -> np.ndarray:
    """Columns that carry a vertical ruled line over (nearly) the whole depth range.

    In each window of rows, a column is dark when its mean grey level is at least
    ``min_fraction * delta`` below the median of the 15 columns around it (a line
    ``delta`` darker than the paper on ``min_fraction`` of the rows, or more); it is a
    rule when that holds in at least ``min_windows`` of the windows. A curve crossing the
    column adds little to its mean, and a flat curve drifts off it within a few windows.

    Parameters
    ----------
    pixels : (rows, cols) uint8
        Grey scan of one track, 0 = black.
    window : int
        Rows per window.

    Returns
    -------
    (cols,) bool
    """
    H, W = pixels.shape
    if H == 0 or W == 0:
        return np.zeros(W, bool)
    n_win = max(1, H // window)
    edges = np.linspace(0, H, n_win + 1).astype(int)
    hits = np.zeros(W, np.int32)
    for r0, r1 in zip(edges[:-1], edges[1:], strict=True):
        profile = pixels[r0:r1].mean(axis=0)
        local = ndimage.median_filter(profile, size=15, mode="nearest")
        hits += profile <= local - min_fraction * delta
    return hits >= max(1, int(np.ceil(min_windows * n_win)))


def periodic_rules(lines: np.ndarray, *, tol: float = 2.0, min_period: float = 0.08,
                   min_pairs: float = 0.6, min_coherence: float = 0.9) -> np.ndarray:
    """Keep the vertical rules of an equally spaced grid; drop those at other places.

    A linear track's rules are equally spaced. A curve that runs straight down most of
    the log (a step-like log, a stuck tool) is found by :func:`rule_columns` too, but
    between the grid's rules, where it is then weakened as if it were one. Where the
    rules found form an equally spaced grid (the spacing that occurs most often between
    two rules joins at least ``min_pairs`` of the neighbouring pairs), a rule that is not
    a whole number of spacings from the others (within ``tol``) is not part of the grid
    and is dropped; rules missing in between (a faint minor rule) do not matter. The
    outermost rules are the track's edges and are always kept.
    Other grids (a log grid, a few rules found) are returned as they are.

    Parameters
    ----------
    lines : (cols,) bool
        Rule columns (:func:`rule_columns`); neighbouring columns form one rule.
    tol : float
        Slack (px) in the distances.
    min_period : float
        Shortest spacing considered, as a share of the distance from the first rule to
        the last (and at least 6 px).
    min_pairs : float
        Share of the ``n - 1`` neighbouring pairs of ``n`` rules that must be one
        spacing apart.
    min_coherence : float
        How well the rules one spacing from another must agree on the lattice's phase
        (mean resultant length of their phases, 1 = all on one lattice). A log grid's
        decades repeat too, but their rules sit at nine different phases.

    Returns
    -------
    (cols,) bool
        ``lines`` without the runs of the rules off the grid.
    """
    lines = np.asarray(lines, bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], lines.astype(np.int8), [0]])))
    starts, stops = edges[::2], edges[1::2]
    n = len(starts)
    if n < 4:
        return lines
    centres = 0.5 * (starts + stops - 1)
    diffs = np.abs(centres[:, None] - centres[None, :])
    pairs = diffs[np.triu_indices(n, 1)]
    shortest = max(6, int(np.ceil(min_period * (centres[-1] - centres[0]))))
    periods = np.arange(shortest, int(pairs.max()) + 1)
    if not len(periods):
        return lines
    counts = (np.abs(pairs[None, :] - periods[:, None]) <= tol).sum(axis=1)
    best = int(np.argmax(counts))  # ties: the shortest
    steps = np.diff(centres)  # neighbouring rules
    if np.sum(np.abs(steps - periods[best]) <= tol) < min_pairs * (n - 1):
        return lines
    # the spacing to a fraction of a pixel (a track's tenth is rarely a whole number),
    # then the lattice it makes: rules missing in between do not matter
    spacing = float(steps[np.abs(steps - periods[best]) <= tol].mean())
    on = (np.abs(diffs - spacing) <= tol).any(axis=1)
    turn = np.exp(2j * np.pi * centres[on] / spacing).mean()  # the lattice's phase
    if abs(turn) < min_coherence:
        return lines
    anchor = float(np.angle(turn)) / (2 * np.pi) * spacing
    off = (centres - anchor) / spacing
    regular = np.abs(off - np.round(off)) * spacing <= tol
    regular[[0, -1]] = True  # the outermost rules: the track's edges, whatever the grid
    out = lines.copy()
    for a, b, keep in zip(starts, stops, regular, strict=True):
        if not keep:
            out[a:b] = False
    return out


def rules_on_lattice(lines: np.ndarray, lattice: np.ndarray | None, *,
                     min_share: float = 0.6, lone: int = 2, far: float = 0.25) -> np.ndarray:
    """Drop the rules found off the layout's grid when the grid explains the others.

    :func:`periodic_rules` tells a flat curve from a linear grid's rules by the spacing
    alone; a log grid's rules are not equally spaced, so a curve that stays at one value
    over most of the log is found among them. The layout says where a track's rules
    belong (:func:`track_lattice`). When at least ``min_share`` of the rules found touch
    those places, the layout's grid is the scan's, and a rule that touches none of them
    is a curve: it is dropped. When fewer do (edges set loosely, a grid of another
    kind), the rules are returned as they are, but for one case: the scan shows no grid
    of its own (at most ``lone`` rules found, none touching the layout's places: a faded
    or dotted grid that :func:`rule_columns` cannot see) and a rule found lies far from
    every place (at least ``far`` of the spacing between the two places around it): a
    straight line there is a flat curve, not a rule the layout misplaced.

    Parameters
    ----------
    lines : (cols,) bool
        Rule columns; neighbouring columns form one rule.
    lattice : (cols,) bool or None
        Where the rules belong (:func:`track_lattice`); None: unknown.
    min_share : float
        Share of the rules that must touch the lattice.
    lone : int
        Most rules a scan without a visible grid of its own shows.
    far : float
        Distance from the nearest places, as a share of the spacing between the two
        places around a rule, at which a lone rule is a curve.

    Returns
    -------
    (cols,) bool
        ``lines`` itself, or a copy without the rules off the lattice.
    """
    lines = np.asarray(lines, bool)
    if lattice is None or not lines.any():
        return lines
    lattice = np.asarray(lattice, bool)
    if lattice.shape != lines.shape:
        raise ValueError(f"lattice has shape {lattice.shape}, lines {lines.shape}")
    from .calibrate import _runs

    runs = _runs(lines)
    touching = [bool(lattice[a:b].any()) for a, b in runs]
    if not any(touching) and len(runs) <= lone:
        places = np.array([0.5 * (a + b - 1) for a, b in _runs(lattice)])
        if len(places) < 2:
            return lines
        out = lines.copy()
        for a, b in runs:
            c = 0.5 * (a + b - 1)
            i = int(np.searchsorted(places, c))
            if 0 < i < len(places):  # between two places (not outside the track)
                lo, hi = places[i - 1], places[i]
                if min(c - lo, hi - c) >= far * (hi - lo):
                    out[a:b] = False
        return out
    if sum(touching) < min_share * len(runs) or all(touching):
        return lines
    out = lines.copy()
    for (a, b), on in zip(runs, touching, strict=True):
        if not on:
            out[a:b] = False
    return out


def track_lattice(n_cols: int, *, left: float, right: float, divisions: int = 10,
                  decades: int | None = None, reach: float = 2.0) -> np.ndarray:
    """Columns where a track's vertical rules belong, from its edges alone.

    A linear track is ruled in ``divisions`` equal parts (ten on the standard API grid);
    a logarithmic one in ``decades`` decades, each ruled at 1, 2, ..., 9 times its
    first value. On a 1-bit scan binarised under uneven light a minor rule survives only
    in places, so :func:`rule_columns`, which asks for a rule over the whole depth range,
    misses it; where such a rule does show, it is exactly at one of these places.

    Parameters
    ----------
    n_cols : int
        Width of the window (columns).
    left, right : float
        The track's edges in the window's columns (may lie outside it).
    divisions : int
        Equal parts between the edges of a linear track.
    decades : int, optional
        Decades between the edges of a logarithmic track (then ``divisions`` is unused).
    reach : float
        Columns either side of each rule's position (px) that count.

    Returns
    -------
    (n_cols,) bool
    """
    if decades is None:
        if divisions < 1:
            raise ValueError(f"divisions must be >= 1, got {divisions}")
        fractions = np.arange(divisions + 1) / divisions
    else:
        if decades < 1:
            raise ValueError(f"decades must be >= 1, got {decades}")
        steps = np.log10(np.arange(1, 10))
        fractions = np.append((np.arange(decades)[:, None] + steps).ravel() / decades, 1.0)
    out = np.zeros(int(n_cols), bool)
    for f in fractions:
        g = left + f * (right - left)
        lo, hi = max(0, int(np.floor(g - reach))), int(np.ceil(g + reach)) + 1
        if lo < hi:
            out[lo:hi] = True
    return out
