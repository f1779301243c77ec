"""Video reading by the decoder's timestamps: VFR files, duplicated frames, streaming, refusals."""

from __future__ import annotations

import fractions
import tracemalloc

import numpy as np
import pytest

from amg.errors import AmgError
from amg.video import iter_frames, probe_video, read_video, write_mp4


def _vfr(path, pts_ms, size=(64, 48)):
    """An H.264 MP4 whose frame k (grey level 10 + 20 k) is shown from pts_ms[k] milliseconds."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.time_base = fractions.Fraction(1, 1000)
        s.codec_context.time_base = fractions.Fraction(1, 1000)
        for k, t in enumerate(pts_ms):
            f = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 10 + 20 * k, np.uint8), format="rgb24")
            f.pts, f.time_base = t, fractions.Fraction(1, 1000)
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def _level(frame) -> int:
    return int(round((frame.mean() - 10) / 20))


def test_variable_frame_rate_is_sampled_by_timestamp(tmp_path):
    pts = [0, 100, 150, 400, 500, 900]  # ms: irregular, as phones record
    path = _vfr(tmp_path / "vfr.mp4", pts)
    got = {round(t, 3): _level(f) for t, f in iter_frames(path, fps=10)}
    # at t the frame on screen is the last one shown at or before t
    expect = {0.0: 0, 0.1: 1, 0.2: 2, 0.3: 2, 0.4: 3, 0.5: 4, 0.6: 4, 0.7: 4, 0.8: 4, 0.9: 5}
    assert {k: got[k] for k in expect} == expect
    native = [round(t, 3) for t, _ in iter_frames(path)]
    assert native == [p / 1000 for p in pts]
    frames, _ = read_video(path, times=np.array([0.12, 0.45]))
    assert [_level(f) for f in frames] == [1, 3]


def test_duplicated_container_rate_does_not_shift_samples(tmp_path):
    """A 5 fps clip in a 30 fps container (what makes frame-index readers duplicate frames)."""
    pts = [200 * k for k in range(10)]
    path = _vfr(tmp_path / "dup.mp4", pts)
    frames, _ = read_video(path, times=np.array([0.0, 0.5, 1.0, 1.5]))
    assert [_level(f) for f in frames] == [0, 2, 5, 7]


def test_reading_streams_in_bounded_memory(tmp_path):
    ramp = np.linspace(0, 255, 960, dtype=np.float32)[None, :, None]
    frames = (np.broadcast_to(ramp, (540, 960, 3)) + np.arange(40)[:, None, None, None]).astype(np.uint8)
    path = write_mp4(frames, tmp_path / "big.mp4", 30)
    del frames
    tracemalloc.start()
    n = sum(1 for _ in iter_frames(path, max_side=256))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 40
    assert peak < 10e6, peak  # a 540p frame is 1.6 MB; 40 of them would be 62 MB


def test_a_stream_of_chunks_is_written_as_the_whole_array(tmp_path):
    frames = (np.arange(10)[:, None, None, None] * 20 + np.zeros((10, 48, 64, 3))).astype(np.uint8)
    whole = write_mp4(frames, tmp_path / "whole.mp4", 5)
    streamed = write_mp4(iter([frames[:4], frames[4:8], frames[8:]]), tmp_path / "streamed.mp4", 5)
    assert np.array_equal(read_video(whole)[0], read_video(streamed)[0])
    with pytest.raises(AmgError, match="must all be 64x48, got 32x48"):
        write_mp4(iter([frames[:2], frames[2:4, :, :32]]), tmp_path / "bad.mp4", 5)
    with pytest.raises(AmgError, match="no frames"):
        write_mp4(iter([]), tmp_path / "bad.mp4", 5)
    assert not (tmp_path / "bad.mp4").exists()


def test_refusals_name_the_file(tmp_path, samples_dir):
    path = write_mp4(np.zeros((6, 32, 32, 3), np.uint8), tmp_path / "six.mp4", 6)
    info = probe_video(path)
    assert (info.width, info.height, info.frames) == (32, 32, 6) and info.duration == pytest.approx(1.0)
    with pytest.raises(AmgError, match="past the end"):
        list(iter_frames(path, start=2.0, fps=6))
    with pytest.raises(AmgError, match="six.mp4: 1.00 s long.*frames up to 1.50 s"):
        read_video(path, times=np.array([0.5, 1.5]))
    for kw in ({"start": float("nan")}, {"start": -1.0}, {"fps": 0.0}, {"fps": float("inf")}):
        with pytest.raises(AmgError, match="six.mp4"):
            list(iter_frames(path, **kw))
    with pytest.raises(AmgError, match="not found"):
        read_video(tmp_path / "missing.mp4")
    jpg = samples_dir / "video" / "mmhuman3d_S1_Directions_1.54138969_000001.jpg"
    if jpg.exists():
        with pytest.raises(AmgError, match="still image"):
            read_video(jpg)


def test_phone_rotation_is_applied_like_players_do(tmp_path, samples_dir):
    """A portrait clip stored sideways with a display rotation (as phones record) reads upright,
    pixel for pixel as ffmpeg's own autorotation shows it."""
    import subprocess

    import imageio_ffmpeg

    src = samples_dir / "video" / "mmhuman3d_single_person_demo.mp4"
    if not src.exists():
        pytest.skip(f"{src} is absent")
    rotated = tmp_path / "rot.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i",
                    str(src), "-c", "copy", str(rotated)], check=True)
    info = probe_video(rotated)
    assert (info.width, info.height, info.rotation) == (1920, 1080, 90)
    ours, _ = read_video(rotated, times=np.array([1.0]))
    reader = imageio_ffmpeg.read_frames(str(rotated))
    w, h = next(reader)["size"]
    for _ in range(12):  # frames 0..11; frame 12 is on screen at 1.0 s
        next(reader)
    theirs = np.frombuffer(next(reader), np.uint8).reshape(h, w, 3)
    reader.close()
    assert ours[0].shape == theirs.shape == (1080, 1920, 3)
    assert np.abs(ours[0].astype(int) - theirs).mean() < 0.5
