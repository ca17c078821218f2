"""Progress lines for long work: stage, rows, elapsed. Also the timings the benchmark reports."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StageTiming:
    name: str
    seconds: float
    rows: int | None = None


@dataclass
class Progress:
    stream: object = None  # None: sys.stderr at the time of printing
    quiet: bool = False
    timings: list[StageTiming] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(
                f"[{time.perf_counter() - self.started:7.1f}s] {message}",
                file=self.stream or sys.stderr,
                flush=True,
            )

    def text(self, block: str) -> None:
        """A block of lines (e.g. a summary table) as it is, on the progress stream."""
        if not self.quiet:
            print(block, file=self.stream or sys.stderr, flush=True)

    @contextmanager
    def stage(self, name: str):
        """Time a stage; the body may set `timing.rows` to report its row count."""
        timing = StageTiming(name, 0.0)
        self.info(f"{name} ...")
        start = time.perf_counter()
        yield timing
        timing.seconds = time.perf_counter() - start
        rows = f", {timing.rows:,} rows" if timing.rows is not None else ""
        self.info(f"{name} done in {timing.seconds:.1f}s{rows}")
        self.timings.append(timing)
