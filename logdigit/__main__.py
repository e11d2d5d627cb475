"""``python -m logdigit`` runs the CLI."""

from .cli import main

main()
