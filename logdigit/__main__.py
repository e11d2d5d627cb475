"""``python -m logdigit`` runs the CLI."""

from .cli import run

run()
