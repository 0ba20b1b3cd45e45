"""People count per frame and the entered/left event stream (debounced), CSV and MQTT.

The raw count is the number of foreground blobs in a frame (or blob area / ``person_px``,
:class:`activation.Params`). The debounced count changes only when a new raw value has held for
``debounce_s`` seconds; each unit of change is one ``entered`` or ``left`` event, time-stamped
at the frame where the new value began.
"""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def debounce(raw: np.ndarray, epoch_ms: np.ndarray, debounce_s: float = 1.0, initial: int = 0):
    """``raw`` int (N,) counts, ``epoch_ms`` int64 (N,) -> (stable int64 (N,), events: list of
    (epoch_ms, "entered"|"left", count after))."""
    stable = np.empty(len(raw), np.int64)
    cur, cand, since, since_i = int(initial), None, 0, 0
    events = []
    for i, (r, t) in enumerate(zip(np.asarray(raw, np.int64), np.asarray(epoch_ms, np.int64))):
        r = int(r)
        if r == cur:
            cand = None
        elif r != cand:
            cand, since, since_i = r, int(t), i
        if cand is not None and t - since >= debounce_s * 1000:
            step = "entered" if cand > cur else "left"
            for k in range(abs(cand - cur)):
                events.append((since, step, cur + (k + 1 if cand > cur else -(k + 1))))
            stable[since_i:i] = cand
            cur, cand = cand, None
        stable[i] = cur
    return stable, events


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_text(ms: int, local: bool = False) -> str:
    """ISO 8601 text of epoch ``ms``: UTC with ``Z``, or with ``local=True`` (a recording whose
    clock zone is unknown, :attr:`Recording.zone_unknown`) the same wall-clock digits with no zone
    at all, so nothing claims UTC."""
    return utc(ms)[:-1] if local else utc(ms)


def time_column(local: bool = False) -> str:
    """CSV column name of :func:`time_text`: ``time_utc`` or ``time_local`` (zone unknown)."""
    return "time_local" if local else "time_utc"


def write_counts_csv(path: str | Path, epoch_ms, blobs, raw, stable, local: bool = False) -> None:
    """Per frame: ``time_utc,epoch_ms,blobs,people_raw,people`` (``time_local`` when ``local``:
    the recording's zone is unknown; epoch_ms then counts that wall clock as if it were UTC)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([time_column(local), "epoch_ms", "blobs", "people_raw", "people"])
        for row in zip(epoch_ms, blobs, raw, stable):
            w.writerow([time_text(int(row[0]), local)] + [int(v) for v in row])


def write_events_csv(path: str | Path, events, local: bool = False) -> None:
    """One line per event: ``time_utc,epoch_ms,event,people`` (``time_local`` when ``local``)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([time_column(local), "epoch_ms", "event", "people"])
        for t, kind, n in events:
            w.writerow([time_text(t, local), t, kind, n])


def event_payload(sensor: str, event, local: bool = False) -> bytes:
    """MQTT payload (JSON, UTF-8): ``{"sensor", "time", "epoch_ms", "event", "people"}``; ``time``
    as :func:`time_text` (no ``Z`` when ``local``: a wall clock of unknown zone)."""
    t, kind, n = event
    return json.dumps({"sensor": sensor, "time": time_text(t, local), "epoch_ms": int(t), "event": kind,
                       "people": int(n)}).encode()


class MqttError(RuntimeError):
    """The broker could not be reached or did not acknowledge; the message says why."""


def publish(events, *, broker: str, sensor: str, topic: str | None = None, timeout_s: float = 10.0,
            local: bool = False) -> int:
    """Publish each event to ``{topic}/event`` (QoS 1) and the final count to ``{topic}/people``
    (retained); ``topic`` defaults to ``tinyheat/{sensor}``; ``broker`` is ``host[:port]`` (1883).
    Returns the number of messages acknowledged. Raises MqttError."""
    import paho.mqtt.client as mqtt

    host, _, port = broker.partition(":")
    try:
        port_n = int(port or 1883)
    except ValueError:
        raise MqttError(f"broker {broker!r}: port is not a number") from None
    topic = topic or f"tinyheat/{sensor}"
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tinyheat-{sensor}")
    try:
        c.connect(host, port_n, keepalive=30)
    except OSError as e:
        raise MqttError(f"cannot reach MQTT broker {host}:{port_n} ({e})") from None
    c.loop_start()
    try:
        infos = [c.publish(f"{topic}/event", event_payload(sensor, e, local), qos=1) for e in events]
        last = events[-1][2] if events else 0
        infos.append(c.publish(f"{topic}/people", str(last).encode(), qos=1, retain=True))
        for i in infos:
            i.wait_for_publish(timeout_s)
            if not i.is_published():
                raise MqttError(f"broker {host}:{port_n} did not acknowledge within {timeout_s} s")
        return len(infos)
    finally:
        c.disconnect()
        c.loop_stop()
