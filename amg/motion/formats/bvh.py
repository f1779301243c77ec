"""BVH in and out, retargeted onto the SMPL-X body joints by joint name.

Reading: `bvhio` parses the skeleton; the motion block is read with NumPy and the Euler
channels (any order, intrinsic as BVH defines them) become rotations with SciPy. The
file's joints are matched to the 22 SMPL-X joints by name (CMU ASF names, the cgspeed
Daz and MotionBuilder rigs, Mixamo `mixamorig:` names, LAFAN1, SMPL names, `_l`/`.L`
suffixes...). Each SMPL-X joint takes the world rotation of its BVH joint, corrected
for the difference of the two rest poses (an A-pose rig drives our T-pose correctly),
in a world frame found from the rig itself (its up and left axes), so Y-up, Z-up and
any facing work; root translation is scaled by the ratio of leg lengths (units and body
size at once), which keeps feet from sliding.

Writing: our skeleton (SMPL-X names, the avatar's rest joints in centimetres, T-pose,
Y up, facing +Z), ZYX Euler channels, through `bvhio`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amg.errors import AmgError
from amg.files import atomic_path
from amg.motion.formats._io import ACCEPTED_FORMATS, check_file
from amg.motion.motion import JOINT_INDEX as J, MAX_FPS, SMPLX_JOINT_NAMES, Motion
from amg.motion.skeleton import PARENTS, REST_JOINTS

#: Deepest joint nesting read (real rigs: under 60 with fingers).
MAX_DEPTH = 256

#: Per side, SMPL-X joint -> name parts (after removing the side) in priority order.
#: Assigned in this order, each BVH joint used once: so "Shoulder" is the collar of a
#: rig without a collar joint (Mixamo) and the shoulder of a rig with one (CMU 131).
_SIDED_PARTS = (
    ("hip", ("upleg", "upperleg", "thigh", "femur", "hip")),
    ("knee", ("knee", "leg", "lowerleg", "shin", "tibia", "calf")),
    ("ankle", ("ankle", "foot")),
    ("foot", ("toebase", "toe", "toes", "ball", "toe0", "foot")),
    ("collar", ("collar", "clavicle", "shoulder")),
    ("shoulder", ("upperarm", "arm", "shldr", "humerus", "shoulder")),
    ("elbow", ("forearm", "lowerarm", "elbow", "radius")),
    ("wrist", ("wrist", "hand")),
)
_ROOT_NAMES = ("pelvis", "hips", "hip", "root")
#: The main child each joint's bone points at (for rest-pose alignment).
_MAIN_CHILD = {J["pelvis"]: J["spine1"], J["spine1"]: J["spine2"], J["spine2"]: J["spine3"],
               J["spine3"]: J["neck"], J["neck"]: J["head"],
               **{J[f"{s}_{a}"]: J[f"{s}_{b}"] for s in ("left", "right") for a, b in (
                   ("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("collar", "shoulder"),
                   ("shoulder", "elbow"), ("elbow", "wrist"))}}
#: Joints retargeted by world orientation alone: both rigs stand upright facing forward at rest,
#: so their facing is what must carry over; aligning their bones instead (the spine's and neck's
#: curves differ between rigs by 10-20 degrees) tilted chests and heads up at the sky.
_UPRIGHT = {J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head")}
_REQUIRED = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
             "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "head")


def _side_and_part(name: str) -> tuple[str | None, str]:
    """('left'|'right'|None, the rest of the name, lower-case, without separators)."""
    n = name.split(":")[-1].strip()
    low = n.lower()
    for suffix, side in (("_l", "left"), (".l", "left"), ("_left", "left"), ("_r", "right"), (".r", "right"),
                         ("_right", "right")):
        if low.endswith(suffix):
            return side, re.sub(r"[^a-z0-9]", "", low[: -len(suffix)])
    low = re.sub(r"[^a-z0-9]", "", low)
    for prefix, side in (("left", "left"), ("right", "right")):
        if low.startswith(prefix):
            return side, low[len(prefix):]
    known = {p for _, parts in _SIDED_PARTS for p in parts}
    if low[:1] in "lr" and low[1:] in known:
        return ("left" if low[0] == "l" else "right"), low[1:]
    return None, low


def map_joints(names: list[str], parents: list[int]) -> dict[int, int]:
    """SMPL-X joint index -> BVH joint index for the joints found by name."""
    out: dict[int, int] = {}
    lowered = [n.split(":")[-1].lower() for n in names]
    if all(n in lowered for n in SMPLX_JOINT_NAMES):  # our own export / SMPL-named rigs
        return {J[n]: lowered.index(n) for n in SMPLX_JOINT_NAMES}
    parsed = [_side_and_part(n) for n in names]
    used: set[int] = set()
    for side in ("left", "right"):
        for joint, parts in _SIDED_PARTS:
            for part in parts:
                hit = next((i for i, (s, p) in enumerate(parsed) if s == side and p == part and i not in used), None)
                if hit is not None:
                    out[J[f"{side}_{joint}"]] = hit
                    used.add(hit)
                    break
    root = next((i for i, (s, p) in enumerate(parsed) if s is None and p in _ROOT_NAMES), 0)
    out[J["pelvis"]] = root
    head = next((i for i, (s, p) in enumerate(parsed) if s is None and p == "head"), None)
    if head is not None:
        out[J["head"]] = head
        chain = [head]  # head up to the root
        while parents[chain[-1]] >= 0 and chain[-1] != root:
            chain.append(parents[chain[-1]])
        chain = chain[::-1]  # root ... head
        necks = [i for i in chain if "neck" in parsed[i][1]]
        if necks:
            out[J["neck"]] = necks[0]
            spine = chain[1:chain.index(necks[0])]
        else:
            spine = chain[1:-1]
        if spine:
            pick = np.round(np.linspace(0, len(spine) - 1, 3)).astype(int)
            for k, joint in enumerate(("spine1", "spine2", "spine3")):
                out[J[joint]] = spine[pick[k]]
    return out


class _Rig:
    """A parsed BVH: joint names, parents, offsets, channels and the motion block."""

    def __init__(self, path: Path):
        import bvhio

        text = _read_text(path)
        lines = text.splitlines()
        try:
            m = next(i for i, line in enumerate(lines) if line.strip() == "MOTION")
        except StopIteration:
            raise AmgError(f"{path}: not a complete BVH file: no MOTION section (truncated?); "
                           f"{ACCEPTED_FORMATS}") from None
        head = "\n".join(lines[:m])
        if not head.lstrip().startswith("HIERARCHY"):
            raise AmgError(f"{path}: not a BVH file (it must start with HIERARCHY); {ACCEPTED_FORMATS}")
        if head.count("{") != head.count("}"):
            raise AmgError(f"{path}: the BVH hierarchy is incomplete (unbalanced braces)")
        depth = np.cumsum([1 if c == "{" else -1 for c in re.findall(r"[{}]", head)] or [0]).max()
        if depth > MAX_DEPTH:  # the parser (and any body) would recurse this deep
            raise AmgError(f"{path}: the BVH hierarchy is nested {depth} joints deep (at most {MAX_DEPTH})")
        rest = [line.strip() for line in lines[m + 1:]]
        if len(rest) < 2 or not rest[0].startswith("Frames:") or not rest[1].startswith("Frame Time:"):
            raise AmgError(f"{path}: the BVH MOTION section must start with 'Frames:' and 'Frame Time:' lines")
        # bvhio loops forever on a truncated header, so it only sees one we checked is whole.
        with tempfile.NamedTemporaryFile("w", suffix=".bvh", delete=False) as tmp:
            tmp.write("\n".join(lines[:m + 3]) + "\n")
        try:
            bvh = bvhio.readAsBvh(tmp.name, loadKeyFrames=False)
        except (SyntaxError, ValueError, IndexError) as e:
            raise AmgError(f"{path}: cannot parse the BVH hierarchy ({e.args[0] if e.args else e})") from None
        finally:
            os.unlink(tmp.name)
        self.names, self.parents, self.offsets, self.channels, self.tips = [], [], [], [], []
        for joint, index, depth in bvh.Root.layout():
            self.names.append(joint.Name)
            self.offsets.append(tuple(joint.Offset))
            self.channels.append(list(joint.Channels))
            # where the bone points at rest: its first child, or its end site
            self.tips.append(tuple(joint.Children[0].Offset) if joint.Children else tuple(joint.EndSite))
        self.parents = _parents_of(bvh.Root)
        self.offsets = np.array(self.offsets, dtype=np.float64)
        if not (np.isfinite(bvh.FrameTime) and bvh.FrameTime >= 1 / MAX_FPS):
            raise AmgError(f"{path}: BVH 'Frame Time' must be at least {1 / MAX_FPS:g} s (at most {MAX_FPS:g} "
                           f"frames a second), got {bvh.FrameTime}")
        self.fps = 1.0 / bvh.FrameTime
        width = sum(len(c) for c in self.channels)
        try:
            values = np.array(" ".join(rest[2:]).split(), dtype=np.float64)
        except ValueError:
            raise AmgError(f"{path}: the BVH motion data contains text that is not a number") from None
        frames = bvh.FrameCount
        if frames < 1:
            raise AmgError(f"{path}: the BVH file has no frames")
        if values.size < frames * width:
            raise AmgError(f"{path}: truncated BVH: the header announces {frames} frames of {width} values, "
                           f"the file holds {values.size // width} complete frames")
        if values.size > frames * width:
            raise AmgError(f"{path}: the BVH motion data has {values.size} values, more than the "
                           f"{frames} frames x {width} channels the header announces")
        self.data = values.reshape(frames, width)
        if not np.all(np.isfinite(self.data)):
            raise AmgError(f"{path}: the BVH motion data contains NaN or infinite values")

    def world(self) -> tuple[np.ndarray, np.ndarray]:
        """(T, N, 3, 3) world rotations and (T, N, 3) world positions of all joints."""
        t, n = len(self.data), len(self.names)
        rots = np.empty((t, n, 3, 3))
        pos = np.empty((t, n, 3))
        col = 0
        for j in range(n):
            chans = self.channels[j]
            block = self.data[:, col:col + len(chans)]
            col += len(chans)
            local_t = np.tile(self.offsets[j], (t, 1))
            order, angles = "", []
            for k, c in enumerate(chans):
                axis, kind = c[0].upper(), c[1:].lower()
                if kind == "position":
                    local_t[:, "XYZ".index(axis)] = block[:, k]
                elif kind == "rotation":
                    order += axis
                    angles.append(block[:, k])
            local_r = (Rotation.from_euler(order, np.stack(angles, 1), degrees=True).as_matrix()
                       if order else np.tile(np.eye(3), (t, 1, 1)))
            p = self.parents[j]
            if p < 0:
                rots[:, j], pos[:, j] = local_r, local_t
            else:
                rots[:, j] = rots[:, p] @ local_r
                pos[:, j] = pos[:, p] + np.einsum("tij,tj->ti", rots[:, p], local_t)
        return rots, pos

    def rest_positions(self) -> np.ndarray:
        """(N, 3) joint positions with every rotation zero (offsets only)."""
        pos = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] if p < 0 else pos[p] + self.offsets[j]
        return pos


def _parents_of(root) -> list[int]:
    parents = []

    def walk(joint, parent):
        index = len(parents)
        parents.append(parent)
        for child in joint.Children:
            walk(child, index)

    walk(root, -1)
    return parents


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise AmgError(f"{path}: binary data, not a BVH text file; {ACCEPTED_FORMATS}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _snap(v: np.ndarray) -> np.ndarray:
    """The signed coordinate axis nearest to direction v (rigs are built axis-aligned; the
    rest pose's head sits a little forward of the pelvis, which must not tilt the frame)."""
    axis = np.zeros(3)
    k = int(np.argmax(np.abs(v)))
    axis[k] = np.sign(v[k])
    return axis


def import_bvh(path: str | os.PathLike) -> Motion:
    """The motion of a BVH file on the SMPL-X body joints (Y up, metres, the file's fps)."""
    path = check_file(path)
    rig = _Rig(path)
    mapping = map_joints(rig.names, rig.parents)
    missing = [n for n in _REQUIRED if J[n] not in mapping]
    if missing:
        raise AmgError(f"{path}: BVH skeleton not recognised: no joint found for {', '.join(missing)} "
                       f"(joints in the file: {', '.join(rig.names[:40])})")
    # Unmatched SMPL-X joints (a rig without collars, say) follow their parent's BVH joint.
    src = np.zeros(22, dtype=int)
    for j in range(22):
        src[j] = mapping.get(j, src[PARENTS[j]] if j else 0)
    rest = rig.rest_positions()
    # The rig's own frame: up from pelvis to head, left from right hip to left hip.
    left = rest[src[J["left_hip"]]] - rest[src[J["right_hip"]]]
    up = rest[src[J["head"]]] - rest[src[J["pelvis"]]]
    x, y = _snap(left), _snap(up)
    if abs(np.dot(x, y)) > 0.5:
        raise AmgError(f"{path}: cannot tell the BVH rig's up axis from its left-right axis")
    frame = np.stack([x, y, np.cross(x, y)])  # rows: BVH coordinates -> ours
    leg = lambda p, s: (np.linalg.norm(p[s[J["left_knee"]]] - p[s[J["left_hip"]]])  # noqa: E731
                        + np.linalg.norm(p[s[J["left_ankle"]]] - p[s[J["left_knee"]]]))
    ours = np.arange(22)
    bvh_leg = leg(rest, src)
    if bvh_leg <= 0:
        raise AmgError(f"{path}: BVH skeleton has legs of zero length")
    scale = leg(REST_JOINTS, ours) / bvh_leg
    rest_ours = rest @ frame.T
    # Rest-pose correction per joint: our rest bone onto the rig's rest bone.
    corr = np.tile(np.eye(3), (22, 1, 1))
    tips = np.array(rig.tips, dtype=np.float64) @ frame.T
    for j in range(22):
        c = _MAIN_CHILD.get(j)
        if j in _UPRIGHT or c is None:
            corr[j] = corr[PARENTS[j]] if j and j not in _UPRIGHT else np.eye(3)
            continue
        rig_dir = rest_ours[src[c]] - rest_ours[src[j]]
        if np.linalg.norm(rig_dir) < 1e-6:
            # the rig has no joint for our child (a foot without toes): use the bone's own tip
            rig_dir = tips[src[j]]
        if np.linalg.norm(rig_dir) < 1e-6:
            corr[j] = corr[PARENTS[j]]
            continue
        corr[j] = Rotation.align_vectors(rig_dir, REST_JOINTS[c] - REST_JOINTS[j])[0].as_matrix()  # smallest turn
    rots, pos = rig.world()
    world = frame @ rots[:, src] @ frame.T @ corr  # (T, 22, 3, 3) our joints' world rotations
    local = world.copy()
    local[:, 1:] = np.swapaxes(world[:, PARENTS[1:]], -1, -2) @ world[:, 1:]
    rotvec = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(-1, 22, 3)
    pelvis = pos[:, src[0]] @ frame.T * scale
    return Motion(rotvec[:, 0], rotvec[:, 1:].reshape(-1, 63), pelvis, fps=rig.fps, name=path.stem,
                  meta={"source_format": "BVH", "bvh_scale": scale,
                        "bvh_joints": {SMPLX_JOINT_NAMES[j]: rig.names[i] for j, i in mapping.items()}})


def save_bvh(motion: Motion, path: str | os.PathLike) -> Path:
    """Write `motion` as BVH on our skeleton (centimetres, Y up, ZYX Euler), atomically."""
    import bvhio
    import glm
    from SpatialTransform import Pose

    path = Path(path)
    cm = 100.0
    quats = Rotation.from_rotvec(motion.local_rotations().reshape(-1, 3)).as_quat()  # x, y, z, w
    quats = quats.reshape(motion.num_frames, 22, 4)
    offsets = REST_JOINTS - REST_JOINTS[np.maximum(PARENTS, 0)]
    joints = []
    for j, name in enumerate(SMPLX_JOINT_NAMES):
        joint = bvhio.BvhJoint(name, glm.vec3(*(offsets[j] * cm)) if j else glm.vec3(0))
        joint.Channels = (["Xposition", "Yposition", "Zposition"] if j == 0 else []) + \
            ["Zrotation", "Yrotation", "Xrotation"]
        for f in range(motion.num_frames):
            x, y, z, w = quats[f, j]
            position = glm.vec3(*(motion.transl[f] * cm)) if j == 0 else glm.vec3(*(offsets[j] * cm))
            joint.Keyframes.append(Pose(position, glm.quat(w, x, y, z)))
        joints.append(joint)
        if j:
            joints[PARENTS[j]].Children.append(joint)
    for j, joint in enumerate(joints):
        if not joint.Children:  # end sites: a short bone continuing the limb
            direction = offsets[j] / max(np.linalg.norm(offsets[j]), 1e-9)
            joint.EndSite = glm.vec3(*(direction * 8.0))
    container = bvhio.BvhContainer(joints[0], motion.num_frames, 1.0 / motion.fps)
    with atomic_path(path) as tmp:
        bvhio.writeBvh(str(tmp), container, percision=6)
    return path
