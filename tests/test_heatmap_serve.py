"""`tinyheat serve` (issue 18): the JSON API (bad input is a one-line JSON error, never a
traceback or a silent zero; the store is read-only; a writer's commit is picked up) and the page
in a real browser: Debian's Chromium driven by Playwright (load, range change, ROI clip, bad
range, screenshot)."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tinyheat.occupancy.activation import Activation
from tinyheat.occupancy.store import HeatStore

pytest.importorskip("fastapi")


def TestClient(app):
    """FastAPI's test client (its import warns that starlette prefers httpx2: not our code)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient as _TestClient
    return _TestClient(app)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
T0 = 1767571200  # 2026-01-05T00:00:00Z


@pytest.fixture(scope="module")
def store(tmp_path_factory, repo):
    from click.testing import CliRunner

    from tinyheat.cli import main

    root = tmp_path_factory.mktemp("serve") / "store"
    r = CliRunner().invoke(main, ["heatmap-add", str(repo / "datasets" / "heatmap-demo" / "demo.zarr"),
                                  "--store", str(root), "--sensor", "demo"])
    assert r.exit_code == 0, r.output
    return root


@pytest.fixture(scope="module")
def zones():
    from tinyheat.occupancy.zones import Zone

    return [Zone("desk", 6, 4, 10, 8), Zone("heater", 26, 1, 30, 5)]


@pytest.fixture
def client(store, zones):
    from tinyheat.occupancy.serve import make_app

    return TestClient(make_app(store, zones))


def test_api_answers_a_range_and_its_zones_like_the_store(client, store):
    r = client.get("/api/info")
    assert r.status_code == 200 and r.json()["sensors"][0]["name"] == "demo"
    r = client.get("/api/map", params={"from": "2026-01-05T08:01:00Z", "to": "2026-01-05T08:02:30Z"})
    d = r.json()
    assert r.status_code == 200, d
    q = HeatStore(store).query("demo", 1767600060, 1767600180)  # 08:01 .. 08:03 (the end rounded up)
    assert d["to"] == "2026-01-05T08:03:00Z" and d["dwell_px_s"] == pytest.approx(q.act.sum(), abs=1e-3)
    assert d["recorded_s"] == int(q.cov.max()) and d["note"] is None
    assert {z["zone"] for z in d["zones"]} == {"desk", "heater"} and all(z["dwell_s"] is not None for z in d["zones"])
    r = client.get("/api/map", params={"roi": "6,4,10,8"})
    d = r.json()
    assert d["roi"] == [6, 4, 10, 8] and 6 <= d["peak"]["x"] <= 10 and 4 <= d["peak"]["y"] <= 8
    whole = HeatStore(store).query("demo")
    assert d["vmax"] == pytest.approx(whole.act[4:9, 6:11].max())  # re-normalised to the region's maximum
    png = client.get("/api/map.png", params={"roi": "6,4,10,8"})
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    s = client.get("/api/series").json()
    assert s["level"] == "minute" and len(s["start"]) == 3 and max(s["people_max"]) >= 1


@pytest.mark.parametrize("params, status, words", [
    ({"from": "yesterday"}, 400, "not an ISO-8601 time"),
    ({"from": "2026-01-05T09:00Z", "to": "2026-01-05T08:00Z"}, 400, "must be after"),
    ({"from": "2031-01-01T00:00Z", "to": "2031-02-01T00:00Z"}, 400, "outside the recorded span"),
    ({"from": "0001-01-01T00:00Z", "to": "9999-12-31T00:00Z"}, 200, ""),  # clipped to the data, not a year loop
    ({"sensor": "attic"}, 400, "no sensor 'attic'"),
    ({"roi": "5,5,40,9"}, 400, "not inside"),
    ({"roi": "a,b"}, 400, "four integers"),
])
def test_api_bad_input_is_a_one_line_json_error(client, params, status, words):
    for path in ("/api/map", "/api/map.png", "/api/series.png"):
        if "roi" in params and "series" in path:
            continue
        r = client.get(path, params=params)
        assert r.status_code == status, (path, r.text)
        if status != 200:
            assert words in r.json()["error"] and "\n" not in r.json()["error"]


def test_api_names_a_damaged_store_and_never_writes(store, tmp_path):
    from tinyheat.occupancy.serve import make_app

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    c = TestClient(make_app(copy))
    assert c.get("/api/map").status_code == 200
    before = {p: p.stat().st_mtime_ns for p in copy.rglob("*")}
    (f,) = (copy / "compact" / "minute" / "sensor=demo").glob("*.parquet")
    f.write_bytes(b"garbage")
    r = c.get("/api/map", params={"from": "2026-01-05T08:01Z"})  # a range not answered (cached) before
    assert r.status_code == 500 and "damaged store: compact/minute/sensor=demo/" in r.json()["error"]
    assert "--repair" in r.json()["error"]
    assert {p: p.stat().st_mtime_ns for p in copy.rglob("*") if p != f} == {p: t for p, t in before.items() if p != f}


def test_api_picks_up_a_writers_commit(tmp_path):
    from tinyheat.occupancy.serve import make_app

    def act(sec):
        n = len(sec)
        z = np.zeros(n, np.int64)
        return Activation(sec, np.full((n, 2, 2), 0.5, np.float32), np.ones((n, 2, 2), bool), sec * 1000, z, z, z,
                          np.zeros((2, 2)), np.zeros((2, 2), np.int64))

    st = HeatStore(tmp_path / "s", create=True)
    st.add("cam", act(np.arange(T0, T0 + 60)))
    c = TestClient(make_app(tmp_path / "s"))
    assert c.get("/api/map").json()["dwell_px_s"] == 120.0
    time.sleep(0.01)
    st.add("cam", act(np.arange(T0 + 120, T0 + 180)))
    assert c.get("/api/map").json()["dwell_px_s"] == 240.0
    assert c.get("/api/map", params={"from": "2026-01-05T00:01Z", "to": "2026-01-05T00:02Z"}).json()["note"]


@pytest.fixture(scope="module")
def server(store, zones):
    import uvicorn

    from tinyheat.occupancy.serve import make_app

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = uvicorn.Server(uvicorn.Config(make_app(store, zones), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} missing (Debian package chromium, installed by .ci/run)")
        pytest.skip(f"{CHROMIUM} missing")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _shown(page, ver: int):
    page.wait_for_function(f"document.body.dataset.ver >= {ver} && document.getElementById('map').complete "
                           "&& document.getElementById('map').naturalWidth > 0", timeout=20000)


def test_page_in_chromium_load_range_change_roi_clip_and_bad_range(server, browser, repo, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    _shown(page, 1)
    info = page.inner_text("#info")
    assert "demo" in info and "2026-01-05T08:00:00Z .. 2026-01-05T08:03:00Z" in info
    assert page.locator("#zones tr").count() == 3  # header + desk + heater
    assert page.evaluate("document.getElementById('series').naturalWidth") > 0 or page.wait_for_function(
        "document.getElementById('series').naturalWidth > 0", timeout=20000)
    # range change: one minute typed into the calendar inputs
    page.fill("#from", "2026-01-05T08:01")
    page.fill("#to", "2026-01-05T08:02")
    page.click("#show")
    _shown(page, 2)
    assert "2026-01-05T08:01:00Z .. 2026-01-05T08:02:00Z" in page.inner_text("#info")
    assert "1 aggregates" in page.inner_text("#info")
    # quick button: the hour before 'to' (the data start clips it: same sums as 08:00 .. 08:02)
    page.click("button[data-span='3600']")
    _shown(page, 3)
    assert "2026-01-05T07:02:00Z .. 2026-01-05T08:02:00Z" in page.inner_text("#info")
    # ROI clip: drag a box over the desk on the picture
    page.click("#all")
    _shown(page, 4)
    box = page.locator("#map").bounding_box()
    cx, cy = box["width"] / 32, box["height"] / 24
    page.mouse.move(box["x"] + 6.5 * cx, box["y"] + 4.5 * cy)
    page.mouse.down()
    page.mouse.move(box["x"] + 10.5 * cx, box["y"] + 8.5 * cy, steps=5)
    page.mouse.up()
    _shown(page, 5)
    assert page.input_value("#roi") == "6,4,10,8"
    assert "ROI 6,4,10,8" in page.inner_text("#info")
    assert "roi=6%2C4%2C10%2C8" in page.get_attribute("#map", "src")
    assert page.evaluate("document.getElementById('map').naturalWidth") >= 500  # re-rendered at full size
    shot = tmp_path / "heatmap-serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20000
    if os.environ.get("TINYHEAT_UPDATE_SCREENSHOT") == "1":
        shutil.copy(shot, repo / "docs" / "heatmap-serve.png")
    # a reversed range: the page says so, nothing else changes
    page.fill("#from", "2026-01-05T09:00")
    page.fill("#to", "2026-01-05T08:00")
    page.click("#show")
    page.wait_for_function("document.body.dataset.state == 'error'", timeout=20000)
    assert "must be after" in page.inner_text("#error")
    assert not errors, errors
    page.close()


def test_api_says_a_store_of_another_version_needs_compacting_or_a_newer_tinyheat(tmp_path):
    import json

    from tinyheat.occupancy import store as store_mod
    from tinyheat.occupancy.store import StoreError, write_session

    n = 120
    sec = np.arange(T0, T0 + n, dtype=np.int64)
    z = np.zeros(n, np.int64)
    a = Activation(sec, np.full((n, 2, 2), 0.5, np.float32), np.ones((n, 2, 2), bool), sec * 1000, z, z, z,
                   np.zeros((2, 2)), np.zeros((2, 2), np.int64))
    root = tmp_path / "v1"
    e = write_session(root, "cam", a, "old")
    manifest = {"format": "tinyheat-heatmap-store", "version": 1, "levels": list(store_mod.LEVELS),
                "sensors": {"cam": {"shape": [2, 2], "sessions": {e["id"]: {
                    k: e[k] for k in ("first_s", "last_s", "frames", "seconds", "bytes", "source")}}}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    c = TestClient(make_app_(root))
    r = c.get("/api/map")
    assert r.status_code == 500 and "version 1" in r.json()["error"] and "heatmap-compact" in r.json()["error"]
    manifest["version"] = 99
    (root / "manifest.json").write_text(json.dumps(manifest))
    time.sleep(0.01)
    r = c.get("/api/map")  # replaced while the server runs
    assert r.status_code == 500 and "newer tinyheat" in r.json()["error"]
    with pytest.raises(StoreError, match="newer tinyheat"):
        make_app_(root)


def make_app_(root):
    from tinyheat.occupancy.serve import make_app

    return make_app(root)
