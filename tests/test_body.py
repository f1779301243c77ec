import threading

import numpy as np
import pytest

from amg.body.anny_body import AnnyBody
from amg.motion import Motion
from amg.motion.motion import JOINT_INDEX as J
from amg.motion.skeleton import PELVIS_HEIGHT, REST_JOINTS



@pytest.fixture(scope="module")
def body():
    return AnnyBody()


def _motion(body_pose_edits: dict[tuple[str, int], float], frames: int = 1) -> Motion:
    m = Motion.rest(frames)
    pose = m.body_pose.reshape(frames, 21, 3)
    for (joint, axis), angle in body_pose_edits.items():
        pose[:, J[joint] - 1, axis] = angle
    return Motion(m.global_orient, pose.reshape(frames, 63), m.transl, fps=8)


def test_rest_skeleton_matches_the_avatar(body):
    joints = body.pose(Motion.rest(1)).joints[0]
    assert np.abs(joints - joints[0] - REST_JOINTS).max() < 1e-3
    # T-pose: arms horizontal and sideways, legs straight down
    assert abs(joints[J["left_wrist"], 1] - joints[J["left_shoulder"], 1]) < 1e-3
    assert joints[J["left_wrist"], 0] > 0.5 > -0.5 > joints[J["right_wrist"], 0]
    assert abs(joints[J["left_ankle"], 0] - joints[J["left_hip"], 0]) < 1e-3


def test_left_arm_raise_moves_only_the_left_arm(body):
    rest = body.pose(Motion.rest(1)).joints[0]
    raised = body.pose(_motion({("left_shoulder", 2): 1.2})).joints[0]  # +Z rotation lifts the +X arm
    assert raised[J["left_wrist"], 1] > rest[J["left_wrist"], 1] + 0.4
    assert np.abs(raised[J["right_wrist"]] - rest[J["right_wrist"]]).max() < 1e-4
    assert np.abs(raised[: J["left_shoulder"]] - rest[: J["left_shoulder"]]).max() < 1e-4


def test_global_orientation_and_translation(body):
    m = Motion.rest(1)
    turned = Motion(np.array([[0.0, np.pi / 2, 0.0]]), m.body_pose, m.transl + [1.0, 0.0, 2.0], fps=8)
    j = body.pose(turned).joints[0]
    assert np.allclose(j[0], [1.0, PELVIS_HEIGHT, 2.0], atol=1e-4)
    # turned 90 degrees about Y: the left hand (was +X) now points to -Z
    assert j[J["left_wrist"], 2] < 2.0 - 0.5


@pytest.mark.parametrize("phenotype", [{}, {"age": 0.3}, {"height": 1.0, "weight": 0.9}])
def test_grounded_motion_puts_every_body_on_the_floor(phenotype):
    """A clip grounded once for the canonical skeleton stands any avatar's soles on y = 0;
    a jump stays in the air (one offset per clip, not per frame), as high for the body's size."""
    from amg.avatar import build_avatar
    from amg.motion.edit import ground
    from amg.scene import AvatarSpec

    m = Motion.rest(4)
    m.transl[:, 1] += np.array([0.3, 0.6, 0.4, 0.3])  # floating, and "jumping" in frame 1
    avatar = build_avatar(AvatarSpec(phenotype=phenotype, prompt="a person in trousers"))
    low = avatar.pose(ground(m)).meshes[0][0][..., 1].min(axis=1)  # (T,) lowest point per frame
    assert abs(low.min()) < 0.01
    size = avatar.body.pelvis_height() / PELVIS_HEIGHT  # the root path is scaled by the body's size
    assert abs(low[1] - 0.3 * size) < 0.05


def test_phenotype_changes_the_body():
    child, adult = AnnyBody({"age": 0.3}), AnnyBody({"age": 0.7})
    h = lambda b: np.ptp(b.pose(Motion.rest(1)).vertices[0][:, 1])  # noqa: E731
    assert h(child) < h(adult) - 0.2


def test_concurrent_first_use_builds_once_atomically(tmp_path, monkeypatch):
    """Two processes' first use: one builds (in a private folder), the other waits; no partial file."""
    import anny

    from amg.body import anny_model

    monkeypatch.setenv("AMG_CACHE_DIR", str(tmp_path))
    builds = []

    def fake_build(**kwargs):
        from anny.paths import get_anny_cache_path

        builds.append(str(get_anny_cache_path()))
        out = get_anny_cache_path() / "v14" / "build_compact_model_data_x.safetensors"
        out.parent.mkdir(parents=True)
        out.write_bytes(b"compact-data")

    monkeypatch.setattr(anny, "Anny", fake_build)
    results = []
    threads = [threading.Thread(target=lambda: results.append(anny_model.ensure_compact_data(progress=lambda m: None)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and builds[0] != str(tmp_path)
    assert len(set(results)) == 1 and results[0].read_bytes() == b"compact-data"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != results[0].name and not p.name.endswith(".lock")]
    assert leftovers == []
