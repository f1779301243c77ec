"""Build the motion library in presets/motions/ (run once by a developer; files are shipped).

    PYTHONPATH=. python tools/build_presets.py [--mocap ../shared/samples/mocap] [--sheet sheet.png] [--only walk run]

Real motion capture (CMU BVH clips, one AIST++ dance) is converted, cropped to its
interesting seconds, grounded, put at the origin facing +Z and resampled to 30 fps,
its head levelled to look ahead (edit.level_gaze: rigs hold the head at rest at their own angle);
what no shippable capture covers is keyframed here (tools/authoring.py): careful
timing with ease in/out, weight shifts over planted feet, hands placed for contact.
Two-person presets are authored in one shared world and saved as one file with a person
axis, so the pair stays in sync and in its relative placement.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from amg.motion import edit
from amg.motion.formats import load_motion_file, save_npz
from amg.motion.library import LIBRARY_FORMAT, PresetInfo, presets_dir
from amg.motion.motion import JOINT_INDEX as J, Motion
from amg.files import atomic_write_text
from tools.authoring import Clip, build

FPS = 30.0
CMU = ("CMU Graphics Lab Motion Capture Database, subject/trial {trial}. The data used in this project "
       "was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217.")
AIST = ("AIST++ dance motion {trial} (Li et al., 'AI Choreographer', ICCV 2021; AIST Dance Video DB), "
        "CC BY 4.0, converted from SMPL.")
OURS = "Keyframed by the AMG Studio authors (CC0)."


@dataclass
class Spec:
    name: str
    description: str
    tags: tuple[str, ...]
    make: Callable[[Path], list[Motion]]
    credit: str = OURS
    source: str = "keyframed"


# ---- small authoring helpers ---------------------------------------------------------------
class Timeline:
    """Keys collected by time; several helpers may add channels to the same key."""

    def __init__(self):
        self.keys: dict[float, dict] = {}

    def at(self, t: float, **channels) -> "Timeline":
        self.keys.setdefault(round(t, 4), {}).update({k.replace("__", "."): v for k, v in channels.items()})
        return self

    def set(self, t: float, channels: dict) -> "Timeline":
        self.keys.setdefault(round(t, 4), {}).update(channels)
        return self

    def step(self, foot: str, t0: float, t1: float, x: float, z: float, lift: float = 0.05,
             yaw: float | None = None, x0: float | None = None, z0: float | None = None) -> "Timeline":
        """Foot `foot` ('lf'/'rf') lifts off at t0 and lands at (x, z) at t1 (toes up a little)."""
        self.set(t0, {})
        mid = {f"{foot}.y": lift, f"{foot}.pitch": -8.0}
        if x0 is not None and z0 is not None:
            mid.update({f"{foot}.x": (x0 + x) / 2, f"{foot}.z": (z0 + z) / 2})
        self.set((t0 + t1) / 2, mid)
        land = {f"{foot}.x": x, f"{foot}.z": z, f"{foot}.y": 0.0, f"{foot}.pitch": 0.0}
        if yaw is not None:
            land[f"{foot}.yaw"] = yaw
        self.set(t1, land)
        return self

    def clip(self, name: str, base: dict | None = None) -> Clip:
        from tools.authoring import STAND

        return Clip(name, sorted(self.keys.items()), fps=FPS, base={**STAND, **(base or {})})


def hand(side: str, x: float, y: float, z: float, pole=None) -> dict:
    """Wrist target of side 'l'/'r' and, optionally, the direction the elbow points."""
    out = {f"{side}h.x": x, f"{side}h.y": y, f"{side}h.z": z}
    if pole is not None:
        out.update({f"{side}h.px": pole[0], f"{side}h.py": pole[1], f"{side}h.pz": pole[2]})
    return out


def hands(l=None, r=None, lp=None, rp=None) -> dict:
    out = {}
    if l is not None:
        out.update(hand("l", *l, pole=lp))
    if r is not None:
        out.update(hand("r", *r, pole=rp))
    return out


def hands_down(z: float, side: str = "lr") -> dict:
    """Hands hanging relaxed at the thighs of a body whose pelvis is at depth z."""
    l = (0.19, 0.84, z + 0.04) if "l" in side else None
    r = (-0.19, 0.84, z + 0.04) if "r" in side else None
    return hands(l, r, (0.5, -1.0, -0.4) if l else None, (-0.4, -1.0, -0.6) if r else None)


def finish(m: Motion, origin: bool = True) -> Motion:
    m = edit.resample(m, FPS) if abs(m.fps - FPS) > 1e-6 else m
    m = edit.ground(m)
    return edit.to_origin(m) if origin else m


def pair(a: Motion, b: Motion, distance: float) -> list[Motion]:
    """Person A at z = -distance/2 facing +Z, B at +distance/2 facing -Z; one floor."""
    a = edit.place(edit.ground(a), z=-distance / 2)
    b = edit.place(edit.ground(b), z=distance / 2, heading=180.0)
    return [a, b]


def to_b(world: tuple, distance: float) -> tuple:
    """A world point as seen by person B (at +distance/2, facing -Z) in B's own frame."""
    x, y, z = world
    return (-x, y, distance / 2 - z)


def to_a(world: tuple, distance: float) -> tuple:
    x, y, z = world
    return (x, y, z + distance / 2)


# ---- motion capture --------------------------------------------------------------------------
def mocap(file: str, start: float, end: float, skip_frames: int = 0, walking: bool = False,
          cycle: float | None = None, gaze: float | None = -3.0) -> Callable[[Path], list[Motion]]:
    """A capture cropped to [start, end] s; `walking` clips (a foot always down: walks, but
    also standing and dancing clips) get their stance foot put on the floor frame by frame
    (the cgspeed conversions float by 2-6 cm, and a leg shorter than the performer's lifts
    the feet when the knees bend);
    with `cycle`, the clip ends where its pose repeats its start (at least `cycle` s long),
    so it loops without a jump; with `gaze`, the head is levelled to look that many degrees
    above level on average (None: as captured, for clips that look somewhere on purpose)."""
    def make(mocap_dir: Path) -> list[Motion]:
        m = load_motion_file(mocap_dir / file)[0]
        if skip_frames:  # cgspeed BVH files begin with T-pose or corrupt frames
            m = edit.trim(m, skip_frames / m.fps, None)
        m = edit.trim(m, start, min(end, m.duration))
        m = edit.lock_feet(edit.stick_to_floor(edit.resample(m, FPS))) if walking else edit.level(m)
        if cycle:
            m = edit.loop_cut(edit.resample(m, FPS), cycle)
        return [finish(m) if gaze is None else edit.level_gaze(finish(m), gaze)]

    return make


# ---- keyframed solo motions --------------------------------------------------------------
def idle(_: Path) -> list[Motion]:
    tl = Timeline()
    for i, t in enumerate(np.arange(0.0, 6.01, 0.75)):
        breath = 1.5 if i % 2 else -0.5
        tl.at(t, spine3__rx=breath, neck__rx=-breath / 2)
    tl.at(0.0, x=0.0, roll=0.0, head__ry=0.0)
    tl.at(1.5, x=0.03, roll=2.0, spine3__rz=-1.5, head__ry=6.0, y=0.860)
    tl.at(3.0, x=0.0, roll=0.0, spine3__rz=0.0, head__ry=10.0, head__rx=4.0, y=0.866)
    tl.at(4.5, x=-0.03, roll=-2.0, spine3__rz=1.5, head__ry=-6.0, head__rx=0.0, y=0.860)
    tl.at(6.0, x=0.0, roll=0.0, spine3__rz=0.0, head__ry=0.0, y=0.866)
    tl.at(2.2, left_elbow__ry=-18.0, right_elbow__ry=10.0)
    tl.at(4.8, left_elbow__ry=-10.0, right_elbow__ry=18.0)
    return [finish(build(tl.clip("idle")))]


GUARD = {"y": 0.83, "yaw": -25.0, "pitch": 6.0, "spine3.rx": 6.0, "head.rx": 6.0, "head.ry": 20.0,
         "lf.x": 0.10, "lf.z": 0.16, "lf.yaw": -15.0, "rf.x": -0.17, "rf.z": -0.20, "rf.yaw": -45.0,
         **hands((0.07, 1.34, 0.30), (-0.09, 1.33, 0.22), (0.6, -1.0, -0.2), (-0.6, -1.0, -0.2))}


def boxing(_: Path) -> list[Motion]:
    tl = Timeline()
    tl.set(0.0, dict(GUARD))
    for k, t in enumerate(np.arange(0.25, 4.3, 0.25)):  # light bounce on the balls of the feet
        tl.at(t, y=0.815 if k % 2 == 0 else 0.83)

    # jab (left), quick out and back
    tl.at(0.85, **hands((0.07, 1.34, 0.30)))
    tl.at(1.0, z=0.05, **hands((0.05, 1.42, 0.62)))
    tl.at(1.2, z=0.0, **hands((0.07, 1.34, 0.30)))
    # cross (right): hips turn, back heel pivots
    tl.at(1.55, yaw=-25.0, rf__yaw=-45.0, rf__y=0.0, rf__pitch=0.0, **hands(r=(-0.09, 1.33, 0.22)))
    tl.at(1.75, yaw=8.0, z=0.06, rf__yaw=-10.0, rf__pitch=18.0, spine3__ry=10.0,
          **hands(l=(0.10, 1.40, 0.20), r=(-0.01, 1.41, 0.62)))
    tl.at(2.05, yaw=-25.0, z=0.0, rf__yaw=-45.0, rf__y=0.0, rf__pitch=0.0, spine3__ry=0.0,
          **hands((0.07, 1.34, 0.30), (-0.09, 1.33, 0.22)))
    # left hook: elbow up, fist sweeps across at head height
    tl.at(2.55, yaw=-30.0, **hands(l=(0.30, 1.40, 0.30), lp=(1.0, 0.2, -0.3)))
    tl.at(2.75, yaw=-60.0, lf__yaw=-40.0, spine3__ry=-12.0, **hands(l=(-0.05, 1.42, 0.42), lp=(1.0, 0.3, 0.0)))
    tl.at(3.05, yaw=-25.0, lf__yaw=-15.0, spine3__ry=0.0, **hands(l=(0.07, 1.34, 0.30), lp=(0.6, -1.0, -0.2)))
    # double jab
    tl.at(3.4, **hands(l=(0.05, 1.42, 0.58)))
    tl.at(3.55, **hands(l=(0.06, 1.40, 0.32)))
    tl.at(3.7, **hands(l=(0.05, 1.42, 0.62)))
    tl.at(3.95, **hands(l=(0.07, 1.34, 0.30)))
    tl.at(4.4, y=0.83)
    return [finish(build(tl.clip("boxing", GUARD)))]


EN_GARDE = {"y": 0.76, "yaw": 55.0, "z": 0.04, "x": 0.0, "spine3.ry": -10.0, "head.ry": -45.0,
            "rf.x": -0.03, "rf.z": 0.32, "rf.yaw": 0.0, "lf.x": 0.08, "lf.z": -0.22, "lf.yaw": 85.0,
            **hands((0.26, 1.52, -0.28), (-0.10, 1.10, 0.55), (1.0, 0.4, -0.5), (-0.3, -1.0, 0.0))}


def fencing(_: Path) -> list[Motion]:
    tl = Timeline()
    tl.set(0.0, dict(EN_GARDE))
    tl.set(0.6, {})
    # advance: front foot, then back foot
    tl.step("rf", 0.6, 0.9, -0.03, 0.57, lift=0.06).at(0.9, z=0.16, **hands(r=(-0.10, 1.10, 0.67)))
    tl.step("lf", 0.9, 1.2, 0.08, 0.03, lift=0.04).at(1.2, z=0.29, **hands((0.26, 1.52, -0.03), (-0.10, 1.10, 0.80)))
    tl.set(1.55, {})
    # lunge: the arm leads, then the front foot flies out and the back arm drops
    tl.at(1.8, y=0.74, **hands(r=(-0.08, 1.22, 0.92)))
    tl.step("rf", 1.8, 2.1, -0.03, 1.30, lift=0.12)
    tl.at(2.1, z=0.74, y=0.64, spine1__rx=8.0, **hands((0.20, 0.80, 0.30), (-0.08, 1.12, 1.36),
                                                         (1.0, -0.3, -0.5), (-0.2, -1.0, 0.0)))
    tl.at(2.5, z=0.74, y=0.64)
    # recover to en garde, then retreat to the start
    tl.step("rf", 2.55, 2.95, -0.03, 0.57, lift=0.05)
    tl.at(2.95, z=0.29, y=0.76, spine1__rx=0.0,
          **hands((0.26, 1.52, -0.03), (-0.10, 1.10, 0.80), (1.0, 0.4, -0.5), (-0.3, -1.0, 0.0)))
    tl.set(3.3, {})
    tl.step("lf", 3.3, 3.6, 0.08, -0.22, lift=0.04).at(3.6, z=0.16, **hands((0.26, 1.52, -0.28), (-0.10, 1.10, 0.67)))
    tl.step("rf", 3.6, 3.9, -0.03, 0.32, lift=0.05).at(3.9, z=0.04, **hands(r=(-0.10, 1.10, 0.55)))
    tl.set(4.5, {})
    return [finish(build(tl.clip("fencing", EN_GARDE)))]


def kick(_: Path) -> list[Motion]:
    stance = {"y": 0.84, "lf.x": 0.12, "lf.z": 0.10, "lf.yaw": 5.0, "rf.x": -0.12, "rf.z": -0.15, "rf.yaw": -20.0,
              **hands((0.12, 1.38, 0.25), (-0.12, 1.38, 0.22), (0.7, -1.0, -0.2), (-0.7, -1.0, -0.2))}
    tl = Timeline()
    tl.set(0.0, dict(stance)).set(0.4, {})
    tl.at(0.75, x=0.07, z=0.05, roll=3.0)  # weight onto the standing (left) leg
    tl.at(1.0, pitch=-6.0, rf__x=-0.10, rf__y=0.42, rf__z=0.22, rf__pitch=10.0, rf__yaw=0.0)  # chamber
    tl.at(1.2, pitch=-14.0, rf__x=-0.09, rf__y=0.72, rf__z=0.66, rf__pitch=-25.0,
          **hands((0.14, 1.36, 0.20), (-0.25, 1.15, 0.05)))  # snap out
    tl.at(1.42, pitch=-8.0, rf__x=-0.10, rf__y=0.42, rf__z=0.22, rf__pitch=10.0)  # re-chamber
    tl.at(1.75, pitch=0.0, rf__x=-0.12, rf__y=0.0, rf__z=-0.15, rf__pitch=0.0, rf__yaw=-20.0,
          **hands((0.12, 1.38, 0.25), (-0.12, 1.38, 0.22)))
    tl.at(2.05, x=0.0, z=0.0, roll=0.0)
    tl.at(2.2, y=0.82).at(2.45, y=0.84).set(2.9, {})
    return [finish(build(tl.clip("kick", stance)))]


def latin(_: Path) -> list[Motion]:
    """Cha-cha basic at 120 bpm: rock forward, replace, cha-cha-cha left; rock back,
    replace, cha-cha-cha right. Cuban motion: the hip rises and swings out over the
    straightening standing leg; the ribcage stays calm."""
    base = {"y": 0.862, "lf.x": 0.08, "rf.x": -0.08, "lf.z": 0.0, "rf.z": 0.0,
            **hands((0.16, 1.02, 0.25), (-0.55, 1.30, 0.12), (0.7, -1.0, -0.3), (-0.3, -1.0, -0.5))}
    tl = Timeline()
    tl.set(0.0, dict(base))
    tl.set(0.25, {})

    def weight(t, x, z, side, twist):
        sgn = 1.0 if side == "l" else -1.0
        tl.at(t, x=x, z=z, roll=4.0 * sgn, yaw=twist, spine3__ry=-0.8 * twist, spine3__rz=-2.5 * sgn,
              head__ry=-0.5 * twist)

    tl.step("lf", 0.25, 0.5, 0.08, 0.28, lift=0.025)
    weight(0.5, 0.04, 0.20, "l", 8.0)                         # 2: rock forward onto L
    weight(1.0, -0.04, 0.02, "r", -6.0)                       # 3: replace onto R
    tl.step("lf", 1.0, 1.25, 0.22, 0.0, lift=0.025, x0=0.08, z0=0.28)
    weight(1.25, 0.13, 0.0, "l", 6.0)                         # 4: L to the side
    tl.step("rf", 1.25, 1.5, 0.06, 0.0, lift=0.02)
    weight(1.5, 0.12, 0.0, "r", -4.0)                         # &: R closes
    tl.step("lf", 1.5, 2.0, 0.32, 0.0, lift=0.025)
    weight(2.0, 0.25, 0.0, "l", 8.0)                          # 1: L to the side
    tl.at(2.0, **hands((0.60, 1.30, 0.12), (-0.16, 1.02, 0.25), (0.3, -1.0, -0.5), (-0.7, -1.0, -0.3)))
    tl.step("rf", 2.0, 2.5, 0.10, -0.26, lift=0.025)
    weight(2.5, 0.14, -0.17, "r", -8.0)                       # 2: rock back onto R
    weight(3.0, 0.26, -0.01, "l", 6.0)                        # 3: replace onto L
    tl.step("rf", 3.0, 3.25, 0.12, 0.0, lift=0.025, x0=0.10, z0=-0.26)
    weight(3.25, 0.14, 0.0, "r", -6.0)                        # 4: R to the side
    tl.step("lf", 3.25, 3.5, 0.20, 0.0, lift=0.02)
    weight(3.5, 0.17, 0.0, "l", 4.0)                          # &: L closes
    tl.step("rf", 3.5, 4.0, 0.04, 0.0, lift=0.025)
    weight(4.0, 0.08, 0.0, "r", -8.0)                         # 1: R to the side
    tl.at(4.0, **hands((0.16, 1.02, 0.25), (-0.55, 1.30, 0.12), (0.7, -1.0, -0.3), (-0.3, -1.0, -0.5)))
    tl.at(4.5, x=0.12, roll=0.0, yaw=0.0, spine3__ry=0.0, spine3__rz=0.0, head__ry=0.0)
    return [finish(build(tl.clip("latin_dance", base)))]


def jump_arms_up(_: Path) -> list[Motion]:
    """A vertical jump with both arms thrown overhead at take-off and kept up in the air
    (the paper's model loses raised arms in jumps: this is the case to test it on)."""
    low = hands((0.20, 0.84, 0.04), (-0.20, 0.84, 0.04), (0.5, -1.0, -0.4), (-0.5, -1.0, -0.4))
    tl = Timeline()
    tl.set(0.0, dict(low)).set(0.35, {})
    # crouch, arms swing back
    tl.at(0.8, y=0.70, z=-0.04, pitch=22.0, spine3__rx=6.0, head__rx=-8.0,
          **hands((0.22, 0.88, -0.28), (-0.22, 0.88, -0.28), (0.4, 0.3, 1.0), (-0.4, 0.3, 1.0)))
    # push off: legs extend, heels rise, arms drive forward and up
    tl.at(1.0, y=0.90, z=0.0, pitch=4.0, lf__pitch=35.0, rf__pitch=35.0,
          **hands((0.22, 1.50, 0.35), (-0.22, 1.50, 0.35), (0.6, -0.6, -0.6), (-0.6, -0.6, -0.6)))
    # flight: feet leave the floor, arms straight overhead
    air = {"lf.y": 0.26, "rf.y": 0.26, "lf.pitch": 30.0, "rf.pitch": 30.0}
    tl.set(1.17, {"y": 1.18, "pitch": -2.0, "head.rx": -12.0, **air,
                  **hands((0.17, 2.12, 0.06), (-0.17, 2.12, 0.06), (1.0, 0.0, -0.2), (-1.0, 0.0, -0.2))})
    tl.set(1.3, {"y": 1.20, "lf.y": 0.30, "rf.y": 0.30})
    tl.set(1.45, {"y": 1.0, "lf.y": 0.08, "rf.y": 0.08, "lf.pitch": 20.0, "rf.pitch": 20.0,
                  **hands((0.20, 2.06, 0.12), (-0.20, 2.06, 0.12))})
    # land and absorb, arms come down in front
    tl.set(1.58, {"y": 0.78, "pitch": 16.0, "lf.y": 0.0, "rf.y": 0.0, "lf.pitch": 0.0, "rf.pitch": 0.0,
                  "head.rx": 0.0, **hands((0.24, 1.20, 0.40), (-0.24, 1.20, 0.40), (0.6, -1.0, -0.3), (-0.6, -1.0, -0.3))})
    tl.set(2.1, {"y": 0.866, "pitch": 0.0, "spine3.rx": 0.0, **low})
    tl.set(2.5, {})
    return [finish(build(tl.clip("jump_arms_up", low)))]


def sit_down(_: Path) -> list[Motion]:
    base = {"lf.x": 0.13, "rf.x": -0.13, "lf.z": 0.04, "rf.z": 0.04,
            **hands((0.19, 0.84, 0.06), (-0.19, 0.84, 0.06), (0.4, -0.2, -1.0), (-0.4, -0.2, -1.0))}
    tl = Timeline()
    tl.set(0.0, dict(base)).set(0.5, {})
    tl.at(0.8, head__rx=18.0, head__ry=15.0)  # glance down-back at the seat
    tl.at(1.3, y=0.76, z=-0.10, pitch=22.0, spine3__rx=8.0, **hands((0.22, 0.86, 0.26), (-0.22, 0.86, 0.26)))
    tl.at(2.1, y=0.60, z=-0.28, pitch=30.0, head__ry=0.0, **hands((0.20, 0.70, 0.12), (-0.20, 0.70, 0.12)))
    tl.at(2.6, y=0.545, z=-0.34, pitch=14.0, head__rx=4.0)  # seat contact, 45 cm chair
    tl.at(3.3, y=0.55, z=-0.35, pitch=4.0, spine3__rx=2.0, head__rx=0.0,  # hands rest on the thighs
          **hands((0.16, 0.63, -0.08), (-0.16, 0.63, -0.08)))
    tl.at(4.2, y=0.553, spine3__rx=3.0).at(5.0, y=0.55, spine3__rx=1.5, head__ry=-8.0)
    return [finish(build(tl.clip("sit_down", base)))]


def bow(_: Path) -> list[Motion]:
    base = {"lf.x": 0.08, "rf.x": -0.08, "lf.yaw": 6.0, "rf.yaw": -6.0,
            "left_shoulder.rz": -80.0, "right_shoulder.rz": 80.0}
    tl = Timeline()
    tl.set(0.0, dict(base)).set(0.5, {})
    down = {"pitch": 38.0, "z": -0.07, "y": 0.855, "spine1.rx": 4.0, "spine2.rx": 4.0, "spine3.rx": 4.0,
            "head.rx": 12.0, "left_shoulder.ry": -14.0, "right_shoulder.ry": 14.0}
    tl.set(1.3, down).set(2.1, {**down, "pitch": 40.0})
    tl.set(3.0, {"pitch": 0.0, "z": 0.0, "y": 0.866, "spine1.rx": 0.0, "spine2.rx": 0.0, "spine3.rx": 0.0,
                 "head.rx": 0.0, "left_shoulder.ry": 0.0, "right_shoulder.ry": 0.0})
    tl.at(3.4, head__rx=-3.0).at(4.0, head__rx=0.0)
    return [finish(build(tl.clip("bow", base)))]


def clap(_: Path) -> list[Motion]:
    low = hands((0.20, 0.84, 0.06), (-0.20, 0.84, 0.06), (0.5, -1.0, -0.4), (-0.5, -1.0, -0.4))
    tl = Timeline()
    tl.set(0.0, dict(low)).set(0.2, {})
    open_ = hands((0.19, 1.16, 0.30), (-0.19, 1.16, 0.30))
    shut = hands((0.035, 1.19, 0.33), (-0.035, 1.19, 0.33))
    tl.set(0.55, open_)
    for k, t in enumerate(np.arange(0.75, 2.9, 0.4)):
        tl.set(t, {**shut, "y": 0.853, "head.rx": 5.0})
        tl.set(t + 0.2, {**open_, "y": 0.866, "head.rx": 0.0, "head.ry": 6.0 if k % 2 else -6.0})
    tl.set(3.4, dict(low)).set(3.7, {})
    return [finish(build(tl.clip("clap", low)))]


# ---- keyframed pairs -----------------------------------------------------------------------
def handshake(_: Path) -> list[Motion]:
    d = 0.80
    people = []
    for who in ("a", "b"):
        local = to_a if who == "a" else to_b
        tl = Timeline()
        tl.set(0.0, {"z": -0.30, "lf.z": -0.30, "rf.z": -0.30, **hands_down(-0.30)})
        tl.step("rf", 0.2, 0.7, -0.11, 0.0, lift=0.06).at(0.7, z=-0.12, **hands_down(-0.12, "l"))
        tl.step("lf", 0.7, 1.15, 0.11, 0.0, lift=0.05).at(1.15, z=0.0, **hands_down(0.0, "l"))
        # right hands meet in the middle; wrists a hand's length back from the grip
        grip = [(-0.03, y, -0.075) if who == "a" else (0.03, y, 0.075) for y in (1.00, 1.05, 0.96)]
        w = [local(g, d) for g in grip]
        tl.at(0.9, spine3__rx=4.0, head__rx=6.0, **hands(r=(-0.12, 0.98, 0.22)))
        tl.at(1.35, **hands(r=w[0]))
        for k, t in enumerate(np.arange(1.55, 2.6, 0.2)):
            tl.at(t, **hands(r=w[1] if k % 2 == 0 else w[2]))
        tl.at(2.75, **hands(r=w[0]))
        tl.at(3.0, spine3__rx=0.0, head__rx=0.0, head__ry=5.0 if who == "a" else -5.0)
        tl.at(3.5, **hands_down(0.0, "r")).set(4.0, {})
        people.append(build(tl.clip(f"handshake_{who}", {"z": -0.30})))
    return pair(people[0], people[1], d)


def captured_handshake(mocap_dir: Path) -> list[Motion]:
    """CMU 18_01 (reaches out, shakes, lets go and turns away) with a keyframed partner who
    steps in, meets the captured right hand and follows its every shake."""
    a = mocap("18_01.bvh", 0.0, 10.0, skip_frames=1, walking=True)(mocap_dir)[0]
    wrist = edit.joints(a)[:, J["right_wrist"]]  # (T, 3) world
    shake = round(3.3 * FPS)  # mid-shake: the partner is placed facing the captured side here
    yaw = edit.facing_yaw(a, shake)
    forward = np.array([np.sin(np.radians(yaw)), 0.0, np.cos(np.radians(yaw))])
    left = np.array([forward[2], 0.0, -forward[0]])
    # B's pelvis: in front of A, a little to A's right so the right hands meet in front of both
    pelvis_b = a.transl[shake] * [1, 0, 1] + 0.86 * forward - 0.09 * left
    heading_b = yaw + 180.0
    turn = Rotation.from_euler("y", -heading_b, degrees=True)

    def local_b(world):  # a world point in B's own frame (B at the origin facing +Z)
        return tuple(turn.apply(np.asarray(world) - pelvis_b))

    tl = Timeline()
    tl.set(0.0, {"z": -0.25, "lf.z": -0.25, "rf.z": -0.25, **hands_down(-0.25)})
    tl.step("rf", 0.5, 1.0, -0.11, -0.05, lift=0.06).at(1.0, z=-0.10, **hands_down(-0.10, "l"))
    tl.step("lf", 1.0, 1.5, 0.11, 0.0, lift=0.05).at(1.5, z=0.0, **hands_down(0.0, "l"))
    tl.at(1.3, spine3__rx=4.0, head__rx=6.0, **hands(r=(-0.14, 0.98, 0.20)))
    # from the moment A's hand is out until A lets go, B's wrist is a hand's length beyond A's
    for t in np.arange(2.1, 7.01, 0.1):
        w = wrist[round(t * FPS)] + 0.17 * forward
        tl.at(t, **hands(r=local_b(w), rp=(-0.8, -1.0, -0.3)))
    tl.at(7.6, spine3__rx=0.0, head__rx=0.0, head__ry=-15.0, **hands_down(0.0, "r"))
    tl.at(a.duration, head__ry=-25.0)
    b = edit.retime(build(tl.clip("walk_handshake_b", {"z": -0.25})), FPS, a.num_frames)
    return [a, edit.ground(edit.place(b, pelvis_b[0], pelvis_b[2], heading_b))]


def high_five(_: Path) -> list[Motion]:
    d = 0.72
    people = []
    for who in ("a", "b"):
        local = to_a if who == "a" else to_b
        tl = Timeline()
        tl.set(0.0, {"z": -0.12, "lf.z": -0.12, "rf.z": -0.12, **hands_down(-0.12)}).set(0.25, {})
        tl.at(0.6, **hands(r=(-0.24, 1.62, -0.02), rp=(-1.0, 0.0, -0.3)))  # wind up
        tl.step("lf", 0.45, 0.85, 0.11, 0.08, lift=0.05).at(0.85, z=0.0, pitch=4.0, roll=-3.0, **hands_down(0.0, "l"))
        palm = local((-0.02, 1.72, -0.055) if who == "a" else (0.02, 1.72, 0.055), d)
        tl.at(0.88, **hands(r=palm, rp=(-1.0, -0.3, -0.2)))                 # slap
        tl.at(1.0, **hands(r=(palm[0] - 0.04, palm[1] - 0.02, palm[2] - 0.04)))  # rebound
        tl.at(1.35, pitch=0.0, roll=0.0, **hands(r=(-0.22, 1.2, 0.18), rp=(-0.4, -1.0, -0.6)))
        tl.step("lf", 1.4, 1.8, 0.11, -0.12, lift=0.04).at(1.8, z=-0.12, **hands_down(-0.12, "l"))
        tl.at(1.95, **hands_down(-0.12, "r")).set(2.4, {})
        people.append(build(tl.clip(f"high_five_{who}", {"z": -0.12})))
    return pair(people[0], people[1], d)


def sparring(_: Path) -> list[Motion]:
    """A jabs into B's guard, B answers with a jab A parries, A throws a cross B slips."""
    d = 0.85
    g_l, g_r = (0.07, 1.34, 0.30), (-0.09, 1.33, 0.22)

    def guard_world(who, side):  # a guard glove in world coordinates
        p = g_l if side == "l" else g_r
        return (p[0], p[1], p[2] - d / 2) if who == "a" else (-p[0], p[1], d / 2 - p[2])

    people = []
    for who, other in (("a", "b"), ("b", "a")):
        local = to_a if who == "a" else to_b
        tl = Timeline()
        tl.set(0.0, dict(GUARD))
        for k, t in enumerate(np.arange(0.25, 4.3, 0.25)):
            tl.at(t, y=0.815 if (k + (who == "b")) % 2 == 0 else 0.83)
        # the glove a punch lands on: the other's right glove (their guard), a fist's width off
        target_on = lambda side: local(tuple(np.add(guard_world(other, side), (0.0, 0.02, 0.05 if who == "a" else -0.05))), d)  # noqa: E731
        if who == "a":
            tl.at(0.7, **hands(l=g_l)).at(0.88, z=0.08, **hands(l=target_on("r"))).at(1.1, z=0.0, **hands(l=g_l))
            tl.at(1.55, **hands(r=g_r)).at(1.72, **hands(r=(0.02, 1.42, 0.26))).at(2.0, **hands(r=g_r))  # parry
            tl.at(2.4, yaw=-25.0, rf__yaw=-45.0, rf__y=0.0, rf__pitch=0.0, **hands(r=g_r))
            tl.at(2.6, yaw=8.0, z=0.07, rf__yaw=-10.0, rf__pitch=18.0, spine3__ry=10.0,
                  **hands(r=(-0.02, 1.44, 0.60)))
            tl.at(2.9, yaw=-25.0, z=0.0, rf__yaw=-45.0, rf__y=0.0, rf__pitch=0.0, spine3__ry=0.0, **hands(r=g_r))
        else:
            tl.at(0.7, **hands(r=g_r)).at(0.86, **hands(r=(-0.08, 1.43, 0.27))).at(1.15, **hands(r=g_r))  # block
            tl.at(1.5, **hands(l=g_l)).at(1.68, z=0.08, **hands(l=target_on("r"))).at(1.9, z=0.0, **hands(l=g_l))
            # slip outside the cross: bend knees, lean to the right, head off the line
            tl.at(2.45, y=0.82, roll=0.0, spine3__rz=0.0, head__rz=0.0)
            tl.at(2.62, y=0.77, roll=10.0, spine3__rz=10.0, head__rz=6.0, x=-0.05)
            tl.at(3.0, y=0.82, roll=0.0, spine3__rz=0.0, head__rz=0.0, x=0.0)
        tl.set(4.4, {})
        people.append(build(tl.clip(f"sparring_{who}", GUARD)))
    return pair(people[0], people[1], d)


def partner_dance(_: Path) -> list[Motion]:
    """Closed-position box step (waltz timing, 3 steps per 1.5 s): the leader (A) steps
    forward, the follower (B) back, in the same world direction; hands stay in hold."""
    d = 0.40
    # The leader's box in the leader's frame: (time, foot, x, z, pelvis x, pelvis z, rise)
    box = [(0.5, "lf", 0.10, 0.30, 0.04, 0.26, 0.845), (1.0, "rf", -0.30, 0.30, -0.22, 0.30, 0.872),
           (1.5, "lf", -0.10, 0.30, -0.20, 0.30, 0.872), (2.0, "rf", -0.30, 0.0, -0.26, 0.04, 0.845),
           (2.5, "lf", 0.10, 0.0, 0.02, 0.0, 0.872), (3.0, "rf", -0.10, 0.0, 0.0, 0.0, 0.872)]
    hold_a = {"l": (0.40, 1.30, -0.01), "r": (-0.12, 1.20, 0.26)}    # world: joined hands / on B's back
    hold_b = {"r": (0.44, 1.30, 0.01), "l": (-0.24, 1.32, -0.10)}    # world: joined hands / on A's shoulder
    poles_a = {"l": (0.6, -1.0, -0.2), "r": (-1.0, -0.3, 0.2)}
    poles_b = {"r": (-0.6, -1.0, -0.2), "l": (1.0, -0.8, -0.1)}
    people = []
    for who in ("a", "b"):
        tl = Timeline()
        base = {"lf.x": 0.10, "rf.x": -0.10, "y": 0.872}
        tl.set(0.0, dict(base))

        def holds(px, pz):
            out = {}
            for side, w in (hold_a if who == "a" else hold_b).items():
                shifted = (w[0] + px, w[1], w[2] + pz)
                p = to_a(shifted, d) if who == "a" else to_b(shifted, d)
                pole = (poles_a if who == "a" else poles_b)[side]
                out.update(hand(side, *p, pole=pole))
            return out

        tl.set(0.0, holds(0.0, 0.0))
        prev = {"lf": (0.10, 0.0), "rf": (-0.10, 0.0)}
        for rep in range(2):
            t0 = rep * 3.0
            prev_t = t0
            for t, foot, fx, fz, px, pz, rise in box:
                t += t0
                if who == "a":
                    f, x, z, lx, lz = foot, fx, fz, px, pz
                else:  # the follower's opposite foot, mirrored: same world displacement
                    f, x, z, lx, lz = ("rf" if foot == "lf" else "lf"), -fx, -fz, -px, -pz
                tl.step(f, prev_t, t, x, z, lift=0.03)
                roll = (3.0 if f == "lf" else -3.0)
                tl.set(t, {"x": lx, "z": lz, "y": rise, "roll": roll, **holds(px, pz)})
                prev[f] = (x, z)
                prev_t = t
        tl.set(6.3, {"roll": 0.0})
        people.append(build(tl.clip(f"partner_dance_{who}", base)))
    return pair(people[0], people[1], d)


def hug(_: Path) -> list[Motion]:
    d = 0.30
    start = -0.40  # each starts this far back from the hugging spot (1.1 m apart)
    people = []
    for who in ("a", "b"):
        local = to_a if who == "a" else to_b
        tl = Timeline()
        tl.set(0.0, {"z": start, "lf.z": start, "rf.z": start, **hands_down(start)}).set(0.3, {})
        tl.step("lf", 0.3, 0.8, 0.11, start + 0.22, lift=0.05).at(0.8, z=start + 0.2)
        tl.step("rf", 0.8, 1.25, -0.11, -0.02, lift=0.05).at(1.25, z=0.0)
        # arms open, then wrap: A high around B's shoulders, B lower around A's back
        tl.at(0.9, **hands((0.45, 1.28, 0.22), (-0.45, 1.28, 0.22), (1.0, 0.0, -0.3), (-1.0, 0.0, -0.3)))
        # hands flat on the partner's back (its surface ~0.11 m behind the pelvis), elbows
        # out to the sides so the arms go round the partner's body, not through it
        if who == "a":
            wrap = [local((x, 1.22, d / 2 + 0.12), d) for x in (0.07, -0.07)]
        else:
            wrap = [local((x, 1.02, -d / 2 - 0.12), d) for x in (-0.10, 0.10)]
        tl.at(1.55, pitch=5.0, head__ry=25.0, head__rx=8.0,
              **hands(wrap[0], wrap[1], (1.0, 0.1, 0.1), (-1.0, 0.1, 0.1)))
        for k, t in enumerate((2.0, 2.5, 3.0)):  # rock together, a pat on the back
            tl.at(t, roll=2.5 if k % 2 == 0 else -2.5,
                  **hands(l=(wrap[0][0], wrap[0][1] + (0.04 if k == 1 else 0.0), wrap[0][2])))
        tl.at(3.4, roll=0.0, pitch=0.0, head__ry=0.0, head__rx=0.0,
              **hands((0.40, 1.22, 0.22), (-0.40, 1.22, 0.22), (1.0, -0.3, -0.3), (-1.0, -0.3, -0.3)))
        tl.step("rf", 3.5, 3.95, -0.11, start + 0.18, lift=0.04).at(3.95, z=start + 0.2)
        tl.step("lf", 3.95, 4.4, 0.11, start, lift=0.04).at(4.4, z=start, **hands_down(start)).set(4.8, {})
        people.append(build(tl.clip(f"hug_{who}", {"z": start})))
    return pair(people[0], people[1], d)


# ---- the library ---------------------------------------------------------------------------
def specs() -> list[Spec]:
    c = lambda t: CMU.format(trial=t)  # noqa: E731
    return [
        Spec("idle", "standing relaxed, breathing, shifting weight from foot to foot, looking around",
             ("idle", "stand", "wait", "calm"), idle),
        Spec("walk", "walking forward at a normal pace (loops seamlessly)", ("walk", "locomotion", "stroll"),
             mocap("02_01.bvh", 0.0, 3.0, skip_frames=8, walking=True, cycle=1.8), c("02_01"), "CMU 02_01"),
        Spec("walk_stride", "walking with an exaggerated long stride", ("walk", "stride", "march", "locomotion"),
             mocap("08_07.bvh", 0.0, 2.5, skip_frames=8, walking=True, cycle=1.8), c("08_07"), "CMU 08_07"),
        Spec("walk_veer_left", "walking forward and curving to the left", ("walk", "turn", "curve", "locomotion"),
             mocap("16_11.bvh", 0.0, 4.4, skip_frames=1, walking=True), c("16_11"), "CMU 16_11"),
        Spec("walk_styled", "start, styled walk and stop, Michael-Jackson-like swagger",
             ("walk", "style", "swagger", "dance", "strut"),
             mocap("131_01.bvh", 0.5, 5.5, skip_frames=1, walking=True), c("131_01"), "CMU 131_01"),
        Spec("run", "running, jogging forward (loops seamlessly)", ("run", "jog", "sprint", "locomotion", "fast"),
             mocap("02_03.bvh", 0.0, 1.45, skip_frames=8, cycle=0.6), c("02_03"), "CMU 02_03"),
        Spec("run_fast", "fast run forward", ("run", "sprint", "fast", "locomotion"),
             mocap("09_01.bvh", 0.0, 1.25, skip_frames=8, cycle=0.6), c("09_01"), "CMU 09_01"),
        Spec("jump", "jumping up in place with the arms swinging up over the head", ("jump", "hop", "arms raised"),
             mocap("13_39.bvh", 0.0, 2.9, skip_frames=8), c("13_39"), "CMU 13_39"),
        Spec("jump_arms_up", "a vertical jump with both arms thrown straight up over the head in the air",
             ("jump", "arms raised", "cheer", "celebrate"), jump_arms_up),
        Spec("jump_forward", "a standing long jump forward, arms swinging", ("jump", "leap", "forward"),
             mocap("13_11.bvh", 0.0, 3.4, skip_frames=8), c("13_11"), "CMU 13_11"),
        Spec("jump_balance", "jump and land, balancing", ("jump", "balance", "land"),
             mocap("02_04.bvh", 0.0, 4.0, skip_frames=8), c("02_04"), "CMU 02_04"),
        # it looks up at what it reaches for: 30 degrees on average, about the same ~22 degrees below
        # the capture as this rig's walks and jumps are levelled by
        Spec("jump_reach", "jumping up to grab something overhead, arms raised high, reaching",
             ("jump", "reach", "arms raised", "grab"),
             mocap("14_07.bvh", 0.0, 5.0, skip_frames=8, gaze=30.0), c("14_07"), "CMU 14_07"),
        Spec("hop", "start, hop on the spot, stop", ("hop", "jump", "bounce"),
             mocap("131_03.bvh", 0.5, 5.5, skip_frames=1), c("131_03"), "CMU 131_03"),
        Spec("wave", "waving hello with the right hand", ("wave", "greet", "hello", "hand"),
             mocap("141_16.bvh", 0.0, 2.45, skip_frames=1, walking=True), c("141_16"), "CMU 141_16"),
        Spec("walk_handshake", "two people meet and shake hands, then one turns away to the left "
             "(captured side from motion capture, partner keyframed to meet its hand)",
             ("handshake", "greet", "meet", "two people", "pair"),
             captured_handshake, c("18_01") + " Partner keyframed by the AMG Studio authors (CC0).", "CMU 18_01"),
        Spec("breakdance", "break dance basic steps: toprock footwork with the arms", ("dance", "breakdance", "hip hop"),
             mocap("gBR_sBM_cAll_d04_mBR0_ch01.npz", 0.0, 8.0, walking=True, gaze=None), AIST.format(trial="gBR_sBM_cAll_d04_mBR0_ch01"),
             "AIST++ gBR_sBM_cAll_d04_mBR0_ch01"),
        Spec("boxing", "boxing shadow combination: guard, jab, cross, left hook, double jab",
             ("boxing", "punch", "fight", "jab", "martial arts"), boxing),
        Spec("fencing", "fencing: en garde, advance, a full lunge with the sword arm, recover and retreat",
             ("fencing", "sword", "lunge", "sport"), fencing),
        Spec("kick", "martial arts front kick with the right leg from a fighting stance",
             ("kick", "martial arts", "karate", "fight"), kick),
        Spec("latin_dance", "Latin cha-cha basic step with Cuban hip motion and arm styling",
             ("dance", "latin", "cha-cha", "salsa", "hips"), latin),
        Spec("sit_down", "sitting down onto a chair (the seat is not part of the motion) and settling",
             ("sit", "chair", "seat", "rest"), sit_down),
        Spec("bow", "a polite bow from the hips, then standing upright again", ("bow", "greet", "thank", "polite"), bow),
        Spec("clap", "clapping hands in front of the chest, applause", ("clap", "applause", "cheer", "hands"), clap),
        Spec("handshake", "two people step towards each other and shake right hands",
             ("handshake", "greet", "meet", "two people", "pair"), handshake),
        Spec("high_five", "two people give each other a high five", ("high five", "celebrate", "two people", "pair"),
             high_five),
        Spec("boxing_sparring", "two boxers sparring: jab into the guard, counter jab parried, a cross slipped",
             ("boxing", "sparring", "fight", "punch", "two people", "pair"), sparring),
        Spec("partner_dance", "couple dance in closed hold: a waltz box step, leader forward, follower back",
             ("dance", "waltz", "couple", "ballroom", "two people", "pair"), partner_dance),
        Spec("hug", "two people walk up to each other and hug, rocking, then let go",
             ("hug", "embrace", "greet", "two people", "pair"), hug),
    ]


def build_library(mocap_dir: Path, out_dir: Path, only: list[str] | None = None) -> list[PresetInfo]:
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "index.json"
    existing = {}
    if index_path.exists():
        existing = {p["name"]: p for p in json.loads(index_path.read_text("utf-8"))["presets"]}
    infos = []
    for spec in specs():
        if only and spec.name not in only:
            if spec.name in existing:
                infos.append(PresetInfo(**{**existing[spec.name], "tags": tuple(existing[spec.name]["tags"])}))
            continue
        people = spec.make(mocap_dir)
        for m in people:
            m.name = spec.name
        file = f"{spec.name}.npz"
        save_npz(people, out_dir / file)
        info = PresetInfo(spec.name, file, spec.description, spec.tags, spec.credit, len(people), FPS,
                          round(people[0].duration, 3), spec.source)
        infos.append(info)
        print(f"{spec.name:16s} {len(people)} person(s) {people[0].duration:5.2f} s "
              f"{(out_dir / file).stat().st_size / 1024:6.1f} KiB")
    index = {"format": LIBRARY_FORMAT, "version": 1,
             "presets": [{**asdict(i), "tags": list(i.tags)} for i in infos]}
    atomic_write_text(index_path, json.dumps(index, indent=1) + "\n")
    return infos


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mocap", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "samples" / "mocap")
    parser.add_argument("--out", type=Path, default=presets_dir())
    parser.add_argument("--only", nargs="*", help="rebuild only these presets")
    parser.add_argument("--sheet", type=Path, help="also write a stick-figure contact sheet PNG")
    args = parser.parse_args(argv)
    infos = build_library(args.mocap, args.out, args.only)
    if args.sheet:
        from amg.motion.library import load_preset
        from amg.motion.preview import contact_sheet

        rows = [(i.name, load_preset(i.name)) for i in infos if not args.only or i.name in args.only]
        contact_sheet(rows, args.sheet, columns=7, cell=150)


if __name__ == "__main__":
    main()
