import numpy as np
import pytest

from amg.errors import AmgError
from amg.motion import Motion
from amg.scene import AvatarSpec, Scene
from tests.smplx_synthetic import write_synthetic_smplx


@pytest.fixture(scope="module")
def smplx_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL.npz"
    write_synthetic_smplx(path)
    return path


def test_smplx_body_follows_the_motion(smplx_file, monkeypatch):
    from amg.body.smplx_body import SMPLXBody

    monkeypatch.setenv("AMG_SMPLX_MODEL", str(smplx_file))
    body = SMPLXBody.from_env()
    rest = body.pose(Motion.rest(1))
    assert rest.vertices.shape == (1, 10475, 3) and rest.faces.shape == (20908, 3)
    assert np.allclose(rest.joints[0, 0], [0, 0.876, 0], atol=1e-4)  # transl is the pelvis position
    m = Motion.rest(1)
    pose = m.body_pose.copy()
    pose[0, 15 * 3 + 2] = 1.2  # left shoulder (joint 16) lifts the left arm
    lifted = body.pose(Motion(m.global_orient, pose, m.transl, fps=8))
    assert lifted.joints[0, 20, 1] > rest.joints[0, 20, 1] + 0.3
    assert np.allclose(lifted.joints[0, 21], rest.joints[0, 21], atol=1e-4)


def test_smplx_avatar_renders(smplx_file, monkeypatch):
    from amg.render import render_scene

    monkeypatch.setenv("AMG_SMPLX_MODEL", str(smplx_file))
    scene = Scene.from_dict({"people": [{"id": "a", "avatar": {"body": "smplx", "prompt": "a man in a red shirt"},
                                         "motion": {"source": "idle"}}],
                             "render": {"frames": 2, "width": 64, "height": 64}})
    out = render_scene(scene)
    assert out.masks[:, 0].sum() > 50


def test_missing_or_bad_smplx_files(tmp_path, monkeypatch, smplx_file):
    from amg.body.smplx_body import SMPLXBody

    monkeypatch.delenv("AMG_SMPLX_MODEL", raising=False)
    with pytest.raises(AmgError, match="AMG_SMPLX_MODEL"):
        SMPLXBody.from_env()
    with pytest.raises(AmgError, match="not found"):
        SMPLXBody(tmp_path / "nope.npz")
    pkl = tmp_path / "SMPLX_NEUTRAL.pkl"
    pkl.write_bytes(b"\x80\x04junk")
    with pytest.raises(AmgError, match="pkl"):
        SMPLXBody(pkl)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(smplx_file.read_bytes()[:5000])
    with pytest.raises(AmgError, match="cannot read"):
        SMPLXBody(truncated)
    pickled = tmp_path / "pickled.npz"
    data = dict(np.load(smplx_file))
    data["f"] = np.array([{"evil": 1}], dtype=object)
    np.savez(pickled, **data)
    with pytest.raises(AmgError, match="pickled objects"):
        SMPLXBody(pickled)
    missing = tmp_path / "missing_key.npz"
    data = dict(np.load(smplx_file))
    del data["J_regressor"]
    np.savez(missing, **data)
    with pytest.raises(AmgError, match="J_regressor"):
        SMPLXBody(missing)
    with pytest.raises(AmgError):
        from amg.avatar import build_avatar

        build_avatar(AvatarSpec(body="smplx"))
