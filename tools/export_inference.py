"""Write a model folder's ``inference.ts`` (see :func:`logdigit.model.export_inference`).

Run it after the folder's ``model.safetensors`` changes; until then conversions build the
network from the weights as before (a stale copy is never used)::

    .venv/bin/python tools/export_inference.py models/logdigit-small
"""

from __future__ import annotations

import argparse

from logdigit.model import export_inference


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="model folders (or names under models/)")
    for folder in ap.parse_args(argv).folders:
        print(export_inference(folder))


if __name__ == "__main__":
    main()
