"""Accumulate activation from a connected device (``tinyheat heatmap --live PORT``).

Device frame times (ms since boot) are anchored to the host's UTC clock at the first frame:
``epoch_ms = host_ms_at_first_frame + (t_ms - t_ms_first)``.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .activation import Activation, ActivationEngine, Params, SecondResult


def accumulate(frames, params: Params = Params(), *, max_frames: int | None = None, seconds: float | None = None,
               on_second: Callable[[SecondResult], None] | None = None, clock=time.time) -> Activation | None:
    """Run the activation engine over ``frames`` (an iterable of link ``Frame`` messages with
    ``t_ms`` and ``temps`` (24, 32) degC) until it ends, ``max_frames`` frames or ``seconds`` of
    device time. Returns the :class:`Activation` (None if no frame came); KeyboardInterrupt stops
    and keeps what was accumulated."""
    eng = None
    results: list[SecondResult] = []
    ms_all: list[int] = []
    cur: list[np.ndarray] = []
    cur_sec = None
    mean_sum = mean_n = None
    t_first = anchor = None

    def close_second():
        res = eng.second(cur_sec, np.stack(cur))
        results.append(res)
        if on_second:
            on_second(res)

    try:
        for f in frames:
            temps = np.asarray(f.temps, np.float32)
            if eng is None:
                eng = ActivationEngine(temps.shape, params)
                t_first, anchor = int(f.t_ms), int(round(clock() * 1000))
                mean_sum, mean_n = np.zeros(temps.shape), np.zeros(temps.shape, np.int64)
            ms = anchor + int(f.t_ms) - t_first
            if ms_all and ms < ms_all[-1]:
                continue  # a device restart or reordered frame: never store time going backwards
            sec = ms // 1000
            if cur_sec is not None and sec != cur_sec:
                close_second()
                cur = []
            cur_sec = sec
            cur.append(temps)
            ms_all.append(ms)
            ok = np.isfinite(temps)
            mean_sum += np.where(ok, temps, 0)
            mean_n += ok
            if (max_frames and len(ms_all) >= max_frames) or (seconds and ms - anchor >= seconds * 1000):
                break
    except KeyboardInterrupt:
        pass
    if eng is None:
        return None
    if cur:
        close_second()
    return Activation(np.array([r.sec for r in results], np.int64), np.stack([r.act for r in results]),
                      np.stack([r.cov for r in results]), np.asarray(ms_all, np.int64),
                      np.concatenate([r.blobs for r in results]), np.concatenate([r.people for r in results]),
                      np.concatenate([r.masks.reshape(len(r.masks), -1).sum(1) for r in results]),
                      mean_sum, mean_n)
