"""``tinyheat serve STORE``: the heat-map store in a web page, and the small JSON API behind it
(FastAPI on uvicorn; API spec: ``datasets/HEATMAP.md``, section 9).

The store is opened read-only (:class:`store.HeatStore` ``readonly=True``); a writer's new commit
is picked up on the next request (the manifest's mtime). Every answer to bad input (a time that
is not ISO 8601, an empty or reversed range, a range outside the recorded data, an unknown sensor,
a region outside the frame) and every damaged or foreign store is a JSON ``{"error": "..."}`` with
status 400 (input) or 500 (store), shown as one line in the page; a range with no recorded second
in it is answered with ``"note"`` saying so, never a silent zero.

Pictures: the heat map is the query's map coloured with matplotlib's ``inferno`` colour map over
the sensor's mean thermal image (grey), resized bicubically to 512 px wide and encoded by Pillow; a region of interest (ROI) is clipped from the stored map and re-rendered at the full
picture size with its colour scale re-normalised to the region's own maximum. The people-count
time series is a matplotlib (Agg) PNG.
"""
from __future__ import annotations

import io
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .store import iso as _iso

#: zone ``dwell_s``/``visits``/``peak_occupancy`` need the per-second rows: answered up to this range (s)
SECONDS_RANGE_MAX = 7 * 86400
#: width of the heat-map picture (px); the ROI is re-rendered at the same width
PICTURE_W = 512
#: time-series buckets: the smallest level giving at most this many points
SERIES_POINTS = 400


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _utc_s(text: str | None, name: str) -> int | None:
    from .recording import RecordingError, parse_time

    if text is None or text == "":
        return None
    try:
        return int(parse_time(text).timestamp())
    except (RecordingError, OverflowError, OSError, ValueError) as e:
        raise ApiError(f"{name}: {e}") from None


class StoreView:
    """The read-only store behind the server, re-read when a writer commits."""

    def __init__(self, root: str | Path, zones=()):
        from .store import HeatStore

        self.root = Path(root)
        self.store = HeatStore(self.root, readonly=True)
        self.zones = list(zones)
        self._lock = threading.Lock()
        self._thermal: dict = {}
        self._queries: dict = {}  # (commit, sensor, t0, t1) -> QueryResult, the page asks map then map.png

    def query(self, st, sensor: str, a: int, b: int):
        """``st.query`` with a small cache of the last answers of this manifest commit."""
        key = (st.manifest.get("commit"), sensor, a, b)
        q = self._queries.get(key)
        if q is None:
            q = st.query(sensor, a, b)
            if len(self._queries) >= 256:
                self._queries.pop(next(iter(self._queries)), None)
            self._queries[key] = q
        return q

    def _fresh(self):
        from .store import StoreError

        with self._lock:
            try:
                if self.store.reload_if_changed():
                    self._thermal, self._queries = {}, {}
            except StoreError as e:
                raise ApiError(str(e), 500) from None
            return self.store

    def call(self, fn):
        """Run ``fn(store)``; StoreError -> ApiError (500 for a damaged store, else 400). A file
        deleted by a writer's clean-up between our manifest read and the file read is retried
        once with the new manifest."""
        from .store import StoreError
        from .zones import ZoneError

        for attempt in (0, 1):
            st = self._fresh()
            try:
                return fn(st)
            except ZoneError as e:
                raise ApiError(str(e)) from None
            except StoreError as e:
                msg = str(e)
                if msg.startswith("damaged store") and attempt == 0 and st.reload_if_changed():
                    continue
                raise ApiError(msg, 500 if msg.startswith("damaged store") or "heatmap-compact" in msg else 400) from None

    def info(self) -> dict:
        def f(st):
            out = []
            for name in st.sensors():
                sd = st.manifest["sensors"][name]
                if not sd["sessions"]:
                    continue
                lo, hi = st.span(name)
                out.append({"name": name, "shape": list(sd["shape"]), "first": _iso(lo), "last": _iso(hi),
                            "sessions": len(sd["sessions"])})
            return {"store": str(self.root), "version": st.manifest.get("version"), "sensors": out,
                    "zones": [z.__dict__ for z in self.zones]}
        return self.call(f)

    def range(self, st, sensor: str | None, t_from: str | None, t_to: str | None):
        if sensor is not None and sensor not in st.manifest["sensors"]:
            raise ApiError(f"no sensor {sensor!r} in the store (has {st.sensors()})")
        sensor = st.sensor(sensor)
        lo, hi = st.span(sensor)
        a, b = _utc_s(t_from, "from"), _utc_s(t_to, "to")
        a = lo if a is None else a // 60 * 60
        b = hi if b is None else -(-b // 60) * 60
        if b <= a:
            raise ApiError(f"'to' ({_iso(b)}) must be after 'from' ({_iso(a)})")
        return sensor, a, b

    def thermal(self, st, sensor):
        if sensor not in self._thermal:
            self._thermal[sensor] = st.mean_thermal(sensor)
        return self._thermal[sensor]

    def map(self, sensor, t_from, t_to, unit="dwell", roi=None) -> dict:
        from .zones import parse_roi, zone_stats

        if unit not in ("dwell", "fraction"):
            raise ApiError(f"unit must be 'dwell' or 'fraction', not {unit!r}")

        def f(st):
            t = time.perf_counter()
            s, a, b = self.range(st, sensor, t_from, t_to)
            q = self.query(st, s, a, b)
            shape = st.shape(s)
            r = parse_roi(roi).check(shape) if roi else None
            value = q.act if unit == "dwell" else q.fraction
            shown = r.clip(value) if r is not None else value
            peak = np.unravel_index(int(np.argmax(shown)), shown.shape)
            zs = [z.check(shape) for z in self.zones] + ([r] if r is not None else [])
            zones, note = [], None
            if zs:
                if b - a <= SECONDS_RANGE_MAX:
                    sec, act = st.seconds(s, a, b)
                    zones = [zone_stats(z, q.act, q.cov, sec, act) for z in zs]
                else:
                    zones = [{k: (None if k in ("dwell_s", "peak_occupancy", "visits") else v)
                              for k, v in zone_stats(z, q.act, q.cov, np.zeros(0, np.int64),
                                                     np.zeros((0,) + shape)).items()} for z in zs]
                    note = (f"zone dwell_s, visits and peak need per-second data: shown for ranges up to "
                            f"{SECONDS_RANGE_MAX // 86400} days")
            recorded = int(q.cov.max())
            return {"sensor": s, "from": _iso(a), "to": _iso(b), "unit": unit, "aggregates": q.aggregates,
                    "rows": q.rows, "plan": [[lv, _iso(x), _iso(y)] for lv, x, y in q.runs],
                    "recorded_s": recorded, "dwell_px_s": round(float(q.act.sum()), 3),
                    "coverage": round(float((q.cov > 0).mean()), 4), "vmax": round(float(shown.max()), 6),
                    "peak": {"x": int(peak[1]) + (r.x0 if r else 0), "y": int(peak[0]) + (r.y0 if r else 0),
                             "value": round(float(shown.max()), 6)},
                    "roi": [r.x0, r.y0, r.x1, r.y1] if r else None, "zones": zones, "zones_note": note,
                    "note": None if recorded else "nothing was recorded in this range (it falls in a gap "
                                                  "between recordings)",
                    "ms": round(1000 * (time.perf_counter() - t), 1)}
        return self.call(f)

    def map_png(self, sensor, t_from, t_to, unit="dwell", roi=None) -> bytes:
        from matplotlib import colormaps
        from PIL import Image

        from .zones import parse_roi

        if unit not in ("dwell", "fraction"):
            raise ApiError(f"unit must be 'dwell' or 'fraction', not {unit!r}")

        def f(st):
            s, a, b = self.range(st, sensor, t_from, t_to)
            q = self.query(st, s, a, b)
            value = q.act if unit == "dwell" else q.fraction
            thermal = self.thermal(st, s)
            if thermal is None:
                thermal = np.zeros(value.shape)
            if roi:
                r = parse_roi(roi).check(st.shape(s))
                value, thermal = r.clip(value), r.clip(thermal)
            v = np.clip(np.asarray(value, np.float64), 0, None)
            top = float(v.max())
            v = v / top if top > 0 else np.zeros_like(v)
            fin = np.isfinite(thermal)
            lo, hi = (np.percentile(thermal[fin], [1, 99]) if fin.any() else (0.0, 1.0))
            grey = np.clip((np.where(fin, thermal, lo) - lo) / max(hi - lo, 1e-6), 0, 1)
            alpha = np.clip(v * 3, 0, 0.85)[..., None]
            img = (1 - alpha) * grey[..., None] + alpha * colormaps["inferno"](v)[..., :3]
            h, w = v.shape
            size = (PICTURE_W, max(1, round(PICTURE_W * h / w)))
            buf = io.BytesIO()
            Image.fromarray((img * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC).save(
                buf, "PNG", compress_level=1)
            return buf.getvalue()
        return self.call(f)

    def series(self, sensor, t_from, t_to) -> dict:
        from .rollup import LEVELS

        def f(st):
            s, a, b = self.range(st, sensor, t_from, t_to)
            self.query(st, s, a, b)  # the same checks as the map (outside the data, damaged files)
            level = next((lv for lv in ("minute", "hour", "day", "week") if (b - a) / LEVELS[lv] <= SERIES_POINTS),
                         "month")
            from .rollup import bucket_start
            r = st.rollup_rows(level, s, int(bucket_start([a], level)[0]), b)
            fr = np.maximum(r["frames"], 1)
            return {"sensor": s, "from": _iso(a), "to": _iso(b), "level": level,
                    "start": [_iso(x) for x in r["start"]],
                    "people_mean": [round(float(x), 4) for x in r["people"] / fr],
                    "people_max": [int(x) for x in r["people_max"]],
                    "occupied_px_mean": [round(float(x), 4) for x in
                                         r["act"].sum(1) / np.maximum(r["cov"].max(1), 1)]}
        return self.call(f)

    def series_png(self, sensor, t_from, t_to) -> bytes:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        from .rollup import LEVELS, bucket_start

        d = self.series(sensor, t_from, t_to)
        if d["start"] and d["level"] != "month":  # every bucket of the range, NaN where nothing was recorded: gaps show
            got = {x: i for i, x in enumerate(d["start"])}
            step = LEVELS[d["level"]]
            grid = [_iso(x) for x in range(int(bucket_start([_utc_s(d["from"], "from")], d["level"])[0]),
                                           _utc_s(d["to"], "to"), step)]
            for k in ("people_mean", "people_max"):
                d[k] = [d[k][got[x]] if x in got else float("nan") for x in grid]
            d["start"] = grid
        t = [datetime.fromisoformat(x.replace("Z", "+00:00")) for x in d["start"]]
        fig = Figure(figsize=(8, 2.6), dpi=80)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.2)
        ax = fig.subplots()
        if t:
            from .rollup import bucket_end
            end = int(bucket_end([int(t[-1].timestamp())], d["level"])[0])
            t = t + [datetime.fromtimestamp(min(end, _utc_s(d["to"], "to")), tz=timezone.utc)]
            ax.step(t, d["people_mean"] + d["people_mean"][-1:], where="post", label=f"mean people per {d['level']}")
            ax.step(t, d["people_max"] + d["people_max"][-1:], where="post", alpha=0.4,
                    label="most people in one frame")
            loc = AutoDateLocator(minticks=3, maxticks=7)  # ticks are most of the drawing time
            ax.xaxis.set_major_locator(loc)
            ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
            ax.legend(loc="upper right", fontsize=7)
        else:
            ax.text(0.5, 0.5, "nothing recorded in this range", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel("people")
        ax.set_xlabel("time (UTC)")
        ax.set_ylim(bottom=0)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()


def make_app(root: str | Path, zones=()):
    """The FastAPI app serving the store at ``root`` (raises StoreError if it is not a store)."""
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    view = StoreView(root, zones)
    app = FastAPI(title="tinyheat heat maps", docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request, e: ApiError):
        return JSONResponse({"error": " ".join(str(e).split())}, status_code=e.status)

    @app.exception_handler(Exception)
    async def _any_error(request, e: Exception):  # a bug: still one line, never a traceback page
        return JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"}, status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def page():
        return PAGE

    @app.get("/api/info")
    def info():
        return view.info()

    @app.get("/api/map")
    def api_map(sensor: str | None = None, from_: str | None = Query(None, alias="from"), to: str | None = None,
                unit: str = "dwell", roi: str | None = None):
        return view.map(sensor, from_, to, unit, roi)

    @app.get("/api/map.png")
    def api_map_png(sensor: str | None = None, from_: str | None = Query(None, alias="from"), to: str | None = None,
                    unit: str = "dwell", roi: str | None = None):
        return Response(view.map_png(sensor, from_, to, unit, roi), media_type="image/png")

    @app.get("/api/series")
    def api_series(sensor: str | None = None, from_: str | None = Query(None, alias="from"), to: str | None = None):
        return view.series(sensor, from_, to)

    @app.get("/api/series.png")
    def api_series_png(sensor: str | None = None, from_: str | None = Query(None, alias="from"),
                       to: str | None = None):
        return Response(view.series_png(sensor, from_, to), media_type="image/png")

    return app


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinyheat heat maps</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;max-width:1100px}
fieldset{border:1px solid #ccc;margin:0 0 10px;padding:8px}
label{margin-right:10px}
#error{color:#b00020;font-weight:bold;min-height:1.2em}
#note{color:#805000}
.row{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
#map{border:1px solid #888;cursor:crosshair;image-rendering:auto;width:512px}
#legend{width:512px;height:12px;background:linear-gradient(to right,#000004,#57106e,#bc3754,#f98e09,#fcffa4)}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
#sel{position:absolute;border:2px dashed cyan;pointer-events:none;display:none}
</style></head><body>
<h2>tinyheat heat maps</h2>
<fieldset><label>sensor <select id="sensor"></select></label>
<label>from (UTC) <input id="from" type="datetime-local" step="60"></label>
<label>to (UTC) <input id="to" type="datetime-local" step="60"></label>
<button data-span="3600">hour</button><button data-span="86400">day</button>
<button data-span="604800">week</button><button data-span="2592000">month</button>
<button id="all">all</button>
<label>unit <select id="unit"><option>dwell</option><option>fraction</option></select></label>
<button id="show">show</button></fieldset>
<fieldset><label>region of interest x0,y0,x1,y1 <input id="roi" size="12" placeholder="drag on the map"></label>
<button id="clip">clip</button><button id="unclip">whole frame</button></fieldset>
<div id="error" role="alert"></div><div id="note"></div>
<div class="row"><div style="position:relative"><img id="map" alt="heat map"><div id="sel"></div>
<div id="legend"></div><div><span>0</span> <span id="vmax" style="float:right"></span></div></div>
<div><div id="info"></div><table id="zones"></table><div id="znote"></div></div></div>
<h3>people over time</h3><img id="series" alt="people over time">
<script>
const $=id=>document.getElementById(id);let sensors=[],shape=[24,32],ver=0;
const toIn=s=>s.replace('Z','').slice(0,16), fromIn=v=>v?v+':00Z':'';
function params(extra){const p=new URLSearchParams({sensor:$('sensor').value,from:fromIn($('from').value),
 to:fromIn($('to').value),unit:$('unit').value});const r=$('roi').value.trim();if(r)p.set('roi',r);
 for(const k in (extra||{}))p.set(k,extra[k]);return p}
async function show(){const p=params();$('error').textContent='';$('note').textContent='';
 let res,d;try{res=await fetch('/api/map?'+p);d=await res.json()}catch(e){$('error').textContent='server unreachable: '+e;return}
 if(!res.ok){$('error').textContent=d.error;document.body.dataset.state='error';return}
 $('note').textContent=d.note||'';ver++;
 $('map').src='/api/map.png?'+p+'&v='+ver;
 const ps=new URLSearchParams(p);ps.delete('roi');ps.delete('unit');$('series').src='/api/series.png?'+ps;
 $('vmax').textContent=d.vmax+(d.unit=='dwell'?' s':'');
 $('info').innerHTML=`<b>${d.sensor}</b> ${d.from} .. ${d.to}<br>${d.aggregates} aggregates, ${d.rows} rows, ${d.ms} ms<br>`+
  `recorded up to ${d.recorded_s} s per pixel, coverage ${(100*d.coverage).toFixed(1)} % of pixels<br>`+
  `dwell ${d.dwell_px_s} pixel-s; peak ${d.peak.value} at x=${d.peak.x}, y=${d.peak.y}`+(d.roi?`<br>ROI ${d.roi}`:'');
 const z=d.zones;$('zones').innerHTML=z.length?'<tr><th>zone</th><th>dwell s</th><th>dwell pixel-s</th><th>occupied</th><th>visits</th><th>peak</th></tr>'+
  z.map(r=>`<tr><td>${r.zone}</td><td>${r.dwell_s??'-'}</td><td>${r.dwell_px_s}</td><td>${(100*r.occupied_fraction).toFixed(2)} %</td><td>${r.visits??'-'}</td><td>${r.peak_occupancy??'-'}</td></tr>`).join(''):'';
 $('znote').textContent=d.zones_note||'';document.body.dataset.state='shown';document.body.dataset.ver=ver}
function span(sec){const t=$('to').value?new Date(fromIn($('to').value)):new Date();
 $('from').value=toIn(new Date(t-sec*1000).toISOString());show()}
document.querySelectorAll('button[data-span]').forEach(b=>b.onclick=()=>span(+b.dataset.span));
$('show').onclick=show;$('unit').onchange=show;$('clip').onclick=show;$('unclip').onclick=()=>{$('roi').value='';show()};
function pick(){const s=sensors.find(x=>x.name==$('sensor').value);if(!s)return;shape=s.shape;
 $('from').value=toIn(s.first);$('to').value=toIn(s.last)}
$('all').onclick=()=>{pick();show()};$('sensor').onchange=()=>{$('roi').value='';pick();show()};
let drag=null;const img=$('map');
function px(e){const b=img.getBoundingClientRect(),r=$('roi').value.split(',').map(Number);
 let [x0,y0,w,h]=[0,0,shape[1],shape[0]];if(img.dataset.roi){const q=img.dataset.roi.split(',').map(Number);[x0,y0,w,h]=[q[0],q[1],q[2]-q[0]+1,q[3]-q[1]+1]}
 return [Math.min(w-1,Math.max(0,Math.floor((e.clientX-b.left)/b.width*w)))+x0,Math.min(h-1,Math.max(0,Math.floor((e.clientY-b.top)/b.height*h)))+y0,e.clientX-b.left,e.clientY-b.top]}
img.onmousedown=e=>{e.preventDefault();drag=px(e)};
img.onmousemove=e=>{if(!drag)return;const p=px(e),s=$('sel').style;s.display='block';s.left=Math.min(drag[2],p[2])+'px';
 s.top=Math.min(drag[3],p[3])+'px';s.width=Math.abs(p[2]-drag[2])+'px';s.height=Math.abs(p[3]-drag[3])+'px'};
img.onmouseup=e=>{if(!drag)return;const p=px(e);$('sel').style.display='none';
 $('roi').value=[Math.min(drag[0],p[0]),Math.min(drag[1],p[1]),Math.max(drag[0],p[0]),Math.max(drag[1],p[1])].join(',');drag=null;show()};
img.onload=()=>{img.dataset.roi=new URLSearchParams(img.src.split('?')[1]).get('roi')||''};
(async()=>{const r=await fetch('/api/info');const d=await r.json();if(!r.ok){$('error').textContent=d.error;return}
 sensors=d.sensors;if(!sensors.length){$('error').textContent='the store has no sessions yet';return}
 $('sensor').innerHTML=sensors.map(s=>`<option>${s.name}</option>`).join('');pick();show()})();
</script></body></html>
"""


def app_from_env():
    """App factory for uvicorn worker processes: the store and zones file from the environment
    (``TINYHEAT_SERVE_STORE``, ``TINYHEAT_SERVE_ZONES``), set by :func:`serve`."""
    import gc
    import os

    from .zones import read_zones

    zf = os.environ.get("TINYHEAT_SERVE_ZONES")
    app = make_app(os.environ["TINYHEAT_SERVE_STORE"], read_zones(zf) if zf else [])
    _warm_and_freeze()
    gc.collect()
    return app


def _warm_and_freeze() -> None:
    import gc

    import matplotlib.figure  # noqa: F401  (imported now, so the freeze below covers it)
    import PIL.Image  # noqa: F401
    # the imported modules' ~10^6 objects never die: freezing them keeps Python's full garbage
    # collections (otherwise ~200 ms on this machine, every few hundred requests) to the new objects
    gc.freeze()


def serve(store, host: str = "127.0.0.1", port: int = 8000, zones=(), workers: int = 1, zones_file=None) -> None:
    """Run the server until Ctrl-C (uvicorn), in ``workers`` processes (each opens the store
    read-only). Raises StoreError if ``store`` is not a store."""
    import os

    import uvicorn

    app = make_app(store, zones)  # checks the store before anything starts
    print(f"serving {store} on http://{host}:{port}/ (read-only, {workers} process(es); Ctrl-C stops)", flush=True)
    if workers > 1:
        os.environ["TINYHEAT_SERVE_STORE"] = str(Path(store).resolve())
        if zones_file:
            os.environ["TINYHEAT_SERVE_ZONES"] = str(Path(zones_file).resolve())
        uvicorn.run("tinyheat.occupancy.serve:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
        return
    _warm_and_freeze()
    uvicorn.run(app, host=host, port=port, log_level="warning")
