"""The ``logdigit`` command: a thin typer app over the library, one file per subcommand.

``logdigit SCAN -o OUT.las`` is short for ``logdigit convert SCAN -o OUT.las``.

Exit codes: 0 ok; 1 the input could not be processed; 2 bad usage or invalid layout;
3 an acceptance gate failed; 4 a batch finished with failures; 130 interrupted.
"""

from __future__ import annotations

import logging
import sys

import click
import typer

from ..allocator import keep_freed_memory
from ..errors import EXIT_PROCESSING, EXIT_USAGE, LogdigitError

# typer >= 0.2x vendors its own copy of click (typer._click): catch both hierarchies
_CLICK_ERRORS = tuple({click.ClickException,
                       getattr(typer, "TyperException", click.ClickException)})
_EXITS = tuple({click.exceptions.Exit, typer.Exit})
_ABORTS = tuple({click.exceptions.Abort, typer.Abort})

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 the scan could not be processed (unreadable image, nothing "
    "traced, bad model, output not writable); 2 bad usage or invalid layout; 3 an acceptance "
    "gate failed; 4 a batch finished with failures."
)

app = typer.Typer(
    name="logdigit",
    help="Turn scanned paper well logs into LAS files.\n\n"
    "logdigit SCAN -o OUT.las is short for logdigit convert SCAN -o OUT.las.\n\n"
    + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def flip_option():
    """The ``--flip-average/--no-flip-average`` option shared by convert, batch and eval."""
    return typer.Option(None, "--flip-average/--no-flip-average",
                        help="Also segment each tile mirrored and average the two (a "
                        "conversion takes about 1.4 times as long; steadier curves); "
                        "default: the model's setting (on for the shipped model).")


def threads_option():
    """The ``--threads N`` option shared by convert and eval (batch has ``--workers``)."""
    return typer.Option(None, "--threads", min=1,
                        help="CPU threads for segmenting and tracing (tiles and tracks "
                        "are shared out to them); default: all cores.")


def rough_weight_option(default: float = 1.0, *, pages: str = "pages"):
    """The ``--rough-weight W`` option shared by synth and train (checked by
    :func:`check_rough_weight`)."""
    return typer.Option(default, "--rough-weight", min=0.0,
                        help="Pick rough curves (sample-to-sample steps holding 15 % or "
                        f"more of the variance) this many times as often as the others for "
                        f"{pages}.")


def check_rough_weight(rough_weight: float) -> None:
    """Refuse a ``--rough-weight`` that is not positive (a UsageError)."""
    from ..errors import UsageError

    if not rough_weight > 0:
        raise UsageError(f"--rough-weight {rough_weight}: must be positive")


def use_threads(threads: int | None) -> None:
    """Share tiles and tracks out to ``threads`` threads (and torch's, when it runs the
    network): :func:`logdigit.segment.set_cpu_threads`."""
    from ..segment import set_cpu_threads

    set_cpu_threads(threads)


def setup_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Logs go to stderr: warnings by default, info with --verbose, errors only with --quiet."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.WARNING)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("logdigit: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("logdigit").setLevel(level)


def fail(message: str, code: int) -> None:
    """Print one line on stderr and exit with ``code``."""
    message = " ".join(str(message).split())
    print(f"logdigit: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _usage_error(exc: Exception) -> None:
    """A click usage error: one line on stderr (the help, if asked for by no arguments)."""
    code = getattr(exc, "exit_code", EXIT_USAGE)
    code = code if isinstance(code, int) and code > 0 else EXIT_USAGE
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help text (rich prints it itself)
        if message.strip():
            print(message)
        raise SystemExit(code)
    ctx = getattr(exc, "ctx", None)
    hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    fail(f"{message}{hint}", code)


# register the subcommands: each module adds its command(s) to ``app``
import importlib  # noqa: E402

SUBCOMMAND_MODULES = ("convert", "check", "synth", "train", "eval", "batch", "layout")
for _name in SUBCOMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")

COMMANDS = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, map errors to one stderr line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS and not {"-h", "--help", "--version"} & set(
        args[: args.index(first)]
    ):
        args.insert(0, "convert")
    if args == ["--version"]:
        from .. import __version__

        print(f"logdigit {__version__}")
        return
    command = typer.main.get_command(app)
    verbose = "--verbose" in args or "-v" in args
    try:
        rc = command.main(args=args, prog_name="logdigit", standalone_mode=False)
    except _EXITS as exc:
        raise SystemExit(exc.exit_code) from None
    except _CLICK_ERRORS as exc:
        _usage_error(exc)
    except _ABORTS:
        print("logdigit: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        print("logdigit: interrupted; no partial output was left", file=sys.stderr)
        raise SystemExit(130) from None
    except LogdigitError as exc:
        if verbose:
            logging.getLogger("logdigit").debug("details", exc_info=True)
        fail(str(exc), exc.exit_code)
    except MemoryError:
        fail("out of memory", EXIT_PROCESSING)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        if verbose:
            logging.getLogger("logdigit").exception("internal error")
        fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose for details)",
             EXIT_PROCESSING)
    if rc == 130:  # typer turns KeyboardInterrupt into Exit(130), returned here
        print("logdigit: interrupted; no partial output was left", file=sys.stderr)
    raise SystemExit(rc if isinstance(rc, int) else 0)


def run() -> None:
    """The ``logdigit`` command and ``python -m logdigit``: :func:`main`, then leave
    without the interpreter's teardown.

    Unloading torch, scipy and numba at exit took 0.4-1.0 s on the 2-core CPU, a tenth of
    converting a 3,200 x 12,800 px scan. By the time :func:`main` returns every output is
    written and closed; the log handlers and standard streams are flushed here and
    ``os._exit`` ends the process with the exit code. While another thread or a child
    process is still alive, or a profiler or tracer (cProfile, coverage) is attached, the
    exit is the ordinary one. Before :func:`main`, the C allocator is told to keep large
    freed blocks for reuse (:func:`logdigit.allocator.keep_freed_memory`).
    """
    import multiprocessing
    import os
    import threading

    keep_freed_memory()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # SystemExit("message"): what Python would print
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (e.g. `| head`): nothing to keep
            pass
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon]
    # a profiler or coverage tracer writes its results at exit: let it
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if others or watched or multiprocessing.active_children():
        raise SystemExit(code)
    os._exit(code)
