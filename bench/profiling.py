"""CPU profile of a local stack's process during a measured window, for `python -m bench fanout --profile`.

cProfile profiles only the thread that enables it, and the stack's work runs on many threads (HTTP requests,
stream and queue pollers, posting pools, the WebSocket server's event loop). So each thread gets its own
profiler, switched on around the units of work that matter and merged at the end:

* every function invocation (`local.runtime.FunctionRuntime.invoke`: handlers called by the HTTP API, the
  pollers, the WebSocket routes, the EventBridge rules), named by the function's logical id;
* every poll of an event source (`Poller.poll_once`: the GetRecords / ReceiveMessage calls and the handler);
* every post to one connection (`arena.adapters.connections._post_in_order`, in the posting threads);
* the WebSocket server's event loop (the local @connections server and the frames it writes), for the window.

The profilers time with each thread's CPU clock (`time.thread_time`), so a call's time is CPU spent, not a wait
for the GIL or a socket. Each span also counts its calls, wall time and its thread's CPU time, so the report says
what one invocation of each function costs; and every thread's CPU in the window is read from /proc (no
profiler: it covers what no span does, such as moto's server threads and the HTTP API's own parsing), grouped by
thread name. Profiling slows what it measures: read the split and the call counts, not absolute times.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each live thread of this process, by native thread id (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


class ThreadProfiles:
    def __init__(self) -> None:
        self.on = False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._profilers: list[cProfile.Profile] = []
        self.spans: dict[str, list[float]] = {}  # name -> [calls, wall seconds, thread CPU seconds]
        self._undo: list[Callable[[], None]] = []
        self._loop_profiler: cProfile.Profile | None = None
        self.loop_cpu = 0.0
        self.process_cpu = 0.0
        self.wall = 0.0

    def _profiler(self) -> cProfile.Profile:
        profiler = getattr(self._local, "profiler", None)
        if profiler is None:
            profiler = self._local.profiler = cProfile.Profile(time.thread_time)
            with self._lock:
                self._profilers.append(profiler)
        return profiler

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        if not self.on:
            yield
            return
        depth = getattr(self._local, "depth", 0)
        profiler = self._profiler() if depth == 0 else None
        if profiler is not None:
            profiler.enable()
        self._local.depth = depth + 1
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            self._local.depth = depth
            if profiler is not None:
                profiler.disable()
            with self._lock:
                figures = self.spans.setdefault(name, [0, 0.0, 0.0])
                figures[0] += 1
                figures[1] += wall
                figures[2] += cpu

    def _wrap(self, owner: Any, attribute: str, name_of: Callable[..., str]) -> None:
        original = getattr(owner, attribute)
        profiles = self

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with profiles.span(name_of(*args, **kwargs)):
                return original(*args, **kwargs)

        setattr(owner, attribute, wrapped)
        self._undo.append(lambda: setattr(owner, attribute, original))

    def install(self) -> None:
        """Wrap the stack's units of work (before it starts, so every thread's calls go through the wrappers)."""
        from local.pollers.base import Poller
        from local.runtime import FunctionRuntime

        self._wrap(FunctionRuntime, "invoke", lambda runtime, *_a, **_k: f"invoke {runtime.spec.logical_id}")
        pollers, found = [], [Poller]
        while found:  # each kind of poller has its own poll_once
            kind = found.pop()
            found += kind.__subclasses__()
            if "poll_once" in vars(kind) and not getattr(kind.poll_once, "__isabstractmethod__", False):
                pollers.append(kind)
        for kind in pollers:
            self._wrap(kind, "poll_once", lambda poller, *_a, **_k: f"poll {poller.name}")

    def start(self, loop: Any) -> None:
        """Profile from now on; `loop`: the WebSocket server's event loop, profiled as a whole."""
        from arena.adapters import connections  # the layer is on sys.path once the stack runs

        self._wrap(connections, "_post_in_order", lambda *_a, **_k: "post to one connection")
        self._loop = loop
        self._loop_profiler = cProfile.Profile(time.thread_time)
        started = threading.Event()

        def begin() -> None:
            self._loop_cpu_start = time.thread_time()
            assert self._loop_profiler is not None
            self._loop_profiler.enable()
            started.set()

        loop.call_soon_threadsafe(begin)
        started.wait(30)
        self.wall, self.process_cpu = time.perf_counter(), time.process_time()
        self._threads_before = _thread_cpu()
        self.on = True

    def stop(self) -> None:
        self.on = False
        self.wall, self.process_cpu = time.perf_counter() - self.wall, time.process_time() - self.process_cpu
        after = _thread_cpu()
        names = {t.native_id: t.name for t in threading.enumerate()}
        self.threads: dict[str, list[float]] = {}  # kind of thread -> [threads, CPU seconds in the window]
        for tid, cpu in after.items():
            spent = cpu - self._threads_before.get(tid, 0.0)
            if spent <= 0:
                continue
            kind = re.sub(r"[-_ ]?\d+(?=$|[ (_])", "", names.get(tid, "(ended or not Python)"))
            figures = self.threads.setdefault(kind, [0, 0.0])
            figures[0] += 1
            figures[1] += spent
        stopped = threading.Event()

        def end() -> None:
            assert self._loop_profiler is not None
            self._loop_profiler.disable()
            self.loop_cpu = time.thread_time() - self._loop_cpu_start
            stopped.set()

        self._loop.call_soon_threadsafe(end)
        stopped.wait(30)
        for undo in reversed(self._undo):
            undo()

    def stats(self) -> pstats.Stats:
        profilers = [p for p in [*self._profilers, self._loop_profiler] if p is not None]
        merged = pstats.Stats(profilers[0], stream=io.StringIO())
        for profiler in profilers[1:]:
            merged.add(profiler)
        return merged

    def report(self, path: Path, top: int = 40) -> dict[str, Any]:
        """Write the merged profile (`path`, pstats format) and its text views (`path`.txt); return the spans'
        figures and the CPU split."""
        merged = self.stats()
        merged.dump_stats(str(path))
        text = io.StringIO()
        for order in ("tottime", "cumulative"):
            view = pstats.Stats(str(path), stream=text)
            view.sort_stats(order).print_stats(top)
        path.with_suffix(path.suffix + ".txt").write_text(text.getvalue())
        spans = {
            name: {"calls": int(n), "wall_s": wall, "cpu_s": cpu, "cpu_ms_per_call": cpu * 1000 / max(1, n)}
            for name, (n, wall, cpu) in sorted(self.spans.items(), key=lambda item: -item[1][2])
        }
        outer = sum(
            figures[2]
            for name, figures in self.spans.items()
            if name.startswith("poll ") or name == "post to one connection" or name.startswith("invoke ")
        )
        threads = {
            kind: {"threads": int(n), "cpu_s": cpu}
            for kind, (n, cpu) in sorted(self.threads.items(), key=lambda item: -item[1][1])
        }
        return {
            "threads": threads,
            "window_s": self.wall,
            "process_cpu_s": self.process_cpu,
            "event_loop_cpu_s": self.loop_cpu,
            "spans_cpu_s (nested spans counted twice)": outer,
            "spans": spans,
        }
