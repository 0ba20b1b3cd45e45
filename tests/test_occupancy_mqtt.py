"""Occupancy events over MQTT (issue 11): `tinyheat occupancy --mqtt` publishes to an embedded
broker (amqtt, started by the test on 127.0.0.1) and a paho-mqtt subscriber receives them."""
from __future__ import annotations

import asyncio
import csv
import json
import socket
import threading
import time

import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.occupancy import synth


@pytest.fixture
def broker():
    amqtt_broker = pytest.importorskip("amqtt.broker")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    loop = asyncio.new_event_loop()
    ready, box = threading.Event(), {}

    def serve():
        asyncio.set_event_loop(loop)
        b = amqtt_broker.Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}}}, loop=loop)
        loop.run_until_complete(b.start())
        box["b"] = b
        ready.set()
        loop.run_forever()
        loop.run_until_complete(b.shutdown())
        loop.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    assert ready.wait(20), "embedded MQTT broker did not start"
    yield port
    loop.call_soon_threadsafe(loop.stop)
    th.join(10)


@pytest.mark.filterwarnings("ignore:.*BrokerSysPlugin:DeprecationWarning")  # amqtt's own $SYS plugin notice
def test_occupancy_events_are_published_and_received(broker, tmp_path):
    import paho.mqtt.client as mqtt

    people = (synth.Person(((3, -2, 6), (25, 34, 6))), synth.Person(((10, 12, 26), (16, 12, 16), (30, 12, 16), (36, 12, 26))))
    rec, _ = synth.scene(40, fps=4, people=people, seed=9)
    path = tmp_path / "rec.npz"
    import numpy as np
    np.savez(path, frames=rec.frames, t_ms=rec.t_ms, start_unix_ms=np.int64(rec.start.timestamp() * 1000))

    got, subscribed = [], threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub")
    sub.on_message = lambda c, u, m: got.append((m.topic, m.payload.decode()))
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", broker)
    sub.subscribe("home/hall/#", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        r = CliRunner().invoke(main, ["occupancy", str(path), "--events", str(tmp_path / "ev.csv"), "--sensor", "hall",
                                      "--mqtt", f"127.0.0.1:{broker}", "--topic", "home/hall"])
        assert r.exit_code == 0, r.output
        with open(tmp_path / "ev.csv") as f:
            written = list(csv.DictReader(f))
        assert [e["event"] for e in written] == ["entered", "entered", "left", "left"]
        deadline = time.monotonic() + 10

        def done():  # every event, and the final retained state (published last)
            return (sum(t == "home/hall/event" for t, _ in got) >= len(written)
                    and ("home/hall/occupancy", "OFF") in got)

        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sub.loop_stop()
        sub.disconnect()
    events = [json.loads(p) for t, p in got if t == "home/hall/event"]
    assert [(e["event"], e["people"], e["epoch_ms"]) for e in events] == \
        [(e["event"], int(e["people"]), int(e["epoch_ms"])) for e in written]
    assert all(e["sensor"] == "hall" for e in events)
    assert ("home/hall/people", "0") in got


def test_unreachable_broker_is_a_one_line_error_and_keeps_the_csv(tmp_path):
    rec, _ = synth.scene(5, fps=4, seed=1)
    import numpy as np
    path = tmp_path / "rec.npz"
    np.savez(path, frames=rec.frames, t_ms=rec.t_ms, start_unix_ms=np.int64(0))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    r = CliRunner().invoke(main, ["occupancy", str(path), "--events", str(tmp_path / "ev.csv"),
                                  "--mqtt", f"127.0.0.1:{port}"])
    assert r.exit_code == 1 and "cannot reach MQTT broker" in r.output and "Traceback" not in r.output
    assert (tmp_path / "ev.csv").is_file()


@pytest.mark.filterwarnings("ignore:.*BrokerSysPlugin:DeprecationWarning")
def test_home_assistant_discovery_is_retained_and_read_back_as_home_assistant_would(broker, tmp_path):
    """`occupancy --mqtt --home-assistant --zones`: after the command has exited, a client that
    subscribes to the discovery prefix (as Home Assistant does when it starts) receives every
    config retained, and the state and availability topics they name hold the final state."""
    import numpy as np
    import paho.mqtt.client as mqtt

    # one walker crosses the top (door) band left to right; a sitter comes into the desk and stays
    walker = synth.Person(((2, -2, 4), (14, 34, 4)))
    sitter = synth.Person(((4, 12, 26), (10, 12, 16), (40, 12, 16)))
    rec, _ = synth.scene(40, fps=4, people=(walker, sitter), seed=3)
    path = tmp_path / "rec.npz"
    np.savez(path, frames=rec.frames, t_ms=rec.t_ms, start_unix_ms=np.int64(rec.start.timestamp() * 1000))
    zones = tmp_path / "zones.csv"
    zones.write_text("name,x0,y0,x1,y1\ndoor band,0,0,31,7\ndesk,8,12,16,20\n")
    r = CliRunner().invoke(main, ["occupancy", str(path), "--sensor", "hall", "--zones", str(zones), "--mqtt",
                                  f"127.0.0.1:{broker}", "--topic", "home/hall", "--home-assistant",
                                  "--absorb-s", "120"])
    assert r.exit_code == 0, r.output

    def read_retained(pattern, n, wait_s=10):
        got, done, prefix = {}, threading.Event(), pattern.rstrip("#")
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ha-{len(pattern)}")

        def on_msg(cl, u, m):
            if not m.topic.startswith(prefix):  # (amqtt may also hand over other retained topics)
                return
            assert m.retain, m.topic  # delivered because it was retained
            got[m.topic] = m.payload.decode()
            if len(got) >= n:
                done.set()
        c.on_message = on_msg
        c.connect("127.0.0.1", broker)
        c.subscribe(pattern, qos=1)
        c.loop_start()
        done.wait(wait_s)
        c.loop_stop()
        c.disconnect()
        return got

    configs = {t: json.loads(p) for t, p in read_retained("homeassistant/#", 6).items()}
    assert sorted(configs) == sorted(
        [f"homeassistant/binary_sensor/tinyheat_hall/{o}_occupancy/config" for o in ("all", "zone_door_band", "zone_desk")]
        + [f"homeassistant/sensor/tinyheat_hall/{o}_people/config" for o in ("all", "zone_door_band", "zone_desk")])
    occ = [c for t, c in configs.items() if "/binary_sensor/" in t]
    assert all(c["device_class"] == "occupancy" and c["payload_on"] == "ON" for c in occ)
    assert len({c["unique_id"] for c in configs.values()}) == 6
    assert all(c["availability_topic"] == "home/hall/availability" and c["device"]["identifiers"] == ["tinyheat_hall"]
               for c in configs.values())
    people = configs["homeassistant/sensor/tinyheat_hall/zone_desk_people/config"]
    assert people["state_topic"] == "home/hall/zone/desk/people" and people["state_class"] == "measurement"
    states = read_retained("home/hall/#", 7)  # availability + 2 x 3 areas
    assert states["home/hall/availability"] == "online"
    for c in configs.values():
        assert c["state_topic"] in states
    # the final state: the sitter stays at the desk, the walker has left the door band
    assert states["home/hall/zone/desk/people"] == "1" and states["home/hall/zone/desk/occupancy"] == "ON"
    assert states["home/hall/zone/door band/people"] == "0" and states["home/hall/zone/door band/occupancy"] == "OFF"
    assert states["home/hall/people"] == "1" and states["home/hall/occupancy"] == "ON"
    assert "zone door band: 2 events" in r.output  # entered, left
