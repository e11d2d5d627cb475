"""Write a model folder's ``inference.onnx`` (see :func:`logdigit.model.export_inference`).

Run it after the folder's ``model.safetensors`` changes; until then conversions build the
network from the weights as before (a stale copy is never used)::

    .venv/bin/python tools/export_inference.py models/logdigit-small
"""

from __future__ import annotations

import argparse
import sys

from logdigit.errors import LogdigitError
from logdigit.model import export_inference


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="model folders (or names under models/)")
    for folder in ap.parse_args(argv).folders:
        try:
            print(export_inference(folder))
        except LogdigitError as exc:  # a missing or broken model folder: one line, exit 1
            print(f"export_inference: {exc}", file=sys.stderr)
            raise SystemExit(1) from None


if __name__ == "__main__":
    main()
