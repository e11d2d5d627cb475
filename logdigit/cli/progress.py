"""A progress bar on stderr (rich), shared by the subcommands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def tile_progress(*, enabled: bool, label: str) -> Iterator[Callable | None]:
    """Yield a factory ``total -> advance(n)`` driving a bar on stderr, or None if disabled.

    The bar is only shown when stderr is a terminal: redirected to a file or a pipe, rich
    would leave a blank line there (errors must stay one line on stderr).
    """
    if not enabled:
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} tiles"), TimeRemainingColumn(), console=console,
                  transient=True) as bar:

        def factory(total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)

        yield factory
