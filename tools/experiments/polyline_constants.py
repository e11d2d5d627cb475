"""EXPERIMENT (session 38, not part of the pipeline): the polyline reader's constants on
compressed pages, with the label masks in place of the network.

Every development case (``runs/devscore``: the dev, confirmation and rough sets) whose
page has fewer than ``--max-rows`` image rows per output depth step is run through the
pipeline on its label mask (as ``tools/dev_oracle.py`` does), once with the shipped
constants of :mod:`logdigit.polyline` and once with each variant in :data:`VARIANTS`;
curves at R² >= 0.95 and curves moved by more than 0.005 are printed::

    .venv/bin/python tools/experiments/polyline_constants.py            # ~8 min

Nothing in ``logdigit`` imports it. See the model card, session 38.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

#: Sets searched for compressed pages.
SETS = ("pick", "dev", "dev13", "confirm17", "confirm19", "confirm23", "rough29", "grough31")
#: Variants of the module constants (and of the defaults bound from them).
VARIANTS = {
    "PEN_SPARE 1": {"PEN_SPARE": 1.0},
    "PEN_SPARE 3": {"PEN_SPARE": 3.0},
    "PEN_PERCENTILE 25": {"PEN_PERCENTILE": 25.0},
    "INK_COST 2": {"INK_COST": 2.0},
    "INK_COST 0.5": {"INK_COST": 0.5},
    "ROUGH_STEP 0 (every trace)": {"ROUGH_STEP": 0.0},
}


def rows_per_step(layout_path: Path) -> float:
    """Image rows per output depth step of a case's ``scan.toml``."""
    d = tomllib.loads(Path(layout_path).read_text())["depth"]
    return (d["bottom_row"] - d["top_row"]) / (d["bottom"] - d["top"]) * d["step"]


def compressed_cases(root: Path, sets=SETS, *, max_rows: float = 3.0) -> list[Path]:
    """Case folders under ``root/<set>`` with fewer than ``max_rows`` rows per step."""
    out = []
    for name in sets:
        for layout in sorted((Path(root) / name).glob("*/scan.toml")):
            if (layout.parent / "labels.png").is_file() and rows_per_step(layout) < max_rows:
                out.append(layout.parent)
    return out


def _with_constants(values: dict):
    import logdigit.polyline as pl

    old = {k: getattr(pl, k) for k in values}
    for k, v in values.items():
        setattr(pl, k, v)
    pl.refine_rough_trace.__kwdefaults__["rough_step"] = pl.ROUGH_STEP
    pl.read_polyline.__kwdefaults__["ink_cost"] = pl.INK_COST
    return old


def score(cases: list[Path], *, model, config) -> dict[str, float]:
    """``{"set/case/MNEMONIC": R²}`` on the label masks."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dev_oracle import score_case

    out = {}
    for folder in cases:
        for m, r2 in score_case(folder, model=model, config=config).items():
            out[f"{folder.parent.name}/{folder.name}/{m}"] = -9.0 if r2 is None else r2
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("runs/devscore"))
    ap.add_argument("--max-rows", type=float, default=3.0)
    args = ap.parse_args(argv)
    from logdigit.network import load_network

    cases = compressed_cases(args.root, max_rows=args.max_rows)
    if not cases:
        print(f"polyline_constants: no compressed cases under {args.root}", file=sys.stderr)
        return 1
    model, config, _ = load_network(None, device="cpu")
    base = score(cases, model=model, config=config)
    print(f"{len(cases)} cases, {len(base)} curves; shipped constants: "
          f"{sum(v >= 0.95 for v in base.values())} at R² >= 0.95")
    for name, values in VARIANTS.items():
        old = _with_constants(values)
        try:
            got = score(cases, model=model, config=config)
        finally:
            _with_constants(old)
        up = sum(got[k] - base[k] > 0.005 for k in got)
        down = sum(base[k] - got[k] > 0.005 for k in got)
        print(f"{name}: {sum(v >= 0.95 for v in got.values())}, {up} up, {down} down",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
