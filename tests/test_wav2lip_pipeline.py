"""The Wav2Lip tab's pipeline (demos/wav2lip.py): streamed chunks, frames without a face, 25 fps, and every bad input
of issue 8 answered with a message that says what is allowed. Videos are made here with the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile
import torch

from demos import wav2lip as D
from models import wav2lip as W

EXAMPLE = D.EXAMPLES / "id0046-00000.mp4"  # Grace Hopper, a test identity: the cascade finds her in every frame


def write(path: Path, frames, fps: float = 25, audio: np.ndarray | None = None) -> str:
    import imageio_ffmpeg

    extra = {}
    if audio is not None:
        soundfile.write(path.with_suffix(".wav"), audio, 16000)
        extra = dict(audio_path=str(path.with_suffix(".wav")), audio_codec="aac")
    writer = imageio_ffmpeg.write_frames(str(path), frames[0].shape[1::-1], fps=fps, macro_block_size=2, **extra)
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return str(path)


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return W.Wav2Lip(width=0.125).eval()


@pytest.fixture(scope="module")
def speech():
    wav, _ = D.read_audio(EXAMPLE.with_suffix(".wav"), 10)
    return wav


@pytest.fixture(scope="module")
def gapped(tmp_path_factory):
    """The example clip with frames 20-29 replaced by a flat grey frame (no face there)."""
    frames = list(D.Source.open(EXAMPLE).frames(10**6))
    for i in range(20, 30):
        frames[i] = np.full_like(frames[i], 128)
    return write(tmp_path_factory.mktemp("gap") / "gap.mp4", frames), len(frames)


def test_examples_have_faces_found_by_the_offline_detector():
    boxes, count = D.detect(D.Source.open(EXAMPLE), 10**6)
    assert count > 50 and sum(b is not None for b in boxes) >= 0.9 * count


def test_faceless_frames_pass_through_bit_identical_and_chunks_equal_all_at_once(generator, speech, gapped):
    path, count = gapped
    source = D.Source.open(path)
    decoded = list(source.frames(10**6))
    boxes, _ = D.detect(source, 10**6)
    whole, chunked = [], []
    D.lip_sync(generator, source, speech, None, chunk=10**6, frames_out=whole)
    result = D.lip_sync(generator, source, speech, None, chunk=7, frames_out=chunked)
    assert len(whole) == len(chunked) == result.frames == round(len(speech) / 16000 * 25)
    faceless = [i for i in range(len(whole)) if boxes[i % count] is None]
    assert set(range(22, 28)) <= set(faceless)  # the grey frames (the box tracker may drop a neighbour too)
    for i in faceless:
        assert np.array_equal(whole[i], decoded[i % count])
    assert any(not np.array_equal(whole[i], decoded[i % count]) for i in range(len(whole)) if i not in faceless)
    assert max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(whole, chunked)) <= 1


def test_mel_chunks_by_parts_equal_the_whole(speech):
    mel = W.melspectrogram(speech)
    whole = W.mel_chunks(mel, 90)
    parts = np.concatenate([W.mel_chunks(mel, 30, first=k) for k in (0, 30, 60)])
    assert np.array_equal(whole, parts)


def test_track_boxes_interpolates_and_keeps_misses():
    detections = {0: (0, 0, 10, 10), 5: (10, 0, 20, 10), 10: None, 15: None, 20: (0, 0, 10, 10)}
    boxes = D.track_boxes(detections, 21, pads=(0, 0, 0, 0), smooth=False)
    assert boxes[0] == (0, 0, 10, 10) and boxes[3] == (6, 0, 16, 10) and boxes[7] == (10, 0, 20, 10)
    assert boxes[8] is None and boxes[12] is None and boxes[18] == (0, 0, 10, 10)
    padded = D.track_boxes({0: (20, 20, 40, 40)}, 1, pads=(1, 10, 2, 3), smooth=True, size=(45, 45))
    assert padded == [(18, 19, 43, 45)]  # grown by the pads, clipped to the frame


def test_a_photo_as_the_video_is_a_still_face(generator, speech, tmp_path):
    from PIL import Image

    frame = next(D.Source.open(EXAMPLE).frames(1))
    Image.fromarray(frame).save(tmp_path / "face.png")
    source = D.Source.open(tmp_path / "face.png")
    out = []
    result = D.lip_sync(generator, source, speech[:16000], None, frames_out=out)
    assert result.frames == len(out) == 25 and source.still is not None


def test_fps_and_size_are_normalised(tmp_path):
    frames = [np.full((1920, 1080, 3), i * 8, np.uint8) for i in range(30)]  # 1 s of vertical 1080p at 30 fps
    source = D.Source.open(write(tmp_path / "tall.mp4", frames, fps=30))
    assert source.size == (720, 1280) and abs(source.info["fps"] - 30) < 0.01
    assert len(list(source.frames(10**6))) == 25
    assert D.output_size((1280, 720), 2) == (640, 360)


def test_variable_frame_rate_becomes_25_fps(tmp_path):
    """Three stills shown 0.2 s, 0.5 s and 0.3 s (a variable-frame-rate file, as phones write): 25 frames of 1 s in
    their order and durations."""
    import subprocess

    import imageio_ffmpeg
    from PIL import Image

    lines = []
    for k, (level, seconds) in enumerate([(40, 0.2), (130, 0.5), (220, 0.3)]):
        Image.fromarray(np.full((64, 96, 3), level, np.uint8)).save(tmp_path / f"{k}.png")
        lines += [f"file '{k}.png'", f"duration {seconds}"]
    (tmp_path / "list.txt").write_text("\n".join(lines + ["file '2.png'"]) + "\n")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "concat", "-i", str(tmp_path / "list.txt"),
                    "-fps_mode", "vfr", "-pix_fmt", "yuv420p", str(tmp_path / "vfr.mp4")], check=True)
    levels = [int(frame.mean().round(-1)) for frame in D.Source.open(tmp_path / "vfr.mp4").frames(10**6)]
    assert 24 <= len(levels) <= 26 and levels == sorted(levels)
    assert [levels.count(v) for v in (40, 130, 220)] == pytest.approx([5, 12.5, 7.5], abs=1.5)


@pytest.mark.parametrize("seconds, frames", [(0.2, 5), (1.0, 25)])
def test_audio_shorter_trims_and_longer_loops_the_video(generator, speech, tmp_path, seconds, frames):
    """A 10-frame video (no face: frames pass through) against 0.2 s and 1 s of speech: the output has the audio's
    length, the video trimmed to it or looped from its start."""
    source = D.Source.open(write(tmp_path / "ten.mp4", [np.full((64, 96, 3), 20 * i, np.uint8) for i in range(10)]))
    decoded = list(source.frames(10**6))
    out = []
    result = D.lip_sync(generator, source, speech[:int(seconds * 16000)], None, frames_out=out)
    assert result.frames == len(out) == frames
    assert all(np.array_equal(frame, decoded[i % 10]) for i, frame in enumerate(out))


def test_progress_reports_frames_and_an_estimate_of_the_time_left(generator, speech):
    calls = []
    D.lip_sync(generator, D.Source.open(EXAMPLE), speech[:16000 * 2], None, chunk=16,
               progress=lambda fraction, desc: calls.append((fraction, desc)), frames_out=[])
    fractions = [f for f, _ in calls]
    assert len(calls) == 4 and fractions == sorted(fractions) and fractions[-1] == 1  # 50 frames in chunks of 16
    assert calls[0][1].startswith("16/50 frames, about ") and calls[0][1].endswith(" s left")
    assert calls[-1][1] == "50/50 frames, about 0 s left"


def test_end_to_end_with_the_bundled_pair(tmp_path):
    path, table, status = D.run(str(EXAMPLE), str(EXAMPLE.with_suffix(".wav")), "", 0, 10, 0, 0, 1, True, 20)
    info = D.probe_video(path)
    assert info["has_audio"] and info["fps"] == 25
    assert "Wav2Lip output" in table and "| – |" not in table
    assert "detector:" in status


def test_no_face_anywhere_returns_the_video_with_a_message(tmp_path, speech):
    frames = [np.full((96, 128, 3), 90, np.uint8)] * 30
    path, table, status = D.run(write(tmp_path / "wall.mp4", frames), str(EXAMPLE.with_suffix(".wav")), "",
                                0, 10, 0, 0, 1, True, 5)
    assert "no face was found" in status and D.probe_video(path)["has_audio"]


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"\x00garbage" * 100, "Not a video")])
def test_empty_and_corrupt_videos(tmp_path, content, message):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(gr.Error, match=message):
        D.run(str(path), str(EXAMPLE.with_suffix(".wav")), "", 0, 10, 0, 0, 1, True, 5)


def test_bad_audio(tmp_path):
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(32000, np.float32), 16000)
    with pytest.raises(gr.Error, match="silent"):
        D.run(str(EXAMPLE), str(silent), "", 0, 10, 0, 0, 1, True, 5)
    mute = write(tmp_path / "mute.mp4", [np.zeros((64, 64, 3), np.uint8)] * 10)  # a video without an audio track
    with pytest.raises(gr.Error, match="no audio track"):
        D.read_audio(mute, 5)
    (tmp_path / "junk.mp3").write_bytes(b"ID3" + b"\xff" * 500)
    with pytest.raises(gr.Error, match="Cannot read the audio|no audio track"):
        D.read_audio(tmp_path / "junk.mp3", 5)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(gr.Error, match="empty"):
        D.read_audio(tmp_path / "empty.wav", 5)
    with pytest.raises(gr.Error, match="Upload an audio file or type a text"):
        D.run(str(EXAMPLE), None, "   ", 0, 10, 0, 0, 1, True, 5)
    with pytest.raises(gr.Error, match="at most"):
        D.run(str(EXAMPLE), None, "a" * (D.MAX_TEXT_CHARS + 1), 0, 10, 0, 0, 1, True, 5)


def test_long_audio_is_cut_with_a_message(tmp_path):
    long = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    soundfile.write(long, (0.1 * rng.standard_normal(16000 * 70)).astype(np.float32), 16000)
    wav, length = D.read_audio(long, 60)
    assert len(wav) == 60 * 16000 and length > 60
    with pytest.raises(gr.Error, match="Max duration"):
        D.run(str(EXAMPLE), str(long), "", 0, 10, 0, 0, 1, True, 7200)  # a 2-hour request is refused by name


def test_options_are_checked():
    with pytest.raises(gr.Error, match="Top pad"):
        D.run(str(EXAMPLE), str(EXAMPLE.with_suffix(".wav")), "", -5, 10, 0, 0, 1, True, 5)
    with pytest.raises(gr.Error, match="Resize factor"):
        D.run(str(EXAMPLE), str(EXAMPLE.with_suffix(".wav")), "", 0, 10, 0, 0, 9, True, 5)
    with pytest.raises(gr.Error, match="Upload a face video"):
        D.run(None, str(EXAMPLE.with_suffix(".wav")), "", 0, 10, 0, 0, 1, True, 5)


def test_the_cascade_box_maps_onto_the_training_crop():
    """CASCADE_TO_CROP turns the offline detector's box into the crop Wav2Lip was trained on (the talking faces'
    true box grown at the chin), on frames of test identities."""
    from train import talking_faces as T

    if not T.espeak_available():
        pytest.skip("espeak-ng not installed (make data installs it)")
    cfg, find, overlaps = T.Config(), D.CascadeDetector(), []
    for identity in (29, 35, 43, 46):
        clip = T.render_clip(cfg, identity, 0, only=[10, 30])
        for frame, box in zip(clip["frames"], clip["boxes"]):
            found = find(frame)
            overlaps.append(0.0 if found is None else T._iou(found, T.crop_box(box)))
    assert np.median(overlaps) >= 0.7, overlaps
