"""The R² acceptance gate: compare recovered curves with reference curves.

Curves are matched by mnemonic (case-insensitive, plus explicit aliases), brought onto a
common depth grid over the overlapping interval (the reference's own depths, or ``points``
evenly spaced depths), NULLs honoured, and scored by R², RMSE, MAE and coverage. With
``max_shift`` the recovered curve may be shifted in depth by up to that much (in steps of
the reference's sampling) and the best R² is kept: for a scan and a LAS from different
logging passes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from .errors import LasReadError, UsageError
from .lasfile import LasData
from .metrics import compare_on_grid, coverage, mae, r2, rmse

logger = logging.getLogger(__name__)

FT_PER_M = 1 / 0.3048


@dataclass(frozen=True)
class CurveCheck:
    """The verdict for one curve."""

    mnemonic: str
    reference: str
    unit: str
    r2: float
    rmse: float
    mae: float
    coverage: float
    shift: float
    points: int
    passed: bool
    reason: str = ""

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("r2", "rmse", "mae", "coverage", "shift"):
            d[k] = None if not np.isfinite(d[k]) else round(float(d[k]), 6)
        return d


def parse_map(items: list[str] | None) -> dict[str, str]:
    """``["OUT=REF", ...]`` -> {OUT: REF} (upper-case)."""
    out = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise UsageError(f"--map {part}: expected OUT=REF")
            a, b = (s.strip().upper() for s in part.split("=", 1))
            if not a or not b:
                raise UsageError(f"--map {part}: expected OUT=REF")
            out[a] = b
    return out


def parse_depth_range(text: str | None) -> tuple[float, float] | None:
    """``"TOP:BOTTOM"`` -> (top, bottom)."""
    if not text:
        return None
    try:
        a, b = (float(s) for s in text.split(":"))
    except ValueError:
        raise UsageError(f"--depth-range {text}: expected TOP:BOTTOM, e.g. 1200:3800") from None
    if not (np.isfinite(a) and np.isfinite(b)) or a >= b:
        raise UsageError(f"--depth-range {text}: TOP must be less than BOTTOM")
    return a, b


def _depth_in(las: LasData, unit: str) -> np.ndarray:
    """The depths of ``las`` in ``unit`` (FT or M), converting when the units differ."""
    if las.depth_unit == unit or las.depth_unit not in ("FT", "M") or unit not in ("FT", "M"):
        return las.depth
    return las.depth * (FT_PER_M if unit == "FT" else 1 / FT_PER_M)


def check_curves(
    out: LasData,
    ref: LasData,
    *,
    curves: list[str] | None = None,
    mapping: dict[str, str] | None = None,
    min_r2: float = 0.95,
    min_coverage: float = 0.9,
    depth_range: tuple[float, float] | None = None,
    max_shift: float = 0.0,
    points: int | None = None,
) -> list[CurveCheck]:
    """Score every matched curve of ``out`` against ``ref``.

    Parameters
    ----------
    out, ref : LasData
        Recovered and reference LAS content. Depths of ``ref`` are converted to the unit of
        ``out`` when one is in feet and the other in metres.
    curves : list of str, optional
        Mnemonics of ``out`` to check; default: every curve of ``out`` found in ``ref``.
    mapping : dict, optional
        OUT mnemonic -> REF mnemonic aliases.
    min_r2, min_coverage : float
        A curve passes when both are reached.
    depth_range : (top, bottom), optional
        Compare only inside this interval (depth unit of ``out``).
    max_shift : float
        Largest depth shift of ``out`` tried (depth units); 0 = none.
    points : int, optional
        Compare on this many evenly spaced depths; default the reference's own depths.

    Raises
    ------
    UsageError
        A requested curve is in neither file.
    LasReadError
        No curve in common, or no depth overlap.
    """
    mapping = {k.upper(): v.upper() for k, v in (mapping or {}).items()}
    ref_depth = _depth_in(ref, out.depth_unit)
    names = [c.upper() for c in curves] if curves else list(out.curves)
    pairs = []
    for name in names:
        rname = mapping.get(name, name)
        if name not in out.curves:
            raise UsageError(f"{out.path}: has no curve {name} (it has "
                             f"{', '.join(out.curves) or 'none'})")
        if rname not in ref.curves:
            if curves:
                raise UsageError(f"{ref.path}: has no curve {rname} (it has "
                                 f"{', '.join(ref.curves) or 'none'}); use --map {name}=REF")
            continue
        pairs.append((name, rname))
    if not pairs:
        raise LasReadError(f"{ref.path}: no curve in common with {out.path} "
                           f"({', '.join(out.curves)} vs {', '.join(ref.curves)}); use --map")
    lo = max(out.depth[0], ref_depth[0])
    hi = min(out.depth[-1], ref_depth[-1])
    if depth_range:
        lo, hi = max(lo, depth_range[0]), min(hi, depth_range[1])
    if lo >= hi:
        raise LasReadError(
            f"{ref.path}: no depth overlap with {out.path} ({out.depth[0]:g}-{out.depth[-1]:g} "
            f"vs {ref_depth[0]:g}-{ref_depth[-1]:g} {out.depth_unit}"
            + (f", range {depth_range[0]:g}-{depth_range[1]:g}" if depth_range else "") + ")"
        )
    ref_step = float(np.median(np.diff(ref_depth))) if len(ref_depth) > 1 else 1.0
    shifts = [0.0]
    if max_shift > 0:
        n = int(np.floor(max_shift / ref_step + 1e-9))
        shifts = sorted({0.0, *(k * ref_step for k in range(-n, n + 1))}, key=abs)

    results = []
    for name, rname in pairs:
        ov, rv = out.curves[name].values, ref.curves[rname].values
        inside = (ref_depth >= lo) & (ref_depth <= hi)
        best = None
        for s in shifts:
            grid, a, b = compare_on_grid(out.depth + s, ov, ref_depth[inside], rv[inside],
                                         points=points)
            score = r2(a, b)
            key = score if np.isfinite(score) else -np.inf
            if best is None or key > best[0] + 1e-12:
                best = (key, s, grid, a, b)
        _, s, grid, a, b = best
        res = dict(r2=r2(a, b), rmse=rmse(a, b), mae=mae(a, b), coverage=coverage(a, b))
        reasons = []
        if not np.isfinite(res["r2"]):
            reasons.append("too few points or a constant reference")
        elif res["r2"] < min_r2:
            reasons.append(f"R² {res['r2']:.4f} < {min_r2}")
        if not res["coverage"] >= min_coverage:
            reasons.append(f"coverage {res['coverage']:.3f} < {min_coverage}")
        results.append(CurveCheck(mnemonic=name, reference=rname, unit=out.curves[name].unit,
                                  shift=s, points=int(np.isfinite(b).sum()),
                                  passed=not reasons, reason="; ".join(reasons), **res))
    return results


def format_table(results: list[CurveCheck]) -> str:
    """A plain-text table, one row per curve."""
    head = f"{'curve':<10} {'ref':<10} {'R²':>8} {'RMSE':>10} {'MAE':>10} {'unit':<6} " \
           f"{'cover':>6} {'shift':>7} {'points':>7}  verdict"
    lines = [head, "-" * len(head)]
    for c in results:
        verdict = "pass" if c.passed else f"FAIL ({c.reason})"
        lines.append(
            f"{c.mnemonic:<10} {c.reference:<10} {c.r2:>8.4f} {c.rmse:>10.4g} {c.mae:>10.4g} "
            f"{c.unit:<6} {100 * c.coverage:>5.1f}% {c.shift:>7.3g} {c.points:>7d}  {verdict}"
        )
    return "\n".join(lines)
