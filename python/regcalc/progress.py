"""Progress of long work: stage, rows, elapsed; also the timings the benchmark reports.

Every message is a line `[   12.3s] message` on the progress stream (stderr by default). On a terminal a
live display (rich) is drawn below those lines while a stage runs: a spinner, the stage, a bar when the
stage reports how far it is (dbt's nodes: `advance`), and the time since the stage began; it is removed
when the stage ends. Anywhere else (a pipe, a file, CI) there are only the lines.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as LiveDisplay
from rich.text import Text


@dataclass
class StageTiming:
    name: str
    seconds: float
    rows: int | None = None


@dataclass
class Progress:
    stream: TextIO | None = None  # None: sys.stderr at the time of printing
    quiet: bool = False
    live: bool | None = None  # draw the live display: None = when the stream is a terminal
    timings: list[StageTiming] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _display: LiveDisplay | None = field(default=None, init=False, repr=False)
    _tasks: list[TaskID] = field(default_factory=list, init=False, repr=False)

    def info(self, message: str) -> None:
        self.text(f"[{time.perf_counter() - self.started:7.1f}s] {message}")

    def text(self, block: str) -> None:
        """A block of lines (e.g. a summary table) as it is, on the progress stream."""
        if self.quiet:
            return
        if self._display is not None:  # printed above the live display
            self._display.console.print(Text(block), soft_wrap=True)
        else:
            print(block, file=self.stream or sys.stderr, flush=True)

    @contextmanager
    def stage(self, name: str):
        """Time a stage; the body may set `timing.rows` to report its row count."""
        timing = StageTiming(name, 0.0)
        self.info(f"{name} ...")
        start = time.perf_counter()
        self._begin(name)
        try:
            yield timing
        finally:
            self._end()
        timing.seconds = time.perf_counter() - start
        rows = f", {timing.rows:,} rows" if timing.rows is not None else ""
        self.info(f"{name} done in {timing.seconds:.1f}s{rows}")
        self.timings.append(timing)

    def advance(self, completed: int, total: int | None) -> None:
        """How far the innermost running stage is (e.g. dbt nodes finished of the total): its bar."""
        if self._display is not None and self._tasks:
            count = f"{completed}/{total}" if total else str(completed)
            self._display.update(self._tasks[-1], completed=completed, total=total, count=count)

    def _begin(self, name: str) -> None:
        if self.quiet:
            return
        if self._display is None:
            console = Console(
                file=self.stream or sys.stderr, force_terminal=self.live or None, highlight=False
            )
            terminal = console.is_terminal and not console.is_dumb_terminal
            if not (self.live if self.live is not None else terminal):
                return
            self._display = LiveDisplay(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._display.start()
        self._tasks.append(self._display.add_task(name, total=None, count=""))

    def _end(self) -> None:
        if self._display is None:
            return
        self._display.remove_task(self._tasks.pop())
        if not self._tasks:
            self._display.stop()
            self._display = None
