"""The synthetic talking-face set (train/talking_faces.py): deterministic, LRS2-layout, split by identity, and the
lips really follow the speech. A 4-identity x 2-clip build takes a few seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from train import talking_faces as T

pytestmark = pytest.mark.skipif(not T.espeak_available(), reason="espeak-ng not installed (make data installs it)")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = T.Config(out_dir=str(tmp_path_factory.mktemp("faces")), identities=4, clips_per_identity=2,
                   max_seconds=2.5, detection_check=4)
    return cfg, T.build(cfg)


def test_layout_and_manifest(tiny):
    cfg, manifest = tiny
    root = T.Path(cfg.out_dir)
    for identity in range(cfg.identities):
        for clip in range(cfg.clips_per_identity):
            name = T.clip_name(identity, clip)
            assert (root / "main" / f"{name}.mp4").stat().st_size > 1000
            assert (root / "main" / f"{name}.txt").read_text().startswith("Text:  ")
            faces, wav = T.load_preprocessed(root / "preprocessed", name)
            assert faces.shape[1:] == (96, 96, 3) and faces.dtype == np.uint8
            assert len(wav) == len(faces) * T.SAMPLE_RATE // T.FPS  # one video frame per 640 samples
    assert json.loads((root / "manifest.json").read_text())["sha256"] == manifest["sha256"]
    assert manifest["sha256"] == T.content_checksum(root)
    assert manifest["lbp_face_detection"]["matched"] >= 0.75


def test_splits_are_disjoint_by_identity(tiny):
    cfg, _ = tiny
    lists = {split: T.read_filelist(cfg.out_dir, split) for split in T.SPLITS}
    speakers = {split: {name.split("/")[0] for name in names} for split, names in lists.items()}
    assert speakers["train"] and speakers["val"] and speakers["test"]
    assert not (speakers["train"] & speakers["val"]) and not (speakers["train"] & speakers["test"])
    assert sum(len(v) for v in lists.values()) == cfg.identities * cfg.clips_per_identity


def test_rebuild_is_byte_identical_and_resumes(tiny, tmp_path):
    cfg, manifest = tiny
    again = T.build(T.Config(**{**T.dataclasses.asdict(cfg), "out_dir": str(tmp_path), "write_video": False,
                                "detection_check": 0}))
    assert again["sha256"] == manifest["sha256"]
    resumed = T.build(cfg)  # everything is there: nothing is rendered again
    assert resumed["this_run"]["rendered_clips"] == 0 and resumed["sha256"] == manifest["sha256"]


def test_lips_follow_the_speech(tiny):
    """The mouth region of the stored crops changes with the audio's openness track."""
    cfg, _ = tiny
    clip = T.render_clip(cfg, 0, 0)
    mouth = clip["mouth"][:, 0]
    assert mouth.max() > 0.6 and mouth[:3].max() < 0.05  # silence first, then open vowels
    crops = T.face_crops(clip["frames"], clip["boxes"]).astype(np.float32)
    change = np.abs(crops - crops[int(np.argmin(mouth))])  # against the most closed mouth of the clip
    lips = change[:, 50:80, 24:72].mean((1, 2, 3))
    assert np.corrcoef(lips, mouth)[0, 1] > 0.8


def test_mouth_track_is_silent_on_silence():
    track = T.mouth_track(np.zeros(T.SAMPLE_RATE, np.float32))
    assert track.shape == (T.FPS, 2) and np.all(track[:, 0] == 0)


def test_speak_takes_text_as_data_not_options():
    wav = T.speak("-v hello --help", "en-us")
    assert wav.dtype == np.float32 and len(wav) > 0.3 * T.SAMPLE_RATE and np.abs(wav).max() <= 1
