"""Average the weights of two or more training runs of one network (a "model soup").

Every floating-point tensor, BatchNorm running statistics included, becomes the mean of
the runs' tensors; integer tensors (BatchNorm's ``num_batches_tracked``) are taken from
the first run. The runs must share one architecture (the same tensor names and shapes);
warm restarts from one set of weights (e.g. ``runs/f43`` and the weights it started from)
lie close enough for their mean to be a network too. The output is a run-like folder
(``model.safetensors`` and the first run's ``config.json``) for ``tools/candidate.py``::

    .venv/bin/python tools/average_weights.py runs/f43 models/logdigit-small runs/soup4143
    .venv/bin/python tools/candidate.py runs/soup4143 runs/cand-soup

A model folder counts as a run (the shipped one above: its weights are f41's). A folder
without a ``config.json`` is refused: the architecture must come from somewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

WEIGHTS = "model.safetensors"


def average_weights(runs: list[Path], out: Path, *, overwrite: bool = False) -> Path:
    """Write the mean of ``runs``' weights to ``out/model.safetensors`` with the first
    run's ``config.json``. Returns ``out``.

    Raises ValueError for fewer than two runs or runs whose tensors differ in names or
    shapes, FileNotFoundError for a run without weights or config, FileExistsError when
    ``out`` exists and ``overwrite`` is false.
    """
    import torch
    from safetensors.torch import load_file, save_file

    runs = [Path(r) for r in runs]
    out = Path(out)
    if len(runs) < 2:
        raise ValueError("give at least two runs to average")
    for run in runs:
        for name in (WEIGHTS, "config.json"):
            if not (run / name).is_file():
                raise FileNotFoundError(f"{run}: no {name}")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists (use --overwrite)")
    tensors = []
    for run in runs:
        try:
            tensors.append(load_file(run / WEIGHTS))
        except Exception as exc:  # safetensors' own error type for a damaged file
            raise ValueError(f"{run / WEIGHTS}: not a safetensors file ({exc})") from None
    first = tensors[0]
    for run, other in zip(runs[1:], tensors[1:], strict=True):
        if other.keys() != first.keys():
            raise ValueError(f"{run}: its tensors are not {runs[0]}'s (another network)")
        for key, value in other.items():
            if value.shape != first[key].shape:
                raise ValueError(f"{run}: {key} is {tuple(value.shape)}, "
                                 f"not {tuple(first[key].shape)} as in {runs[0]}")
    mean = {}
    for key, value in first.items():
        if value.is_floating_point():
            total = sum(t[key].to(torch.float64) for t in tensors)
            mean[key] = (total / len(tensors)).to(value.dtype).contiguous()
        else:
            mean[key] = value.clone()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (WEIGHTS + ".tmp")
    save_file(mean, tmp)
    tmp.replace(out / WEIGHTS)
    config = json.loads((runs[0] / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", help="run folders, then the folder to write")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    *runs, out = args.runs
    try:
        print(average_weights(runs, out, overwrite=args.overwrite))
    except (OSError, ValueError) as exc:
        print(f"average_weights: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
