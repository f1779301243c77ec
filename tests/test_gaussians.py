"""Gaussian avatars: 3DGS .ply files, binding to the body, the torch rasteriser, scenes mixing splats and meshes."""

import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from amg.avatar.gaussians import Gaussians, read_ply, write_ply
from amg.errors import AmgError
from amg.render import render_scene
from amg.scene import Scene


def _random_gaussians(n=300, degree=3, seed=0) -> Gaussians:
    rng = np.random.default_rng(seed)
    k = (degree + 1) ** 2 - 1
    return Gaussians(rng.normal(size=(n, 3)), rng.normal(size=(n, 4)), rng.normal(-4, 1, size=(n, 3)),
                     rng.normal(size=n), rng.normal(size=(n, 3)), rng.normal(size=(n, k, 3)))


def _person(pid, avatar, source="walk", x=0.0, z=0.0):
    return {"id": pid, "avatar": avatar, "motion": {"source": source}, "placement": {"x": x, "z": z}}


# ---- the .ply file -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("degree", [0, 1, 3])
def test_export_import_round_trip_keeps_every_attribute_exactly(tmp_path, degree):
    g = _random_gaussians(degree=degree, seed=degree)
    back = read_ply(write_ply(g, tmp_path / "g.ply"))
    assert back.sh_degree == degree
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest"):
        assert np.array_equal(getattr(back, name), getattr(g, name)), name
    # the INRIA layout other viewers read: f_rest channel-major, normals present
    from plyfile import PlyData

    names = PlyData.read(str(tmp_path / "g.ply"))["vertex"].data.dtype.names
    assert names[:9] == ("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2")
    if degree:
        k = (degree + 1) ** 2 - 1
        rest = np.asarray(PlyData.read(str(tmp_path / "g.ply"))["vertex"].data["f_rest_1"])
        assert np.array_equal(rest, g.sh_rest[:, 1, 0])       # red's second coefficient
        assert names.index(f"f_rest_{3 * k - 1}") == names.index("opacity") - 1


def test_truncated_or_lying_headers_are_refused(tmp_path):
    good = write_ply(_random_gaussians(200, degree=1), tmp_path / "good.ply").read_bytes()
    header_end = good.index(b"end_header\n")

    def refused(data: bytes, *words):
        p = tmp_path / "bad.ply"
        p.write_bytes(data)
        with pytest.raises(AmgError) as e:
            read_ply(p)
        msg = str(e.value)
        assert str(p) in msg and all(w in msg for w in words), msg

    refused(good[:len(good) - 100], "early end-of-file", "truncated")
    refused(good.replace(b"element vertex 200", b"element vertex 300"), "truncated")
    refused(good.replace(b"element vertex 200", b"element vertex 150"), "header describes")
    refused(good.replace(b"element vertex 200", b"element vertex 99999999999"), "gaussians")
    refused(good.replace(b"property float opacity", b"property float opacitx"), "missing properties opacity")
    refused(good[:header_end].replace(b"property float f_rest_8\n", b"") + good[header_end:], "header describes")
    # a consistent file whose colour coefficients are no SH degree
    from plyfile import PlyData, PlyElement

    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
             "rot_0", "rot_1", "rot_2", "rot_3"] + [f"f_rest_{i}" for i in range(5)]
    odd = np.ones(10, dtype=[(n, "<f4") for n in names])
    PlyData([PlyElement.describe(odd, "vertex")]).write(str(tmp_path / "odd.ply"))
    refused((tmp_path / "odd.ply").read_bytes(), "5 f_rest_* properties")
    refused(b"solid cube\nfacet normal 0 0 1\n", "not a PLY file")
    refused(b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty flot x\nend_header\n", "header")


# ---- rasteriser ---------------------------------------------------------------------------------------------

def _reference_render(means, quats, scales, opacities, colors, viewmat, k, width, height):
    """Straight per-pixel 3DGS compositing (a loop), using gsplat's own torch projection."""
    from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci

    covars, _ = _quat_scale_to_covar_preci(quats, scales, compute_preci=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(means, covars, viewmat[None], k[None], width, height)
    order = torch.argsort(depths[0])
    img = torch.zeros(height, width, colors.shape[1])
    acc = torch.zeros(height, width)
    for y in range(height):
        for x in range(width):
            t = 1.0
            for i in order.tolist():
                if radii[0, i].max() <= 0:
                    continue
                dx, dy = means2d[0, i, 0] - (x + 0.5), means2d[0, i, 1] - (y + 0.5)
                a, b, c = conics[0, i]
                sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                alpha = min(0.999, float(opacities[i] * torch.exp(-sigma)))
                if sigma < 0 or alpha < 1 / 255:
                    continue
                if t * (1 - alpha) <= 1e-4:
                    break
                img[y, x] += alpha * t * colors[i]
                acc[y, x] += alpha * t
                t *= 1 - alpha
    return img, acc


@pytest.mark.parametrize("tile_size,block", [(1, 2048), (2, 2048), (4, 2048), (2, 5)])
def test_torch_rasteriser_matches_straight_3dgs_compositing(tile_size, block, monkeypatch):
    from amg.render import splat
    from amg.render.splat import rasterization_torch

    monkeypatch.setattr(splat, "_CUM_BLOCK", block)  # 5: tiles straddle the cumulative sum's blocks

    gen = torch.Generator().manual_seed(0)
    n, w, h = 40, 20, 14  # sizes that are not multiples of the tile
    means = torch.randn(n, 3, generator=gen) * 0.4 + torch.tensor([0.0, 0.0, 3.0])
    quats = torch.randn(n, 4, generator=gen)
    scales = torch.rand(n, 3, generator=gen) * 0.08 + 0.01
    opacities = torch.rand(n, generator=gen) * 0.5 + 0.5
    colors = torch.rand(n, 3, generator=gen)
    viewmat = torch.eye(4)
    k = torch.tensor([[25.0, 0, w / 2], [0, 25.0, h / 2], [0, 0, 1]])
    img, acc, meta = rasterization_torch(means, quats, scales, opacities, colors, viewmat[None], k[None], w, h,
                                         tile_size=tile_size)
    ref_img, ref_acc = _reference_render(means, quats, scales, opacities, colors, viewmat, k, w, h)
    assert img.shape == (1, h, w, 3) and acc.shape == (1, h, w, 1)
    assert (ref_acc > 0.5).sum() > 40  # the scene covers a good part of the image
    assert torch.allclose(acc[0, ..., 0], ref_acc, atol=2e-4)
    assert torch.allclose(img[0], ref_img, atol=2e-4)


@pytest.mark.parametrize("tile_size", [2, 3])
def test_torch_rasteriser_bins_long_tilted_gaussians_without_losing_pixels(tile_size):
    """Needles and flat discs seen at an angle: their tiles are found row by row from the alpha
    ellipse, not its bounding box; every pixel must still equal straight compositing."""
    from amg.render.splat import rasterization_torch

    gen = torch.Generator().manual_seed(1)
    n, w, h = 30, 26, 19
    means = torch.randn(n, 3, generator=gen) * 0.5 + torch.tensor([0.0, 0.0, 3.0])
    quats = torch.randn(n, 4, generator=gen)
    scales = torch.stack([torch.rand(n, generator=gen) * 0.6 + 0.2, torch.full((n,), 0.004),
                          torch.rand(n, generator=gen) * 0.05 + 0.002], 1)
    opacities = torch.rand(n, generator=gen) * 0.6 + 0.4
    colors = torch.rand(n, 3, generator=gen)
    viewmat = torch.eye(4)
    k = torch.tensor([[30.0, 0, w / 2], [0, 30.0, h / 2], [0, 0, 1]])
    img, acc, _ = rasterization_torch(means, quats, scales, opacities, colors, viewmat[None], k[None], w, h,
                                      tile_size=tile_size)
    ref_img, ref_acc = _reference_render(means, quats, scales, opacities, colors, viewmat, k, w, h)
    assert (ref_acc > 0.3).sum() > 60
    assert torch.allclose(acc[0, ..., 0], ref_acc, atol=2e-4)
    assert torch.allclose(img[0], ref_img, atol=2e-4)


def test_cuda_path_calls_gsplat_with_arguments_it_takes(monkeypatch):
    """No GPU here: a stand-in gsplat records the call (checked against the real gsplat's signature)
    and answers with the torch rasteriser; the image must be the one the CPU path draws."""
    import inspect
    import types

    import gsplat

    from amg.avatar import build_avatar
    from amg.avatar.gaussian_avatar import GaussianAvatar
    from amg.camera.camera import look_at
    from amg.motion import Motion
    from amg.render import splat
    from amg.render.splat_scene import render_gaussian_people
    from amg.scene import AvatarSpec

    posed = GaussianAvatar.from_avatar(build_avatar(AvatarSpec(prompt="a man")), count=3000).pose(Motion.rest(1))
    c2w, fov = look_at(np.array([0, 0.9, 4.0]), np.array([0, 0.9, 0]))[None], np.array([40.0])
    cpu = render_gaussian_people([posed], [1], c2w, fov, 64, 64)
    calls = []
    real = inspect.signature(gsplat.rasterization).parameters

    def fake_rasterization(*args, **kwargs):
        calls.append(dict(kwargs))
        names = list(real)[:len(args)] + list(kwargs)
        assert all(n in real for n in names), set(names) - set(real)
        kwargs.pop("packed")
        return splat.rasterization_torch(*args, **kwargs)

    monkeypatch.setitem(sys.modules, "gsplat", types.SimpleNamespace(rasterization=fake_rasterization))
    monkeypatch.setattr(splat, "use_gsplat", lambda tensor: True)
    via = render_gaussian_people([posed], [1], c2w, fov, 64, 64)
    assert calls and calls[0]["render_mode"] == "RGB+ED" and calls[0]["packed"] is False
    assert np.array_equal(via.ids, cpu.ids) and np.allclose(via.rgb, cpu.rgb) and cpu.alpha.max() > 0.9


# ---- avatars in scenes --------------------------------------------------------------------------------------

def test_mesh_and_gaussian_avatar_silhouettes_agree_over_a_walk():
    avatar = {"prompt": "a man in a blue shirt and dark trousers"}
    scene = {"people": [_person("a", avatar)], "render": {"frames": 5, "fps": 2.5, "width": 256, "height": 256}}
    mesh = render_scene(Scene.from_dict(scene))
    scene["people"][0]["avatar"] = {**avatar, "style": "gaussians"}
    splat = render_scene(Scene.from_dict(scene))
    m, g = mesh.masks[:, 0], splat.masks[:, 0]
    iou = (m & g).sum((1, 2)) / (m | g).sum((1, 2))
    assert (iou >= 0.9).all(), iou
    assert np.abs(mesh.joints - splat.joints).max() < 1e-5  # same body, same motion, same camera
    # the splat carries the mesh's colours: the shirt is blue, the trousers dark
    top = splat.rgb[2][g[2] & m[2]].astype(float).mean(0)
    assert top[2] > top[0] + 20


@pytest.mark.parametrize("near_style,far_style", [("gaussians", "mesh"), ("mesh", "gaussians"),
                                                  ("gaussians", "gaussians")])
def test_nearer_person_hides_the_farther_where_they_overlap(near_style, far_style):
    from scipy.ndimage import binary_erosion

    def scene(a, b):
        return Scene.from_dict({"people": [
            _person("near", {"prompt": "a man in a green shirt", "style": a}, "idle", x=0.15, z=0.8),
            _person("far", {"prompt": "a woman in a red shirt", "style": b}, "idle", x=-0.15, z=-0.8)],
            "render": {"frames": 1, "width": 128, "height": 128}})

    meshes = render_scene(scene("mesh", "mesh"))
    mixed = render_scene(scene(near_style, far_style))
    near_inside = binary_erosion(meshes.masks[0, 0], iterations=2)
    far_alone = binary_erosion(render_scene(Scene.from_dict({
        "people": [_person("far", {"prompt": "a woman in a red shirt"}, "idle", x=-0.15, z=-0.8)],
        "render": {"frames": 1, "width": 128, "height": 128}})).masks[0, 0], iterations=2)
    overlap = near_inside & far_alone
    assert overlap.sum() > 100
    assert mixed.masks[0, 0][overlap].mean() > 0.98     # the near person is seen there
    assert not mixed.masks[0, 1][overlap].any()          # and the far one is not
    assert (mixed.depth[0][overlap] < meshes.depth[0][far_alone & ~meshes.masks[0, 0]].min() + 1.0).all()


def test_scene_wears_a_ply_relative_to_the_scene_file(tmp_path):
    from amg.avatar import build_avatar
    from amg.avatar.gaussian_avatar import GaussianAvatar
    from amg.scene import AvatarSpec

    avatar = build_avatar(AvatarSpec(prompt="a woman in a yellow dress"))
    GaussianAvatar.from_avatar(avatar, count=4000).export_ply(tmp_path / "her.ply")
    scene = Scene.from_dict({"people": [_person("a", {"gaussians": "her.ply", "prompt": "a woman"}, "idle")],
                             "render": {"frames": 2, "width": 64, "height": 64}})
    scene.save(tmp_path / "scene.json")
    out = render_scene(Scene.load(tmp_path / "scene.json"))
    assert out.masks[:, 0].mean() > 0.03
    yellow = out.rgb[out.masks[:, 0]].astype(float).mean(0)
    assert yellow[0] > 120 and yellow[1] > 100 and yellow[2] < 90, yellow
    with pytest.raises(AmgError, match="missing.ply"):
        render_scene(Scene.from_dict({"people": [_person("a", {"gaussians": str(tmp_path / "missing.ply")})]}))


def test_imported_sample_splat_renders_at_its_size_and_colour(samples_dir):
    from amg.render.splat import rasterization

    g = read_ply(next((samples_dir / "gaussians").glob("*.ply")))
    means, quats, scales, opacities, sh = g.activated()
    solid = opacities > 0.5
    centre = np.median(means[solid], 0)
    extent = np.percentile(means[solid], 98, 0) - np.percentile(means[solid], 2, 0)
    # a camera looking at the object along -Z from far enough to see all of it
    size, fov = 128, 40.0
    dist = 1.5 * extent.max() / math.tan(math.radians(fov / 2)) + extent[2]
    viewmat = torch.eye(4)
    viewmat[:3, 3] = torch.tensor([-centre[0], centre[1], dist + centre[2]])  # OpenCV: y down, z forward
    viewmat[1, 1], viewmat[2, 2] = -1.0, -1.0
    f = 0.5 * size / math.tan(math.radians(fov / 2))
    k = torch.tensor([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    t = lambda a: torch.as_tensor(a)  # noqa: E731
    img, acc, _ = rasterization(t(means), t(quats), t(scales), t(opacities), t(sh), viewmat[None], k[None], size,
                                size, sh_degree=g.sh_degree)
    cover = acc[0, ..., 0].numpy() > 0.5
    ys, xs = np.nonzero(cover)
    width_px = xs.max() - xs.min() + 1
    expected = f * extent[0] / (dist - 0)  # its x extent projected at its depth
    assert abs(width_px - expected) / expected < 0.2, (width_px, expected)
    rendered = img[0].numpy()[cover].mean(0)
    # the colour of the side the camera sees (frosting and sprinkles, not the bread underneath)
    seen = solid & (means[:, 2] > np.median(means[solid, 2]))
    colour = (g.rgb[seen] * opacities[seen, None]).sum(0) / opacities[seen].sum()
    assert np.abs(rendered - colour).max() < 0.08, (rendered, colour)
    assert rendered[2] > rendered[1] and rendered[0] > 0.3  # lavender-pink, as the file's colours say


def test_splat_on_smplx_is_placed_as_it_is_and_on_anny_fitted(tmp_path, monkeypatch):
    from amg.avatar import build_avatar
    from amg.avatar.gaussian_avatar import GaussianAvatar
    from amg.motion import Motion
    from amg.scene import AvatarSpec
    from tests.smplx_synthetic import write_synthetic_smplx

    model = tmp_path / "SMPLX_NEUTRAL.npz"
    write_synthetic_smplx(model)
    monkeypatch.setenv("AMG_SMPLX_MODEL", str(model))
    spec = AvatarSpec(body="smplx", prompt="a man")
    mesh = build_avatar(spec)
    rest = mesh.body.pose(Motion.rest(1))
    # a splat in SMPL-X's own coordinates (zero pose, no translation): its vertices
    native = rest.vertices[0] - (Motion.rest(1).transl[0] - mesh.body._rest_pelvis)
    n = len(native)
    write_ply(Gaussians.from_rgb(native, np.tile([1.0, 0, 0, 0], (n, 1)), np.full((n, 3), 0.01),
                                 np.full(n, 0.9), np.full((n, 3), 0.5)), tmp_path / "smplx.ply")
    on_smplx = GaussianAvatar.from_ply(tmp_path / "smplx.ply", spec)
    assert on_smplx.fit.scale == 1.0 and on_smplx.fit.median_distance < 1e-4
    assert np.allclose(on_smplx.gaussians.means, rest.vertices[0], atol=1e-5)
    # with the SMPL-X model configured, a splat goes on SMPL-X even when the spec names no body
    assert GaussianAvatar.from_ply(tmp_path / "smplx.ply", AvatarSpec()).fit.body == "smplx"
    # without it, the same file goes on Anny, fitted: scaled and moved onto the body, and the fit says so
    monkeypatch.delenv("AMG_SMPLX_MODEL")
    on_anny = GaussianAvatar.from_ply(tmp_path / "smplx.ply", AvatarSpec())
    assert on_anny.fit.body == "anny" and "fitted onto the Anny body" in on_anny.fit.summary()
    anny_rest = on_anny.body.pose(Motion.rest(1)).vertices[0]
    lo, hi = np.percentile(on_anny.gaussians.means, [1, 99], axis=0)
    assert abs((hi[1] - lo[1]) - np.ptp(anny_rest[:, 1])) < 0.1
    # and a walk moves the splat with the body (the wrists travel, as the body's do)
    from amg.motion.library import load_preset

    walk = load_preset("walk")[0].at_fps(8, 4)
    posed = on_smplx.pose(walk)
    body = mesh.pose(walk).meshes[0][0]  # the mesh avatar's vertices (root path scaled to its size, as the splat's)
    on_surface = np.unique(rest.faces)  # (loose vertices of the model are not on the surface)
    assert np.abs(posed.means - body)[:, on_surface].max() < 0.005


def test_cli_writes_a_splat_and_refuses_bad_files(tmp_path):
    def amg(*args):
        return subprocess.run([sys.executable, "-m", "amg", *args], capture_output=True, text=True, timeout=300)

    r = amg("avatar", "a man in a green shirt", "-o", str(tmp_path / "man.ply"), "--gaussians", "2000")
    assert r.returncode == 0, r.stderr
    g = read_ply(tmp_path / "man.ply")
    assert len(g) == 2000 and g.rgb[:, 1].mean() > g.rgb[:, 2].mean()
    shutil.copy(tmp_path / "man.ply", tmp_path / "cut.ply")
    with open(tmp_path / "cut.ply", "r+b") as f:
        f.truncate(5000)
    r = amg("avatar", "--from-ply", str(tmp_path / "cut.ply"), "-o", str(tmp_path / "placed.ply"))
    assert r.returncode == 2 and "cut.ply" in r.stderr and "truncated" in r.stderr
    assert not (tmp_path / "placed.ply").exists()
    r = amg("avatar", "x", "-o", str(tmp_path / "x.obj"))
    assert r.returncode == 2 and ".glb" in r.stderr and ".ply" in r.stderr
