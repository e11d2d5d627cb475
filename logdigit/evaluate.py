"""Evaluate a model on synthetic cases: ``logdigit eval CASES_DIR``.

A *case* is a folder as written by :func:`logdigit.synth.write_case`::

    clean-0003/
        scan.tif      the page
        scan.toml     its layout
        truth.las     the true curves on the layout's depth grid
        labels.png    optional class mask: 0 background, 1 solid curve, 2 dashed/dotted curve

:func:`find_cases` finds every folder under a root holding ``truth.las``, or both
``scan.tif`` and ``scan.toml`` (a case with a missing member is reported as failed, not
skipped). The *tier* of a case is the prefix of its folder name before the first ``-``
when that is one of :data:`logdigit.render.TIERS` (``clean``, ``scanned``, ``hard``),
otherwise ``"unknown"``.

:func:`evaluate_case` runs the pipeline (:func:`logdigit.convert.convert_scan`, nothing
written) and scores it:

* **Curves**: the recovered curves are compared with ``truth.las`` exactly as
  ``logdigit check`` does (:func:`logdigit.check.check_curves`, on the truth's own depths,
  no depth shift): R², RMSE, MAE and coverage (fraction of the truth's depths that have
  a recovered value). ``min_r2``/``min_coverage`` only mark curves as passing in the
  report; nothing is gated.
* **Masks** (where ``labels.png`` exists): the whole page is segmented once more with
  :func:`logdigit.segment.segment_array` and every pixel gets the class of
  :func:`predicted_classes` (argmax of background, solid and dashed probability). Per
  class (1 solid, 2 dashed): true/false positive and false negative pixel counts, and
  from them IoU, F1, precision and recall (conventions of
  :func:`logdigit.metrics.mask_scores`).
* **Speed**: ``seconds`` is reading the scan plus :func:`convert_scan` (the pipeline
  without writing the LAS file; the extra segmentation for the mask scores is timed
  separately as ``mask_seconds``); ``MPix/s`` is the page's pixels over ``seconds``.

A case that fails (any :class:`~logdigit.errors.LogdigitError`: unreadable scan, invalid
layout, nothing traced, unreadable truth) is recorded with its error message; it never
stops the run.

:func:`aggregate` summarises the evaluated cases overall, per tier and, when they lie in
two or more sub-folders of the root (``s1/``, ``s2/``: cases rendered with two seeds),
per sub-folder ("set"): median R², share of
curves with R² >= ``min_r2`` (curves whose R² is undefined count as below), median
coverage, mask scores from the confusion counts *pooled* over the cases (each pixel
weighs the same, so a page with few curve pixels does not swing the mean; the mean of
the per-case scores is given too), and total seconds and MPix/s. Failed cases are counted
but contribute no curve, mask or time figures.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .check import CurveCheck, check_curves
from .errors import LogdigitError
from .lasfile import LasCurve, LasData, read_las
from .metrics import MaskScores, scores_from_counts
from .render import TIERS

__all__ = [
    "CLASS_NAMES",
    "INK",
    "MASK_CLASSES",
    "CaseResult",
    "ClassCounts",
    "EvalError",
    "aggregate",
    "case_name",
    "case_set",
    "case_tier",
    "evaluate_case",
    "evaluate_cases",
    "find_cases",
    "format_table",
    "overlay_name",
    "predicted_classes",
    "report",
    "to_markdown",
]

logger = logging.getLogger(__name__)

#: The scored segmentation classes.
CLASS_NAMES: dict[int, str] = {1: "solid", 2: "dashed"}
#: Mask scores reported: each curve class, and ``INK``: either curve class against the
#: background (the ink the tracer follows, whatever its predicted line style).
INK = -1
MASK_CLASSES: dict[int, str] = {**CLASS_NAMES, INK: "ink"}
#: Tier of a case whose folder name does not start with one of the known tiers.
UNKNOWN_TIER = "unknown"

_SCAN, _LAYOUT, _TRUTH, _LABELS = "scan.tif", "scan.toml", "truth.las", "labels.png"


class EvalError(LogdigitError):
    """No case to evaluate, or none could be evaluated (exit code 1)."""


# --------------------------------------------------------------------------- finding cases


def _is_case(names: set[str]) -> bool:
    return _TRUTH in names or {_SCAN, _LAYOUT} <= names


def find_cases(root: Path | str) -> list[Path]:
    """Every case folder under ``root`` (``root`` itself included), sorted by path.

    Parameters
    ----------
    root : Path or str
        Folder to search recursively. Hidden folders are skipped, and so are the
        subfolders of a case folder.

    Returns
    -------
    list of Path
        Folders holding ``truth.las``, or both ``scan.tif`` and ``scan.toml``. May be
        empty.

    Raises
    ------
    EvalError
        ``root`` does not exist or is not a folder.
    """
    root = Path(root)
    if not root.exists():
        raise EvalError(f"{root}: no such folder")
    if not root.is_dir():
        raise EvalError(f"{root}: is not a folder (expected a folder of case folders)")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if _is_case(set(filenames)):
            found.append(Path(dirpath))
            dirnames[:] = []
        else:
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def case_tier(folder: Path | str) -> str:
    """The tier of a case: its folder-name prefix before the first ``-`` if a known tier.

    Examples
    --------
    >>> case_tier("cases/hard-0002"), case_tier("cases/well-7"), case_tier("clean")
    ('hard', 'unknown', 'unknown')
    """
    name = Path(folder).name
    prefix, dash, _ = name.partition("-")
    return prefix if dash and prefix in TIERS else UNKNOWN_TIER


def case_name(folder: Path | str, root: Path | str | None = None) -> str:
    """A case's name: its path relative to ``root`` (POSIX separators), else its folder
    name (also when ``folder`` is ``root`` itself)."""
    folder = Path(folder)
    name = folder.relative_to(root).as_posix() if root is not None else folder.name
    return folder.resolve().name if name in ("", ".") else name


def overlay_name(case: str) -> str:
    """File name of a case's QC overlay: its relative path with ``/`` as ``__``, ``.png``."""
    return case.replace("/", "__").replace("\\", "__") + ".png"


# --------------------------------------------------------------------------- masks


@dataclass(frozen=True)
class ClassCounts:
    """Pixel counts of one class of a predicted label image against the truth.

    Attributes
    ----------
    tp, fp, fn : int
        True positives, false positives and false negatives, in pixels.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: ClassCounts) -> ClassCounts:
        return ClassCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @classmethod
    def of(cls, pred: np.ndarray, true: np.ndarray, *, cls_id: int) -> ClassCounts:
        """Count class ``cls_id`` (:data:`INK`: any curve class) in two label images of the
        same shape."""
        p = pred > 0 if cls_id == INK else pred == cls_id
        t = true > 0 if cls_id == INK else true == cls_id
        tp = int(np.count_nonzero(p & t))
        return cls(tp=tp, fp=int(np.count_nonzero(p)) - tp, fn=int(np.count_nonzero(t)) - tp)

    def scores(self) -> MaskScores:
        """IoU, F1, precision and recall (see :func:`logdigit.metrics.scores_from_counts`)."""
        return scores_from_counts(self.tp, self.fp, self.fn)

    def as_dict(self) -> dict:
        s = self.scores()
        return {"iou": round(s.iou, 6), "f1": round(s.f1, 6), "precision": round(s.precision, 6),
                "recall": round(s.recall, 6), "tp": self.tp, "fp": self.fp, "fn": self.fn}


def predicted_classes(probs: np.ndarray) -> np.ndarray:
    """The predicted class of every pixel from :func:`~logdigit.segment.segment_array` output.

    Parameters
    ----------
    probs : numpy.ndarray of uint8, shape (2, rows, cols)
        Probabilities (0..255) of class 1 (solid) and class 2 (dashed).

    Returns
    -------
    numpy.ndarray of uint8, shape (rows, cols)
        The argmax over (background, solid, dashed), with the background probability
        ``clip(255 - p1 - p2, 0, 255)``; ties go to the lower class (background before
        solid before dashed). A class with probability >= 128 (> 0.5) always wins; below
        that, the largest of the three wins.
    """
    p1 = probs[0].astype(np.int16)
    p2 = probs[1].astype(np.int16)
    bg = np.clip(255 - p1 - p2, 0, 255)
    out = np.zeros(p1.shape, np.uint8)
    out[(p1 > bg) & (p1 >= p2)] = 1
    out[(p2 > bg) & (p2 > p1)] = 2
    return out


def _read_labels(path: Path, shape: tuple[int, int], *, transposed: bool) -> np.ndarray:
    """The class mask in the working orientation; ValueError with a reason if unusable."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            labels = np.asarray(img)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"{path}: cannot read the label mask ({exc})") from None
    if labels.ndim != 2:
        raise ValueError(f"{path}: not a single-channel class mask (shape {labels.shape})")
    if transposed:
        labels = labels.T
    if labels.shape != shape:
        raise ValueError(f"{path}: label mask is {labels.shape[0]} x {labels.shape[1]} px, "
                         f"the scan {shape[0]} x {shape[1]} (rows x cols)")
    return labels


# --------------------------------------------------------------------------- one case


def _median(values) -> float:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    return float(np.median(v)) if v.size else math.nan


def _num(x: float | None, digits: int = 6) -> float | None:
    """A JSON-ready number: None for NaN/inf/None."""
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


@dataclass
class CaseResult:
    """The evaluation of one case.

    Attributes
    ----------
    name : str
        The folder relative to the evaluated root (POSIX separators).
    folder : Path
        The case folder.
    tier : str
        ``clean``, ``scanned``, ``hard`` or ``unknown``.
    error : str or None
        Why the case failed; None when it was evaluated.
    curves : list of CurveCheck
        One per recovered curve found in the truth (see :func:`logdigit.check.check_curves`).
    mask : dict of int to ClassCounts, or None
        Pixel counts per scored class; None without a (usable) ``labels.png``.
    shape : (rows, cols) or None
        Size of the working image.
    seconds : float
        Reading the scan plus the pipeline (segment, trace, resample).
    stage_seconds : dict
        ``read``, ``segment``, ``trace``, ``resample``.
    mask_seconds : float
        The extra whole-page segmentation for the mask scores.
    warnings : list of str
        Non-fatal problems (layout warnings, unusable label mask, overlay not written).
    overlay : Path or None
        The QC overlay written for this case.
    """

    name: str
    folder: Path
    tier: str
    error: str | None = None
    curves: list[CurveCheck] = field(default_factory=list)
    mask: dict[int, ClassCounts] | None = None
    shape: tuple[int, int] | None = None
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    mask_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    overlay: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether the case was evaluated."""
        return self.error is None

    @property
    def mpix(self) -> float:
        """Megapixels of the working image (0 if unknown)."""
        return self.shape[0] * self.shape[1] / 1e6 if self.shape else 0.0

    @property
    def mpix_per_s(self) -> float:
        """Pipeline throughput; NaN when not evaluated."""
        return self.mpix / self.seconds if self.ok and self.seconds > 0 else math.nan

    @property
    def r2_median(self) -> float:
        """Median of the defined R² values of the curves (NaN if none)."""
        return _median(c.r2 for c in self.curves)

    @property
    def r2_min(self) -> float:
        """Smallest defined R² (NaN if none is defined)."""
        v = [c.r2 for c in self.curves if np.isfinite(c.r2)]
        return float(min(v)) if v else math.nan

    @property
    def coverage_median(self) -> float:
        """Median coverage of the curves (NaN if none)."""
        return _median(c.coverage for c in self.curves)

    def as_dict(self) -> dict:
        """JSON-ready content."""
        return {
            "case": self.name,
            "path": str(self.folder),
            "tier": self.tier,
            "status": "ok" if self.ok else "failed",
            "error": self.error,
            "rows": self.shape[0] if self.shape else None,
            "cols": self.shape[1] if self.shape else None,
            "mpix": _num(self.mpix),
            "seconds": _num(self.seconds, 4),
            "mpix_per_s": _num(self.mpix_per_s, 4),
            "stage_seconds": {k: _num(v, 4) for k, v in self.stage_seconds.items()},
            "mask_seconds": _num(self.mask_seconds, 4),
            "r2_median": _num(self.r2_median),
            "coverage_median": _num(self.coverage_median),
            "curves": [c.as_dict() for c in self.curves],
            "mask": None if self.mask is None else {
                MASK_CLASSES[k]: self.mask[k].as_dict() for k in MASK_CLASSES
                if k in self.mask},
            "warnings": list(self.warnings),
            "overlay": str(self.overlay) if self.overlay else None,
        }


def evaluate_case(
    folder: Path | str,
    *,
    model,
    config: dict,
    device="cpu",
    root: Path | str | None = None,
    min_r2: float = 0.95,
    min_coverage: float = 0.9,
    masks: bool = True,
    overlay: Path | str | None = None,
    overwrite: bool = False,
    batch_size: int | None = None,
) -> CaseResult:
    """Run the pipeline on one case folder and score it (see the module docstring).

    Parameters
    ----------
    folder : Path or str
        The case folder.
    model, config :
        From :func:`logdigit.network.load_network` (loaded once for all cases).
    device : torch device or str
        Where the model runs.
    root : Path or str, optional
        The evaluated root; the case is named by its path relative to it (default: the
        folder name).
    min_r2, min_coverage : float
        Mark a curve as passing in the report (no gate).
    masks : bool
        Score the label mask when ``labels.png`` exists (costs a second segmentation).
    overlay : Path or str, optional
        Write a QC overlay PNG there (:func:`logdigit.overlay.write_overlay`).
    overwrite : bool
        Replace an existing overlay.
    batch_size : int, optional
        Tiles per forward pass (default: :func:`logdigit.segment.default_batch_size`).

    Returns
    -------
    CaseResult
        With ``error`` set when the case failed: a
        :class:`~logdigit.errors.LogdigitError` is recorded, never raised.
    """
    folder = Path(folder)
    name = case_name(folder, root)
    res = CaseResult(name=name, folder=folder, tier=case_tier(folder.resolve()))
    try:
        _run_case(res, model=model, config=config, device=device, min_r2=min_r2,
                  min_coverage=min_coverage, masks=masks, overlay=overlay,
                  overwrite=overwrite, batch_size=batch_size)
    except LogdigitError as exc:
        res.error = " ".join(str(exc).split()) or type(exc).__name__
        res.curves, res.mask = [], None
        logger.warning("%s: failed: %s", name, res.error)
    return res


def _run_case(res: CaseResult, *, model, config, device, min_r2, min_coverage, masks,
              overlay, overwrite, batch_size) -> None:
    from .convert import convert_scan
    from .errors import ScanError
    from .layout import load_layout
    from .scanio import read_scan

    folder = res.folder
    missing = [n for n in (_SCAN, _LAYOUT, _TRUTH) if not (folder / n).is_file()]
    if missing:
        raise EvalError(f"{folder}: incomplete case, missing {', '.join(missing)}")
    layout = load_layout(folder / _LAYOUT)
    res.warnings.extend(layout.warnings)
    truth = read_las(folder / _TRUTH)

    t0 = time.perf_counter()
    try:
        scan = read_scan(folder / _SCAN, orientation=layout.orientation)
    except ValueError as exc:  # bad arguments can only come from the case's files
        raise ScanError(f"{folder / _SCAN}: {exc}") from None
    t_read = time.perf_counter() - t0
    result = convert_scan(scan, layout, model=model, config=config, device=device,
                          batch_size=batch_size)
    res.seconds = time.perf_counter() - t0
    res.stage_seconds = {"read": t_read, **result.seconds}
    res.shape = scan.shape

    recovered = LasData(
        path=folder / _SCAN, depth=result.grid, depth_unit=result.depth_unit,
        curves={c.curve.mnemonic.upper(): LasCurve(c.curve.mnemonic.upper(), c.curve.unit,
                                                   c.values) for c in result.curves})
    res.curves = check_curves(recovered, truth, min_r2=min_r2, min_coverage=min_coverage)

    labels_path = folder / _LABELS
    if masks and labels_path.is_file():
        try:
            labels = _read_labels(labels_path, scan.shape, transposed=scan.transposed)
        except ValueError as exc:
            res.warnings.append(str(exc))
            logger.warning("%s", exc)
        else:
            from .segment import segment_array

            t = time.perf_counter()
            probs = segment_array(scan.pixels, model=model, config=config, device=device,
                                  batch_size=batch_size)
            pred = predicted_classes(probs)
            res.mask = {k: ClassCounts.of(pred, labels, cls_id=k) for k in MASK_CLASSES}
            res.mask_seconds = time.perf_counter() - t

    if overlay is not None:
        from .overlay import write_overlay

        try:
            write_overlay(Path(overlay), scan.pixels, result, overwrite=overwrite)
            res.overlay = Path(overlay)
        except LogdigitError as exc:
            res.warnings.append(f"overlay not written: {exc}")
            logger.warning("%s: overlay not written: %s", res.name, exc)
    logger.info("%s: R² median %.4f, coverage median %.3f, %.2f s", res.name, res.r2_median,
                res.coverage_median, res.seconds)


def _warm_up(*, model, config: dict, device) -> None:
    from .segment import segment_array
    from .trace import trace_curve

    t = time.perf_counter()
    segment_array(np.full((64, 64), 255, np.uint8), model=model, config=config, device=device)
    line = np.zeros((64, 16), np.uint8)
    line[:, 8] = 255
    trace_curve(line)
    logger.debug("warm-up: %.2f s", time.perf_counter() - t)


def evaluate_cases(
    folders: list[Path],
    *,
    model,
    config: dict,
    device="cpu",
    root: Path | str | None = None,
    min_r2: float = 0.95,
    min_coverage: float = 0.9,
    masks: bool = True,
    overlays: Path | str | None = None,
    overwrite: bool = False,
    warm_up: bool = True,
    on_case=None,
) -> list[CaseResult]:
    """:func:`evaluate_case` on each folder, in order.

    Parameters
    ----------
    overlays : Path or str, optional
        Folder for one QC overlay PNG per case, named by :func:`overlay_name`.
    warm_up : bool
        First run the model and the tracer once on a small blank image, so that one-off
        costs (JIT compilation, first-call allocations) are not charged to the first case.
    on_case : callable, optional
        Called with each :class:`CaseResult` when it is done (progress display).

    Other parameters are those of :func:`evaluate_case`.
    """
    if warm_up and folders:
        _warm_up(model=model, config=config, device=device)
    results = []
    for folder in folders:
        ov = (Path(overlays) / overlay_name(case_name(folder, root))
              if overlays is not None else None)
        res = evaluate_case(folder, model=model, config=config, device=device, root=root,
                            min_r2=min_r2, min_coverage=min_coverage, masks=masks, overlay=ov,
                            overwrite=overwrite)
        results.append(res)
        if on_case is not None:
            on_case(res)
    return results


# --------------------------------------------------------------------------- aggregates


def _group(results: list[CaseResult], *, min_r2: float) -> dict:
    ok = [r for r in results if r.ok]
    curves = [c for r in ok for c in r.curves]
    r2s = [c.r2 for c in curves]
    n_r2_ok = sum(1 for x in r2s if np.isfinite(x) and x >= min_r2)
    seconds = float(sum(r.seconds for r in ok))
    mpix = float(sum(r.mpix for r in ok))
    with_mask = [r for r in ok if r.mask is not None]
    mask = None
    if with_mask:
        pooled, mean = {}, {}
        for k, cname in MASK_CLASSES.items():
            if not all(k in r.mask for r in with_mask):
                continue
            total = sum((r.mask[k] for r in with_mask), ClassCounts())
            pooled[cname] = total.as_dict()
            per_case = [r.mask[k].scores() for r in with_mask]
            mean[cname] = {m: round(float(np.mean([getattr(s, m) for s in per_case])), 6)
                           for m in ("iou", "f1", "precision", "recall")}
        mask = {"cases": len(with_mask), "pooled": pooled, "mean_over_cases": mean}
    return {
        "cases": len(results),
        "evaluated": len(ok),
        "failed": len(results) - len(ok),
        "curves": len(curves),
        "r2_median": _num(_median(r2s)),
        "r2_ok": n_r2_ok,
        "r2_ok_share": _num(n_r2_ok / len(curves)) if curves else None,
        "passed": sum(1 for c in curves if c.passed),
        "coverage_median": _num(_median(c.coverage for c in curves)),
        "rmse_median": _num(_median(c.rmse for c in curves)),
        "mask": mask,
        "seconds": _num(seconds, 4),
        "mpix": _num(mpix),
        "mpix_per_s": _num(mpix / seconds, 4) if seconds > 0 else None,
    }


def case_set(name: str) -> str:
    """The set a case belongs to: the folder its name lies in, relative to the cases'
    root ("" for a case directly under it).

    >>> case_set("s2/hard-0005"), case_set("hard-0005")
    ('s2', '')
    """
    return name.rpartition("/")[0]


def aggregate(results: list[CaseResult], *, min_r2: float = 0.95) -> dict:
    """Summaries overall, per tier and, for cases in two or more sub-folders, per set
    (see the module docstring for the definitions).

    Parameters
    ----------
    results : list of CaseResult
    min_r2 : float
        Threshold of ``r2_ok`` (curves with R² >= ``min_r2``) and ``r2_ok_share``.

    Returns
    -------
    dict
        ``{"overall": GROUP, "tiers": {tier: GROUP, ...}}``, tiers in the order clean,
        scanned, hard, unknown (only those present); where the cases lie in two or more
        folders under the root (:func:`case_set` of their names, e.g. ``s1`` and ``s2``:
        cases rendered with two seeds), also ``"sets": {set: GROUP, ...}`` in name
        order (``""`` for cases directly under the root). A GROUP has ``cases``,
        ``evaluated``, ``failed``, ``curves``, ``r2_median``, ``r2_ok``, ``r2_ok_share``,
        ``passed`` (curves reaching both ``min_r2`` and ``min_coverage``),
        ``coverage_median``, ``rmse_median`` (mixes units; for orientation only),
        ``mask`` (None without label masks, else ``cases``, ``pooled`` and
        ``mean_over_cases`` scores per class name), ``seconds``, ``mpix`` and
        ``mpix_per_s``. Undefined numbers are None.
    """
    order = [*TIERS, UNKNOWN_TIER]
    tiers = sorted({r.tier for r in results}, key=lambda t: (order.index(t)
                                                             if t in order else len(order), t))
    out = {
        "overall": _group(results, min_r2=min_r2),
        "tiers": {t: _group([r for r in results if r.tier == t], min_r2=min_r2)
                  for t in tiers},
    }
    sets = sorted({case_set(r.name) for r in results})
    if len(sets) > 1:
        out["sets"] = {name: _group([r for r in results if case_set(r.name) == name],
                                    min_r2=min_r2) for name in sets}
    return out


def report(results: list[CaseResult], summary: dict, *, meta: dict | None = None) -> dict:
    """Everything as one JSON-ready object: ``meta``, ``summary`` and ``cases``."""
    return {"logdigit": __version__, **(meta or {}), "summary": summary,
            "cases": [r.as_dict() for r in results]}


# --------------------------------------------------------------------------- formatting


def _f(x, fmt: str, width: int) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return f"{'-':>{width}}"
    return f"{x:>{width}{fmt}}"


def _r2(x, width: int = 8) -> str:
    """R² in ``width`` (>= 8) characters: 4 decimals, fewer digits when very negative."""
    if x is None or not np.isfinite(x):
        return f"{'-':>{width}}"
    fmt = ".4f" if x > -10 else ".4g" if x > -1e4 else ".1e"
    return f"{x:>{width}{fmt}}"


def _pct(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b}"


def _case_iou(r: CaseResult, k: int) -> float | None:
    return r.mask[k].scores().iou if r.mask is not None else None


def _group_iou(g: dict, k: int) -> float | None:
    return g["mask"]["pooled"][CLASS_NAMES[k]]["iou"] if g["mask"] else None


def format_table(results: list[CaseResult], summary: dict, *, min_r2: float = 0.95) -> str:
    """A plain-text report: one row per case, then one per tier and one overall; then the
    pooled mask scores per tier and class.

    Columns: curves (R² >= ``min_r2`` of all), median and smallest R², median coverage,
    IoU of the solid and dashed class, seconds and MPix/s. Failed cases show their error.
    """
    sets = summary.get("sets", {})
    w = max([len("overall"), *(len(r.name) for r in results),
             *(len(f"tier {t}") for t in summary["tiers"]),
             *(len(f"set {name or '.'}") for name in sets)])
    head = (f"{'case':<{w}} {'tier':<8} {'curves':>7} {'R² med':>8} {'R² min':>8} "
            f"{'cover':>7} {'IoU sol':>8} {'IoU dash':>8} {'seconds':>8} {'MPix/s':>7}  status")
    lines = [head, "-" * len(head)]
    for r in results:
        if not r.ok:
            lines.append(f"{r.name:<{w}} {r.tier:<8} {'':>7} {'':>8} {'':>8} {'':>7} {'':>8} "
                         f"{'':>8} {'':>8} {'':>7}  FAILED: {r.error}")
            continue
        n_ok = sum(1 for c in r.curves if np.isfinite(c.r2) and c.r2 >= min_r2)
        lines.append(
            f"{r.name:<{w}} {r.tier:<8} {_ratio(n_ok, len(r.curves)):>7} "
            f"{_r2(r.r2_median)} {_r2(r.r2_min)} "
            f"{_pct(r.coverage_median):>7} {_f(_case_iou(r, 1), '.3f', 8)} "
            f"{_f(_case_iou(r, 2), '.3f', 8)} {_f(r.seconds, '.2f', 8)} "
            f"{_f(r.mpix_per_s, '.3f', 7)}  ok" + (f" ({len(r.warnings)} warnings)"
                                                   if r.warnings else ""))
    lines.append("-" * len(head))
    groups = [(f"tier {t}", g) for t, g in summary["tiers"].items()]
    groups += [(f"set {name or '.'}", g) for name, g in sets.items()]
    groups.append(("overall", summary["overall"]))
    for label, g in groups:
        status = f"{g['evaluated']}/{g['cases']} cases evaluated"
        if g["failed"]:
            status += f", {g['failed']} failed"
        lines.append(
            f"{label:<{w}} {'':<8} {_ratio(g['r2_ok'], g['curves']):>7} "
            f"{_r2(g['r2_median'])} {'':>8} {_pct(g['coverage_median']):>7} "
            f"{_f(_group_iou(g, 1), '.3f', 8)} {_f(_group_iou(g, 2), '.3f', 8)} "
            f"{_f(g['seconds'], '.2f', 8)} {_f(g['mpix_per_s'], '.3f', 7)}  {status}")
    mask_groups = [(label, g) for label, g in groups if g["mask"]]
    if mask_groups:
        lines += ["", "mask scores, pixel counts pooled over cases (predicted class = argmax)"]
        mh = (f"{'group':<{w}} {'class':<7} {'cases':>5} {'IoU':>6} {'F1':>6} "
              f"{'prec':>6} {'recall':>6} {'true px':>10}")
        lines += [mh, "-" * len(mh)]
        for label, g in mask_groups:
            for cname, s in g["mask"]["pooled"].items():
                lines.append(
                    f"{label:<{w}} {cname:<7} {g['mask']['cases']:>5} {s['iou']:>6.3f} "
                    f"{s['f1']:>6.3f} {s['precision']:>6.3f} {s['recall']:>6.3f} "
                    f"{s['tp'] + s['fn']:>10d}")
    return "\n".join(lines)


def _md(x, fmt: str) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return format(x, fmt)


def _md_pct(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def _md_text(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def to_markdown(results: list[CaseResult], summary: dict, *, meta: dict | None = None,
                min_r2: float = 0.95) -> str:
    """A markdown report for a model card: setup, summary per tier, mask scores, and
    (folded) per-case and per-curve tables.

    Parameters
    ----------
    meta : dict, optional
        ``model``, ``cases_dir``, ``device`` (shown when present).
    """
    meta = meta or {}
    ov = summary["overall"]
    out = ["## Evaluation", ""]
    setup = [f"logdigit {__version__}"]
    if meta.get("model"):
        setup.append(f"model `{meta['model']}`")
    if meta.get("cases_dir"):
        setup.append(f"cases `{meta['cases_dir']}`")
    if meta.get("device"):
        setup.append(f"device {meta['device']}")
    out.append(", ".join(setup) + ".")
    out.append("")
    out.append(
        f"{ov['evaluated']} of {ov['cases']} cases evaluated"
        + (f" ({ov['failed']} failed)" if ov["failed"] else "")
        + f"; {ov['curves']} curves compared with the true curves on the truth's depth grid "
        f"(R² and coverage as in `logdigit check`, no depth shift). Seconds: reading the scan "
        f"and running the pipeline (segment, trace, resample), no LAS written."
    )
    group = "tier / set" if summary.get("sets") else "tier"
    out += ["", f"| {group} | cases | curves | median R² | R² ≥ {min_r2:g} | median coverage "
                "| seconds | MPix/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [*summary["tiers"].items(),
            *((f"set `{name or '.'}`", g) for name, g in summary.get("sets", {}).items()),
            ("**overall**", ov)]
    for label, g in rows:
        cases = f"{g['evaluated']}/{g['cases']}"
        share = (f"{_md_pct(g['r2_ok_share'])} ({g['r2_ok']}/{g['curves']})"
                 if g["curves"] else "–")
        out.append(f"| {label} | {cases} | {g['curves']} | {_md(g['r2_median'], '.4f')} | "
                   f"{share} | {_md_pct(g['coverage_median'])} | {_md(g['seconds'], '.1f')} | "
                   f"{_md(g['mpix_per_s'], '.3f')} |")
    if any(g["mask"] for _, g in rows):
        out += ["", "Segmentation, per class, from pixel counts pooled over the cases with a "
                "label mask (predicted class: argmax of background, solid and dashed "
                "probability; `ink`: either curve class against the background, whatever "
                "the line style):", "",
                f"| {group} | class | cases | IoU | F1 | precision | recall |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for label, g in rows:
            if not g["mask"]:
                continue
            for cname, s in g["mask"]["pooled"].items():
                out.append(f"| {label} | {cname} | {g['mask']['cases']} | {s['iou']:.3f} | "
                           f"{s['f1']:.3f} | {s['precision']:.3f} | {s['recall']:.3f} |")
    out += ["", "<details><summary>Per case</summary>", "",
            f"| case | tier | curves R² ≥ {min_r2:g} | median R² | min R² | median coverage | "
            "IoU solid | IoU dashed | seconds | MPix/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if not r.ok:
            out.append(f"| {_md_text(r.name)} | {r.tier} | failed: {_md_text(r.error)} "
                       "| | | | | | | |")
            continue
        n_ok = sum(1 for c in r.curves if np.isfinite(c.r2) and c.r2 >= min_r2)
        out.append(f"| {_md_text(r.name)} | {r.tier} | {n_ok}/{len(r.curves)} | "
                   f"{_md(r.r2_median, '.4f')} | {_md(r.r2_min, '.4f')} | "
                   f"{_md_pct(r.coverage_median)} | {_md(_case_iou(r, 1), '.3f')} | "
                   f"{_md(_case_iou(r, 2), '.3f')} | {_md(r.seconds, '.2f')} | "
                   f"{_md(r.mpix_per_s, '.3f')} |")
    out += ["", "</details>", ""]
    curves = [(r, c) for r in results if r.ok for c in r.curves]
    if curves:
        out += ["<details><summary>Per curve</summary>", "",
                "| case | curve | R² | RMSE | MAE | unit | coverage | points |",
                "|---|---|---:|---:|---:|---|---:|---:|"]
        for r, c in curves:
            out.append(f"| {_md_text(r.name)} | {_md_text(c.mnemonic)} | {_md(c.r2, '.4f')} | "
                       f"{_md(c.rmse, '.4g')} | {_md(c.mae, '.4g')} | {_md_text(c.unit)} | "
                       f"{_md_pct(c.coverage)} | {c.points} |")
        out += ["", "</details>", ""]
    return "\n".join(out)
