"""Placeholder: the `batch` subcommand is being written."""
