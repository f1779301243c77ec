"""Mesh rasteriser: moderngl on a headless EGL context (Mesa llvmpipe on CPU, NVIDIA EGL on GPU).

Functional core: `rasterize(...)` takes plain arrays whose shapes are written next to them
and returns plain arrays. One GL context per process is created lazily and reused;
buffers are written in place frame after frame. An EGL context is current only on the
thread that created it, so all GL work runs on one thread owned by this module: callers
on any thread (a UI's event handlers, a job runner) just call `rasterize`.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from amg.camera.camera import projection_matrix
from amg.errors import AmgError

EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"

_MESH_VS = """
#version 330
uniform mat4 view_proj;
in vec3 in_position;
in vec3 in_color;
out vec3 v_world;
out vec3 v_color;
void main() {
    v_world = in_position;
    v_color = in_color;
    gl_Position = view_proj * vec4(in_position, 1.0);
}
"""
_MESH_FS = """
#version 330
uniform vec3 eye;
uniform float person_id;
in vec3 v_world;
in vec3 v_color;
layout(location = 0) out vec4 out_color;
layout(location = 1) out float out_id;
void main() {
    // Flat normal from screen-space derivatives: no per-frame normal computation on the CPU.
    vec3 n = normalize(cross(dFdx(v_world), dFdy(v_world)));
    vec3 to_eye = normalize(eye - v_world);
    if (dot(n, to_eye) < 0.0) n = -n;
    vec3 key = normalize(vec3(0.3, 1.0, 0.5));
    float light = 0.45 + 0.4 * max(dot(n, to_eye), 0.0) + 0.25 * max(dot(n, key), 0.0);
    out_color = vec4(min(v_color * light, vec3(1.0)), 1.0);
    out_id = person_id / 255.0;
}
"""
_FLOOR_VS = """
#version 330
uniform mat4 view_proj;
uniform float extent;
in vec2 in_xz;
out vec2 v_xz;
void main() {
    v_xz = in_xz * extent;
    gl_Position = view_proj * vec4(v_xz.x, 0.0, v_xz.y, 1.0);
}
"""
_FLOOR_FS = """
#version 330
uniform float spacing;
uniform vec3 eye;
uniform vec3 line_color;
in vec2 v_xz;
layout(location = 0) out vec4 out_color;
layout(location = 1) out float out_id;
void main() {
    vec2 cell = v_xz / spacing;
    vec2 width = fwidth(cell);
    vec2 grid = abs(fract(cell - 0.5) - 0.5) / max(width, 1e-4);
    float line = 1.0 - min(min(grid.x, grid.y), 1.0);
    float fade = exp(-0.04 * length(v_xz - eye.xz));
    out_color = vec4(line_color * line * fade, 1.0);
    out_id = 0.0;
}
"""


@dataclass
class Rasterized:
    """rgb: (T, H, W, 3) uint8; ids: (T, H, W) uint8, 0 = no person, i + 1 = mesh i;
    depth: (T, H, W) float32 metres along the view axis, inf where no surface."""

    rgb: np.ndarray
    ids: np.ndarray
    depth: np.ndarray


class _GL:
    """The process's GL context with its programs (created on first use, on the GL thread)."""

    _instance = None
    _lock = threading.Lock()
    #: The one thread every GL call of this process runs on.
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amg-gl")

    def __init__(self):
        import moderngl

        try:
            self.ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as e:  # moderngl raises a bare Exception when EGL is missing
            raise AmgError(
                f"cannot create a headless OpenGL (EGL) context: {e}. On Debian/Ubuntu install the system "
                f"packages: apt-get install {EGL_PACKAGES}"
            ) from None
        self.mesh = self.ctx.program(vertex_shader=_MESH_VS, fragment_shader=_MESH_FS)
        self.floor = self.ctx.program(vertex_shader=_FLOOR_VS, fragment_shader=_FLOOR_FS)
        quad = np.array([-1, -1, 1, -1, 1, 1, -1, -1, 1, 1, -1, 1], dtype="f4")
        self.floor_vao = self.ctx.vertex_array(self.floor, [(self.ctx.buffer(quad), "2f", "in_xz")])
        self._fbo_size = None

    @classmethod
    def get(cls) -> "_GL":
        with cls._lock:
            if cls._instance is None:
                cls._instance = _GL()
            return cls._instance

    def framebuffer(self, width: int, height: int):
        if self._fbo_size != (width, height):
            ctx = self.ctx
            self.color = ctx.renderbuffer((width, height), 4)
            self.ids = ctx.renderbuffer((width, height), 1, dtype="f1")
            self.depth = ctx.depth_renderbuffer((width, height))
            self.fbo = ctx.framebuffer([self.color, self.ids], self.depth)
            self._fbo_size = (width, height)
        return self.fbo


def rasterize(
    vertices: list[np.ndarray],   # per mesh: (T, V_i, 3) world positions, Y up
    faces: list[np.ndarray],      # per mesh: (F_i, 3) int triangle indices
    colors: list[np.ndarray],     # per mesh: (V_i, 3) float RGB in [0, 1]
    c2w: np.ndarray,              # (T, 4, 4) camera-to-world, OpenGL camera axes
    fov_y_deg: np.ndarray,        # (T,) vertical field of view
    width: int,
    height: int,
    background=(0.0, 0.0, 0.0),   # RGB in [0, 1]
    floor: bool = False,          # draw a grid on the y = 0 plane
    near: float = 0.05,
    far: float = 200.0,
    mesh_ids: list[int] | None = None,  # id written for each mesh (1..255); default i + 1
) -> Rasterized:
    """Render T frames of several meshes with depth occlusion."""
    mesh_ids = list(range(1, len(vertices) + 1)) if mesh_ids is None else mesh_ids
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise AmgError(f"render size {width}x{height} is out of range (1..4096)")
    if any(len(v) != len(c2w) for v in vertices):
        raise AmgError("every mesh needs one set of vertices per camera frame")
    return _GL.thread.submit(_rasterize_on_gl_thread, vertices, faces, colors, np.asarray(c2w), np.asarray(fov_y_deg),
                             width, height, background, floor, near, far, mesh_ids).result()


def _rasterize_on_gl_thread(vertices, faces, colors, c2w, fov_y_deg, width, height, background, floor, near, far,
                            mesh_ids) -> Rasterized:
    num_frames = len(c2w)
    gl = _GL.get()
    ctx = gl.ctx
    fbo = gl.framebuffer(width, height)
    vaos = []
    for v, f, c in zip(vertices, faces, colors):
        vbo = ctx.buffer(reserve=v.shape[1] * 12)
        cbo = ctx.buffer(np.ascontiguousarray(c, dtype="f4").tobytes())
        ibo = ctx.buffer(np.ascontiguousarray(f, dtype="i4").tobytes())
        vaos.append((vbo, ctx.vertex_array(gl.mesh, [(vbo, "3f", "in_position"), (cbo, "3f", "in_color")], ibo),
                     (cbo, ibo)))
    rgb = np.empty((num_frames, height, width, 3), np.uint8)
    ids = np.empty((num_frames, height, width), np.uint8)
    depth = np.empty((num_frames, height, width), np.float32)
    try:
        fbo.use()
        ctx.viewport = (0, 0, width, height)
        for t in range(num_frames):
            proj = projection_matrix(float(fov_y_deg[t]), width / height, near, far)
            view_proj = (proj @ np.linalg.inv(c2w[t])).astype("f4")
            eye = tuple(float(x) for x in c2w[t][:3, 3])
            fbo.clear(*background, 1.0, depth=1.0)
            ctx.enable(ctx.DEPTH_TEST)
            gl.mesh["view_proj"].write(view_proj.T.tobytes())
            gl.mesh["eye"].value = eye
            for i, (vbo, vao, _) in enumerate(vaos):
                vbo.write(np.ascontiguousarray(vertices[i][t], dtype="f4").tobytes())
                gl.mesh["person_id"].value = float(mesh_ids[i])
                vao.render()
            if floor:
                gl.floor["view_proj"].write(view_proj.T.tobytes())
                gl.floor["eye"].value = eye
                gl.floor["extent"].value = 30.0
                gl.floor["spacing"].value = 0.5
                gl.floor["line_color"].value = (0.55, 0.55, 0.55)
                # drawn after the people: the depth test keeps it behind them
                gl.floor_vao.render()
            rgb[t] = np.frombuffer(fbo.read(components=3, attachment=0), np.uint8).reshape(height, width, 3)[::-1]
            ids[t] = np.frombuffer(fbo.read(components=1, attachment=1), np.uint8).reshape(height, width)[::-1]
            z = np.frombuffer(fbo.read(components=1, attachment=-1, dtype="f4"), np.float32).reshape(height, width)[::-1]
            depth[t] = _linear_depth(z, near, far)
    finally:
        for vbo, vao, (cbo, ibo) in vaos:
            vao.release(), vbo.release(), cbo.release(), ibo.release()
    return Rasterized(rgb, ids, depth)


def run_on_gl_thread(fn, *args):
    """fn(ctx, *args) on the GL thread with the process's moderngl context: for other render
    passes (their own programs) sharing this one context. Returns fn's result."""
    return _GL.thread.submit(lambda: fn(_GL.get().ctx, *args)).result()


def _linear_depth(z_buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """Window-space depth in [0, 1] -> metres along the view axis (inf for the far plane)."""
    ndc = 2.0 * z_buffer - 1.0
    with np.errstate(divide="ignore"):
        d = 2.0 * near * far / (far + near - ndc * (far - near))
    d[z_buffer >= 1.0] = np.inf
    return d.astype(np.float32)
