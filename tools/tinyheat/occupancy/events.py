"""People count per frame and the entered/left event stream (debounced), CSV and MQTT.

The raw count is the number of foreground blobs in a frame (or blob area / ``person_px``,
:class:`activation.Params`). The debounced count changes only when a new raw value has held for
``debounce_s`` seconds; each unit of change is one ``entered`` or ``left`` event, time-stamped
at the frame where the new value began.

Home Assistant: :func:`discovery_messages` are the retained MQTT discovery configs Home
Assistant reads (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery; topic
``<prefix>/<component>/<node_id>/<object_id>/config``): per area (the whole view, and each zone) a
``binary_sensor`` with ``device_class: occupancy`` (``ON``/``OFF``) and a people-count ``sensor``
(``state_class: measurement``), all of one device ``tinyheat_<sensor>``, with an availability
topic (``online``; ``offline`` as the MQTT last will).
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


def _slug(text: str) -> str:
    """Home Assistant object / node id: letters, digits, ``_`` and ``-`` only."""
    import re

    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "_"


def zone_counts(masks: np.ndarray, zones, min_blob_px: int = 3) -> dict[str, np.ndarray]:
    """People per frame in each zone: foreground blobs (8-connected, at least ``min_blob_px``
    pixels) of ``masks`` bool (N, H, W) whose centroid lies in the zone's pixels (column ``c``
    spans ``c - 0.5 .. c + 0.5``). Returns {zone name: int64 (N,)}."""
    from scipy import ndimage

    struct = np.zeros((3, 3, 3), bool)
    struct[1] = True
    lab, n = ndimage.label(np.asarray(masks, bool), structure=struct)
    out = {}
    if n == 0:
        return {z.name: np.zeros(len(masks), np.int64) for z in zones}
    idx = np.arange(1, n + 1)
    area = ndimage.sum_labels(masks, lab, idx)
    com = np.array(ndimage.center_of_mass(masks, lab, idx)).reshape(n, 3)
    keep = area >= min_blob_px
    f, y, x = com[keep, 0].round().astype(np.int64), com[keep, 1], com[keep, 2]
    for z in zones:
        inside = (x >= z.x0 - 0.5) & (x < z.x1 + 0.5) & (y >= z.y0 - 0.5) & (y < z.y1 + 0.5)
        out[z.name] = np.bincount(f[inside], minlength=len(masks)).astype(np.int64)
    return out


def discovery_messages(sensor: str, topic: str, zones=(), prefix: str = "homeassistant") -> list[tuple[str, bytes]]:
    """Home Assistant MQTT discovery configs (topic, JSON payload), to publish retained: for the
    whole view and each zone name, ``binary_sensor`` (occupancy, state ``{area}/occupancy`` ON/OFF)
    and ``sensor`` (people, state ``{area}/people``), where ``area`` is ``topic`` or
    ``{topic}/zone/{name}``; availability on ``{topic}/availability``."""
    node = _slug(f"tinyheat_{sensor}")
    device = {"identifiers": [node], "name": f"tinyheat {sensor}", "manufacturer": "tinyheat",
              "model": "thermal-array occupancy (MLX90640)"}
    out = []
    for zone in [None, *zones]:
        area = topic if zone is None else f"{topic}/zone/{zone}"
        oid = "all" if zone is None else _slug(f"zone_{zone}")
        label = sensor if zone is None else f"{sensor} {zone}"
        common = {"availability_topic": f"{topic}/availability", "payload_available": "online",
                  "payload_not_available": "offline", "device": device, "qos": 1}
        out.append((f"{prefix}/binary_sensor/{node}/{oid}_occupancy/config", json.dumps({
            "name": f"{label} occupancy", "unique_id": f"{node}_{oid}_occupancy", "device_class": "occupancy",
            "state_topic": f"{area}/occupancy", "payload_on": "ON", "payload_off": "OFF", **common}).encode()))
        out.append((f"{prefix}/sensor/{node}/{oid}_people/config", json.dumps({
            "name": f"{label} people", "unique_id": f"{node}_{oid}_people", "state_topic": f"{area}/people",
            "unit_of_measurement": "people", "state_class": "measurement", "icon": "mdi:account-group",
            **common}).encode()))
    return out


def publish(events, *, broker: str, sensor: str, topic: str | None = None, timeout_s: float = 10.0,
            home_assistant: bool = False, zone_events: dict | None = None, prefix: str = "homeassistant",
            local: bool = False) -> int:
    """Publish each event to ``{topic}/event`` (QoS 1), and each count change to
    ``{topic}/people`` and ``{topic}/occupancy`` (``ON`` when people > 0), retained, so the last
    ones are the final state; ``topic`` defaults to ``tinyheat/{sensor}``; ``broker`` is
    ``host[:port]`` (1883). ``zone_events`` {zone name: events of :func:`debounce`} are published
    the same way under ``{topic}/zone/{name}/``. ``home_assistant``: first the retained discovery
    configs (:func:`discovery_messages`) and ``online`` on ``{topic}/availability`` (retained;
    the last will sets ``offline`` if the connection drops). Returns the number of messages
    acknowledged. ``local``: event times are a wall clock of unknown zone (no ``Z``). Raises MqttError."""
    import paho.mqtt.client as mqtt

    host, _, port = broker.partition(":")
    try:
        port_n = int(port or 1883)
    except ValueError:
        raise MqttError(f"broker {broker!r}: port is not a number") from None
    topic = topic or f"tinyheat/{sensor}"
    zone_events = zone_events or {}
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tinyheat-{sensor}")
    if home_assistant:
        c.will_set(f"{topic}/availability", b"offline", qos=1, retain=True)
    try:
        c.connect(host, port_n, keepalive=30)
    except OSError as e:
        raise MqttError(f"cannot reach MQTT broker {host}:{port_n} ({e})") from None
    c.loop_start()
    try:
        infos = []
        if home_assistant:
            infos += [c.publish(t, p, qos=1, retain=True) for t, p in discovery_messages(sensor, topic, zone_events,
                                                                                          prefix)]
            infos.append(c.publish(f"{topic}/availability", b"online", qos=1, retain=True))
        for area, evs, with_events in [(topic, events, True)] + [(f"{topic}/zone/{z}", e, False)
                                                                 for z, e in zone_events.items()]:
            for e in evs:
                if with_events:
                    infos.append(c.publish(f"{area}/event", event_payload(sensor, e, local), qos=1))
                infos.append(c.publish(f"{area}/people", str(e[2]).encode(), qos=1, retain=True))
            last = evs[-1][2] if evs else 0
            infos.append(c.publish(f"{area}/people", str(last).encode(), qos=1, retain=True))
            infos.append(c.publish(f"{area}/occupancy", b"ON" if last > 0 else b"OFF", qos=1, retain=True))
        for i in infos:
            i.wait_for_publish(timeout_s)
            if not i.is_published():
                raise MqttError(f"broker {host}:{port_n} did not acknowledge within {timeout_s} s")
        return len(infos)
    finally:
        c.disconnect()
        c.loop_stop()
