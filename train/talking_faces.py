"""Talking faces: a deterministic synthetic lip-sync dataset in the LRS2 layout, for Wav2Lip and its SyncNet expert.

Wav2Lip (Prajwal et al., "A Lip Sync Expert Is All You Need for Speech to Lip Generation In The Wild", ACM MM 2020,
arXiv:2008.10010) trains on LRS2: BBC clips of people speaking, 160x160 at 25 fps with 16 kHz audio. LRS2 cannot be
downloaded here, so this script draws a stand-in in which the lips really follow the speech:

- speech: a seeded sentence of common English words (rounded "oo", spread "ee", lip-closing p/b/m ...) spoken by
  espeak-ng with one voice per identity (English accents and a few other languages, x voice variants) at a random
  speed (120-190 wpm) and pitch, resampled to 16 kHz, with 0.2-0.4 s of silence before and after;
- the mouth: `mouth_track` turns the waveform into (openness, width) per 25-fps frame (energy in 250-1000 Hz for
  openness, the 1500-3500 / 250-1000 Hz ratio for spread vs rounded lips), and the renderer draws lips, the dark
  opening, teeth and tongue and drops the jaw from those two numbers, so the lower half of the face moves with speech;
- identities: procedural faces (face shape, skin tone, hair, eyes, brows, nose, ears, glasses, beards) and warped
  packaged photos (skimage's astronaut, matplotlib's Grace Hopper, the 100 LFW faces of skimage's lfw_subset on a
  drawn head), each with its original mouth painted over; split into train/val/test by identity;
- per clip: smooth head motion (translation, rotation, scale), lighting (gain, colour cast, a directional gradient),
  a background (gradients, smooth noise or a blurred packaged photo) and sensor noise, all seeded by
  (seed, identity, clip). The renderer knows the true face box of every frame.

Build the bundled set (~60 identities x 10 clips of 2-4 s; a few minutes on one core):
    python -m train.talking_faces --out_dir=data/talking-faces
A killed build re-run with the same command skips the clips it finished; the same config gives byte-identical
jpg / wav / txt files (manifest.json holds their sha256).

Layout (LRS2's, and what Wav2Lip's preprocess.py writes):
    main/<identity>/<clip>.mp4            video 160x160 @ 25 fps, H.264, with the 16 kHz audio muxed (AAC)
    main/<identity>/<clip>.txt            "Text:  THE SENTENCE" as in LRS2, plus the voice settings
    preprocessed/<identity>/<clip>/<i>.jpg  face crop of frame i (0-based), 96x96, JPEG quality 95
    preprocessed/<identity>/<clip>/audio.wav  16 kHz mono PCM16
    filelists/{train,val,test}.txt        "<identity>/<clip>" per line (Wav2Lip's filelist format)
    manifest.json                         config, counts, espeak-ng version, checksum, face-detector hit rate

Scaled vs LRS2 and why: ~600 clips of 2-4 s from ~60 synthetic identities instead of ~46k clips of ~5k speakers,
so that SyncNet and Wav2Lip train to a visible result on a CPU; the speech is synthetic (espeak-ng), the mouths are
drawn from the audio by a fixed rule rather than by a person, and the crops are stored already resized to 96x96 (the
official preprocess stores the detector's crop at native size and the loader resizes it). The face box is the
renderer's true box grown at the bottom to keep the chin (the official preprocess pads S3FD's box by 10 px at the
bottom). The trainers also accept a real LRS2 folder preprocessed the same way (`preprocessed/` + `filelists/`;
`load_preprocessed` resizes crops of any size to 96x96).
The LFW subset may hold several photos of one person, who can then land in two splits; the warps and colours differ.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from train import common

ESPEAK = "espeak-ng"
ESPEAK_INSTALL = "apt-get install espeak-ng   (or: make data)"
SAMPLE_RATE = 16_000      # Hz; LRS2's and Wav2Lip's audio rate
FPS = 25                  # LRS2's frame rate; one frame covers 640 samples
FRAME_SIZE = 160          # LRS2's frames are 160x160
SPLITS = ("train", "val", "test")

# ~330 common words, written for phonetic variety: rounded vowels (oo, oh, w), spread vowels (ee, i), open vowels
# (ah, aw), and many bilabials (p, b, m) and labiodentals (f, v), which close or narrow the lips.
WORDS = tuple("""
moon blue food school two you who through shoe true room soon cool move choose juice group fruit new few view
boot tooth loose rule smooth noon pool spoon news music youth shoot roof goose mood
see tree green three we me keep sleep feel read teach clean each beach meet need sweet week sea leaf piece
field cheese people street easy believe seem tea key free these deep speak team dream
father car star hard heart calm start arm part dark farm large garden far park art march party
go home open over road boat phone show snow slow told cold old window yellow hello know most ocean
paper baby map bump mom maybe problem member bubble maple pump bomb boom beam palm apple happy simple
number table couple bring brother place plan plate pink purple pretty price break begin become between
better big black book box bread butter buy bird body bed bag ball bank bear beautiful below best bottom
make man many market matter meal mean middle milk mind minute mister money month morning mother mountain
mouth much music my myself made magic main mark mile mix mobile model moment
fish five four off often offer office after coffee feet fine fire first floor flower fly follow foot
very voice visit vote value village have give live love move over seven never every evening
say day way play stay pay rain train name game same make take late great table face space
I my by buy why high sky time like light night right write nice white wide side mile five
now how down town brown round sound found house mouse out about cloud loud
all call tall walk talk small wall water law saw draw long song strong along
the a and to of in it is on at as for with this that then there they them their
one sun run fun cup up us must just such much lunch jump under summer number
red bed said head bread friend ten when where well help yes yet tell spell egg bell
cat hat back black apple happen hand stand land man plan fat bad glad sad map
sit fit big pig little kitten quick quiz sister window winter system
hot pot stop top drop shop box not lot job doctor problem body copy
good book look took foot wood could would should cook full pull push put
bird word work world learn turn early heard person purple
boy toy voice noise point join choice enjoy coin
ear near here dear clear year beer
air care chair fair hair pair there where bear square
""".split())

# espeak-ng voices: English accents first, then a few other languages (they read the English words with their own
# phonology); a voice is "<language>+<variant>". Variants named after their file in espeak-ng-data/voices/!v.
LANGUAGES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
             "en-us-nyc", "de", "fr-fr", "es", "it", "nl", "pt-br")
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "adam", "Andy", "boris", "david", "edward", "john",
                 "max", "paul", "rob", "robert", "Lee", "Mike", "victor", "klatt", "klatt2")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "belinda", "linda", "steph", "anika",
                   "shelby", "aunty", "grandma")

# Packaged face photos: (eye left, eye right, mouth centre) in source pixels (x, y), and the mouth width; measured
# by hand on the photos (the LBP cascade finds both faces: astronaut at x 175-268, y 70-163).
PHOTO_LANDMARKS = {
    "astronaut": dict(eyes=((202, 100), (248, 104)), mouth=(224, 146), mouth_width=40, female=True),
    "grace_hopper": dict(eyes=((216, 195), (304, 195)), mouth=(259, 294), mouth_width=66, female=True),
}
BACKGROUND_PHOTOS = ("coffee", "chelsea", "rocket", "camera", "immunohistochemistry")


@dataclass
class Config:
    """The synthetic talking-face set; every field can be overridden with --field=value."""
    out_dir: str = "data/talking-faces"  # where main/, preprocessed/, filelists/ and manifest.json go
    identities: int = 60            # speakers; each has one face and one voice
    clips_per_identity: int = 10    # utterances per speaker
    photo_fraction: float = 0.5     # share of identities made from packaged photos (astronaut, Grace Hopper, LFW); 0 = all procedural
    val_fraction: float = 0.1       # share of identities held out for validation (split by identity, as LRS2 by show)
    test_fraction: float = 0.1      # share of identities held out for testing
    min_words: int = 5              # shortest sentence
    max_words: int = 12             # longest sentence (fewer are spoken when they would not fit max_seconds)
    max_seconds: float = 4.0        # longest clip, silences included; longer speech loses words, then is cut
    crop_size: int = 96             # side of the stored face crops (Wav2Lip's img_size)
    write_video: bool = True        # main/<id>/<clip>.mp4 with the audio muxed (imageio-ffmpeg); False = preprocessed/ only
    detection_check: int = 50       # identities whose frame is run through skimage's LBP face cascade; 0 = skip
    seed: int = 0                   # everything is a function of (seed, identity, clip)


# ---------------------------------------------------------------------------------------------------------- speech
@functools.cache
def espeak_available() -> bool:
    """Whether espeak-ng runs here."""
    exe = shutil.which(ESPEAK)
    if exe is None:
        return False
    try:
        return subprocess.run([exe, "--version"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def espeak_version() -> str:
    """espeak-ng's version line, e.g. "eSpeak NG text-to-speech: 1.51  Data at: ..." (recorded in the manifest)."""
    _require_espeak()
    out = subprocess.run([ESPEAK, "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.strip().split("  Data at")[0]


def _require_espeak() -> None:
    if not espeak_available():
        raise RuntimeError(f"espeak-ng is not installed; the talking-face speech needs it: {ESPEAK_INSTALL}")


def speak(text: str, voice: str = "en-us", speed: int = 150, pitch: int = 50) -> np.ndarray:
    """espeak-ng saying `text` -> float32 mono waveform at 16 kHz in [-1, 1]. voice = "<language>[+<variant>]"
    (`espeak-ng --voices`), speed in words per minute (80-450), pitch 0-99. The text goes in on stdin, never as an
    argument, so a text that starts with "-" is spoken, not parsed."""
    import librosa
    import soundfile

    _require_espeak()
    with tempfile.TemporaryDirectory(prefix="genzoo-speak-") as tmp:
        path = os.path.join(tmp, "speech.wav")
        out = subprocess.run([ESPEAK, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "-b", "1",
                              "--stdin", "-w", path], input=text.encode("utf-8"), capture_output=True, timeout=60)
        if out.returncode != 0 or not os.path.exists(path):
            raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {out.stderr.decode(errors='replace').strip()}")
        wav, sr = soundfile.read(path, dtype="float32")
    if wav.ndim > 1:
        wav = wav.mean(1)
    if sr != SAMPLE_RATE:
        wav = librosa.resample(wav, orig_sr=sr, target_sr=SAMPLE_RATE)
    return np.clip(wav, -1.0, 1.0).astype(np.float32)


def _trim_silence(wav: np.ndarray, margin: float = 0.02) -> np.ndarray:
    """Cut espeak-ng's own leading and trailing silence (below 1 % of the peak), keeping `margin` seconds."""
    loud = np.flatnonzero(np.abs(wav) > 0.01 * max(float(np.abs(wav).max()), 1e-6))
    if len(loud) == 0:
        return wav[:0]
    pad = int(margin * SAMPLE_RATE)
    return wav[max(0, loud[0] - pad):loud[-1] + pad]


def _rng(*key: int) -> np.random.Generator:
    """An independent stream per (seed, purpose, identity, clip ...): drawing more in one never shifts another."""
    return np.random.default_rng([int(k) for k in key])


def clip_speech(cfg: Config, identity: int, clip: int) -> dict:
    """The utterance of a clip: dict(wav (float32, 16 kHz, a whole number of video frames long), text, voice, speed,
    pitch, cut (True when even min_words did not fit max_seconds and the end was cut off))."""
    rng = _rng(cfg.seed, 10, identity, clip)
    voice = identity_voice(cfg, identity)
    speed, pitch = int(rng.integers(120, 191)), int(rng.integers(25, 76))
    lead, trail = rng.uniform(0.2, 0.4, size=2)
    # About as many words as fit max_seconds at this speed (espeak's words are ~0.9 of its nominal wpm).
    fit = int(speed / 60 * 0.9 * (cfg.max_seconds - lead - trail))
    n = int(rng.integers(cfg.min_words, max(cfg.min_words, min(cfg.max_words, fit)) + 1))
    words = [str(w) for w in rng.choice(WORDS, size=cfg.max_words)]
    budget = int((cfg.max_seconds - lead - trail) * SAMPLE_RATE)
    while True:
        text = " ".join(words[:n])
        speech = _trim_silence(speak(text, voice, speed, pitch))
        if len(speech) <= budget or n <= cfg.min_words:
            break
        n -= 1
    cut = len(speech) > budget
    if cut:  # cut with a 50 ms fade so the clip ends without a click
        speech = speech[:budget].copy()
        fade = int(0.05 * SAMPLE_RATE)
        speech[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    hop = SAMPLE_RATE // FPS
    wav = np.concatenate([np.zeros(int(lead * SAMPLE_RATE), np.float32), speech,
                          np.zeros(int(trail * SAMPLE_RATE), np.float32)])
    wav = np.concatenate([wav, np.zeros(-len(wav) % hop, np.float32)])  # a whole number of video frames
    return dict(wav=wav, text=text, voice=voice, speed=speed, pitch=pitch, cut=bool(cut))


# ---------------------------------------------------------------------------------------------------------- mouth track
def _band_energies(wav: np.ndarray, sr: int, fps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per video frame i (audio [i/fps, (i+1)/fps)): energy in 250-1000 Hz, in 1500-3500 Hz and in total."""
    hop = sr // fps
    count = len(wav) // hop
    frames = np.asarray(wav[:count * hop], np.float64).reshape(count, hop)
    n_fft = 1 << int(np.ceil(np.log2(hop)))
    power = np.abs(np.fft.rfft(frames * np.hanning(hop), n=n_fft, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    low = power[:, (freqs >= 250) & (freqs < 1000)].sum(1)
    high = power[:, (freqs >= 1500) & (freqs < 3500)].sum(1)
    return low, high, power.sum(1)


def mouth_track(wav: np.ndarray, sr: int = SAMPLE_RATE, fps: int = FPS) -> np.ndarray:
    """(T, 2) float32 in [0, 1] per video frame: (openness, width), a deterministic function of the waveform.

    openness: energy in 250-1000 Hz (the first formant's range: loud open vowels score high, lip closures and nasals
    low) in dB, mapped 0..1 over the 30 dB below the clip's 95th percentile, gated to 0 where the frame is silent
    (45 dB under the clip's loudest), then smoothed with a fast attack and a slower release, as a jaw moves.
    width: the 1500-3500 Hz / 250-1000 Hz energy ratio (high for "ee" and "s", low for "oo"), centred on the clip's
    median over voiced frames; 0.5 (neutral) in silence. 1 = spread lips, 0 = rounded."""
    if sr % fps:
        raise ValueError(f"sr ({sr}) must be a multiple of fps ({fps})")
    low, high, total = _band_energies(np.asarray(wav, np.float64), sr, fps)
    if len(low) == 0:
        return np.zeros((0, 2), np.float32)
    eps = 1e-10
    low_db, total_db = 10 * np.log10(low + eps), 10 * np.log10(total + eps)
    peak = np.percentile(low_db, 95)
    raw = np.clip((low_db - (peak - 30.0)) / 30.0, 0, 1) ** 1.3
    silent = (total_db < total_db.max() - 45.0) | (total < 1e-6)
    raw[silent] = 0.0
    ratio = 10 * np.log10((high + eps) / (low + eps))
    voiced = raw > 0.1
    centre = np.median(ratio[voiced]) if voiced.any() else 0.0
    width_raw = np.where(raw > 0.02, 1 / (1 + np.exp(-(ratio - centre) / 5.0)), 0.5)
    track = np.zeros((len(low), 2))
    openness, width = 0.0, 0.5
    for i in range(len(low)):
        openness += (0.85 if raw[i] > openness else 0.45) * (raw[i] - openness)
        width += 0.6 * (width_raw[i] - width)
        track[i] = openness, width
    return np.clip(track, 0, 1).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------- drawing kit
_YY, _XX = np.mgrid[0:FRAME_SIZE, 0:FRAME_SIZE].astype(np.float32)


def _ellipse(cx, cy, rx, ry, soft=1.0, yy=_YY, xx=_XX, angle=0.0) -> np.ndarray:
    """Soft-edged filled ellipse mask in [0, 1] (edge width `soft` pixels)."""
    dx, dy = xx - cx, yy - cy
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        dx, dy = c * dx + s * dy, -s * dx + c * dy
    d = np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)
    return np.clip(0.5 - (d - 1) * min(rx, ry) / soft, 0, 1)


def _smoothstep(a, b, x):
    t = np.clip((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


def _noise(rng: np.random.Generator, sigma, shape=(FRAME_SIZE, FRAME_SIZE)) -> np.ndarray:
    """Smooth noise with unit standard deviation; sigma (pixels, or a (y, x) pair) sets the grain."""
    from scipy.ndimage import gaussian_filter

    n = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return n / max(float(n.std()), 1e-6)


class _Canvas:
    """A straight-alpha RGBA layer in float [0, 1] that features are painted onto, back to front."""

    def __init__(self, size=FRAME_SIZE):
        self.rgb = np.zeros((size, size, 3), np.float32)
        self.alpha = np.zeros((size, size), np.float32)

    def paint(self, mask, colour, opacity=1.0):
        m = (mask * opacity)[..., None]
        colour = np.asarray(colour, np.float32)
        self.rgb = self.rgb * (1 - m) + colour * m
        self.alpha = self.alpha + (1 - self.alpha) * m[..., 0]

    def shade(self, mask, factor):
        """Multiply the colour under `mask` by `factor` (< 1 darkens, > 1 lightens)."""
        factor = np.asarray(factor, np.float32)
        factor = factor[..., None] if factor.ndim == 2 else factor
        self.rgb = self.rgb * (1 + (factor - 1) * np.asarray(mask, np.float32)[..., None])


SKIN_TONES = np.array([(250, 222, 200), (238, 196, 164), (222, 170, 130), (196, 136, 98), (160, 104, 72),
                       (118, 76, 52), (84, 56, 42)], np.float32) / 255
HAIR_COLOURS = np.array([(28, 24, 22), (55, 38, 28), (95, 66, 44), (125, 62, 34), (185, 150, 95), (150, 145, 140),
                         (205, 200, 192)], np.float32) / 255
IRIS_COLOURS = np.array([(85, 58, 36), (48, 34, 26), (70, 108, 150), (80, 115, 75), (118, 96, 58), (115, 125, 135)],
                        np.float32) / 255


def _skin(rng) -> np.ndarray:
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    return SKIN_TONES[i] + (SKIN_TONES[i + 1] - SKIN_TONES[i]) * (t - i)


@dataclass
class Identity:
    """One speaker: the head as a premultiplied RGBA layer (uint8, FRAME_SIZE^2 x 4) in canonical coordinates, where
    the mouth goes and how it looks, the face box, and the voice."""
    name: str
    source: str                     # "procedural", "astronaut", "grace_hopper" or "lfw<k>"
    layer: np.ndarray               # (S, S, 4) uint8, premultiplied RGBA, mouth painted over
    mouth: tuple                    # (x, y, half width, lip thickness) in canonical pixels
    lip: np.ndarray                 # lip colour, RGB in [0, 1]
    box: tuple                      # canonical face box (x0, y0, x1, y1): brows to chin, cheek to cheek
    jaw: float                      # pixels the chin drops at openness 1
    voice: str
    jaw_weight: tuple | None = None  # filled in by _jaw_weight on first use


# ---------------------------------------------------------------------------------------------------------- identities
def identity_sources(cfg: Config) -> list[str]:
    """What each identity is made from: round(identities * photo_fraction) photos (astronaut and Grace Hopper first,
    then the LFW faces in a seeded order; beyond 102 they repeat with new warps), the rest procedural, shuffled."""
    n_photo = int(round(cfg.identities * cfg.photo_fraction))
    lfw = [f"lfw{k}" for k in _rng(cfg.seed, 1).permutation(100)]
    photos = (["astronaut", "grace_hopper"] + lfw) * (n_photo // 102 + 1)
    sources = photos[:n_photo] + ["procedural"] * (cfg.identities - n_photo)
    return [sources[i] for i in _rng(cfg.seed, 2).permutation(cfg.identities)]


def identity_name(identity: int) -> str:
    return f"id{identity:04d}"


def splits(cfg: Config) -> dict[str, list[int]]:
    """Identities per split (disjoint): a seeded permutation cut by val_fraction and test_fraction, each held-out
    split keeping at least one identity when there are three or more."""
    order = [int(i) for i in _rng(cfg.seed, 3).permutation(cfg.identities)]
    n = cfg.identities
    n_test = max(int(round(n * cfg.test_fraction)), 1 if n >= 3 and cfg.test_fraction > 0 else 0)
    n_val = max(int(round(n * cfg.val_fraction)), 1 if n >= 3 and cfg.val_fraction > 0 else 0)
    return {"test": sorted(order[:n_test]), "val": sorted(order[n_test:n_test + n_val]),
            "train": sorted(order[n_test + n_val:])}


def identity_voice(cfg: Config, identity: int) -> str:
    source = identity_sources(cfg)[identity]
    rng = _rng(cfg.seed, 4, identity)
    language = str(rng.choice(LANGUAGES))
    female = rng.random() < 0.5
    if source in PHOTO_LANDMARKS:
        female = PHOTO_LANDMARKS[source]["female"]
    elif source == "procedural" and _procedural_params(cfg.seed, identity)["beard"] > 0:
        female = False
    return f"{language}+{rng.choice(FEMALE_VARIANTS if female else MALE_VARIANTS)}"


@functools.lru_cache(maxsize=None)
def _procedural_params(seed: int, identity: int) -> dict:
    """The face's geometry and palette (drawn before anything is painted, so the voice can depend on the beard)."""
    rng = _rng(seed, 5, identity)
    a, b = rng.uniform(33, 39), rng.uniform(44, 50)            # face half width, half height
    cx, cy = 80 + rng.uniform(-2, 2), 80 + rng.uniform(-3, 2)
    top, height = cy - b, 2 * b
    return dict(
        cx=cx, cy=cy, a=a, b=b, taper=rng.uniform(0.12, 0.32),
        eye_y=top + height * rng.uniform(0.43, 0.46), brow_y=top + height * rng.uniform(0.35, 0.38),
        nose_y=top + height * rng.uniform(0.63, 0.66), mouth_y=top + height * rng.uniform(0.76, 0.79),
        eye_dx=a * rng.uniform(0.40, 0.47), eye_rx=a * rng.uniform(0.14, 0.17),
        mouth_hw=a * rng.uniform(0.36, 0.44), lip_t=rng.uniform(2.6, 4.2),
        skin=_skin(rng), hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.85, 1.15),
        iris=IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))],
        hair_style=str(rng.choice(["short", "short", "long", "long", "curly", "bun", "bald"])),
        hairline=rng.uniform(0.10, 0.22), glasses=bool(rng.random() < 0.25),
        beard=float(rng.choice([0, 0, 0, 0.35, 0.9])),      # 0 none, 0.35 stubble, 0.9 full beard
        clothes=rng.uniform(0.05, 0.75, 3).astype(np.float32), light=rng.uniform(-1, 1),
        brow_arch=rng.uniform(1.0, 3.5), brow_t=rng.uniform(2.0, 3.5), jaw=rng.uniform(3.5, 6.0),
    )


def _head(canvas: _Canvas, p: dict, rng: np.random.Generator, features: bool) -> None:
    """Paint shoulders, neck, hair, ears and the face oval; with `features`, also eyes, brows, nose and beard."""
    cx, cy, a, b = p["cx"], p["cy"], p["a"], p["b"]
    skin, hair = p["skin"], p["hair"]
    top, height, chin = cy - b, 2 * b, cy + b
    yy, xx = _YY, _XX
    # shoulders and neck
    canvas.paint(_ellipse(cx, chin + 78, 112, 62, soft=1.5), p["clothes"])
    canvas.shade(_ellipse(cx, chin + 78, 112, 62, soft=1.5) * np.clip((yy - chin - 16) / 30, 0, 1), 0.75)
    neck = np.clip(0.5 - (np.abs(xx - cx) - a * 0.55), 0, 1) * (yy > cy)
    canvas.paint(neck, skin * 0.82)
    canvas.shade(neck * np.exp(-((yy - chin - 3) / 7) ** 2), 0.7)  # the chin's shadow on the neck
    style = p["hair_style"]
    streaks = _noise(rng, (4, 0.8))
    if style == "long":  # hair behind the head, down to the shoulders
        back = _ellipse(cx, cy + 0.15 * b, a * 1.38, b * 1.25, soft=2) * (yy < chin + 22 + 6 * _noise(rng, 6))
        canvas.paint(back, hair * 0.8)
        canvas.shade(back, 1 + 0.12 * streaks)
    if style == "curly":
        puff = np.clip(0.5 - (np.sqrt(((xx - cx) / (a * 1.32)) ** 2 + ((yy - cy + 0.1 * b) / (b * 1.12)) ** 2) - 1)
                       * 12 + 0.6 * _noise(rng, 2.5), 0, 1) * (yy < cy + 0.2 * b)
        canvas.paint(puff, hair * 0.9)
        canvas.shade(puff, 1 + 0.2 * _noise(rng, 1.2))
    # ears
    ear_y = (p["eye_y"] + p["nose_y"]) / 2
    for side in (-1, 1):
        ex = cx + side * a * 0.97
        canvas.paint(_ellipse(ex, ear_y, a * 0.17, b * 0.23, soft=1), skin * 0.9)
        canvas.shade(_ellipse(ex + side * 1.0, ear_y, a * 0.08, b * 0.14, soft=2), 0.75)
    # the face: an egg (narrower jaw) with spherical shading and a light from one side
    dy = (yy - cy) / b
    rx = a * (1 - p["taper"] * np.clip(dy, 0, None) ** 2)
    d = np.sqrt(((xx - cx) / rx) ** 2 + dy ** 2)
    face = np.clip(0.5 - (d - 1) * a / 1.0, 0, 1)
    canvas.paint(face, skin)
    canvas.shade(face, 0.80 + 0.20 * np.sqrt(np.clip(1 - d ** 2, 0, 1)))
    canvas.shade(face, 1 + 0.07 * p["light"] * (xx - cx) / a)
    canvas.shade(face, 1 + 0.025 * _noise(rng, 1.5))          # skin texture
    if features:
        _features(canvas, p, rng, face)
    # hair on top: a cap over the skull down to a hairline that drops towards the temples
    if style != "bald":
        hairline = top + height * p["hairline"] + (p["eye_y"] - top - height * p["hairline"]) * 0.9 * \
            np.clip(np.abs(xx - cx) / a, 0, 1) ** 3 + 1.5 * _noise(rng, (8, 3))
        cap = _ellipse(cx, cy - 0.04 * b, a * 1.07, b * 1.07, soft=1.5) * np.clip(hairline - yy + 0.5, 0, 1)
        canvas.paint(cap, hair)
        canvas.shade(cap, (1 + 0.15 * streaks) * (0.85 + 0.15 * np.clip((cy - yy) / b, 0, 1)))
        if style == "bun":
            bun = _ellipse(cx, top - 8, a * 0.42, b * 0.22, soft=1.5)
            canvas.paint(bun, hair * 0.95)
            canvas.shade(bun, 1 + 0.15 * streaks)


def _features(canvas: _Canvas, p: dict, rng: np.random.Generator, face: np.ndarray) -> None:
    """Eyes, brows, nose, cheeks, beard, glasses of a procedural face."""
    cx, a, b = p["cx"], p["a"], p["b"]
    skin, yy, xx = p["skin"], _YY, _XX
    ey, ny, my = p["eye_y"], p["nose_y"], p["mouth_y"]
    erx = p["eye_rx"]
    ery = erx * 0.55
    # highlights where light catches the skin; stronger on darker skin, where they carry most of the face's relief
    gloss = 0.05 + 0.12 * (1 - float(skin @ np.array([0.299, 0.587, 0.114], np.float32)))
    canvas.paint(_ellipse(cx, p["brow_y"] - 0.22 * b, a * 0.45, b * 0.14, soft=8), (1, 1, 1), gloss)
    for side in (-1, 1):
        ex = cx + side * p["eye_dx"]
        canvas.shade(_ellipse(ex, ey - 1.5, erx * 1.9, ery * 2.8, soft=6), 0.74)      # eye socket
        canvas.paint(_ellipse(ex + side * 3, ey + ery * 3.4, erx * 1.5, ery * 1.1, soft=5), (1, 1, 1), gloss)  # cheekbone
        u = np.clip((xx - ex) / erx, -1, 1)
        lens = np.clip(1 - u ** 2, 0, 1)
        top_lid, bottom_lid = ey - ery * lens ** 0.7, ey + ery * 0.8 * lens ** 0.9
        inside = (np.abs(xx - ex) < erx) * np.clip(yy - top_lid + 0.5, 0, 1) * np.clip(bottom_lid - yy + 0.5, 0, 1)
        canvas.paint(inside, (0.90, 0.87, 0.84))
        iris = _ellipse(ex, ey, ery * 1.05, ery * 1.05, soft=0.8) * inside
        canvas.paint(iris, p["iris"])
        canvas.paint(_ellipse(ex, ey, ery * 0.48, ery * 0.48, soft=0.6) * inside, (0.05, 0.04, 0.04))
        canvas.paint(_ellipse(ex + 0.6, ey - 0.8, 0.7, 0.7, soft=0.5) * inside, (0.97, 0.97, 0.97), 0.8)
        lid = (np.abs(xx - ex) < erx * 1.05) * np.exp(-((yy - top_lid + 0.6) / 0.7) ** 2)
        canvas.paint(lid, (0.10, 0.07, 0.06), 0.9)                               # upper lid and lashes
        canvas.shade((np.abs(xx - ex) < erx) * np.exp(-((yy - bottom_lid - 0.5) / 0.8) ** 2), 0.85)
        # brow: an arched band, thicker towards the nose
        bw = erx * 1.35
        v = (xx - ex) / bw * side                                               # -1 inner .. 1 outer
        centre_y = p["brow_y"] - p["brow_arch"] * (1 - v ** 2) + 1.0 * v
        thick = p["brow_t"] * (1.1 - 0.45 * v)
        brow = np.clip(thick / 2 - np.abs(yy - centre_y) + 0.5, 0, 1) * np.clip((1 - np.abs(v)) * bw, 0, 1)
        canvas.paint(brow, p["hair"] * 0.7 + skin * 0.1, 0.92)
    # nose: bright ridge, shaded sides, a round tip, nostrils, the shadow below
    ridge = _smoothstep(ey, ey + 6, yy) * (1 - _smoothstep(ny - 4, ny, yy))
    canvas.shade(ridge * np.exp(-((xx - cx) / (a * 0.06)) ** 2), 1.08)
    canvas.paint(ridge * np.exp(-((xx - cx) / (a * 0.05)) ** 2), (1, 1, 1), gloss)
    for side in (-1, 1):
        canvas.shade(ridge * np.exp(-((xx - cx - side * a * 0.14) / (a * 0.05)) ** 2), 0.88 if side * p["light"] < 0 else 0.93)
        canvas.shade(_ellipse(cx + side * a * 0.16, ny - 2.5, a * 0.08, 3.0, soft=2), 0.88)       # alae
        canvas.paint(_ellipse(cx + side * a * 0.085, ny - 0.5, a * 0.055, 1.3, soft=0.8), skin * 0.35, 0.9)
    canvas.shade(_ellipse(cx, ny - 3.5, a * 0.12, 3.5, soft=2), 1.07)
    canvas.shade(_ellipse(cx, ny + 2.5, a * 0.2, 2.0, soft=2), 0.86)
    canvas.shade(_ellipse(cx, (ny + my) / 2, a * 0.05, (my - ny) * 0.3, soft=2), 0.94)  # philtrum
    canvas.shade(_ellipse(cx, my + (p["cy"] + b - my) * 0.55, a * 0.3, 4, soft=4), 1.05)  # chin highlight
    for side in (-1, 1):
        canvas.paint(_ellipse(cx + side * a * 0.55, ey + b * 0.3, a * 0.2, b * 0.12, soft=6), (0.85, 0.4, 0.4), 0.08)
    if p["beard"] > 0:
        start = ny + (my - ny) * 0.45
        region = face * _smoothstep(start - 2, start + 3, yy) * (1 - _ellipse(cx, my + 0.5, p["mouth_hw"] * 1.1,
                                                                            p["lip_t"] * 1.6, soft=1.5))
        region = region * np.clip(1 - np.abs(xx - p["cx"]) / (a * 1.05), 0, 1) ** 0.3
        grain = np.clip(0.75 + 0.35 * _noise(rng, 0.7), 0, 1)
        canvas.paint(region * grain, p["hair"] * 0.9, p["beard"])
    if p["glasses"]:
        frame = np.asarray(rng.choice([(0.08, 0.06, 0.05), (0.35, 0.2, 0.1), (0.6, 0.6, 0.62)]), np.float32)
        ring = np.zeros_like(face)
        for side in (-1, 1):
            ex = cx + side * p["eye_dx"]
            rx_, ry_ = erx * 1.75, ery * 3.0
            d = np.sqrt(((xx - ex) / rx_) ** 2 + ((yy - ey) / ry_) ** 2)
            canvas.shade(np.clip(1 - d, 0, 1) > 0, 0.96)
            ring = np.maximum(ring, np.clip(1.2 - np.abs(d - 1) * ry_, 0, 1))
            temple = (np.abs(yy - ey + ry_ * 0.5) < 0.9) * (side * (xx - ex) > rx_ * 0.95) * (side * (xx - cx) < a)
            ring = np.maximum(ring, temple.astype(np.float32))
        bridge = (np.abs(yy - ey + 1) < 0.9) * (np.abs(xx - cx) < p["eye_dx"] - erx * 1.6)
        canvas.paint(np.maximum(ring, bridge.astype(np.float32)), frame)


def _premultiplied(canvas: _Canvas) -> np.ndarray:
    rgba = np.concatenate([canvas.rgb * canvas.alpha[..., None], canvas.alpha[..., None]], -1)
    return np.round(np.clip(rgba, 0, 1) * 255).astype(np.uint8)


def _cover_mouth(rgb: np.ndarray, mx, my, rx, ry) -> np.ndarray:
    """Paint over a photo's own mouth: fill an ellipse with the blurred skin around it (normalised convolution)."""
    from scipy.ndimage import gaussian_filter

    cover = _ellipse(mx, my, rx, ry, soft=3)
    keep = 1 - cover
    sigma = max(ry, 3.0)
    fill = np.stack([gaussian_filter(rgb[..., c] * keep, sigma) for c in range(3)], -1)
    fill /= np.maximum(gaussian_filter(keep, sigma), 1e-3)[..., None]
    return rgb * keep[..., None] + fill * cover[..., None]


@functools.cache
def _photo(name: str) -> np.ndarray:
    """A packaged photo as float RGB [0, 1]."""
    import skimage.data
    from PIL import Image

    if name == "grace_hopper":
        import matplotlib.cbook

        with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
            return np.asarray(im.convert("RGB"), np.float32) / 255
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, -1)
    return image[..., :3].astype(np.float32) / (255 if image.dtype == np.uint8 else 1)


@functools.cache
def _lfw_faces() -> np.ndarray:
    import skimage.data

    return skimage.data.lfw_subset()[:100].astype(np.float32)  # (100, 25, 25) grey in [0, 1]; the rest are non-faces


def _lfw_landmarks(face: np.ndarray) -> tuple[tuple, tuple, tuple]:
    """(left eye, right eye, mouth) of a 25x25 LFW face: the darkest spots near where the average face has them."""
    from scipy.ndimage import gaussian_filter

    dark = gaussian_filter(1 - face, 0.8)
    def spot(rows, cols):
        patch = dark[rows[0]:rows[1], cols[0]:cols[1]]
        r, c = np.unravel_index(np.argmax(patch), patch.shape)
        return float(c + cols[0]), float(r + rows[0])
    left, right = spot((6, 11), (3, 10)), spot((6, 11), (11, 18))
    if not 6 <= right[0] - left[0] <= 11 or abs(right[1] - left[1]) > 2:  # a dark brow or hair won: the average
        left, right = (6.0, 8.0), (14.5, 8.0)
    mouth_row = 15 + int(np.argmax(dark[15:21, 7:15].mean(1)))
    return left, right, (float(np.clip((left[0] + right[0]) / 2, 9, 12)), float(mouth_row))


def _similarity(src_pts, dst_pts) -> np.ndarray:
    """2x3 similarity transform (rotation, uniform scale, shift) mapping two source points onto two target points."""
    (x0, y0), (x1, y1) = src_pts
    (u0, v0), (u1, v1) = dst_pts
    s = complex(u1 - u0, v1 - v0) / complex(x1 - x0, y1 - y0)
    t = complex(u0, v0) - s * complex(x0, y0)
    return np.array([[s.real, -s.imag, t.real], [s.imag, s.real, t.imag]], np.float64)


def _apply(m: np.ndarray, pts) -> np.ndarray:
    pts = np.atleast_2d(np.asarray(pts, np.float64))
    return pts @ m[:, :2].T + m[:, 2]


def _warp_photo(image: np.ndarray, to_canvas: np.ndarray, rng: np.random.Generator, centre, order=1):
    """Resample `image` into the canvas through `to_canvas` (2x3, source -> canvas) after a random affine (scale,
    stretch, shear, rotation about `centre`) and a mild elastic warp. Returns (canvas RGB, the full forward map as
    a function of source points)."""
    from scipy.ndimage import map_coordinates

    angle = np.deg2rad(rng.uniform(-3, 3))
    scale = rng.uniform(0.96, 1.04) * np.array([rng.uniform(0.94, 1.06), 1.0])
    shear = rng.uniform(-0.05, 0.05)
    lin = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ \
        np.array([[1, shear], [0, 1]]) @ np.diag(scale)
    centre = np.asarray(centre, np.float64)
    random_affine = np.concatenate([lin, (centre - lin @ centre)[:, None]], 1)
    full = np.concatenate([random_affine[:, :2] @ to_canvas[:, :2],
                           (random_affine[:, :2] @ to_canvas[:, 2] + random_affine[:, 2])[:, None]], 1)
    inverse = np.linalg.inv(np.vstack([full, [0, 0, 1]]))[:2]
    elastic = np.stack([_noise(rng, 14), _noise(rng, 14)]) * 1.2     # (2, S, S) canvas-pixel offsets (y, x)
    ys, xs = _YY + elastic[0], _XX + elastic[1]
    src_x = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    src_y = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    out = np.stack([map_coordinates(image[..., c], [src_y, src_x], order=order, mode="nearest")
                    for c in range(3)], -1)

    def forward(pts):  # a source point lands where the (elastic-shifted) sampling grid finds it
        p = _apply(full, pts)
        for _ in range(3):
            iy = np.clip(np.round(p[:, 1]).astype(int), 0, FRAME_SIZE - 1)
            ix = np.clip(np.round(p[:, 0]).astype(int), 0, FRAME_SIZE - 1)
            p = _apply(full, pts) - elastic[[1, 0]][:, iy, ix].T
        return p
    return np.clip(out, 0, 1), forward


def _recolour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grey = rgb.mean(-1, keepdims=True)
    saturation = rng.uniform(0.7, 1.3)
    gain = rng.uniform(0.88, 1.12, 3).astype(np.float32) * rng.uniform(0.9, 1.1)
    return np.clip((grey + (rgb - grey) * saturation) * gain, 0, 1)


def _lip_colour(skin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    red = np.array([0.72, 0.30, 0.33], np.float32) * rng.uniform(0.8, 1.1)
    return np.clip(skin * 0.55 + red * 0.45, 0, 1) * rng.uniform(0.82, 0.95)


def _face_box(cx, a, eye_y, mouth_y, chin) -> tuple:
    """Brows (half the eye-to-mouth distance above the eyes) to the chin, cheek to cheek."""
    return (cx - a, eye_y - 0.5 * (mouth_y - eye_y), cx + a, chin)


@functools.lru_cache(maxsize=256)
def _make_identity(seed: int, identity: int, source: str, voice: str) -> Identity:
    rng = _rng(seed, 6, identity)
    name = identity_name(identity)
    if source == "procedural":
        p = _procedural_params(seed, identity)
        canvas = _Canvas()
        _head(canvas, p, rng, features=True)
        chin = p["cy"] + p["b"]
        box = _face_box(p["cx"], p["a"], p["eye_y"], p["mouth_y"], chin)
        return Identity(name, source, _premultiplied(canvas), (p["cx"], p["mouth_y"], p["mouth_hw"], p["lip_t"]),
                        _lip_colour(p["skin"], rng), box, p["jaw"], voice)
    if source.startswith("lfw"):
        # an LFW face (grey, 25 px), coloured in the skin tone of a drawn head and blended into its face oval
        p = dict(_procedural_params(seed, identity))
        p["hair_style"] = str(rng.choice(["short", "long", "bald", "short"]))
        p["hairline"] = rng.uniform(0.08, 0.14)
        canvas = _Canvas()
        _head(canvas, p, rng, features=False)
        face = _lfw_faces()[int(source[3:]) % 100]
        left, right, mouth = _lfw_landmarks(face)
        eye_y = p["eye_y"]
        to_canvas = _similarity([left, right], [(p["cx"] - p["eye_dx"], eye_y), (p["cx"] + p["eye_dx"], eye_y)])
        grey, forward = _warp_photo(np.repeat(face[..., None], 3, -1), to_canvas, rng, (p["cx"], p["cy"]), order=3)
        reference = np.median(face[9:17, 5:17])
        shade = (grey[..., 0] / max(reference, 0.05)) ** 0.8
        tinted = np.clip(p["skin"] * shade[..., None], 0, 1)
        (mx, my), = forward([mouth])
        scale = np.hypot(*to_canvas[:, 0])
        tinted = _cover_mouth(tinted, mx, my, 5.0 * scale, 3.0 * scale)
        oval = _apply(to_canvas, [(10.5, 12.5)])[0]
        blend = _ellipse(oval[0], oval[1], 8.3 * scale, 11.5 * scale, soft=5)
        canvas.paint(blend, tinted)
        _hair_over(canvas, p, rng)
        chin = p["cy"] + p["b"]
        box = _face_box(p["cx"], p["a"], eye_y, my, chin)
        return Identity(name, source, _premultiplied(canvas), (mx, my, 4.3 * scale * rng.uniform(0.95, 1.1),
                        rng.uniform(2.6, 4.0)), _lip_colour(p["skin"], rng), box, rng.uniform(3.5, 6), voice)
    # astronaut / grace_hopper: the photo itself (hair, clothes and its own background), vignetted
    marks = PHOTO_LANDMARKS[source]
    (lx, ly), (rx, ry) = marks["eyes"]
    interocular = rng.uniform(29, 34)
    cx, eye_y = 80 + rng.uniform(-2, 2), 72 + rng.uniform(-3, 3)
    to_canvas = _similarity([(lx, ly), (rx, ry)], [(cx - interocular / 2, eye_y), (cx + interocular / 2, eye_y)])
    scale = np.hypot(*to_canvas[:, 0])
    image, factor = _photo(source), 1.0
    if scale < 0.7:  # shrink first with a proper filter, so the warp does not alias
        from PIL import Image

        factor = scale / 0.9
        small = Image.fromarray(np.round(image * 255).astype(np.uint8)).resize(
            (round(image.shape[1] * factor), round(image.shape[0] * factor)), Image.LANCZOS)
        image = np.asarray(small, np.float32) / 255
        to_canvas = to_canvas @ np.diag([1 / factor, 1 / factor, 1])
    rgb, forward = _warp_photo(image, to_canvas, rng, (cx, eye_y + 15))
    rgb = _recolour(rgb, rng)
    (mx, my), = forward([np.asarray(marks["mouth"]) * factor])
    mouth_w = marks["mouth_width"] * scale
    rgb = _cover_mouth(rgb, mx, my, mouth_w * 0.62, mouth_w * 0.32)
    a = interocular * 1.0
    chin = my + 0.65 * (my - eye_y)
    canvas = _Canvas()
    vignette = np.maximum(_ellipse(cx, eye_y + 5, a * 1.55, a * 1.9, soft=8),
                          _ellipse(cx, chin + 70, a * 2.6, 75, soft=8))
    canvas.paint(vignette, rgb)
    skin = rgb[int(round(eye_y + 0.45 * (my - eye_y))), int(round(cx - 0.35 * a))]
    return Identity(name, source, _premultiplied(canvas), (mx, my, mouth_w / 2 * rng.uniform(0.9, 1.0),
                    rng.uniform(2.8, 4.0)), _lip_colour(skin, rng), _face_box(cx, a, eye_y, my, chin),
                    rng.uniform(3.5, 6), voice)


def _hair_over(canvas: _Canvas, p: dict, rng) -> None:
    """The hair cap of `_head` again, over a pasted face (so the photo's own forehead edge is hidden)."""
    if p["hair_style"] == "bald":
        return
    cx, cy, a, b = p["cx"], p["cy"], p["a"], p["b"]
    top, height = cy - b, 2 * b
    hairline = top + height * p["hairline"] + (p["eye_y"] - top - height * p["hairline"]) * 0.9 * \
        np.clip(np.abs(_XX - cx) / a, 0, 1) ** 3 + 1.5 * _noise(rng, (8, 3))
    cap = _ellipse(cx, cy - 0.04 * b, a * 1.07, b * 1.07, soft=1.5) * np.clip(hairline - _YY + 0.5, 0, 1)
    canvas.paint(cap, p["hair"])
    canvas.shade(cap, (1 + 0.15 * _noise(rng, (4, 0.8))) * (0.85 + 0.15 * np.clip((cy - _YY) / b, 0, 1)))


def make_identity(cfg: Config, identity: int) -> Identity:
    """The speaker `identity` of this config (cached)."""
    if not 0 <= identity < cfg.identities:
        raise ValueError(f"identity must be in [0, {cfg.identities}); got {identity}")
    return _make_identity(cfg.seed, identity, identity_sources(cfg)[identity], identity_voice(cfg, identity))


# ---------------------------------------------------------------------------------------------------------- the mouth
def _draw_mouth(layer: np.ndarray, ident: Identity, openness: float, width: float) -> None:
    """Paint lips, opening, teeth and tongue for (openness, width) into the premultiplied uint8 layer, in place."""
    mx, my, hw0, lip_t = (float(v) for v in ident.mouth)
    x0, x1 = int(mx - hw0 * 1.3 - 2), int(np.ceil(mx + hw0 * 1.3 + 2))   # the patch the lips can reach
    y0, y1 = int(my - hw0 * 0.3 - lip_t * 1.4 - 2), int(np.ceil(my + hw0 * 0.6 + lip_t * 1.6 + 5))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    x = xx - mx
    openness, width = float(openness), float(width)
    r = 1 - width                                       # rounding
    hw = hw0 * (0.80 + 0.38 * width) * (1 - 0.12 * openness)
    oh = openness * hw0 * (0.55 + 0.25 * r)             # full height of the opening
    u = np.clip(np.abs(x) / hw, 0, 1)
    shape = np.clip(1 - u ** 2, 0, 1) ** (0.5 + 0.7 * width)   # ellipse when rounded, a lens when spread
    top, bottom = my - 0.32 * oh * shape, my + 0.68 * oh * shape
    wl = hw * 1.06
    g = np.clip(1 - (np.abs(x) / wl) ** 2, 0, 1) ** 0.6
    bow = 1 - 0.3 * np.exp(-(x / (0.16 * hw)) ** 2)     # Cupid's bow: the upper lip is thinnest in the middle
    upper = top - lip_t * (0.85 + 0.45 * r) * g * bow
    lower = bottom + lip_t * (1.1 + 0.45 * r) * g
    inside_x = np.clip((wl - np.abs(x)) * 1.5, 0, 1)

    def between(a, b):
        return np.clip(yy - a + 0.5, 0, 1) * np.clip(b - yy + 0.5, 0, 1)

    patch = layer[y0:y1, x0:x1].astype(np.float32) / 255   # premultiplied, the face is opaque here
    rgb = patch[..., :3]

    def paint(mask, colour, opacity=1.0):
        nonlocal rgb
        m = (mask * opacity)[..., None]
        rgb = rgb * (1 - m) + np.asarray(colour, np.float32) * m

    paint(np.exp(-((yy - lower - 1.8) / 1.6) ** 2) * (np.abs(x) < 0.7 * hw), (0, 0, 0), 0.18)  # under-lip shadow
    lips = between(upper, lower) * inside_x
    lip = ident.lip
    paint(lips * (yy < my), lip * 0.82, 0.95)
    paint(lips * (yy >= my), lip, 0.95)
    paint(lips * np.exp(-((yy - (bottom + lower) / 2 + 0.6) / 1.0) ** 2) * (np.abs(x) < 0.5 * hw), (1, 1, 1), 0.12)
    opening = between(top, bottom) * (u < 1)
    depth = np.clip(1 - np.abs(yy - (top + bottom) / 2) / np.maximum(oh, 1) * 0.6, 0, 1)
    paint(opening, np.array([0.20, 0.06, 0.07], np.float32)[None, None] * (1.2 - 0.5 * depth[..., None]))
    if openness > 0.35:  # the tongue, low in the mouth
        tongue = _ellipse(mx, bottom.max() - 0.2 * oh, 0.55 * hw, 0.28 * oh, soft=1.5, yy=yy, xx=xx) * opening
        paint(tongue, (0.55, 0.22, 0.25), min(1.0, (openness - 0.35) * 4))
    teeth_h = min(0.42 * oh, 0.17 * hw0 + 1)
    side = np.clip(1 - np.abs(x) / (0.78 * hw), 0, 1)
    show = np.clip((openness - 0.1) / 0.15, 0, 1)
    paint(between(top, top + teeth_h) * opening * np.clip(side * 3, 0, 1), np.array([0.93, 0.90, 0.82]) *
          (0.75 + 0.25 * side[..., None]), 0.95 * show)
    show_lower = np.clip((openness - 0.45) / 0.2, 0, 1)
    paint(between(bottom - 0.6 * teeth_h, bottom) * opening * np.clip(side * 3, 0, 1),
          np.array([0.85, 0.82, 0.75]) * (0.7 + 0.3 * side[..., None]), 0.85 * show_lower)
    seam = np.exp(-((yy - my - 0.2) / 0.65) ** 2) * (u < 1) * np.clip(1 - oh / 2.5, 0, 1)
    paint(seam * np.clip((hw - np.abs(x)) / 2, 0, 1), (0.22, 0.08, 0.08), 0.85)   # closed lips' line
    for s in (-1, 1):  # the corners
        paint(np.exp(-(((xx - mx - s * hw) ** 2 + (yy - my) ** 2) / 1.5)), (0.25, 0.1, 0.1), 0.45)
    layer[y0:y1, x0:x1, :3] = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _drop_jaw(layer: np.ndarray, ident: Identity, openness: float) -> np.ndarray:
    """A copy of the layer with everything between the mouth and just below the chin moved down by up to `jaw`
    pixels (a vertical resample, linear between rows); the neck below stretches."""
    out = layer.copy()
    drop = ident.jaw * openness
    if drop < 0.05:
        return out
    start, weight = _jaw_weight(ident)
    src = np.clip(np.arange(start, FRAME_SIZE, dtype=np.float32)[:, None] - drop * weight, 0, FRAME_SIZE - 1)
    lo = src.astype(np.int64)
    frac = (src - lo)[..., None]
    hi = np.minimum(lo + 1, FRAME_SIZE - 1)
    cols = np.arange(FRAME_SIZE)[None, :]
    low, high = layer[lo, cols].astype(np.float32), layer[hi, cols].astype(np.float32)
    out[start:] = (low + (high - low) * frac + 0.5).astype(np.uint8)
    return out


def _jaw_weight(ident: Identity) -> tuple[int, np.ndarray]:
    """(first row, (rows, S) weights): how much of the jaw drop each pixel below the mouth takes (computed once)."""
    if ident.jaw_weight is None:
        mx, my = ident.mouth[:2]
        x0, _, x1, chin = ident.box
        a = (x1 - x0) / 2
        rows = np.arange(int(my), FRAME_SIZE, dtype=np.float32)[:, None]
        cols = np.arange(FRAME_SIZE, dtype=np.float32)[None, :]
        weight = _smoothstep(my, my + 0.35 * (chin - my), rows) * (1 - _smoothstep(chin + 3, chin + 22, rows)) * \
            np.exp(-((cols - mx) / (1.15 * a)) ** 4)
        ident.jaw_weight = (int(my), weight.astype(np.float32))
    return ident.jaw_weight


OPENNESS_STEPS, WIDTH_STEPS = 40, 10   # the renderer's resolution of (openness, width): 1/40 of the opening is < 0.5 px
_FACES: dict = {}                      # rendered heads of the identity being drawn, by quantised mouth


def render_face(ident: Identity, openness: float, width: float) -> np.ndarray:
    """The identity's head layer (premultiplied RGBA uint8, canonical pose) with the mouth at (openness, width),
    quantised to OPENNESS_STEPS x WIDTH_STEPS levels; the heads of the last identity asked for are kept (read-only)."""
    key = (int(round(float(openness) * OPENNESS_STEPS)), int(round(float(width) * WIDTH_STEPS)))
    if _FACES.get("identity") is not ident:
        _FACES.clear()
        _FACES["identity"] = ident
    if key not in _FACES:
        o, w = key[0] / OPENNESS_STEPS, key[1] / WIDTH_STEPS
        layer = _drop_jaw(ident.layer, ident, o)
        _draw_mouth(layer, ident, o, w)
        layer.flags.writeable = False
        _FACES[key] = layer
    return _FACES[key]


# ---------------------------------------------------------------------------------------------------------- per clip
def _wave(rng: np.random.Generator, t: np.ndarray, amplitude: float) -> np.ndarray:
    """A smooth random curve over time t (seconds), |value| <= amplitude: three slow sinusoids and an offset."""
    freqs, phases = rng.uniform(0.08, 0.6, 3), rng.uniform(0, 2 * np.pi, 3)
    weights = rng.dirichlet(np.ones(4))
    curve = weights[0] * rng.uniform(-1, 1) + sum(w * np.sin(2 * np.pi * f * t + p)
                                                  for w, f, p in zip(weights[1:], freqs, phases))
    return amplitude * curve


def _background(rng: np.random.Generator) -> np.ndarray:
    """(S, S, 3) float [0, 1]: a gradient, smooth noise or a blurred crop of a packaged photo."""
    from PIL import Image, ImageFilter

    kind = rng.integers(3)
    if kind == 0:
        c0, c1 = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
        angle = rng.uniform(0, 2 * np.pi)
        t = np.clip(0.5 + ((_XX - 80) * np.cos(angle) + (_YY - 80) * np.sin(angle)) / 160, 0, 1)[..., None]
        image = c0 * (1 - t) + c1 * t
    elif kind == 1:
        base = rng.uniform(0.15, 0.85, 3)
        image = base + 0.12 * np.stack([_noise(rng, rng.uniform(8, 25)) for _ in range(3)], -1)
    else:
        photo = _photo(str(rng.choice(BACKGROUND_PHOTOS)))
        h, w = photo.shape[:2]
        side = int(min(h, w) * rng.uniform(0.35, 0.8))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = Image.fromarray(np.round(photo[y:y + side, x:x + side] * 255).astype(np.uint8))
        crop = crop.resize((FRAME_SIZE, FRAME_SIZE), Image.BILINEAR).filter(ImageFilter.GaussianBlur(rng.uniform(3, 7)))
        image = np.asarray(crop, np.float32) / 255 * rng.uniform(0.7, 1.1, 3)
    return np.clip(image, 0, 1).astype(np.float32)


def _lighting(rng: np.random.Generator) -> np.ndarray:
    """(S, S, 3) multiplicative light: a gain, a colour cast and a soft directional gradient."""
    gain = rng.uniform(0.78, 1.12)
    cast = rng.uniform(0.9, 1.1, 3)
    angle, strength = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.3)
    gradient = 1 + strength * ((_XX - 80) * np.cos(angle) + (_YY - 80) * np.sin(angle)) / 80
    return (gain * cast * gradient[..., None]).astype(np.float32)


def _pose(rng: np.random.Generator, count: int) -> np.ndarray:
    """(T, 4) head pose per frame: (dx, dy) in pixels (|.| <= 8), rotation in degrees (|.| <= 5), scale (0.9-1.1)."""
    t = np.arange(count) / FPS
    dx, dy = _wave(rng, t, rng.uniform(2, 8)), _wave(rng, t, rng.uniform(2, 6))
    angle = _wave(rng, t, rng.uniform(1, 5))
    scale = np.clip(rng.uniform(0.93, 1.07) + _wave(rng, t, 0.03), 0.9, 1.1)
    return np.stack([dx, dy, angle, scale], 1)


def _affine(ident: Identity, pose) -> np.ndarray:
    """2x3 canonical -> frame map for one pose, about the face box centre."""
    dx, dy, angle, scale = pose
    x0, y0, x1, y1 = ident.box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    c, s = np.cos(np.deg2rad(angle)) * scale, np.sin(np.deg2rad(angle)) * scale
    lin = np.array([[c, -s], [s, c]])
    return np.concatenate([lin, (centre + (dx, dy) - lin @ centre)[:, None]], 1)


def _box_in_frame(ident: Identity, m: np.ndarray, drop: float) -> np.ndarray:
    """The true face box in the frame: the bounding box of the ellipse inscribed in the canonical box (its bottom
    moved down with the jaw), mapped through the pose."""
    x0, y0, x1, y1 = ident.box
    y1 = y1 + drop
    theta = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    pts = np.stack([(x0 + x1) / 2 + (x1 - x0) / 2 * np.cos(theta), (y0 + y1) / 2 + (y1 - y0) / 2 * np.sin(theta)], 1)
    pts = _apply(m, pts)
    box = np.array([np.floor(pts[:, 0].min()), np.floor(pts[:, 1].min()), np.ceil(pts[:, 0].max()),
                    np.ceil(pts[:, 1].max())])
    return np.clip(box, 0, FRAME_SIZE).astype(np.int64)


def render_clip(cfg: Config, identity: int, clip: int, only: list[int] | None = None) -> dict:
    """One clip: dict(frames (T, 160, 160, 3) uint8, wav float32 16 kHz (T * 640 samples), boxes (T, 4) int
    (x0, y0, x1, y1) of the true face, mouth (T, 2) (openness, width), text, voice, speed, pitch, cut).
    With `only`, frames and boxes hold just those frame indices (the rest of the dict is the whole clip's)."""
    from PIL import Image

    ident = make_identity(cfg, identity)
    speech = clip_speech(cfg, identity, clip)
    mouth = mouth_track(speech["wav"])
    count = len(mouth)
    rng = _rng(cfg.seed, 20, identity, clip)
    background = _background(rng)
    light = _lighting(rng)
    poses = _pose(rng, count)
    noise_rng = _rng(cfg.seed, 21, identity, clip)
    noise = noise_rng.standard_normal((5, FRAME_SIZE, FRAME_SIZE, 3), dtype=np.float32) * rng.uniform(0.5, 2.5)
    light = light * 255
    lit_background = background * light
    indices = range(count) if only is None else [int(i) for i in only]
    frames = np.empty((len(indices), FRAME_SIZE, FRAME_SIZE, 3), np.uint8)
    boxes = np.empty((len(indices), 4), np.int64)
    for k, i in enumerate(indices):
        layer = render_face(ident, *mouth[i])
        m = _affine(ident, poses[i])
        inverse = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
        # PIL samples at pixel centres (index + 0.5); this makes its map the same as _apply's on pixel indices
        shift = inverse[:, 2] + 0.5 - inverse[:, :2] @ np.array([0.5, 0.5])
        coeffs = (*inverse[0, :2], shift[0], *inverse[1, :2], shift[1])
        moved = Image.frombytes("RGBa", (FRAME_SIZE, FRAME_SIZE), layer.tobytes()).transform(
            (FRAME_SIZE, FRAME_SIZE), Image.AFFINE, coeffs, resample=Image.BILINEAR)
        fg = np.frombuffer(moved.tobytes(), np.uint8).reshape(FRAME_SIZE, FRAME_SIZE, 4).astype(np.float32)
        image = fg[..., :3] * (light / 255) + lit_background * (1 - fg[..., 3:] / 255)   # premultiplied "over"
        image += noise[i % len(noise)]                                                # sensor noise
        np.clip(image, 0, 255, out=image)
        frames[k] = (image + 0.5).astype(np.uint8)
        boxes[k] = _box_in_frame(ident, m, ident.jaw * round(float(mouth[i, 0]) * OPENNESS_STEPS) / OPENNESS_STEPS)
    return dict(frames=frames, wav=speech["wav"], boxes=boxes, mouth=mouth, text=speech["text"],
                voice=speech["voice"], speed=speech["speed"], pitch=speech["pitch"], cut=speech["cut"])


def crop_box(box, chin_pad: float = 0.08) -> tuple[int, int, int, int]:
    """The stored crop for a true face box: the box grown by `chin_pad` of its height at the bottom (the official
    preprocess pads S3FD's box by 10 px at the bottom to keep the chin), clipped to the frame."""
    x0, y0, x1, y1 = (int(v) for v in box)
    y1 = min(FRAME_SIZE, int(round(y1 + chin_pad * (y1 - y0))))
    return max(0, x0), max(0, y0), min(FRAME_SIZE, x1), y1


def face_crops(frames: np.ndarray, boxes: np.ndarray, size: int = 96) -> np.ndarray:
    """(T, size, size, 3) uint8: each frame's crop_box resized (bicubic; aspect not kept, as Wav2Lip's loader)."""
    from PIL import Image

    out = np.empty((len(frames), size, size, 3), np.uint8)
    for i, (frame, box) in enumerate(zip(frames, boxes)):
        x0, y0, x1, y1 = crop_box(box)
        out[i] = np.asarray(Image.fromarray(frame[y0:y1, x0:x1]).resize((size, size), Image.BICUBIC))
    return out


# ---------------------------------------------------------------------------------------------------------- the layout
def clip_name(identity: int, clip: int) -> str:
    return f"{identity_name(identity)}/{clip:05d}"


def read_filelist(root: str | Path, split: str) -> list[str]:
    """The "<identity>/<clip>" names of a split from root/filelists/<split>.txt (Wav2Lip's format; LRS2's own
    lists carry a trailing " NF"/" MV" tag, which is dropped)."""
    path = Path(root) / "filelists" / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; build the set with: python -m train.talking_faces "
                                f"--out_dir={root}")
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


def load_preprocessed(data_root: str | Path, name: str, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """(faces (T, size, size, 3) uint8, wav float32 16 kHz) of <data_root>/<name>/ (0.jpg, 1.jpg, ..., audio.wav);
    data_root is the `preprocessed/` folder, as Wav2Lip's --data_root. Crops of another size (a real LRS2 set from
    the official preprocess) are resized."""
    import soundfile
    from PIL import Image

    folder = Path(data_root) / name
    files = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem))
    if not files:
        raise FileNotFoundError(f"no frames (0.jpg, 1.jpg, ...) in {folder}")
    faces = []
    for path in files:
        with Image.open(path) as im:
            im = im.convert("RGB")
            faces.append(np.asarray(im if im.size == (size, size) else im.resize((size, size), Image.BICUBIC)))
    wav, sr = soundfile.read(folder / "audio.wav", dtype="float32")
    if wav.ndim > 1:
        wav = wav.mean(1)
    if sr != SAMPLE_RATE:
        import librosa

        wav = librosa.resample(wav, orig_sr=sr, target_sr=SAMPLE_RATE)
    return np.stack(faces), wav


def _clip_done(out: Path, name: str, cfg: Config) -> bool:
    return ((out / "preprocessed" / name / "audio.wav").is_file() and (out / "main" / f"{name}.txt").is_file()
            and (not cfg.write_video or (out / "main" / f"{name}.mp4").is_file()))


def _write_clip(out: Path, name: str, cfg: Config, clip: dict) -> None:
    """Write one clip atomically enough for a resume: everything goes into temporary names first; the preprocessed
    folder, renamed last, is what marks the clip done."""
    import soundfile
    from PIL import Image

    ident_dir, clip_id = name.split("/")
    pre_parent, main_dir = out / "preprocessed" / ident_dir, out / "main" / ident_dir
    pre_parent.mkdir(parents=True, exist_ok=True)
    main_dir.mkdir(parents=True, exist_ok=True)
    final = pre_parent / clip_id
    if final.exists():
        shutil.rmtree(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{clip_id}-", dir=pre_parent))
    try:
        for i, face in enumerate(face_crops(clip["frames"], clip["boxes"], cfg.crop_size)):
            Image.fromarray(face).save(tmp / f"{i}.jpg", quality=95)
        soundfile.write(tmp / "audio.wav", clip["wav"], SAMPLE_RATE, subtype="PCM_16")
        text = (f"Text:  {clip['text'].upper()}\nVoice: {clip['voice']}\nSpeed: {clip['speed']}\n"
                f"Pitch: {clip['pitch']}\nFrames: {len(clip['frames'])}\n")
        if cfg.write_video:
            video_tmp = main_dir / f".{clip_id}.tmp.mp4"
            _write_video(video_tmp, clip["frames"], tmp / "audio.wav")
            os.replace(video_tmp, main_dir / f"{clip_id}.mp4")
        (main_dir / f".{clip_id}.txt.tmp").write_text(text)
        os.replace(main_dir / f".{clip_id}.txt.tmp", main_dir / f"{clip_id}.txt")
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_video(path: Path, frames: np.ndarray, wav_path: Path) -> None:
    """H.264 + AAC mp4 through imageio-ffmpeg's ffmpeg, one thread, bit-exact flags (no encoder version tags)."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path), (frames.shape[2], frames.shape[1]), fps=FPS, codec="libx264", pix_fmt_out="yuv420p",
        quality=None, audio_path=str(wav_path), audio_codec="aac", macro_block_size=1, ffmpeg_log_level="error",
        ffmpeg_timeout=120, output_params=["-crf", "18", "-preset", "medium", "-threads", "1", "-b:a", "64k",
                                           "-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1",
                                           "-shortest"])
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def content_checksum(root: str | Path) -> str:
    """sha256 over (path, sha256) of every preprocessed file, transcript and filelist, in sorted order: two builds
    with the same config give the same value (the mp4s are left out: they depend on the ffmpeg build)."""
    from train.data import file_sha256

    root = Path(root)
    files = sorted([*(root / "preprocessed").glob("*/*/*"), *(root / "main").glob("*/*.txt"),
                    *(root / "filelists").glob("*.txt")])
    digest = hashlib.sha256()
    for path in files:
        if path.name.startswith("."):
            continue
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def detection_rate(cfg: Config, count: int | None = None, frame: float = 0.5) -> dict:
    """skimage's LBP frontal-face cascade on one frame (at `frame` of clip 0) of each of the first `count`
    identities: the share where it finds a face, and where one of its boxes overlaps the true box (IoU >= 0.3)."""
    import skimage.data
    from skimage.feature import Cascade

    cascade = Cascade(skimage.data.lbp_frontal_face_cascade_filename())
    count = min(cfg.identities, count or cfg.detection_check)
    found = matched = 0
    for identity in range(count):
        length = len(clip_speech(cfg, identity, 0)["wav"]) // (SAMPLE_RATE // FPS)
        clip = render_clip(cfg, identity, 0, only=[int(frame * (length - 1))])
        grey = clip["frames"][0].astype(np.float32).mean(-1) / 255
        hits = cascade.detect_multi_scale(img=grey, scale_factor=1.2, step_ratio=1, min_size=(40, 40),
                                          max_size=(160, 160))
        found += bool(hits)
        matched += any(_iou(clip["boxes"][0], (h["c"], h["r"], h["c"] + h["width"], h["r"] + h["height"])) >= 0.3
                       for h in hits)
    return {"frames": count, "found": found / max(count, 1), "matched": matched / max(count, 1)}


def _iou(a, b) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def build(cfg: Config) -> dict:
    """Render and write every clip under cfg.out_dir (skipping finished ones), the filelists and manifest.json;
    returns the manifest."""
    from tqdm import tqdm

    _require_espeak()
    if cfg.min_words < 1 or cfg.max_words < cfg.min_words:
        raise SystemExit(f"need 1 <= min_words <= max_words; got {cfg.min_words}, {cfg.max_words}")
    start = time.time()
    out = Path(cfg.out_dir)
    for stale in out.glob("preprocessed/*/.*"):  # what a killed build left half-written
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.glob("main/*/.*"):
        stale.unlink(missing_ok=True)
    names = [clip_name(i, c) for i in range(cfg.identities) for c in range(cfg.clips_per_identity)]
    rendered = skipped = 0
    for name in tqdm(names, desc="talking faces", mininterval=10):
        if _clip_done(out, name, cfg):
            skipped += 1
            continue
        identity, clip = int(name[2:6]), int(name[7:])
        _write_clip(out, name, cfg, render_clip(cfg, identity, clip))
        rendered += 1
    (out / "filelists").mkdir(parents=True, exist_ok=True)
    split_ids = splits(cfg)
    for split in SPLITS:
        lines = [clip_name(i, c) for i in split_ids[split] for c in range(cfg.clips_per_identity)]
        _write_text(out / "filelists" / f"{split}.txt", "".join(f"{line}\n" for line in lines))
    frames = sum(len(list((out / "preprocessed" / n).glob("*.jpg"))) for n in names)
    sources = identity_sources(cfg)
    manifest = {
        "config": dataclasses.asdict(cfg),
        "counts": {"identities": cfg.identities, "clips": len(names), "frames": frames,
                   "seconds": frames / FPS, **{f"{s}_identities": len(split_ids[s]) for s in SPLITS},
                   **{f"{s}_clips": len(split_ids[s]) * cfg.clips_per_identity for s in SPLITS},
                   "procedural_identities": sources.count("procedural")},
        "identities": {identity_name(i): {"source": sources[i], "voice": identity_voice(cfg, i),
                                          "split": next(s for s in SPLITS if i in split_ids[s])}
                       for i in range(cfg.identities)},
        "espeak": espeak_version(),
        "sha256": content_checksum(out),
        "checksum_covers": "preprocessed/*/*/* (jpg, wav), main/*/*.txt, filelists/*.txt",
        "fps": FPS, "sample_rate": SAMPLE_RATE, "frame_size": FRAME_SIZE,
        "git_commit": common.git_commit(),
        "this_run": {"rendered_clips": rendered, "skipped_clips": skipped, "wall_seconds": None},
    }
    if cfg.detection_check:
        manifest["lbp_face_detection"] = detection_rate(cfg)
    manifest["this_run"]["wall_seconds"] = round(time.time() - start, 1)
    _write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def contact_sheet(cfg: Config, path: str | Path, identities: int = 8) -> Path:
    """A PNG of 2 frames (most closed and most open mouth of clip 0, the true box drawn) for each of the first
    `identities` speakers: a look at what the set holds."""
    from PIL import Image, ImageDraw

    tiles = []
    for identity in range(min(identities, cfg.identities)):
        clip = render_clip(cfg, identity, 0)
        for i in (int(np.argmin(clip["mouth"][:, 0])), int(np.argmax(clip["mouth"][:, 0]))):
            tile = Image.fromarray(clip["frames"][i])
            draw = ImageDraw.Draw(tile)
            draw.rectangle([int(v) for v in clip["boxes"][i]], outline=(0, 255, 0))
            draw.text((3, 2), f"{identity_name(identity)} open {clip['mouth'][i, 0]:.2f}", fill=(255, 255, 0))
            tiles.append(tile)
    columns = 4
    sheet = Image.new("RGB", (columns * FRAME_SIZE, -(-len(tiles) // columns) * FRAME_SIZE))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % columns) * FRAME_SIZE, (k // columns) * FRAME_SIZE))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def main(cfg: Config) -> dict:
    manifest = build(cfg)
    sheet = contact_sheet(cfg, Path(cfg.out_dir) / "contact_sheet.png")  # a look at the set, outside its checksum
    counts = manifest["counts"]
    print(f"{counts['clips']} clips ({counts['frames']} frames, {counts['seconds'] / 60:.1f} min) of "
          f"{counts['identities']} identities in {cfg.out_dir}; sha256 {manifest['sha256'][:16]}; "
          f"{manifest['this_run']['rendered_clips']} rendered, {manifest['this_run']['skipped_clips']} skipped, "
          f"{manifest['this_run']['wall_seconds']:.0f} s")
    if "lbp_face_detection" in manifest:
        d = manifest["lbp_face_detection"]
        print(f"LBP face cascade: finds a face in {d['found']:.0%} of {d['frames']} frames, the true face in "
              f"{d['matched']:.0%}")
    print(f"contact sheet: {sheet}")
    return manifest


if __name__ == "__main__":
    main(common.parse_config(Config))
