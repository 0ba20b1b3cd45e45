"""Scene model of the demo simulator: a room, static and warm objects, and a person's head.

Everything here is *apparent* temperature in degC (what an ideal radiometer with emissivity 1
would see, i.e. emission plus reflected room radiation), rendered on the supersampled ray grid of
:func:`tinyheat.sim.sensor.ray_tangents`. Camera coordinates, metres: x right, y down,
z forward along the optical axis; a fronto-parallel surface at depth z is hit by ray (tx, ty) at
(tx * z, ty * z). Later (nearer) layers cover earlier ones (painter's algorithm).

Physical basis and sources (values are typical, randomised per session/frame by the caller):

* Room: walls a little below the air temperature (20-27 degC) with a vertical gradient of
  0.3-1.2 K/m (warm air rises; ISO 7730 comfort limit 3 K between 0.1 m and 1.1 m) and a weak
  horizontal gradient towards the window/radiator side; a smooth low-amplitude texture.
* Window glass is opaque in the 8-14 um band (soda-lime glass stops transmitting near 5 um;
  FLIR, "The Ultimate Infrared Handbook for R&D Professionals"), so it shows its own
  temperature: colder than the room in winter, warmer when the sun shines on it.
  A radiator (35-50 degC when on), an LED lamp head, a switched-on monitor (panel 5-9 K above the
  room), a laptop and a mug of hot drink (ceramic outer wall 42-60 degC, cooling towards the room
  with a time constant of ~20 min) are the warm objects; each is flagged ``warm``.
* Face (Ring & Ammer 2012, "Infrared thermal imaging in medicine", Physiol. Meas. 33 R33;
  Ioannou, Gallese & Merla 2014, "Thermal infrared imaging in psychophysiology",
  Psychophysiology 51:951): forehead skin ~34 degC, rising ~0.15 K per K of room temperature;
  the inner canthus (medial eye corner) is the warmest facial point, ~1 K above the forehead
  (the fever-screening site of IEC 80601-2-59); the orbits are slightly warm; the nose tip is
  the coldest skin, 1-4 K below the forehead and colder in a colder room; cheeks and chin are a
  little cooler. Skin emissivity is 0.98 (Steketee 1973, Phys. Med. Biol. 18:686); the apparent
  temperature additionally falls towards the silhouette, where the surface is seen at grazing
  angles and directional emissivity drops (Fresnel behaviour of dielectrics).
* Hair, beard and clothing insulate: their surface lies between skin and room temperature,
  modelled as ``room + f * (skin - room)`` with f = 0.35-0.65 by thickness.
* Glasses are opaque in LWIR (same glass physics as the window): the lenses show a cool
  ``room + 0.45 * (skin - room)`` patch over the eyes, hiding the warm canthi.
* Anthropometry: head breadth ~15-16.5 cm, head height (vertex to chin) ~21-23 cm, shoulder
  breadth 40-46 cm, eyes at about half the head height.

The two people (:data:`IDENTITIES`) differ consistently in head shape, hair, glasses and beard
and each has a fixed personal skin-temperature pattern (facial thermograms are individual).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------------------------------------
# People


@dataclass(frozen=True)
class Identity:
    """A person: geometry (metres), hair/beard/glasses and a fixed skin pattern."""

    name: str
    head_half_w_m: float  #: half head breadth, m
    head_half_h_m: float  #: half head height (vertex to chin), m
    neck_half_w_m: float
    shoulder_half_w_m: float
    hairline_v: float  #: hairline height in face coordinates (v = -1 vertex .. +1 chin)
    hairline_curve: float  #: how far the hairline drops at the temples (v per u^2)
    long_hair: bool  #: hair covers the face sides and ears and falls to the shoulders
    hair_f: float  #: hair surface = room + hair_f * (skin - room)
    glasses_prob: float  #: probability per session of wearing glasses
    beard: bool
    beard_f: float  #: beard surface = room + beard_f * (skin - room)
    skin_offset_k: float  #: personal forehead offset, K
    texture_seed: int  #: seed of the personal skin pattern (independent of the session seed)


IDENTITIES: dict[str, Identity] = {
    # narrow, long head; short hair; glasses; clean-shaven
    "face0": Identity("face0", 0.074, 0.116, 0.055, 0.200, -0.60, 0.30, False, 0.65, 1.0, False,
                      0.0, -0.2, 11),
    # broader, shorter head; long thick hair with a fringe; short beard; no glasses
    "face1": Identity("face1", 0.082, 0.108, 0.062, 0.225, -0.38, 0.10, True, 0.35, 0.0, True,
                      0.55, 0.2, 23),
}


def _texture_params(seed: int) -> np.ndarray:
    """(6, 5) rows of (amplitude K, u0, v0, sigma, sign) of the personal skin pattern."""
    r = np.random.default_rng(seed)
    return np.column_stack([r.uniform(0.1, 0.3, 6), r.uniform(-0.8, 0.8, 6), r.uniform(-0.6, 0.8, 6),
                            r.uniform(0.15, 0.35, 6), r.choice([-1.0, 1.0], 6)])


_TEXTURES = {k: _texture_params(v.texture_seed) for k, v in IDENTITIES.items()}


@dataclass(frozen=True)
class Pose:
    """Head pose: centre (x, y) in metres at depth ``dist_m``; roll/yaw/pitch in degrees."""

    x_m: float
    y_m: float
    dist_m: float
    roll_deg: float = 0.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0


@dataclass(frozen=True)
class PersonState:
    """A person on one day: identity, forehead skin temperature (degC) and what they wear."""

    identity: Identity
    forehead_degc: float
    glasses: bool
    clothing_f: float  #: clothing surface = room + clothing_f * (skin - room)
    body_x_m: float  #: torso centre x, m (the head moves relative to it)


def forehead_temperature(room_degc: float, identity: Identity, day_jitter_k: float) -> float:
    """Forehead skin temperature, degC: 34.2 + 0.15 K/K * (room - 24) + personal + daily offset."""
    return 34.2 + 0.15 * (room_degc - 24.0) + identity.skin_offset_k + day_jitter_k


def _g(u, v, u0, v0, su, sv):
    return np.exp(-0.5 * (((u - u0) / su) ** 2 + ((v - v0) / sv) ** 2))


def face_temperature(u: np.ndarray, v: np.ndarray, person: PersonState, room_degc: float,
                     yaw_deg: float) -> np.ndarray:
    """Apparent skin temperature (degC) at face coordinates (u, v) in the head ellipse.

    u = -1 .. 1 across the head (image left to right), v = -1 (vertex) .. 1 (chin), eyes at v=0.
    Silhouette fall-off, hair, glasses and beard are applied by :func:`head_temperature`.
    """
    t_fh = person.forehead_degc
    cold = max(0.0, 24.0 - room_degc)  # a colder room cools the nose and cheeks more
    s = np.sin(np.radians(yaw_deg))
    uf, un = u - 0.45 * s, u - 0.65 * s  # features / nose shift when the head turns
    t = np.full(u.shape, t_fh)
    for side in (-1.0, 1.0):
        t += 0.35 * _g(uf, v, side * 0.36, 0.0, 0.17, 0.10)  # orbit
        t += 0.9 * _g(uf, v, side * 0.15, 0.03, 0.06, 0.06)  # inner canthus, warmest point
        t -= (0.6 + 0.12 * cold) * _g(uf, v, side * 0.52, 0.38, 0.2, 0.17)  # cheek
    t -= min(4.0, 1.6 + 0.35 * cold) * _g(un, v, 0.0, 0.33, 0.11, 0.15)  # nose, tip coldest
    t -= 0.4 * _g(uf, v, 0.0, 0.62, 0.22, 0.06)  # mouth
    t -= 0.5 * np.clip((v - 0.6) / 0.35, 0.0, 1.0)  # chin
    for a, u0, v0, sg, sign in _TEXTURES[person.identity.name]:
        t += sign * a * _g(uf, v, u0, v0, sg, sg)
    return t


def _mix(room: float, skin: float, f: float) -> float:
    return room + f * (skin - room)


# ---------------------------------------------------------------------------------------------
# Room and objects


@dataclass(frozen=True)
class Box:
    """A flat rectangle or ellipse facing the camera at ``depth_m``; x/y extents in metres."""

    kind: str
    x0: float
    x1: float
    y0: float
    y1: float
    depth_m: float
    temp_degc: float
    warm: bool = False
    ellipse: bool = False
    stripes_k: float = 0.0  #: amplitude of vertical stripes (book spines), K

    def mask(self, tx, ty):
        x, y = tx * self.depth_m, ty * self.depth_m
        if self.ellipse:
            cx, cy = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
            return (((x - cx) / ((self.x1 - self.x0) / 2)) ** 2 + ((y - cy) / ((self.y1 - self.y0) / 2)) ** 2) <= 1
        return (x >= self.x0) & (x <= self.x1) & (y >= self.y0) & (y <= self.y1)

    def temperature(self, tx, ty):
        t = np.full(tx.shape, self.temp_degc)
        if self.stripes_k:
            t += self.stripes_k * np.sin(tx * self.depth_m * 2 * np.pi / 0.045)
        return t


@dataclass(frozen=True)
class Room:
    """One day's room: air temperature (degC), wall, desk and the static objects."""

    room_degc: float
    wall_dist_m: float
    grad_v_k_per_m: float  #: wall warms by this much per metre upwards
    grad_h_k_per_m: float  #: wall warms by this much per metre to the right
    desk_y_m: float  #: desk surface, metres below the optical axis
    desk_far_m: float  #: far edge of the desk, m
    texture: tuple  #: (amplitude, kx, ky, phase) * n of the smooth wall texture
    objects: tuple[Box, ...] = field(default_factory=tuple)

    def wall(self, tx, ty):
        x, y = tx * self.wall_dist_m, ty * self.wall_dist_m
        t = self.room_degc - 0.3 - self.grad_v_k_per_m * y + self.grad_h_k_per_m * x
        for a, kx, ky, ph in self.texture:
            t = t + a * np.sin(kx * x + ky * y + ph)
        return t


def make_room(rng: np.random.Generator, room_degc: float, heating: bool, sunny: bool,
              monitor_on: bool, lamp_on: bool) -> Room:
    """Draw one day's view of the (fixed) home office: camera placement jitters, states vary."""
    d = rng.uniform(2.0, 3.2)
    dx, dy = rng.uniform(-0.3, 0.3), rng.uniform(-0.12, 0.12)
    win_t = room_degc + (rng.uniform(2.0, 5.0) if sunny else -rng.uniform(1.5, 5.5))
    objs = [
        Box("bookshelf", -1.6 + dx, -0.75 + dx, -1.0 + dy, 1.0 + dy, d - 0.3, room_degc - 0.4, stripes_k=0.25),
        Box("door", -0.45 + dx, 0.35 + dx, -1.1 + dy, 1.2 + dy, d, room_degc - 0.9),
        Box("picture", -0.2 + dx, 0.15 + dx, -0.6 + dy, -0.35 + dy, d - 0.02, room_degc - 0.2),
        Box("window", 0.65 + dx, 1.7 + dx, -1.25 + dy, 0.35 + dy, d, win_t, warm=win_t > room_degc + 1.0),
        Box("radiator", 0.75 + dx, 1.55 + dx, 0.45 + dy, 0.85 + dy, d - 0.08,
            rng.uniform(36.0, 50.0) if heating else room_degc - 0.5, warm=heating),
        Box("plant", -0.7 + dx, -0.45 + dx, 0.1 + dy, 0.6 + dy, d - 0.4, room_degc - 1.0, ellipse=True),
        Box("lamp", -0.62 + dx, -0.48 + dx, -0.95 + dy, -0.83 + dy, d - 0.35,
            rng.uniform(38.0, 52.0) if lamp_on else room_degc, warm=lamp_on, ellipse=True),
    ]
    mon_side = rng.choice([-1.0, 1.0])
    mon_d = rng.uniform(0.9, 1.3)
    mx0 = mon_side * rng.uniform(0.42, 0.55) * mon_d
    objs.append(Box("monitor", min(mx0, mx0 + mon_side * 0.55), max(mx0, mx0 + mon_side * 0.55),
                    -0.2, 0.12, mon_d, room_degc + (rng.uniform(5.0, 9.0) if monitor_on else 0.3),
                    warm=monitor_on))
    texture = tuple((rng.uniform(0.05, 0.2), rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(0, 2 * np.pi))
                    for _ in range(4))
    return Room(room_degc, d, rng.uniform(0.3, 1.2), rng.uniform(-0.4, 0.4), rng.uniform(0.14, 0.2),
                rng.uniform(0.38, 0.52), texture, tuple(objs))


def make_mug(rng: np.random.Generator, room: Room, surface_degc: float) -> Box:
    """A mug (8 cm wide, 10 cm tall) standing on the desk, ceramic outer wall at ``surface_degc``."""
    z = rng.uniform(0.4, room.desk_far_m + 0.05)
    x = rng.uniform(-0.45, 0.45) * z
    return Box("mug", x - 0.04, x + 0.04, room.desk_y_m - 0.10, room.desk_y_m, z, surface_degc, warm=True)


def make_laptop(rng: np.random.Generator, room: Room) -> Box:
    """The back of an open laptop's lid at the edge of the view, 5-10 K above the room."""
    z = rng.uniform(0.8, 1.1)
    side = rng.choice([-1.0, 1.0])
    x_in = side * rng.uniform(0.36, 0.46) * z  # inner edge of the lid
    return Box("laptop", min(x_in, x_in + side * 0.32), max(x_in, x_in + side * 0.32),
               room.desk_y_m - 0.22, room.desk_y_m, z, room.room_degc + rng.uniform(5.0, 10.0), warm=True)


# ---------------------------------------------------------------------------------------------
# Rendering

#: ids in the ``who`` map of :class:`SceneRender`
BACKGROUND, OBJECT, WARM, HEAD, BODY = 0, 1, 2, 3, 4


@dataclass
class SceneRender:
    """Supersampled render: ``degc`` apparent temperature and ``who`` layer id (both (24ss, 32ss))."""

    degc: np.ndarray
    who: np.ndarray


def head_temperature(tx, ty, person: PersonState, pose: Pose, room_degc: float):
    """Head, ears and hair on the head plane. Returns (inside bool, degC, long-hair-curtain bool)."""
    ident = person.identity
    a, b = ident.head_half_w_m, ident.head_half_h_m
    x, y = tx * pose.dist_m - pose.x_m, ty * pose.dist_m - pose.y_m
    c, s = np.cos(np.radians(pose.roll_deg)), np.sin(np.radians(pose.roll_deg))
    xl, yl = c * x + s * y, -s * x + c * y  # head-local, rotated by roll
    u, v = xl / a, yl / b
    v = v - 0.25 * np.sin(np.radians(pose.pitch_deg))  # nodding moves the features up/down
    inside = u * u + (yl / b) ** 2 <= 1.0
    skin = person.forehead_degc
    t = face_temperature(u, v, person, room_degc, pose.yaw_deg)
    rr = np.clip(u * u + (yl / b) ** 2, 0.0, 1.0)
    t = t - 2.2 * rr ** 4  # grazing-angle emissivity fall-off towards the silhouette
    # ears: small ellipses at the sides, 2 K cooler than the forehead
    ear_u = 1.0 + 0.05 * np.sin(np.radians(pose.yaw_deg))
    ears = np.zeros(u.shape, bool)
    for side in (-1.0, 1.0):
        ears |= ((u - side * ear_u) / 0.22) ** 2 + ((v - 0.08) / 0.3) ** 2 <= 1.0
    ears &= ~inside
    t = np.where(ears, skin - 2.0, t)
    hair_t = _mix(room_degc, skin, ident.hair_f)
    hair = inside & (v < ident.hairline_v + ident.hairline_curve * u * u)
    curtain = np.zeros(u.shape, bool)
    if ident.long_hair:
        hair |= inside & (np.abs(u) > 0.8) & (v < 0.55)
        # hair falling beside the face down to the shoulders (drawn behind the head plane)
        curtain = (np.abs(u) < 1.28) & (np.abs(u) > 0.6) & (yl / b > -0.2) & (yl / b < 1.9)
        ears[:] = False
    if person.glasses:
        lens = np.zeros(u.shape, bool)
        uf = u - 0.45 * np.sin(np.radians(pose.yaw_deg))
        for side in (-1.0, 1.0):
            lens |= ((uf - side * 0.37) / 0.3) ** 2 + (v / 0.15) ** 2 <= 1.0
        lens |= (np.abs(uf) < 0.14) & (np.abs(v + 0.03) < 0.04)  # bridge
        t = np.where(lens & inside, _mix(room_degc, skin, 0.45), t)
    if ident.beard:
        beard = inside & (v > 0.42) & ~((np.abs(u) < 0.2) & (np.abs(v - 0.62) < 0.05))
        beard |= inside & (np.abs(u) > 0.55) & (v > 0.2)
        t = np.where(beard, _mix(room_degc, skin, ident.beard_f), t)
    t = np.where(hair, hair_t, t)
    return inside | ears, t, curtain, hair_t


def render_scene(tx, ty, room: Room, extra: tuple[Box, ...] = (), person: PersonState | None = None,
                 pose: Pose | None = None) -> SceneRender:
    """Render the room, ``extra`` objects and optionally a person at ``pose`` (apparent degC)."""
    t = room.wall(tx, ty)
    who = np.full(tx.shape, BACKGROUND, dtype=np.int8)
    layers: list[tuple[float, object]] = [(b.depth_m, b) for b in room.objects + tuple(extra)]
    if person is not None:
        layers.append((pose.dist_m + 0.06, "body"))
        layers.append((pose.dist_m, "head"))
    layers.append((room.desk_far_m - 1e-3, "desk"))
    for _, layer in sorted(layers, key=lambda p: -p[0]):
        if isinstance(layer, Box):
            m = layer.mask(tx, ty)
            t = np.where(m, layer.temperature(tx, ty), t)
            who[m] = WARM if layer.warm else OBJECT
        elif layer == "desk":
            # desk top: a horizontal plane desk_y_m below the axis, from the camera to desk_far_m
            with np.errstate(divide="ignore"):
                z = np.where(ty > 0, room.desk_y_m / np.maximum(ty, 1e-9), np.inf)
            m = z <= room.desk_far_m
            t = np.where(m, room.room_degc - 0.6 + 0.3 * tx, t)
            who[m] = OBJECT
        elif layer == "body":
            t, who = _draw_body(tx, ty, t, who, person, pose, room.room_degc)
        elif layer == "head":
            inside, th, _, _ = head_temperature(tx, ty, person, pose, room.room_degc)
            t = np.where(inside, th, t)
            who[inside] = HEAD
    return SceneRender(t, who)


def _draw_body(tx, ty, t, who, person: PersonState, pose: Pose, room_degc: float):
    """Torso with clothing, neck, and (long hair) the hair curtain, just behind the head plane."""
    ident = person.identity
    skin = person.forehead_degc
    zb = pose.dist_m + 0.06
    x, y = tx * zb, ty * zb
    bx = person.body_x_m + 0.3 * pose.x_m
    y_sh = pose.y_m + ident.head_half_h_m + 0.045  # top of the shoulders
    w = ident.shoulder_half_w_m
    rel = np.abs(x - bx) / w
    torso = (rel < 1.0) & (y > y_sh + 0.10 * rel ** 4)
    t = np.where(torso, _mix(room_degc, skin, person.clothing_f), t)
    neck_x = pose.x_m * (pose.dist_m / zb)
    neck = (np.abs(x - neck_x) < ident.neck_half_w_m) & (y > pose.y_m) & (y < y_sh + 0.03)
    t = np.where(neck, skin - 0.8, t)
    who[torso | neck] = BODY
    if ident.long_hair:
        _, _, curtain, hair_t = head_temperature(tx, ty, person, pose, room_degc)
        t = np.where(curtain, hair_t, t)
        who[curtain] = BODY
    return t, who
