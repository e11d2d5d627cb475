"""The few exception types the CLI maps to exit codes.

Library code raises these with a message fit for a user (it names the file and the
problem); only :mod:`logdigit.cli` prints them and exits.

Exit codes
----------
0  ok
1  the input could not be processed (unreadable image, nothing traced, bad model, I/O)
2  bad usage or invalid layout
3  an acceptance gate failed
4  a batch finished with failures
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROCESSING = 1
EXIT_USAGE = 2
EXIT_GATE = 3
EXIT_BATCH_FAILURES = 4


class LogdigitError(Exception):
    """Base class: a problem with a message meant for the user."""

    exit_code = EXIT_PROCESSING


class ScanError(LogdigitError):
    """The scan image cannot be read or processed."""


class LayoutError(LogdigitError):
    """The layout sidecar is missing or invalid."""

    exit_code = EXIT_USAGE


class UsageError(LogdigitError):
    """Bad command-line usage (conflicting or out-of-range options)."""

    exit_code = EXIT_USAGE


class ModelError(LogdigitError):
    """The model folder is missing, corrupt or of the wrong architecture."""


class OutputError(LogdigitError):
    """The output cannot be written (exists, folder missing, not writable, disk full)."""


class LasReadError(LogdigitError):
    """A LAS file cannot be read."""


class TraceError(LogdigitError):
    """Nothing could be traced."""


class GateFailed(LogdigitError):
    """A recovered curve failed the acceptance gate."""

    exit_code = EXIT_GATE
