"""AMG Studio app: start-up time, slider release -> new preview video, idle memory.

    python benchmarks/bench_app.py [--repeats 10]

1. process start -> the page answers (HTTP 200), and -> usable in Chromium (the first
   example scene's preview video loaded and playable);
2. camera slider release -> the new preview video playable in the page (two people,
   16 frames at 256x256, orbit preset), measured in the browser, `--repeats` drags;
   then the same render server-side in one process, split into its parts;
3. resident memory (RSS) of the app process idle after the page loaded.
Prints its figures; needs Debian's chromium for the browser parts (skipped without it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from tests.test_app_harness import CHROMIUM_ARGS, AppProcess, chromium_path  # noqa: E402

POLL_JS = """() => { window._amgSrcs = []; let last = '';
  setInterval(() => { const v = document.querySelector('#preview-video video');
    const s = v ? v.src : '';
    if (s !== last) { last = s; window._amgSrcs.push({t: performance.now(), src: s}); }
    if (v && s && v.readyState >= 2 && !window._amgReady[s]) window._amgReady[s] = performance.now(); }, 5); }"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser_part(app: AppProcess, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.test_app_browser import drag_slider, pick_option, tab, video_src, wait_settled

    out = {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(app.url)
        tab(page, "Camera")
        page.wait_for_function("() => { const v = document.querySelector('#preview-video video');"
                               " return v && v.src && v.readyState >= 2; }")
        out["usable_s"] = time.perf_counter() - app.started
        src = video_src(page, "#preview-video video")
        pick_option(page, "camera-preset", "orbit")
        wait_settled(page, "#preview-video video", src)
        page.evaluate("() => { window._amgReady = {}; }")
        page.evaluate(POLL_JS)
        page.wait_for_timeout(200)
        to_src, to_ready = [], []
        for i in range(repeats):
            page.evaluate("() => { window._amgSrcs = []; }")
            drag_slider(page, "cam-common-azimuth", 0.3 if i % 2 == 0 else 0.7)
            released = page.evaluate("performance.now()")
            page.wait_for_function("() => window._amgSrcs.length > 0 && window._amgReady[window._amgSrcs.at(-1).src]")
            page.wait_for_timeout(600)  # let a second event, if any, show up
            srcs = page.evaluate("window._amgSrcs")
            ready = page.evaluate("window._amgReady")
            first = srcs[0]
            to_src.append((first["t"] - released) / 1000)
            to_ready.append((ready[first["src"]] - released) / 1000)
        out["release_to_src_s"] = to_src
        out["release_to_playable_s"] = to_ready
        page.wait_for_timeout(5000)
        out["rss_idle_after_use_mib"] = rss_mib(app.proc.pid)
        b.close()
    return out


def server_part(repeats: int) -> dict:
    """The preview's server side in this process: engine render, MP4 writing, sketch."""
    from amg.video import write_mp4
    from amg.scene import Scene
    from app.preview import render_scene, sketch_of

    scene = Scene.load(ROOT / "presets" / "scenes" / "two_people.json")
    scene.camera.preset, scene.camera.params = "orbit", {}
    render_scene(scene)  # avatars built and cached, GL context up: what a warm app has
    parts = {"render_scene": [], "write_mp4": [], "sketch": [], "total": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            scene.camera.params = {"azimuth": float(15 * i)}
            t0 = time.perf_counter()
            result = render_scene(scene)
            t1 = time.perf_counter()
            write_mp4(result.rgb, Path(tmp) / f"p{i}.mp4", result.fps)
            t2 = time.perf_counter()
            sketch_of(scene, result.joints, result.cameras)
            t3 = time.perf_counter()
            for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                parts[k].append(v)
    return parts


def fmt(values) -> str:
    return (f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f}, "
            f"n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    print(f"bench_app: {os.cpu_count()} CPU cores visible; two people, 16 frames at 256x256, orbit preset")
    with tempfile.TemporaryDirectory() as tmp:
        app = AppProcess(Path(tmp))
        try:
            http_s = app.wait_ready()
            print(f"start -> page answers (HTTP 200):        {http_s:.2f} s")
            print(f"RSS right after start:                  {rss_mib(app.proc.pid):.0f} MiB")
            if chromium_path() is None:
                print("chromium not found: browser figures skipped (apt-get install -y chromium)")
            else:
                b = browser_part(app, args.repeats)
                print(f"start -> usable page (preview playable): {b['usable_s']:.2f} s")
                print(f"slider release -> new video src:         {fmt(b['release_to_src_s'])}")
                print(f"slider release -> new video playable:    {fmt(b['release_to_playable_s'])}  (target < 1 s)")
                print(f"RSS idle after use:                     {b['rss_idle_after_use_mib']:.0f} MiB")
        finally:
            app.close()
    parts = server_part(args.repeats)
    print("server side of one preview (in-process, warm):")
    for k, v in parts.items():
        print(f"  {k:13s} {fmt(v)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
