"""logdigit: turn scanned paper well logs into digital LAS files."""

__version__ = "0.1.0"
