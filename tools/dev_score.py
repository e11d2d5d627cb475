"""Score the pipeline on the development cases (rendered from ``las/train`` only).

Model and tracer choices are made on these cases, never on the held-out ones
(``make eval``). Three sets, 72 cases, 310 curves: ``pick`` (12 cases, seed 7), ``dev``
(30, seed 11) and ``dev13`` (30, seed 13), rendered by ``logdigit synth`` into
``OUT/<set>/`` when missing. Each set is evaluated with ``logdigit eval --no-masks
--json``; the R² of every curve is written to ``OUT/scores/<name>.json`` and summarised:
curves at R² ≥ 0.95 and ≥ 0.99, the mean R² clipped to 0..1 and the median. With
``--against OTHER`` the curves that moved by more than 0.005 against an earlier score
are listed (the case-to-case noise is large: judge a change by both counts)::

    .venv/bin/python tools/dev_score.py --name base
    .venv/bin/python tools/dev_score.py --name mine -m runs/candidate --against base

A change that holds on the dev sets is confirmed on 90 more cases from the training
curves (``--confirm``: sets ``confirm17``, ``confirm19``, ``confirm23``, 30 cases each),
on which nothing was chosen, before it is measured once on the held-out cases::

    .venv/bin/python tools/dev_score.py --confirm --name base-confirm
    .venv/bin/python tools/dev_score.py --confirm --name mine-confirm --against base-confirm

``--rough`` scores 30 cases (``rough29``) whose curves are picked from the training curves
with the rough ones (``logdigit.render.roughness`` >= 0.15) eight times as likely: the
curves most held-out failures are (model card, Session 37). ``--page-rough`` scores 30
cases (``grough31``) whose curves are rough as the page shows them: roughness measured
every 0.5 depth units rather than on a curve's own samples (Session 38).

Extra arguments after ``--`` go to ``logdigit eval`` (e.g. ``-- --no-flip-average``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

#: (set name, number of cases, seed), all rendered from the training curves.
SETS = (("pick", 12, 7), ("dev", 30, 11), ("dev13", 30, 13))
#: Sets for confirming a change chosen on ``SETS`` (``--confirm``), also from the training
#: curves: 90 cases no tracer or model choice was made on before session 37.
CONFIRM_SETS = (("confirm17", 30, 17), ("confirm19", 30, 19), ("confirm23", 30, 23))
#: Sets rich in rough curves (``--rough``), also from the training curves: synth picks
#: curves with ``render.roughness`` >= 0.15 this many times as often as the others.
ROUGH_SETS = (("rough29", 30, 29),)
ROUGH_WEIGHT = 8
#: Sets rich in curves rough *on the page* (``--page-rough``): a curve's roughness measured
#: on its values every PAGE_STEP (the pages' output step, 0.5 ft), so curves sampled every
#: 0.1 or 0.15 units whose detail the page shows as a scribble count (model card, Session
#: 38); picked ROUGH_WEIGHT times as often. Rendered in-process
#: (``CurveBank.favour_rough(..., step=PAGE_STEP)``; ``synth`` has no such option).
PAGE_ROUGH_SETS = (("grough31", 30, 31),)
PAGE_STEP = 0.5
#: A curve "moved" when its R² changed by more than this.
MOVED = 0.005


def per_curve(report: dict, set_name: str, field: str) -> dict[str, float | None]:
    """``{"set/case/MNEMONIC": curve[field]}`` from one ``logdigit eval --json`` report."""
    return {f"{set_name}/{case['case']}/{curve['mnemonic']}": curve.get(field)
            for case in report.get("cases", []) for curve in case.get("curves") or []}


def curve_scores(report: dict, set_name: str) -> dict[str, float | None]:
    """``{"set/case/MNEMONIC": r2}`` from one ``logdigit eval --json`` report."""
    return per_curve(report, set_name, "r2")


def curve_coverage(report: dict, set_name: str) -> dict[str, float | None]:
    """``{"set/case/MNEMONIC": coverage}`` (share of the truth's depths with a value)."""
    return per_curve(report, set_name, "coverage")


def passing(scores: dict[str, float | None], cover: dict[str, float | None], *,
            min_r2: float = 0.95, min_coverage: float = 0.9) -> int:
    """Curves reaching both ``min_r2`` and ``min_coverage`` (as ``logdigit check`` passes
    them): a curve left NULL where it was not seen must still be mostly there."""
    return sum(1 for k, v in scores.items() if v is not None and v >= min_r2
               and (cover.get(k) is not None and cover[k] >= min_coverage))


def summarise(scores: dict[str, float | None]) -> dict:
    """Counts at R² ≥ 0.95 and ≥ 0.99, mean R² clipped to 0..1 and median (a missing R²
    counts as 0)."""
    vals = sorted(0.0 if v is None else float(v) for v in scores.values())
    n = len(vals)
    clipped = [min(max(v, 0.0), 1.0) for v in vals]
    median = statistics.median(vals) if n else None
    return {"curves": n, "r2_ge_095": sum(v >= 0.95 for v in vals),
            "r2_ge_099": sum(v >= 0.99 for v in vals),
            "mean_clipped": sum(clipped) / n if n else None, "median": median}


def summary_line(name: str, scores: dict[str, float | None]) -> str:
    """One line of :func:`summarise`'s figures, headed ``name``."""
    s = summarise(scores)
    return (f"{name}: {s['r2_ge_095']}/{s['curves']} curves at R² >= 0.95, "
            f"{s['r2_ge_099']} at >= 0.99, mean clipped R² {s['mean_clipped']:.4f}, "
            f"median {s['median']:.4f}")


def moved(new: dict[str, float | None], old: dict[str, float | None], *,
          threshold: float = MOVED) -> list[tuple[str, float, float]]:
    """Curves in both scores whose R² changed by more than ``threshold``, as
    ``(key, old, new)`` sorted from the largest fall to the largest rise."""
    out = []
    for key in sorted(set(new) & set(old)):
        a = 0.0 if old[key] is None else float(old[key])
        b = 0.0 if new[key] is None else float(new[key])
        if abs(b - a) > threshold:
            out.append((key, a, b))
    return sorted(out, key=lambda t: t[2] - t[1])


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` as sorted, indented JSON, atomically (folders made)."""
    from logdigit.outputs import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))


def render_page_rough(las: Path, folder: Path, *, n: int, seed: int) -> None:
    """Render ``n`` cases into ``folder`` as ``logdigit synth --seed seed`` would, from the
    curves of ``las`` with those rough on the page (``PAGE_STEP``) ROUGH_WEIGHT times as
    likely."""
    from logdigit.render import load_bank
    from logdigit.synth import synth_cases

    bank = load_bank(las).favour_rough(ROUGH_WEIGHT, step=PAGE_STEP)
    synth_cases(bank, folder, n=n, seed=seed)


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True, help="name of this score (OUT/scores/NAME.json)")
    ap.add_argument("-m", "--model", default=None, help="model folder or name")
    ap.add_argument("--against", default=None, help="an earlier score's name to compare with")
    ap.add_argument("--shared", default="../shared/data", help="the shared data folder")
    ap.add_argument("--out", default="runs/devscore", help="cases and scores go here")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--confirm", action="store_true",
                       help="score the confirmation sets (CONFIRM_SETS) instead of the dev sets")
    which.add_argument("--rough", action="store_true",
                       help="score the sets rich in rough curves (ROUGH_SETS) instead")
    which.add_argument("--page-rough", action="store_true",
                       help="score the sets rich in curves rough on the page (PAGE_ROUGH_SETS)")
    args, extra = ap.parse_known_args(argv)

    extra = [a for a in extra if a != "--"]
    out = Path(args.out)
    las = Path(args.shared) / "las" / "train"
    exe = [sys.executable, "-m", "logdigit"]
    old_path = out / "scores" / f"{args.against}.json" if args.against else None
    if old_path is not None and not old_path.is_file():
        print(f"dev_score: {old_path}: no such score", file=sys.stderr)
        return 1
    scores: dict[str, float | None] = {}
    cover: dict[str, float | None] = {}
    sets = (CONFIRM_SETS if args.confirm else ROUGH_SETS if args.rough
            else PAGE_ROUGH_SETS if args.page_rough else SETS)
    more = ["--rough-weight", str(ROUGH_WEIGHT)] if args.rough else []
    for name, n, seed in sets:
        folder = out / name
        if not folder.is_dir() and args.page_rough:
            render_page_rough(las, folder, n=n, seed=seed)
        elif not folder.is_dir():
            done = _run([*exe, "synth", "--las-dir", str(las), "--out", str(folder),
                         "--n", str(n), "--seed", str(seed), "-q", *more])
            if done.returncode:
                print(f"dev_score: rendering {folder} failed: {done.stderr.strip()}",
                      file=sys.stderr)
                return 1
        cmd = [*exe, "eval", str(folder), "--no-masks", "--json", "-q", *extra]
        if args.model:
            cmd += ["-m", args.model]
        done = _run(cmd)
        if done.returncode:
            print(f"dev_score: eval of {folder} failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        report = json.loads(done.stdout)
        scores.update(curve_scores(report, name))
        cover.update(curve_coverage(report, name))
    write_json(out / "scores" / f"{args.name}.json", scores)
    write_json(out / "scores" / f"{args.name}.coverage.json", cover)
    print(summary_line(args.name, scores))
    low = sorted(k for k, c in cover.items() if c is None or c < 0.9)
    print(f"{passing(scores, cover)} curves also at coverage >= 0.9"
          + (f" ({len(low)} under it: {', '.join(low[:8])})" if low else ""))
    if old_path is not None:
        old = json.loads(old_path.read_text())
        changes = moved(scores, old)
        up = sum(b > a for _, a, b in changes)
        print(f"against {args.against}: {up} curves up, {len(changes) - up} down "
              f"by more than {MOVED}")
        for key, a, b in changes:
            print(f"  {key}: {a:.4f} -> {b:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
