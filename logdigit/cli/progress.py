"""A progress bar on stderr (rich), shared by the subcommands."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def tile_progress(*, enabled: bool, label: str) -> Iterator[Callable | None]:
    """Yield a factory ``total -> advance(n)`` driving a bar on stderr, or None if disabled."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} tiles"), TimeRemainingColumn(), console=console,
                  transient=True) as bar:

        def factory(total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)

        yield factory
