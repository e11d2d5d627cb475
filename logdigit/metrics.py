"""Scores for recovered curves and segmentation masks.

Curve metrics (:func:`r2`, :func:`rmse`, :func:`mae`, :func:`coverage`) compare two
arrays of the same shape point by point and ignore points where either is NaN (or inf).
:func:`compare_on_grid` brings two curves sampled at different depths onto common depths
first. :func:`mask_scores` scores one class of a label image.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MaskScores",
    "compare_on_grid",
    "coverage",
    "mae",
    "mask_scores",
    "r2",
    "rmse",
]

logger = logging.getLogger(__name__)


def _pair(pred: ArrayLike, ref: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape}")
    return p, r


def _both_finite(pred: ArrayLike, ref: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p, r = _pair(pred, ref)
    ok = np.isfinite(p) & np.isfinite(r)
    return p[ok], r[ok]


def r2(pred: ArrayLike, ref: ArrayLike) -> float:
    """Coefficient of determination of ``pred`` against ``ref``.

    Parameters
    ----------
    pred, ref : array_like, shape (...)
        Predicted and reference values, same shape and unit.

    Returns
    -------
    float
        ``1 - SS_res / SS_tot`` over the points where both are finite, with
        ``SS_res = sum((ref - pred)^2)`` and ``SS_tot = sum((ref - mean(ref))^2)``. May be
        negative. NaN if fewer than 3 such points or ``SS_tot == 0`` (constant reference).
    """
    p, r = _both_finite(pred, ref)
    if p.size < 3:
        return math.nan
    ss_tot = float(np.sum((r - r.mean()) ** 2))
    if ss_tot == 0.0:
        return math.nan
    ss_res = float(np.sum((r - p) ** 2))
    return 1.0 - ss_res / ss_tot


def rmse(pred: ArrayLike, ref: ArrayLike) -> float:
    """Root mean square error over points where both are finite (NaN if there are none).

    Parameters
    ----------
    pred, ref : array_like, shape (...)
        Same shape and unit.

    Returns
    -------
    float
        In the unit of the values.
    """
    p, r = _both_finite(pred, ref)
    if p.size == 0:
        return math.nan
    return float(np.sqrt(np.mean((p - r) ** 2)))


def mae(pred: ArrayLike, ref: ArrayLike) -> float:
    """Mean absolute error over points where both are finite (NaN if there are none).

    Parameters
    ----------
    pred, ref : array_like, shape (...)
        Same shape and unit.

    Returns
    -------
    float
        In the unit of the values.
    """
    p, r = _both_finite(pred, ref)
    if p.size == 0:
        return math.nan
    return float(np.mean(np.abs(p - r)))


def coverage(pred: ArrayLike, ref: ArrayLike) -> float:
    """Fraction of points with a finite ``ref`` that also have a finite ``pred``.

    Parameters
    ----------
    pred, ref : array_like, shape (...)
        Same shape.

    Returns
    -------
    float
        In [0, 1]; NaN if ``ref`` has no finite point.
    """
    p, r = _pair(pred, ref)
    has_ref = np.isfinite(r)
    n = int(has_ref.sum())
    if n == 0:
        return math.nan
    return float(np.isfinite(p[has_ref]).sum()) / n


@dataclass(frozen=True)
class MaskScores:
    """Overlap scores of one class of a predicted label image against the truth.

    Attributes
    ----------
    iou : float
        Intersection over union, ``TP / (TP + FP + FN)``.
    f1 : float
        Dice / F1 score, ``2 TP / (2 TP + FP + FN)``.
    precision : float
        ``TP / (TP + FP)``.
    recall : float
        ``TP / (TP + FN)``.
    """

    iou: float
    f1: float
    precision: float
    recall: float


def mask_scores(pred_labels: ArrayLike, true_labels: ArrayLike, *, cls: int) -> MaskScores:
    """Score class ``cls`` of a predicted label image.

    Parameters
    ----------
    pred_labels, true_labels : array_like of int, shape (H, W) (any shape, equal)
        Label images (e.g. 0 background, 1 solid curve, 2 dashed curve).
    cls : int
        The class to score.

    Returns
    -------
    MaskScores
        Never NaN. Empty classes are defined as follows: if the class is absent from both
        images every score is 1.0 (nothing to find, nothing wrongly found). If only one of
        them has it, the undefined ratio is 0.0: precision is 0.0 when nothing is
        predicted, recall is 0.0 when nothing is true, and IoU and F1 are 0.0.

    Raises
    ------
    ValueError
        The shapes differ.
    """
    pred = np.asarray(pred_labels)
    true = np.asarray(true_labels)
    if pred.shape != true.shape:
        raise ValueError(
            f"label images must have the same shape, got {pred.shape} and {true.shape}"
        )
    p = pred == cls
    t = true == cls
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return scores_from_counts(tp, fp, fn)


def scores_from_counts(tp: int, fp: int, fn: int) -> MaskScores:
    """IoU, F1, precision and recall from pixel counts (the conventions of
    :func:`mask_scores`: a class absent from both images scores 1.0, an undefined ratio
    otherwise 0.0; never NaN)."""
    if tp + fp + fn == 0:
        return MaskScores(iou=1.0, f1=1.0, precision=1.0, recall=1.0)
    return MaskScores(
        iou=tp / (tp + fp + fn),
        f1=2 * tp / (2 * tp + fp + fn),
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
    )


def _clean_source(depth: ArrayLike, values: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Finite, strictly increasing depths (sorted, first of repeats kept) with their values."""
    d = np.asarray(depth, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if d.ndim != 1 or v.shape != d.shape:
        raise ValueError(
            f"{name}: depth and values must be 1-D of the same length, got {d.shape} and {v.shape}"
        )
    ok = np.isfinite(d)
    d, v = d[ok], v[ok]
    order = np.argsort(d, kind="stable")
    d, v = d[order], v[order]
    keep = np.concatenate(([True], np.diff(d) > 0)) if d.size else np.zeros(0, bool)
    v = np.where(np.isfinite(v[keep]), v[keep], np.nan)
    return d[keep], v


def _interp_nan(d: np.ndarray, v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation at ``x`` (inside ``[d[0], d[-1]]``); NaN next to a NaN sample.

    A point equal to a sample depth takes that sample's value; a point between two
    samples is NaN if either of them is NaN.
    """
    if d.size == 1:
        return np.where(x == d[0], v[0], np.nan)
    i = np.clip(np.searchsorted(d, x, side="right") - 1, 0, d.size - 2)
    d0, d1 = d[i], d[i + 1]
    v0, v1 = v[i], v[i + 1]
    t = (x - d0) / (d1 - d0)
    out = v0 + t * (v1 - v0)  # NaN if v0 or v1 is NaN
    out = np.where(t == 0, v0, out)
    out = np.where(t == 1, v1, out)
    return out


def compare_on_grid(
    depth_a: ArrayLike,
    values_a: ArrayLike,
    depth_b: ArrayLike,
    values_b: ArrayLike,
    *,
    points: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bring two curves onto common depths over their overlapping depth interval.

    Parameters
    ----------
    depth_a, values_a : array_like, shape (n_a,)
        First curve (e.g. the recovered one); depths in any order, NaN values allowed.
    depth_b, values_b : array_like, shape (n_b,)
        Second curve (e.g. the reference), in the same depth unit.
    points : int or None
        None: use ``b``'s own depths inside the overlap. Otherwise that many evenly spaced
        depths from the start to the end of the overlap (``points >= 2``).

    Returns
    -------
    grid : numpy.ndarray, shape (m,)
        The common depths, increasing. Empty if the curves do not overlap.
    a, b : numpy.ndarray, shape (m,)
        Both curves linearly interpolated on ``grid``. NaN-aware: a grid point between
        two samples of which one is NaN is NaN (no bridging of gaps), and one on a sample
        takes that sample's value.

    Raises
    ------
    ValueError
        Mismatched shapes, or ``points < 2``.
    """
    da, va = _clean_source(depth_a, values_a, "a")
    db, vb = _clean_source(depth_b, values_b, "b")
    if points is not None and points < 2:
        raise ValueError(f"points must be >= 2 or None, got {points}")
    empty = np.zeros(0)
    if da.size == 0 or db.size == 0:
        return empty, empty.copy(), empty.copy()
    lo, hi = max(da[0], db[0]), min(da[-1], db[-1])
    if lo > hi:
        return empty, empty.copy(), empty.copy()
    if points is None:
        grid = db[(db >= lo) & (db <= hi)]
    elif lo == hi:
        grid = np.array([lo])
    else:
        grid = np.linspace(lo, hi, int(points))
    return grid.copy(), _interp_nan(da, va, grid), _interp_nan(db, vb, grid)
