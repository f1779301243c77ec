"""The synthetic world's "real" picture: the same people, motion and camera as the condition,
drawn as the video a model must learn to produce.

Bodies are lit by a sun and a sky (garment colours, shading darker towards the feet) and
stand on a floor with soft shadows under them; behind them, a background of the caption's
class (beach, park, street, studio, night) is ray-cast per pixel from the camera, floor and
horizon in perspective, so that every camera move (orbit, pan, zoom) shows in it. Rendered
at twice the size and reduced (anti-aliasing), on the condition rasteriser's GL context.
"""

from __future__ import annotations

import cv2
import numpy as np

from amg.camera.camera import projection_matrix
from amg.render.rasterizer import run_on_gl_thread
from amg.synthetic.world import BACKGROUND_CLASSES

#: Per class: sun direction (towards the sun), sun colour, ambient (sky) colour.
LIGHTS = {
    "beach": ((0.4, 0.8, 0.45), (1.0, 0.93, 0.8), (0.45, 0.5, 0.6)),
    "park": ((-0.3, 0.85, 0.4), (0.95, 0.95, 0.85), (0.4, 0.48, 0.42)),
    "street": ((0.6, 0.6, -0.3), (0.9, 0.85, 0.8), (0.42, 0.42, 0.46)),
    "studio": ((0.2, 0.7, 0.7), (0.75, 0.75, 0.75), (0.55, 0.55, 0.56)),
    "night": ((-0.2, 0.9, 0.3), (0.75, 0.72, 0.85), (0.28, 0.28, 0.38)),  # street lamps: people stay visible
}

_QUAD_VS = """
#version 330
in vec2 in_xy;
out vec2 v_ndc;
void main() { v_ndc = in_xy; gl_Position = vec4(in_xy, 0.0, 1.0); }
"""
# Background by ray casting: the floor (y = 0) below the horizon, the class's sky/backdrop above.
_BACKGROUND_FS = """
#version 330
uniform mat4 inv_view_proj;
uniform vec3 eye;
uniform int kind;  // 0 beach, 1 park, 2 street, 3 studio, 4 night
uniform vec4 shadows[4];  // x, z, radius, strength
uniform vec2 shadow_shift;
in vec2 v_ndc;
out vec4 out_color;
const float PI = 3.14159265;
float hash(float n) { return fract(sin(n * 12.9898) * 43758.5453); }
float hash2(vec2 p) { return fract(sin(dot(p, vec2(12.9898, 78.233))) * 43758.5453); }
vec3 horizon() {
    if (kind == 0) return vec3(0.72, 0.84, 0.95);
    if (kind == 1) return vec3(0.70, 0.82, 0.92);
    if (kind == 2) return vec3(0.78, 0.78, 0.80);
    if (kind == 3) return vec3(0.86, 0.85, 0.83);
    return vec3(0.05, 0.06, 0.14);
}
vec3 floor_colour(vec2 p) {
    if (kind == 0) {  // sand with ripples
        float r = 0.5 + 0.5 * sin(p.x * 5.0 + 1.5 * sin(p.y * 1.3));
        return vec3(0.87, 0.76, 0.53) * (0.9 + 0.12 * r);
    }
    if (kind == 1) {  // mown grass stripes
        float s = step(0.5, fract(p.y / 1.6));
        return mix(vec3(0.22, 0.52, 0.18), vec3(0.30, 0.62, 0.22), s);
    }
    if (kind == 2) {  // asphalt, lane dashes, kerbs
        vec3 c = vec3(0.32, 0.32, 0.34);
        float lane = abs(p.x - 3.0 * floor(p.x / 3.0 + 0.5));
        if (lane < 0.09 && fract(p.y / 2.0) < 0.55) c = vec3(0.92, 0.92, 0.88);
        if (abs(p.x) > 6.0) c = vec3(0.6, 0.58, 0.55);
        return c;
    }
    if (kind == 3) {  // studio floor, faint 1 m tiles
        vec2 g = abs(fract(p) - 0.5);
        return vec3(0.80, 0.79, 0.77) - 0.06 * step(0.46, max(g.x, g.y));
    }
    // night: dark ground with pools of lamp light on a 5 m grid
    vec2 cell = p - 5.0 * floor(p / 5.0 + 0.5);
    float pool = exp(-dot(cell, cell) / 2.0);
    return vec3(0.07, 0.08, 0.13) + pool * vec3(0.45, 0.36, 0.18);
}
vec3 sky(vec3 d) {
    float az = atan(d.x, d.z);
    float el = asin(clamp(d.y, -1.0, 1.0));
    if (kind == 0) {  // sea band at the horizon, clouds at fixed bearings
        if (el < 0.05) return mix(vec3(0.10, 0.42, 0.62), vec3(0.2, 0.55, 0.7), el / 0.05);
        vec3 c = mix(vec3(0.62, 0.80, 0.96), vec3(0.25, 0.50, 0.90), clamp(el * 2.0, 0.0, 1.0));
        float cloud = smoothstep(0.35, 0.8, sin(az * 4.0) * sin(az * 7.0 + 1.0)) * smoothstep(0.1, 0.2, el)
                      * (1.0 - smoothstep(0.35, 0.5, el));
        return mix(c, vec3(1.0), cloud);
    }
    if (kind == 1) {  // a tree line with trunks
        float h = 0.16 + 0.07 * sin(az * 9.0) + 0.04 * sin(az * 23.0 + 2.0);
        if (el < h) {
            float trunk = step(0.8, fract(az * 12.0 / PI)) * step(el, 0.05);
            return mix(vec3(0.08, 0.30, 0.10) * (0.8 + 0.4 * hash(floor(az * 30.0))), vec3(0.3, 0.2, 0.1), trunk);
        }
        return mix(vec3(0.70, 0.84, 0.95), vec3(0.35, 0.58, 0.9), clamp(el * 2.0, 0.0, 1.0));
    }
    if (kind == 2) {  // buildings of random heights and colours, rows of windows
        float cell = floor(az / (2.0 * PI) * 16.0);
        float h = 0.15 + 0.35 * hash(cell + 3.0);
        if (el < h) {
            vec3 wall = mix(vec3(0.55, 0.40, 0.30), vec3(0.6, 0.6, 0.62), hash(cell + 7.0));
            float u = fract(az / (2.0 * PI) * 16.0);
            float win = step(0.15, u) * step(u, 0.85) * step(0.5, fract(el * 18.0)) * step(0.5, fract(u * 4.0));
            return mix(wall, vec3(0.2, 0.25, 0.35), win * 0.8);
        }
        return mix(vec3(0.78, 0.80, 0.84), vec3(0.55, 0.65, 0.82), clamp(el * 2.0, 0.0, 1.0));
    }
    if (kind == 3) {  // backdrop with softboxes at fixed bearings
        vec3 c = vec3(0.86, 0.85, 0.83) - 0.15 * clamp(el, 0.0, 1.0);
        float box = step(0.78, fract(az * 3.0 / PI)) * step(0.12, el) * step(el, 0.45);
        return mix(c, vec3(1.0, 0.98, 0.92), box);
    }
    // night: stars, a moon, dark rooftops with lit windows
    float cell = floor(az / (2.0 * PI) * 12.0);
    float h = 0.08 + 0.22 * hash(cell + 11.0);
    if (el < h) {
        float u = fract(az / (2.0 * PI) * 12.0);
        float lit = step(0.5, fract(el * 20.0)) * step(0.5, fract(u * 5.0)) * step(0.45, hash(cell + floor(el * 20.0)));
        return mix(vec3(0.02, 0.02, 0.05), vec3(1.0, 0.85, 0.4), lit);
    }
    vec3 c = mix(vec3(0.05, 0.06, 0.16), vec3(0.01, 0.01, 0.05), clamp(el * 2.0, 0.0, 1.0));
    float star = step(0.985, hash2(floor(vec2(az, el) * 40.0)));
    vec2 m = vec2(az - 0.6, el - 0.45);
    float moon = 1.0 - smoothstep(0.06, 0.075, length(m));
    return c + star * vec3(0.8) + moon * vec3(0.9, 0.9, 0.8);
}
void main() {
    vec4 a = inv_view_proj * vec4(v_ndc, -1.0, 1.0);
    vec4 b = inv_view_proj * vec4(v_ndc, 1.0, 1.0);
    vec3 d = normalize(b.xyz / b.w - a.xyz / a.w);
    vec3 c;
    if (d.y < -1e-4 && eye.y > 0.0) {
        float s = -eye.y / d.y;
        vec2 p = eye.xz + s * d.xz;
        c = floor_colour(p);
        float shade = 1.0;
        for (int i = 0; i < 4; i++) {
            vec2 q = (p - shadows[i].xy - shadow_shift) / max(shadows[i].z, 1e-3);
            shade -= shadows[i].w * exp(-2.5 * dot(q, q));
        }
        c *= clamp(shade, 0.3, 1.0);
        c = mix(c, horizon(), clamp(s / 40.0, 0.0, 1.0));  // haze towards the horizon
    } else {
        c = sky(d);
    }
    out_color = vec4(c, 1.0);
}
"""
_BODY_VS = """
#version 330
uniform mat4 view_proj;
in vec3 in_position;
in vec3 in_color;
out vec3 v_world;
out vec3 v_color;
void main() { v_world = in_position; v_color = in_color; gl_Position = view_proj * vec4(in_position, 1.0); }
"""
_BODY_FS = """
#version 330
uniform vec3 eye;
uniform vec3 sun_dir;
uniform vec3 sun_colour;
uniform vec3 ambient;
in vec3 v_world;
in vec3 v_color;
out vec4 out_color;
void main() {
    vec3 n = normalize(cross(dFdx(v_world), dFdy(v_world)));
    vec3 to_eye = normalize(eye - v_world);
    if (dot(n, to_eye) < 0.0) n = -n;
    float sun = max(dot(n, normalize(sun_dir)), 0.0);
    float sky = 0.6 + 0.4 * n.y;                                 // more sky light on upward faces
    float rim = pow(1.0 - max(dot(n, to_eye), 0.0), 3.0) * 0.25;
    float occlusion = 0.7 + 0.3 * clamp(v_world.y / 0.9, 0.0, 1.0);  // darker towards the feet
    vec3 c = v_color * (ambient * sky + sun_colour * sun) * occlusion + rim * sun_colour;
    out_color = vec4(pow(clamp(c, 0.0, 1.0), vec3(0.95)), 1.0);
}
"""

_PROGRAMS: dict[int, tuple] = {}


def _programs(ctx):
    if id(ctx) not in _PROGRAMS:
        background = ctx.program(vertex_shader=_QUAD_VS, fragment_shader=_BACKGROUND_FS)
        body = ctx.program(vertex_shader=_BODY_VS, fragment_shader=_BODY_FS)
        quad = np.array([-1, -1, 1, -1, 1, 1, -1, -1, 1, 1, -1, 1], dtype="f4")
        quad_vao = ctx.vertex_array(background, [(ctx.buffer(quad), "2f", "in_xy")])
        _PROGRAMS[id(ctx)] = (background, body, quad_vao)
    return _PROGRAMS[id(ctx)]


def render_real(
    meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray]],  # per mesh: verts (T, V, 3), faces (F, 3), colours (V, 3)
    joints: np.ndarray,         # (P, T, 22, 3) world joints (pelvis first): where the shadows fall
    c2w: np.ndarray,            # (T, 4, 4) camera-to-world, OpenGL axes
    fov_y_deg: np.ndarray,      # (T,)
    width: int,
    height: int,
    background: str,
    supersample: int = 2,
) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of the lit people in front of the background class."""
    if background not in BACKGROUND_CLASSES:
        raise ValueError(f"background must be one of {BACKGROUND_CLASSES}, got {background!r}")
    w, h = width * supersample, height * supersample
    frames = run_on_gl_thread(_render, meshes, joints, np.asarray(c2w, np.float64), np.asarray(fov_y_deg), w, h,
                              background)
    if supersample == 1:
        return frames
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def _render(ctx, meshes, joints, c2w, fov_y_deg, w, h, background) -> np.ndarray:
    prog_bg, prog_body, quad = _programs(ctx)
    kind = BACKGROUND_CLASSES.index(background)
    sun_dir, sun_colour, ambient = LIGHTS[background]
    sun = np.asarray(sun_dir, np.float64) / np.linalg.norm(sun_dir)
    color = ctx.renderbuffer((w, h), 4)
    depth = ctx.depth_renderbuffer((w, h))
    fbo = ctx.framebuffer([color], depth)
    buffers = []
    for verts, faces, colours in meshes:
        vbo = ctx.buffer(reserve=verts.shape[1] * 12)
        cbo = ctx.buffer(np.ascontiguousarray(colours, dtype="f4").tobytes())
        ibo = ctx.buffer(np.ascontiguousarray(faces, dtype="i4").tobytes())
        buffers.append((vbo, cbo, ibo, ctx.vertex_array(prog_body, [(vbo, "3f", "in_position"),
                                                                    (cbo, "3f", "in_color")], ibo)))
    out = np.empty((len(c2w), h, w, 3), np.uint8)
    try:
        fbo.use()
        ctx.viewport = (0, 0, w, h)
        prog_bg["kind"].value = kind
        # Soft shadows cast away from the sun, a little past each person's feet.
        prog_bg["shadow_shift"].value = tuple(float(x) for x in (-sun[[0, 2]] * 0.25))
        prog_body["sun_dir"].value = tuple(float(x) for x in sun)
        prog_body["sun_colour"].value = sun_colour
        prog_body["ambient"].value = ambient
        for t in range(len(c2w)):
            view_proj = projection_matrix(float(fov_y_deg[t]), w / h, 0.05, 200.0) @ np.linalg.inv(c2w[t])
            eye = tuple(float(x) for x in c2w[t][:3, 3])
            fbo.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
            ctx.disable(ctx.DEPTH_TEST)
            prog_bg["inv_view_proj"].write(np.linalg.inv(view_proj).astype("f4").T.tobytes())
            prog_bg["eye"].value = eye
            shadows = np.zeros((4, 4), np.float32)
            for p in range(min(len(joints), 4)):
                shadows[p] = (joints[p, t, 0, 0], joints[p, t, 0, 2], 0.45, 0.45)
            prog_bg["shadows"].write(shadows.tobytes())
            quad.render()
            ctx.enable(ctx.DEPTH_TEST)
            prog_body["view_proj"].write(view_proj.astype("f4").T.tobytes())
            prog_body["eye"].value = eye
            for (verts, _, _), (vbo, _, _, vao) in zip(meshes, buffers):
                vbo.write(np.ascontiguousarray(verts[t], dtype="f4").tobytes())
                vao.render()
            out[t] = np.frombuffer(fbo.read(components=3), np.uint8).reshape(h, w, 3)[::-1]
    finally:
        for vbo, cbo, ibo, vao in buffers:
            vao.release(), vbo.release(), cbo.release(), ibo.release()
        fbo.release(), color.release(), depth.release()
    return out
