"""A diagnostic for the latency benchmark (``benchmarks.worker_scale --latency-only --pauses DIR``), loaded into the
worker through ``PYTHONPATH``: it writes to ``WAYFINDER_PAUSES_OUT`` every stretch longer than
``WAYFINDER_PAUSES_MS`` (50) in which the worker's event loop ran code without going back to wait on its sockets,
with what the main thread was doing during it, and every garbage collection longer than 5 ms. Not part of the
product: it wraps the loop's selector to see when the loop waits and when it works.

How: the selector's ``select`` marks the loop idle while it waits and stamps the time it returns; a thread looks
every 5 ms, and while the loop has worked longer than the threshold it samples the main thread's innermost frames.
When the loop next waits, the stretch, its length and its most common frames are written as one JSON line. The
collector is timed through ``gc.callbacks``. ``WAYFINDER_PAUSES_NO_FREEZE=1`` makes ``gc.freeze`` do nothing.

The worker's fetch waits are its own settings since 2026-12-01 (``WAYFINDER_FETCH_MAX_WAIT_MS``,
``WAYFINDER_PREFETCH_BACKOFF``; README "Warm at start-up"): set them in the worker's environment to try others.
"""

from __future__ import annotations

import atexit
import collections
import gc
import json
import os
import selectors
import sys
import threading
import time
import traceback
from typing import Any

OUT = os.environ.get("WAYFINDER_PAUSES_OUT", "")
THRESHOLD = float(os.environ.get("WAYFINDER_PAUSES_MS", "50")) / 1000
if os.environ.get("WAYFINDER_PAUSES_NO_FREEZE") == "1":
    gc.freeze = lambda: None
if OUT:
    _lock = threading.Lock()
    _state: dict[str, Any] = {"since": 0.0, "turn": 0, "idle": True}  # the loop's work since it last waited
    _main = threading.main_thread().ident or 0
    _gc_started = [0.0]
    _gc_total: collections.defaultdict[str, float] = collections.defaultdict(float)
    _gc_count: collections.Counter[str] = collections.Counter()

    def _write(row: dict[str, object]) -> None:
        with _lock, open(OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    original = selectors.EpollSelector.select

    def _select(self: selectors.EpollSelector, timeout: float | None = None) -> list[Any]:
        _state["idle"] = True
        try:
            return original(self, timeout)
        finally:
            _state["since"] = time.monotonic()
            _state["turn"] += 1
            _state["idle"] = False

    selectors.EpollSelector.select = _select  # type: ignore[method-assign,assignment]

    def _on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _gc_started[0] = time.perf_counter()
            return
        took = time.perf_counter() - _gc_started[0]
        gen = str(info["generation"])
        _gc_total[gen] += took
        _gc_count[gen] += 1
        if took > 0.005:
            _write({"gc": info["generation"], "ms": round(took * 1000, 1), "collected": info["collected"],
                    "at": round(time.time(), 3)})

    gc.callbacks.append(_on_gc)

    import aiokafka.client

    _metadata = aiokafka.client.AIOKafkaClient._wait_on_metadata

    async def _wait_on_metadata(self: aiokafka.client.AIOKafkaClient, topic: str) -> Any:
        """Also written: each wait of the worker's clients for a topic's metadata that took over a millisecond."""
        started = time.monotonic()
        try:
            return await _metadata(self, topic)
        finally:
            if (took := time.monotonic() - started) > 0.001:
                _write({"metadata_ms": round(took * 1000, 1), "topic": topic.rsplit(".", 1)[-1],
                        "at": round(time.time(), 3)})

    aiokafka.client.AIOKafkaClient._wait_on_metadata = _wait_on_metadata

    def _watch() -> None:
        samples: collections.Counter[str] = collections.Counter()
        current, seen, pause = 0, 0, 0.0
        while True:
            time.sleep(0.005)
            since, turn, idle = _state["since"], _state["turn"], _state["idle"]
            if turn != current or idle:  # the loop waited since: report the stretch before if it was long
                if seen:
                    _write({"pause_ms_at_least": round(pause * 1000), "samples": seen,
                            "top": samples.most_common(15)})
                samples.clear()
                current, seen = turn, 0
            if not idle and turn and (lasted := time.monotonic() - since) > THRESHOLD:
                frame = sys._current_frames().get(_main)
                if frame is not None:
                    seen, pause = seen + 1, lasted
                    for f in traceback.extract_stack(frame)[-10:]:
                        samples[f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.lineno} {f.name}"] += 1

    if os.environ.get("WAYFINDER_PAUSES_INPUTS"):  # also each of the first inputs of each stage: its wait and cost
        from wayfinder.streams import stage as _stage

        _process = _stage.Stage.process
        _inputs: collections.Counter[str] = collections.Counter()

        def _timed(self: _stage.Stage, msg: _stage.Incoming, handle: Any) -> Any:
            started = time.time()
            try:
                return _process(self, msg, handle)
            finally:
                _inputs[self.name] += 1
                if _inputs[self.name] <= int(os.environ["WAYFINDER_PAUSES_INPUTS"]):
                    _write({"stage": self.name, "topic": msg.topic.rsplit(".", 1)[-1], "at": round(started, 3),
                            "waited_ms": round((started - (msg.timestamp or started)) * 1000, 1),
                            "ms": round((time.time() - started) * 1000, 1)})

        _stage.Stage.process = _timed  # type: ignore[method-assign]

        from aiokafka.consumer import fetcher as _fetcher

        _actions = _fetcher.Fetcher._get_actions_per_node
        _held: collections.Counter[str] = collections.Counter()

        def _get_actions(self: Any, assignment: Any) -> Any:
            out = _actions(self, assignment)
            for tp, result in list(self._records.items()):  # buffered over 20 ms: holds the next fetch back
                lifetime = time.monotonic() - result._created
                if lifetime > 0.02 and _held[str(tp)] < 200:
                    _held[str(tp)] += 1
                    _write({"held": f"{tp.topic.rsplit('.', 1)[-1]}[{tp.partition}]", "at": round(time.time(), 3),
                            "for_ms": round(lifetime * 1000, 1)})
            return out

        _fetcher.Fetcher._get_actions_per_node = _get_actions

        _proc = _fetcher.Fetcher._proc_fetch_request
        _fetches = [0]

        async def _fetch(self: Any, assignment: Any, node_id: int, request: Any) -> Any:
            started = time.time()
            try:
                return await _proc(self, assignment, node_id, request)
            finally:
                _fetches[0] += 1
                if _fetches[0] < 20000:
                    tps = sorted(f"{t.rsplit('.', 1)[-1][-9:]}{[p[0] for p in ps]}" for t, ps in request.topics)
                    _write({"fetch_ms": round((time.time() - started) * 1000, 1), "at": round(started, 3),
                            "tps": tps})

        _fetcher.Fetcher._proc_fetch_request = _fetch

    threading.Thread(target=_watch, name="pauses", daemon=True).start()

    @atexit.register
    def _summary() -> None:
        _write({"gc_seconds": {k: round(v, 3) for k, v in _gc_total.items()}, "gc_count": dict(_gc_count)})
