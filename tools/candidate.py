"""Make a candidate model folder from a training run, to judge it like the shipped model.

A training run writes its own ``config.json`` (no logit offset, no mirrored pass); the
shipped model's config adds both. The candidate gets the run's weights (or one of its
snapshots) and architecture (its ``config.json``) with the shipped folder's inference
settings (:data:`INFERENCE_KEYS`), and its ``inference.onnx``, so that
``tools/dev_score.py -m CANDIDATE`` and ``logdigit eval -m CANDIDATE`` measure exactly
what shipping those weights would give. ``--set KEY=JSON`` changes one setting (e.g.
``--set flip_average=false``)::

    .venv/bin/python tools/candidate.py runs/m24 runs/cand-m24
    .venv/bin/python tools/candidate.py runs/m24/snapshots/step016000 runs/cand-m24-16k
    .venv/bin/python tools/candidate.py runs/L1 runs/cand-L1-one --set flip_average=false
    .venv/bin/python tools/candidate.py runs/L2 runs/cand-L2-int8 --set int8=true
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from logdigit.errors import LogdigitError
from logdigit.model import export_inference, resolve_model_path

WEIGHTS = "model.safetensors"
#: Settings of inference, not of the network: taken from the shipped model's config.
INFERENCE_KEYS = ("logit_bias", "flip_average", "tile", "overlap", "int8")


def make_candidate(run: Path, out: Path, *, config_from: str | Path = "logdigit-small",
                   overwrite: bool = False, settings: dict | None = None) -> Path:
    """Copy ``run``'s weights into ``out`` with a ``config.json`` and write its
    ``inference.onnx``. Returns ``out``.

    The config is ``run``'s own (its architecture) with ``config_from``'s
    :data:`INFERENCE_KEYS`, then ``settings``; ``config_from``'s whole config when ``run``
    has none.

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
    shipped = json.loads((Path(source) / "config.json").read_text())
    own = run / "config.json"
    config = json.loads(own.read_text()) if own.is_file() else dict(shipped)
    config.update({k: shipped[k] for k in INFERENCE_KEYS if k in shipped})
    config.update(settings or {})
    out.mkdir(parents=True)
    shutil.copy2(weights, out / WEIGHTS)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "MODEL_CARD.md").write_text(
        f"Candidate: the weights and network of `{run}` with the inference settings of "
        f"`{source}`; not shipped.\n")
    export_inference(out)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="training run folder or one of its snapshots")
    ap.add_argument("out", type=Path, help="candidate folder to write")
    ap.add_argument("--config-from", default="logdigit-small",
                    help="model whose config.json the candidate gets (default: the shipped one)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="a config setting for the candidate (repeatable), e.g. "
                         "flip_average=false")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    try:
        settings = {}
        for item in args.set:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"--set {item!r}: expected KEY=JSON")
            settings[key] = json.loads(value)
        print(make_candidate(args.run, args.out, config_from=args.config_from,
                             overwrite=args.overwrite, settings=settings))
    except (OSError, ValueError, LogdigitError) as exc:
        print(f"candidate: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
