"""Wav2Lip: a lip-sync generator trained against a frozen SyncNet lip-sync expert.

Paper: Prajwal, Mukhopadhyay, Namboodiri & Jawahar, "A Lip Sync Expert Is All You Need for Speech to Lip
Generation In the Wild", ACM Multimedia 2020 (arXiv:2008.10010). SyncNet: Chung & Zisserman, "Out of time:
automated lip sync in the wild", ACCV workshops 2016.

What the paper prescribes and this file keeps:
- the audio is an 80-band log-mel spectrogram at 16 kHz (n_fft 800, hop 200 = 80 mel frames per second, window 800,
  fmin 55, fmax 7600, pre-emphasis 0.97, dB with ref 20 and floor -100, scaled symmetrically to [-4, 4]): one
  80 x 16 window spans 0.2 s = 5 video frames at 25 fps (`melspectrogram`, `mel_window`);
- **SyncNet expert** (the colour variant the paper trains): a face encoder over the lower halves of 5 consecutive
  96 x 96 frames stacked into 15 channels (48 x 96 input), an audio encoder over the matching 80 x 16 window, both
  ending in a 512-d L2-normalised embedding; the probability "in sync" is their cosine similarity, trained with
  BCE (`cosine_loss`) on synced vs shifted pairs, then frozen;
- **Wav2Lip generator**: a face encoder over 6 channels (the target frame with its lower half masked, plus a
  reference frame of the same identity), an audio encoder over the frame's 80 x 16 window, and a decoder with a skip
  connection from every face-encoder level (U-Net), a sigmoid output; trained with L1 reconstruction + the expert's
  sync loss (`expert_sync_loss`, weight 0.03) + for the GAN variant the visual-quality discriminator
  (`Wav2LipDiscriminator`, weight 0.07) on the lower half;
- conv blocks are conv -> BatchNorm -> ReLU with optional identity residual; the discriminator has no norm and
  LeakyReLU(0.01).

Module layout and parameter names are those of the official code (github.com/Rudrabha/Wav2Lip: models/syncnet.py
`SyncNet_color`, models/wav2lip.py `Wav2Lip`, `Wav2Lip_disc_qual`), so `train/convert_wav2lip.py` maps an official
checkpoint key for key. Two deliberate differences, both undone by the converter: images here are RGB (the official
code feeds OpenCV's BGR), and outputs stay in [0, 1] (the official sigmoid) rather than the [-1, 1] of the other
families, because the expert and the generator are trained and compared on that scale.

Scaled down: `width` multiplies every channel count (1.0 = the paper's 36 M-parameter generator and 16 M expert);
the bundled CPU checkpoints use `width=0.25` (1/16 of the compute), on synthetic talking faces (train/talking_faces.py)
in place of LRS2. Faces stay 96 x 96 so official weights drop into the same pipeline.
"""

from __future__ import annotations

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

HUB_KWARGS = dict(library_name="genzoo", tags=["wav2lip", "lip-sync", "syncnet", "talking-face"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")

# Audio and video settings of the paper (the official hparams.py).
SAMPLE_RATE = 16000     # Hz
FPS = 25                # video frames per second the mel indexing assumes
N_FFT = 800
HOP_LENGTH = 200        # 12.5 ms: 80 mel frames per second
WIN_LENGTH = 800
N_MELS = 80
FMIN, FMAX = 55, 7600
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100
REF_LEVEL_DB = 20
MAX_ABS_VALUE = 4.0     # mels are scaled into [-4, 4]
MEL_STEP = 16           # mel frames per window: 0.2 s
SYNC_FRAMES = 5         # video frames the expert sees at once (0.2 s at 25 fps)
FACE_SIZE = 96          # face crops are 96 x 96


# ---------------------------------------------------------------------------------------------------- audio

_mel_basis: np.ndarray | None = None


MEL_BLOCK = 4000  # STFT frames per block (50 s of audio): transient memory stays bounded for any length


def melspectrogram(wav: np.ndarray, block: int = MEL_BLOCK) -> np.ndarray:
    """16 kHz mono float waveform (N,) -> normalised log-mel spectrogram (80, N // 200 + 1), float32 in [-4, 4].

    The official audio.py (pre-emphasis, a centred STFT with zero padding, mel, dB, symmetric normalisation), run
    `block` frames at a time: a 10-minute track's whole float64 STFT would be ~0.5 GB of temporaries, a block's is
    ~40 MB. Each block's frames are exactly the whole-signal STFT's (tests/test_wav2lip.py)."""
    global _mel_basis
    import librosa  # lazy: only audio work needs it

    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    if wav.size == 0:
        raise ValueError("empty waveform: at least one sample is needed")
    if _mel_basis is None:
        _mel_basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX)
    frames, half = wav.size // HOP_LENGTH + 1, N_FFT // 2
    floor = 10 ** (MIN_LEVEL_DB / 20)
    out = np.empty((N_MELS, frames), np.float32)
    for a in range(0, frames, block):
        b = min(frames, a + block)
        # samples [a hop - n_fft/2, (b - 1) hop + n_fft/2) of the pre-emphasised signal (y[n] = x[n] - 0.97 x[n-1],
        # x[-1] = 0, as scipy's lfilter), zero outside it: what librosa's centred "constant" padding frames
        lo, hi = a * HOP_LENGTH - half, (b - 1) * HOP_LENGTH + half
        x = np.zeros(hi - lo + 1, np.float64)                  # x[lo - 1 .. hi - 1]
        start, stop = max(lo - 1, 0), min(hi, wav.size)
        x[start - (lo - 1):stop - (lo - 1)] = wav[start:stop]
        segment = x[1:] - PREEMPHASIS * x[:-1]
        segment[:max(0, -lo)] = 0                               # the centre padding before the signal
        segment[max(0, wav.size - lo):] = 0                     # ... and after it
        spectrum = np.abs(librosa.stft(y=segment, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                                       center=False))
        db = 20 * np.log10(np.maximum(floor, _mel_basis @ spectrum)) - REF_LEVEL_DB
        # symmetric normalisation with clipping, as the official audio.py (signal_normalization, symmetric_mels)
        out[:, a:b] = np.clip(2 * MAX_ABS_VALUE * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS_VALUE,
                              -MAX_ABS_VALUE, MAX_ABS_VALUE)
    return out


def mel_index(frame: int, fps: float = FPS) -> int:
    """First mel column of video frame `frame` (the official int(80 * frame / fps))."""
    return int(80.0 * frame / fps)


def mel_window(mel: np.ndarray, frame: int, fps: float = FPS) -> np.ndarray | None:
    """The (80, 16) window that starts at video frame `frame`, or None when the audio ends before it does."""
    start = mel_index(frame, fps)
    window = mel[:, start:start + MEL_STEP]
    return window if window.shape[1] == MEL_STEP else None


def mel_chunks(mel: np.ndarray, num_frames: int, fps: float = FPS, first: int = 0) -> np.ndarray:
    """One (80, 16) window per video frame for inference, frames first .. first + num_frames - 1, (num_frames, 80,
    16); past the audio's end the last full window repeats (the official inference does the same). `first` lets a
    long video take its windows chunk by chunk."""
    if mel.shape[1] < MEL_STEP:
        mel = np.pad(mel, ((0, 0), (0, MEL_STEP - mel.shape[1])), constant_values=-MAX_ABS_VALUE)
    starts = np.minimum([mel_index(i, fps) for i in range(first, first + num_frames)], mel.shape[1] - MEL_STEP)
    return np.stack([mel[:, s:s + MEL_STEP] for s in starts]) if num_frames else np.zeros((0, N_MELS, MEL_STEP),
                                                                                         np.float32)


# ---------------------------------------------------------------------------------------------------- blocks

def scaled(channels: int, width: float) -> int:
    """A channel count of the paper times `width` (at least 1)."""
    return max(1, round(channels * width))


class Conv2d(nn.Module):
    """conv -> BatchNorm -> ReLU, plus the input when `residual` (official models/conv.py names: conv_block.0/1)."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding, residual: bool = False):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        return self.act(out + x if self.residual else out)


class NoNormConv2d(nn.Module):
    """conv -> LeakyReLU(0.01), no normalisation: the quality discriminator's block (official `nonorm_Conv2d`)."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, stride, padding))
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


class Conv2dTranspose(nn.Module):
    """transposed conv -> BatchNorm -> ReLU (official `Conv2dTranspose`)."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding, output_padding: int = 0):
        super().__init__()
        self.conv_block = nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding),
                                        nn.BatchNorm2d(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def stage(cin: int, cout: int, kernel_size, stride, padding, residuals: int, width: float,
          in_channels: int | None = None) -> list[nn.Module]:
    """One downsampling conv (paper channels cin -> cout, scaled by width; `in_channels` overrides the scaled input
    for a network's first layer, whose input is the data) and `residuals` 3x3 residual convs."""
    a, b = in_channels or scaled(cin, width), scaled(cout, width)
    return [Conv2d(a, b, kernel_size, stride, padding)] + [Conv2d(b, b, 3, 1, 1, residual=True)
                                                           for _ in range(residuals)]


def audio_encoder(width: float, last_residuals: int) -> nn.Sequential:
    """(B, 1, 80, 16) mel window -> (B, 512w, 1, 1). The expert has two residuals in its 256-channel stage, the
    generator one (`last_residuals`), as in the official code."""
    return nn.Sequential(
        *stage(1, 32, 3, 1, 1, 2, width, in_channels=1),           # (B, 32, 80, 16)
        *stage(32, 64, 3, (3, 1), 1, 2, width),                    # (B, 64, 27, 16)
        *stage(64, 128, 3, 3, 1, 2, width),                        # (B, 128, 9, 6)
        *stage(128, 256, 3, (3, 2), 1, last_residuals, width),     # (B, 256, 3, 3)
        Conv2d(scaled(256, width), scaled(512, width), 3, 1, 0),   # (B, 512, 1, 1)
        Conv2d(scaled(512, width), scaled(512, width), 1, 1, 0),
    )


# ---------------------------------------------------------------------------------------------------- SyncNet

class SyncNet(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """The lip-sync expert: (mel window (B, 1, 80, 16), lower halves of 5 RGB frames in [0, 1] (B, 15, 48, 96)) ->
    (audio embedding, face embedding), each (B, 512w) and L2-normalised; their cosine is P(in sync)."""

    def __init__(
        self,
        width: float = 1.0,   # channel multiplier: 1.0 = the paper's expert (official SyncNet_color)
        frames: int = SYNC_FRAMES,  # consecutive frames stacked along channels (the paper: 5 = 0.2 s)
    ):
        super().__init__()
        self.width, self.frames = width, frames
        self.face_encoder = nn.Sequential(
            *stage(15, 32, 7, 1, 3, 0, width, in_channels=3 * frames),  # (B, 32, 48, 96)
            *stage(32, 64, 5, (1, 2), 1, 2, width),                 # (B, 64, 46, 47)
            *stage(64, 128, 3, 2, 1, 3, width),                     # (B, 128, 23, 24)
            *stage(128, 256, 3, 2, 1, 2, width),                    # (B, 256, 12, 12)
            *stage(256, 512, 3, 2, 1, 2, width),                    # (B, 512, 6, 6)
            Conv2d(scaled(512, width), scaled(512, width), 3, 2, 1),  # (B, 512, 3, 3)
            Conv2d(scaled(512, width), scaled(512, width), 3, 1, 0),  # (B, 512, 1, 1)
            Conv2d(scaled(512, width), scaled(512, width), 1, 1, 0),
        )
        self.audio_encoder = audio_encoder(width, last_residuals=2)

    def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        audio = self.audio_encoder(mels).flatten(1)
        face = self.face_encoder(faces).flatten(1)
        return F.normalize(audio, p=2, dim=1), F.normalize(face, p=2, dim=1)


def cosine_loss(audio: torch.Tensor, face: torch.Tensor, in_sync: torch.Tensor) -> torch.Tensor:
    """The expert's objective: BCE of cosine(audio, face) against 1 (in sync) / 0 (off sync). The cosine is clamped
    into (0, 1): ReLU embeddings are non-negative, so the cosine is too, and BCE needs a probability."""
    p = F.cosine_similarity(audio, face).clamp(1e-7, 1 - 1e-7)
    return F.binary_cross_entropy(p, in_sync.float().reshape(-1))


def lower_half_stack(faces: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, 96, 96) frames -> (B, 3T, 48, 96): the expert's input, frames concatenated along channels."""
    lower = faces[:, :, :, faces.shape[-2] // 2:]
    return torch.cat([lower[:, :, t] for t in range(lower.shape[2])], dim=1)


def expert_sync_loss(syncnet: SyncNet, mels: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """The generator's sync loss: the frozen expert's BCE that 5 generated frames (B, 3, 5, 96, 96) are in sync with
    their mel window (B, 1, 80, 16)."""
    audio, face = syncnet(mels, lower_half_stack(generated))
    return cosine_loss(audio, face, torch.ones(len(generated), device=generated.device))


# ---------------------------------------------------------------------------------------------------- generator

class Wav2Lip(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """(mel windows (B, 1, 80, 16), faces (B, 6, 96, 96) = [target with the lower half zeroed, reference] RGB in
    [0, 1]) -> the target frame with lips for that audio, (B, 3, 96, 96) in [0, 1]. 5-D inputs (B, T, 1, 80, 16) /
    (B, 6, T, 96, 96) are folded into the batch and give (B, 3, T, 96, 96), as the official model."""

    def __init__(
        self,
        width: float = 1.0,   # channel multiplier: 1.0 = the paper's generator (official Wav2Lip)
    ):
        super().__init__()
        self.width = width
        s = lambda c: scaled(c, width)  # noqa: E731
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(*stage(6, 16, 7, 1, 3, 0, width, in_channels=6)),     # (B, 16, 96, 96)
            nn.Sequential(*stage(16, 32, 3, 2, 1, 2, width)),                   # (B, 32, 48, 48)
            nn.Sequential(*stage(32, 64, 3, 2, 1, 3, width)),                   # (B, 64, 24, 24)
            nn.Sequential(*stage(64, 128, 3, 2, 1, 2, width)),                  # (B, 128, 12, 12)
            nn.Sequential(*stage(128, 256, 3, 2, 1, 2, width)),                 # (B, 256, 6, 6)
            nn.Sequential(*stage(256, 512, 3, 2, 1, 1, width)),                 # (B, 512, 3, 3)
            nn.Sequential(Conv2d(s(512), s(512), 3, 1, 0), Conv2d(s(512), s(512), 1, 1, 0)),  # (B, 512, 1, 1)
        ])
        self.audio_encoder = audio_encoder(width, last_residuals=1)
        # decoder: (paper channels out, residual convs); each level's input is the previous output concatenated
        # with the face encoder's feature map of the same size (the skip connections)
        skips = [512, 512, 256, 128, 64, 32, 16]  # encoder outputs, deepest first
        outs = [512, 512, 512, 384, 256, 128, 64]
        blocks = [nn.Sequential(Conv2d(s(512), s(512), 1, 1, 0))]              # (B, 512, 1, 1) from the audio
        for level in range(1, len(outs)):
            cin = s(outs[level - 1]) + s(skips[level - 1])
            up = (Conv2dTranspose(cin, s(outs[level]), 3, 1, 0) if level == 1   # 1 -> 3
                  else Conv2dTranspose(cin, s(outs[level]), 3, 2, 1, output_padding=1))  # x2
            residuals = 1 if level == 1 else 2
            blocks.append(nn.Sequential(up, *[Conv2d(s(outs[level]), s(outs[level]), 3, 1, 1, residual=True)
                                              for _ in range(residuals)]))
        self.face_decoder_blocks = nn.ModuleList(blocks)
        self.output_block = nn.Sequential(Conv2d(s(outs[-1]) + s(skips[-1]), s(32), 3, 1, 1),
                                          nn.Conv2d(s(32), 3, 1, 1, 0), nn.Sigmoid())

    def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        sequence = faces.dim() == 5
        if sequence:  # fold time into the batch, frame-major as the official code (frame t of every item together)
            batch = mels.shape[0]
            mels = torch.cat([mels[:, t] for t in range(mels.shape[1])], dim=0)
            faces = torch.cat([faces[:, :, t] for t in range(faces.shape[2])], dim=0)
        x = self.audio_encoder(mels)                       # (B, 512, 1, 1)
        feats = []
        h = faces
        for block in self.face_encoder_blocks:
            h = block(h)
            feats.append(h)
        for block in self.face_decoder_blocks:
            x = torch.cat([block(x), feats.pop()], dim=1)  # U-Net skip at every level, deepest first
        out = self.output_block(x)                         # (B, 3, 96, 96) in [0, 1]
        if sequence:
            out = torch.stack(torch.split(out, batch, dim=0), dim=2)
        return out


def masked_input(faces: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) targets and references -> the generator's 6-channel input: the target with its lower half
    zeroed (where the mouth goes), then the reference (pose and identity)."""
    masked = faces.clone()
    masked[:, :, faces.shape[-2] // 2:] = 0
    return torch.cat([masked, references], dim=1)


def reconstruction_loss(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's L1 reconstruction term."""
    return F.l1_loss(generated, target)


# ---------------------------------------------------------------------------------------------------- discriminator

class Wav2LipDiscriminator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """The visual-quality discriminator of the GAN variant: lower half of a face (B, 3, 96, 96) or (B, 3, T, 96, 96)
    in [0, 1] -> P(real) (B', 1). No normalisation, LeakyReLU (official `Wav2Lip_disc_qual`)."""

    def __init__(
        self,
        width: float = 1.0,   # channel multiplier: 1.0 = the paper's discriminator
    ):
        super().__init__()
        self.width = width
        s = lambda c: scaled(c, width)  # noqa: E731
        block = NoNormConv2d
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(block(3, s(32), 7, 1, 3)),                                   # (B, 32, 48, 96)
            nn.Sequential(block(s(32), s(64), 5, (1, 2), 2), block(s(64), s(64), 5, 1, 2)),     # (B, 64, 48, 48)
            nn.Sequential(block(s(64), s(128), 5, 2, 2), block(s(128), s(128), 5, 1, 2)),       # (B, 128, 24, 24)
            nn.Sequential(block(s(128), s(256), 5, 2, 2), block(s(256), s(256), 5, 1, 2)),      # (B, 256, 12, 12)
            nn.Sequential(block(s(256), s(512), 3, 2, 1), block(s(512), s(512), 3, 1, 1)),      # (B, 512, 6, 6)
            nn.Sequential(block(s(512), s(512), 3, 2, 1), block(s(512), s(512), 3, 1, 1)),      # (B, 512, 3, 3)
            nn.Sequential(block(s(512), s(512), 3, 1, 0), block(s(512), s(512), 1, 1, 0)),      # (B, 512, 1, 1)
        ])
        self.binary_pred = nn.Sequential(nn.Conv2d(s(512), 1, 1, 1, 0), nn.Sigmoid())

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        if faces.dim() == 5:
            faces = torch.cat([faces[:, :, t] for t in range(faces.shape[2])], dim=0)
        x = faces[:, :, faces.shape[-2] // 2:]            # the lower half, where the lips are
        for block in self.face_encoder_blocks:
            x = block(x)
        return self.binary_pred(x).flatten(1)


def d_quality_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The quality discriminator's BCE: real faces -> 1, generated -> 0 (the paper's L_disc)."""
    return (F.binary_cross_entropy(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)))


def g_quality_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial term against the quality discriminator (the paper's L_gen)."""
    return F.binary_cross_entropy(d_fake, torch.ones_like(d_fake))


# ---------------------------------------------------------------------------------------------------- LSE

@torch.no_grad()
def sync_distances(syncnet: SyncNet, faces: torch.Tensor, mel: np.ndarray, max_offset: int = 15,
                   fps: float = FPS, batch_size: int = 64) -> torch.Tensor:
    """Embedding distances for every 5-frame window and audio offset, (offsets 2K+1, windows).

    `faces`: (T, 3, 96, 96) in [0, 1]; `mel`: the clip's (80, M) spectrogram. Window t covers frames t..t+4; offset o
    pairs it with the audio starting at frame t + o. Distances are Euclidean between the L2-normalised embeddings,
    as SyncNet's evaluation; pairs whose audio lies outside the clip are +inf."""
    device = next(syncnet.parameters()).device
    windows = faces.shape[0] - SYNC_FRAMES + 1
    if windows < 1:
        raise ValueError(f"at least {SYNC_FRAMES} frames are needed for a sync score, got {faces.shape[0]}")
    stacks = torch.stack([faces[t:t + SYNC_FRAMES].permute(1, 0, 2, 3) for t in range(windows)])  # (W, 3, 5, H, W)
    face_emb = torch.cat([syncnet.face_encoder(lower_half_stack(stacks[i:i + batch_size]).to(device)).flatten(1)
                          for i in range(0, windows, batch_size)])
    face_emb = F.normalize(face_emb, dim=1)
    first, last = -max_offset, windows - 1 + max_offset
    audio = [mel_window(mel, f, fps) if f >= 0 else None for f in range(first, last + 1)]
    valid = [a is not None for a in audio]
    stack = torch.from_numpy(np.stack([a if a is not None else np.zeros((N_MELS, MEL_STEP), np.float32)
                                       for a in audio]))[:, None]
    audio_emb = torch.cat([syncnet.audio_encoder(stack[i:i + batch_size].to(device)).flatten(1)
                           for i in range(0, len(stack), batch_size)])
    audio_emb = F.normalize(audio_emb, dim=1)
    dists = torch.full((2 * max_offset + 1, windows), float("inf"))
    for k, offset in enumerate(range(-max_offset, max_offset + 1)):
        idx = torch.arange(windows) + offset - first
        ok = torch.tensor([valid[i] for i in idx.tolist()])
        d = (face_emb - audio_emb[idx]).norm(dim=1).cpu()
        dists[k] = torch.where(ok, d, torch.full_like(d, float("inf")))
    return dists


def lip_sync_error(dists: torch.Tensor) -> dict:
    """LSE-D, LSE-C and the audio-video offset from `sync_distances` (SyncNet's evaluation, as the paper): the mean
    distance over windows per offset; LSE-D = its minimum (lower = better synced), LSE-C = median - minimum over
    offsets (higher = more confident), offset = the argmin in frames (0 = in sync)."""
    finite = torch.where(torch.isinf(dists), torch.nan, dists)
    mean = torch.nanmean(finite, dim=1)
    usable = ~torch.isnan(mean)
    if not usable.any():
        raise ValueError("no window has audio at any offset")
    offsets = torch.arange(dists.shape[0]) - dists.shape[0] // 2
    mean, offsets = mean[usable], offsets[usable]
    best = int(torch.argmin(mean))
    return {"lse_d": float(mean[best]), "lse_c": float(mean.median() - mean[best]), "offset": int(offsets[best])}


@torch.no_grad()
def lip_sync_faces(model: Wav2Lip, faces: torch.Tensor, mels: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """Inference on face crops: (T, 3, 96, 96) in [0, 1] and their mel windows (T, 80, 16) -> new crops (T, 3, 96, 96).
    Each frame is its own reference (the official inference): the masked copy says where, the frame says who."""
    device = next(model.parameters()).device
    out = [model(mels[i:i + batch_size, None].to(device),
                 masked_input(faces[i:i + batch_size], faces[i:i + batch_size]).to(device)).cpu()
           for i in range(0, len(faces), batch_size)]
    return torch.cat(out) if out else faces.clone()
