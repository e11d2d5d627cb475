"""Placeholder: the `eval` subcommand is being written."""
