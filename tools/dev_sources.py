"""Which bank curve every curve of some rendered cases was drawn from, and the pass rate
by the source's depth unit and sampling step.

The cases ``logdigit synth`` wrote with ``--seed`` from ``--las-dir`` are rendered again
(the same pages) and each page names the bank curve every target curve was drawn from; with
``--scores`` (a ``tools/dev_score.py`` score file, keys ``set/case/MNEMONIC``) the
curves at R² >= 0.95 are counted per (depth unit, step)::

    .venv/bin/python tools/dev_sources.py --las-dir ../shared/data/las/train \\
        --set confirm17:17 --set confirm19:19 --set confirm23:23 \\
        --scores runs/devscore/scores/base38-confirm.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def sources(bank, *, n: int, seed: int) -> dict[str, tuple[str, str, float]]:
    """``{"case/MNEMONIC": (source mnemonic, depth unit, step)}`` for the ``n`` cases
    :func:`logdigit.synth.render_cases` draws from ``bank`` with ``seed`` (each page's
    ``sources``)."""
    from logdigit.synth import render_cases

    return {f"{name}/{mnemonic}": (src.mnemonic, src.depth_unit, round(float(src.step), 4))
            for name, page in render_cases(bank, n=n, seed=seed)
            for mnemonic, src in page.sources.items()}


def pass_rates(srcs: dict[str, tuple], scores: dict[str, float | None], *,
               min_r2: float = 0.95) -> dict[tuple[str, float], tuple[int, int]]:
    """``{(depth unit, step): (curves at R² >= min_r2, curves)}`` over the keys of
    ``scores`` found in ``srcs`` (a missing R² counts as a failure)."""
    total, ok = Counter(), Counter()
    for key, r2 in scores.items():
        if key not in srcs:
            continue
        group = srcs[key][1:]
        total[group] += 1
        ok[group] += int(r2 is not None and r2 >= min_r2)
    return {g: (ok[g], total[g]) for g in sorted(total)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--las-dir", type=Path, required=True, help="synth's --las-dir")
    ap.add_argument("--set", action="append", required=True, metavar="NAME:SEED",
                    help="a set of 30 cases and the seed synth drew it with (repeatable)")
    ap.add_argument("--n", type=int, default=30, help="cases per set")
    ap.add_argument("--scores", type=Path, help="a dev_score score file to count passes in")
    args = ap.parse_args(argv)
    from logdigit.render import load_bank

    bank = load_bank(args.las_dir)
    srcs: dict[str, tuple] = {}
    for item in args.set:
        name, _, seed = item.partition(":")
        if not seed.isdigit():
            print(f"dev_sources: --set {item}: want NAME:SEED", file=sys.stderr)
            return 2
        srcs.update({f"{name}/{k}": v for k, v in
                     sources(bank, n=args.n, seed=int(seed)).items()})
    if args.scores is None:
        for key, (mnemonic, unit, step) in sorted(srcs.items()):
            print(f"{key}\t{mnemonic}\t{unit}\t{step:g}")
        return 0
    scores = json.loads(args.scores.read_text())
    for (unit, step), (ok, n) in pass_rates(srcs, scores).items():
        print(f"{unit} every {step:g}: {ok}/{n} curves at R² >= 0.95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
