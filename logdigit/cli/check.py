"""``logdigit check OUT.las REFERENCE.las``: the R² acceptance gate."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import GateFailed
from . import app, setup_logging

CURVES_HELP = "Curves to check, comma-separated (default: all curves found in both)."


def gate(out: Path, reference: Path, *, curves: str | None, maps: list[str] | None,
         min_r2: float, min_coverage: float, depth_range: str | None, max_shift: float,
         points: int | None) -> tuple[list, dict]:
    """Read both files and check them: the results and their JSON-ready summary."""
    from ..check import check_curves, parse_depth_range, parse_map
    from ..lasfile import read_las

    mapping = parse_map(maps)
    rng = parse_depth_range(depth_range)
    names = [c.strip() for c in curves.split(",") if c.strip()] if curves else None
    results = check_curves(read_las(out), read_las(reference), curves=names, mapping=mapping,
                           min_r2=min_r2, min_coverage=min_coverage, depth_range=rng,
                           max_shift=max_shift, points=points)
    ok = all(r.passed for r in results)
    return results, {"output": str(out), "reference": str(reference), "passed": ok,
                     "min_r2": min_r2, "min_coverage": min_coverage,
                     "curves": [r.as_dict() for r in results]}


def raise_if_failed(out: Path, reference: Path, results: list) -> None:
    """GateFailed naming the failed curves, if any."""
    failed = ", ".join(r.mnemonic for r in results if not r.passed)
    if failed:
        raise GateFailed(f"{out}: acceptance gate failed for {failed} against {reference}")


def run_gate(out: Path, reference: Path, *, curves: str | None, maps: list[str] | None,
             min_r2: float, min_coverage: float, depth_range: str | None, max_shift: float,
             points: int | None, as_json: bool, quiet: bool) -> list:
    """Read both files, check, print the table (or JSON); raise GateFailed on a failure."""
    from ..check import format_table

    results, payload = gate(out, reference, curves=curves, maps=maps, min_r2=min_r2,
                            min_coverage=min_coverage, depth_range=depth_range,
                            max_shift=max_shift, points=points)
    if as_json:
        print(json.dumps(payload))
    elif not quiet:
        print(format_table(results))
    raise_if_failed(out, reference, results)
    return results


@app.command(
    help="Compare the curves of OUT.las with REFERENCE.las: R², RMSE, MAE, coverage.\n\n"
    "Exit codes: 0 every curve passes; 3 a curve failed the gate; 1 a file could not be "
    "read; 2 bad usage."
)
def check(
    out: Path = typer.Argument(..., help="Recovered LAS file."),
    reference: Path = typer.Argument(..., help="Reference LAS file."),
    curves: str | None = typer.Option(None, "--curves", help=CURVES_HELP),
    maps: list[str] | None = typer.Option(None, "--map", help="Alias OUT=REF (repeatable)."),
    min_r2: float = typer.Option(0.95, "--min-r2", help="Smallest R² that passes."),
    min_coverage: float = typer.Option(0.9, "--min-coverage",
                                       help="Smallest fraction of reference points covered."),
    depth_range: str | None = typer.Option(None, "--depth-range", help="TOP:BOTTOM."),
    max_shift: float = typer.Option(0.0, "--max-shift", min=0.0,
                                    help="Try depth offsets within +-D; keep the best."),
    points: int | None = typer.Option(None, "--points", min=2,
                                      help="Compare on N evenly spaced depths."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    setup_logging(quiet=quiet, verbose=verbose)
    run_gate(out, reference, curves=curves, maps=maps, min_r2=min_r2,
             min_coverage=min_coverage, depth_range=depth_range, max_shift=max_shift,
             points=points, as_json=as_json, quiet=quiet)
