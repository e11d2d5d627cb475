"""Make a candidate model folder from a training run, to judge it like the shipped model.

A training run writes its own ``config.json`` (no logit offset, no mirrored pass); the
shipped model's config adds both. The candidate gets the run's weights (or one of its
snapshots) with the shipped folder's config, and its ``inference.onnx``, so that
``tools/dev_score.py -m CANDIDATE`` and ``logdigit eval -m CANDIDATE`` measure exactly
what shipping those weights would give::

    .venv/bin/python tools/candidate.py runs/m24 runs/cand-m24
    .venv/bin/python tools/candidate.py runs/m24/snapshots/step016000 runs/cand-m24-16k
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from logdigit.errors import LogdigitError
from logdigit.model import export_inference, resolve_model_path

WEIGHTS = "model.safetensors"


def make_candidate(run: Path, out: Path, *, config_from: str | Path = "logdigit-small",
                   overwrite: bool = False) -> Path:
    """Copy ``run``'s weights and ``config_from``'s ``config.json`` into ``out`` and write
    its ``inference.onnx``. Returns ``out``.

    Raises FileNotFoundError when ``run`` has no weights, FileExistsError when ``out``
    exists and ``overwrite`` is false.
    """
    run, out = Path(run), Path(out)
    weights = run / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{run}: no {WEIGHTS} (a training run or one of its snapshots)")
    if out.exists():
        if not overwrite:
            raise FileExistsError(f"{out} exists (use --overwrite)")
        shutil.rmtree(out)
    source = resolve_model_path(config_from)
    out.mkdir(parents=True)
    shutil.copy2(weights, out / WEIGHTS)
    shutil.copy2(Path(source) / "config.json", out / "config.json")
    (out / "MODEL_CARD.md").write_text(
        f"Candidate: the weights of `{run}` with the config of `{source}`; not shipped.\n")
    export_inference(out)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="training run folder or one of its snapshots")
    ap.add_argument("out", type=Path, help="candidate folder to write")
    ap.add_argument("--config-from", default="logdigit-small",
                    help="model whose config.json the candidate gets (default: the shipped one)")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    try:
        print(make_candidate(args.run, args.out, config_from=args.config_from,
                             overwrite=args.overwrite))
    except (OSError, LogdigitError) as exc:
        print(f"candidate: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
