"""Wav2Lip family: tiny-config tests of the networks, the mel front end, the LSE scores, the converter and the trainer.
(The tab's pipeline has its own file, tests/test_wav2lip_pipeline.py; the dataset tests/test_talking_faces.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import wav2lip as W
from train import convert_wav2lip, wav2lip as T

TINY = 0.125


def test_shapes_and_the_papers_parameter_counts():
    g, s, d = W.Wav2Lip(width=TINY), W.SyncNet(width=TINY), W.Wav2LipDiscriminator(width=TINY)
    assert g(torch.rand(2, 1, 80, 16), torch.rand(2, 6, 96, 96)).shape == (2, 3, 96, 96)
    assert g(torch.rand(2, 5, 1, 80, 16), torch.rand(2, 6, 5, 96, 96)).shape == (2, 3, 5, 96, 96)
    audio, face = s(torch.rand(3, 1, 80, 16), torch.rand(3, 15, 48, 96))
    assert audio.shape == face.shape == (3, 64) and torch.allclose(audio.norm(dim=1), torch.ones(3))
    assert d(torch.rand(2, 3, 5, 96, 96)).shape == (10, 1)
    # width 1 is the paper's network: the official generator has 36.3 M parameters, the colour expert 16.4 M
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert round(count(W.Wav2Lip()) / 1e6, 1) == 36.3 and round(count(W.SyncNet()) / 1e6, 1) == 16.4


def test_generator_output_is_in_unit_range_and_uses_audio():
    torch.manual_seed(0)
    g = W.Wav2Lip(width=TINY)  # train mode: batch statistics keep a random network's signal alive through 40 layers
    faces = W.masked_input(torch.rand(2, 3, 96, 96), torch.rand(2, 3, 96, 96))
    assert (faces[:, :3, 48:] == 0).all() and (faces[:, 3:, 48:] > 0).any()
    with torch.no_grad():
        a, b = g(torch.rand(2, 1, 80, 16) * 8 - 4, faces), g(torch.rand(2, 1, 80, 16) * 8 - 4, faces)
    assert a.min() >= 0 and a.max() <= 1 and (a - b).abs().max() > 1e-3


def test_mel_follows_the_papers_settings():
    t = np.arange(W.SAMPLE_RATE, dtype=np.float32) / W.SAMPLE_RATE
    mel = W.melspectrogram(0.5 * np.sin(2 * np.pi * 1000 * t))
    assert mel.shape == (80, 81) and mel.dtype == np.float32            # 80 frames per second (+1: centred STFT)
    assert mel.min() >= -4 and mel.max() <= 4
    import librosa

    centres = librosa.mel_frequencies(n_mels=82, fmin=55, fmax=7600)[1:-1]
    assert abs(centres[mel.mean(axis=1).argmax()] - 1000) < 100       # a 1 kHz tone lands in the 1 kHz band
    # one 80 x 16 window per 5 frames at 25 fps: 0.2 s of audio
    assert W.mel_index(5) - W.mel_index(0) == W.MEL_STEP == 16 and W.mel_index(25) == 80
    assert W.mel_window(mel, 0).shape == (80, 16) and W.mel_window(mel, 22) is None
    chunks = W.mel_chunks(mel, 30)
    assert chunks.shape == (30, 80, 16) and np.array_equal(chunks[-1], mel[:, -16:])  # the last window repeats
    with pytest.raises(ValueError, match="empty"):
        W.melspectrogram(np.zeros(0, np.float32))


@pytest.mark.parametrize("samples", [1, 199, 200, 801, 16000 * 3 + 77])
def test_mel_in_blocks_equals_the_whole_signal_stft(samples):
    """melspectrogram runs its STFT a block of frames at a time (bounded memory for long audio); every block size
    gives the frames of the official whole-signal pipeline: lfilter pre-emphasis, one centred STFT."""
    import librosa
    from scipy.signal import lfilter

    wav = (np.random.default_rng(samples).standard_normal(samples) * 0.3).astype(np.float32)
    emphasised = lfilter([1.0, -W.PREEMPHASIS], [1.0], wav)
    whole = W.melspectrogram(wav, block=10**9)
    reference = np.abs(librosa.stft(y=np.pad(emphasised, W.N_FFT // 2), n_fft=W.N_FFT, hop_length=W.HOP_LENGTH,
                                    win_length=W.WIN_LENGTH, center=False))
    basis = librosa.filters.mel(sr=W.SAMPLE_RATE, n_fft=W.N_FFT, n_mels=W.N_MELS, fmin=W.FMIN, fmax=W.FMAX)
    db = 20 * np.log10(np.maximum(10 ** (W.MIN_LEVEL_DB / 20), basis @ reference)) - W.REF_LEVEL_DB
    reference = np.clip(2 * W.MAX_ABS_VALUE * (db - W.MIN_LEVEL_DB) / -W.MIN_LEVEL_DB - W.MAX_ABS_VALUE,
                        -W.MAX_ABS_VALUE, W.MAX_ABS_VALUE)
    assert whole.shape == (80, samples // 200 + 1) and np.abs(whole - reference).max() < 1e-4
    for block in (1, 7, 37):
        assert np.array_equal(W.melspectrogram(wav, block=block), whole)


def test_lip_sync_error_reads_the_offset_and_confidence():
    dists = torch.full((31, 10), 2.0)
    dists[15 + 3] = 0.5                      # the audio fits best 3 frames later
    dists[0, :4] = float("inf")              # windows without audio at that offset are ignored
    score = W.lip_sync_error(dists)
    assert score["offset"] == 3 and score["lse_d"] == pytest.approx(0.5) and score["lse_c"] == pytest.approx(1.5)


def toy_clips(count: int, frames: int = 60, seed: int = 0) -> T.Clips:
    """Faces whose lower half is bright in the frames where the audio is loud: a signal the expert can learn."""
    rng = np.random.default_rng(seed)
    faces, mels = [], []
    for _ in range(count):
        loud = (rng.random(frames) > 0.5).astype(np.float32)
        per_frame = W.SAMPLE_RATE // W.FPS
        wav = np.concatenate([rng.standard_normal(per_frame) * (0.5 * a + 0.005) for a in loud]).astype(np.float32)
        face = np.full((frames, 96, 96, 3), 100, np.uint8)
        face[:, 48:] = (loud * 200 + 20).astype(np.uint8)[:, None, None, None]
        faces.append(face)
        mels.append(W.melspectrogram(wav))
    return T.Clips(faces, mels, [f"toy/{i}" for i in range(count)])


def test_syncnet_learns_a_toy_sync_signal_and_finds_the_offset():
    torch.manual_seed(0)
    clips, net = toy_clips(4), W.SyncNet(width=TINY)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        mels, faces, labels = clips.syncnet_batch(16, g)
        loss = W.cosine_loss(*net(mels, faces), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    mels, faces, labels = clips.syncnet_batch(64, torch.Generator().manual_seed(1))
    with torch.no_grad():
        similarity = torch.nn.functional.cosine_similarity(*net(mels, faces))
    assert similarity[labels == 1].mean() > similarity[labels == 0].mean() + 0.05
    score = W.lip_sync_error(W.sync_distances(net, T.faces_tensor(clips.faces[0]), clips.mels[0], max_offset=5))
    assert abs(score["offset"]) <= 1


def test_batches_are_aligned_and_deterministic():
    clips = toy_clips(2)
    a = clips.wav2lip_batch(3, torch.Generator().manual_seed(5))
    b = clips.wav2lip_batch(3, torch.Generator().manual_seed(5))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["faces"].shape == (3, 6, 5, 96, 96) and a["frame_mels"].shape == (3, 5, 1, 80, 16)
    assert a["mel"].shape == (3, 1, 80, 16) and a["target"].shape == (3, 3, 5, 96, 96)
    assert (a["faces"][:, :3, :, 48:] == 0).all() and torch.equal(a["faces"][:, :3, :, :48], a["target"][:, :, :, :48])
    mels, faces, labels = clips.syncnet_batch(8, torch.Generator().manual_seed(0))
    assert mels.shape == (8, 1, 80, 16) and faces.shape == (8, 15, 48, 96) and set(labels.tolist()) <= {0.0, 1.0}


def official_file(tmp_path, model: torch.nn.Module, name: str):
    """What the official trainers save: {"state_dict": DataParallel keys, "optimizer": ..., "global_step": ...}."""
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    path = tmp_path / name
    torch.save({"state_dict": state, "global_step": 7, "global_epoch": 1}, path)
    return path


@pytest.mark.parametrize("cls", [W.Wav2Lip, W.SyncNet, W.Wav2LipDiscriminator])
def test_convert_maps_an_official_layout_one_to_one_and_swaps_bgr(tmp_path, cls):
    torch.manual_seed(0)
    official = cls(width=TINY).eval()
    for m in official.modules():  # non-trivial BatchNorm statistics, so they are checked too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    converted = convert_wav2lip.convert(official_file(tmp_path, official, "official.pth"), tmp_path / "out")
    from models.hub import load_pretrained

    loaded = load_pretrained(cls, str(tmp_path / "out"), device="cpu")
    assert type(converted) is cls and loaded.width == TINY
    assert loaded.state_dict().keys() == official.state_dict().keys()
    bgr = lambda x, groups: x.view(x.shape[0], groups, 3, *x.shape[2:]).flip(2).reshape(x.shape)  # noqa: E731
    with torch.no_grad():
        if cls is W.Wav2Lip:
            mels, faces = torch.rand(2, 1, 80, 16), torch.rand(2, 6, 96, 96)
            ours, theirs = loaded(mels, faces), official(mels, bgr(faces, 2))
            assert torch.allclose(ours, theirs.flip(1), atol=1e-5)
        elif cls is W.SyncNet:
            mels, faces = torch.rand(2, 1, 80, 16), torch.rand(2, 15, 48, 96)
            assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(loaded(mels, faces), official(mels, bgr(faces, 5))))
        else:
            faces = torch.rand(2, 3, 96, 96)
            assert torch.allclose(loaded(faces), official(bgr(faces, 1)), atol=1e-5)
    assert "non-commercial" in (tmp_path / "out" / "README.md").read_text()


def test_convert_refuses_what_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": {"conv.weight": torch.zeros(1)}}, path)
    with pytest.raises(SystemExit, match="unrecognised"):
        convert_wav2lip.convert(path, tmp_path / "out")
    path.write_bytes(b"\x80\x04not a torch file")
    with pytest.raises(Exception):
        convert_wav2lip.convert(path, tmp_path / "out")


@pytest.mark.parametrize("model,gan", [("syncnet", False), ("wav2lip", True)])
def test_trainer_smoke_and_bit_identical_resume(tmp_path, model, gan):
    base = dict(model=model, gan=gan, fake_data=True, batch_size=2, eval_every=2, save_every=1, width=TINY,
                evaluate=False, device="cpu", replay_frames=2)
    straight = T.main(T.Config(**base, max_steps=4, out_dir=str(tmp_path / "a")))
    T.main(T.Config(**base, max_steps=2, out_dir=str(tmp_path / "b")))
    resumed = T.main(T.Config(**base, max_steps=4, out_dir=str(tmp_path / "b"), resume=True))
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert (tmp_path / "a" / "checkpoint" / "README.md").exists()


def test_scores_of_a_tiny_pair(tmp_path):
    clips = toy_clips(2, frames=30)
    torch.manual_seed(0)
    syncnet, generator = W.SyncNet(width=TINY).eval(), W.Wav2Lip(width=TINY).eval()
    s = T.syncnet_scores(syncnet, clips)
    assert s["clips"] == 2 and 0 <= s["offset_accuracy"] <= 1 and s["synced_lse_c"] >= 0
    w = T.wav2lip_scores(generator, syncnet, clips)
    assert w["clips"] == 2 and {"synced_lse_d", "unrelated_lse_d", "wav2lip_lse_d", "reconstruction_l1"} <= w.keys()
