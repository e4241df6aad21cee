"""Wav2Lip tab: lip-sync a face video (or a still photo) to any speech, and score input and output with SyncNet.

Prajwal et al. 2020, "A Lip Sync Expert Is All You Need for Speech to Lip Generation In The Wild" (arXiv:2008.10010);
models in models/wav2lip.py, trainers in train/wav2lip.py. The pipeline is the official inference.py's, with its
known failures designed out:
- a frame without a face is passed through unchanged (the official code aborts the whole video);
- frames are streamed in chunks through detection, the generator and the encoder, twice (boxes first, then the
  faces), so memory does not grow with the video's length; frames above 720p (short side) are downscaled first;
- every video is resampled to 25 fps (the rate the expert and the mel indexing assume; variable frame rates too) and
  looped or cut to the audio's length; a still image is repeated;
- media I/O is imageio-ffmpeg's bundled ffmpeg (what moviepy uses) called with argument lists, never a shell.
Face detection: face-alignment's S3FD when that package and its weights are available (a Space with the Hub), else
skimage's LBP frontal-face cascade, whose model ships inside scikit-image (offline). The cascade's box is mapped to
the crop Wav2Lip was trained on by CASCADE_TO_CROP, measured on the talking faces' true boxes.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import gradio as gr

from demos import common, i18n

TITLE = "Wav2Lip"
GENERATOR = "wav2lip-talking-faces"
EXPERT = "syncnet-talking-faces"
OFFICIAL_GENERATOR, OFFICIAL_EXPERT = "wav2lip-official", "syncnet-official"  # what convert_wav2lip's docstring makes
FPS = 25                      # every video is resampled to this (the models' rate)
MAX_SECONDS = 60              # lip-synced per request; longer audio is cut, with a message
DEFAULT_SECONDS = 20
MAX_SHORT_SIDE = 720          # frames above 720p are downscaled before anything else
MIN_SIDE = 32                 # frames smaller than this (after the resize factor) cannot hold a face to redraw
MAX_TEXT_CHARS = 500          # typed text spoken by espeak-ng
SCORE_SECONDS = 20            # SyncNet scores the first 20 s with faces (its cost grows with the offsets searched)
CHUNK = 64                    # frames per chunk through the generator and the encoder
DETECT_EVERY = 5              # the detector runs on every 5th frame; boxes in between are interpolated
SMOOTH_FRAMES = 5             # the official moving average of boxes over time
DEFAULT_PADS = (0, 10, 0, 0)  # top, bottom, left, right in pixels: the official default keeps the chin
# The LBP cascade's square box (side s) -> Wav2Lip's training crop: (left, top, right, bottom) offsets in units of
# s, medians over 38 frames of 20 talking-face identities against their true boxes (median IoU 0.77 on test
# identities: tests/test_wav2lip_pipeline.py).
CASCADE_TO_CROP = (0.052, 0.155, -0.074, 0.117)
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples" / "wav2lip"  # test-split clips made here
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg", ".ogv", ".gif")


# ---------------------------------------------------------------------------------------------------------- media
def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def read_audio(path, max_seconds: float) -> tuple[np.ndarray, float]:
    """(mono float32 16 kHz waveform of at most max_seconds, the length it had before the cut in seconds, capped at
    max_seconds + 1) of any file ffmpeg decodes (wav, mp3, m4a, ogg, flac, a video's audio track)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise common.gr_error("The audio file is empty; upload speech as wav, mp3, m4a, ogg or flac (or a video with sound)")
    if path.stat().st_size > common.MAX_UPLOAD_BYTES:
        raise common.gr_error(f"The audio file is over {common.MAX_UPLOAD_BYTES // 2**20} MB")
    command = [ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{max_seconds + 1:.3f}", "-vn",
               "-ac", "1", "-ar", "16000", "-f", "f32le", "-"]
    out = subprocess.run(command, capture_output=True, timeout=300)
    wav = np.frombuffer(out.stdout, np.float32)
    if out.returncode != 0 and len(wav) == 0:
        try:
            silent_video = not probe_video(path)["has_audio"]
        except Exception:  # not a video either
            silent_video = False
        if silent_video:
            raise common.gr_error("The file has no audio track; upload speech as wav, mp3, m4a, ogg or flac, or type a text")
        reason = out.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown format"]
        raise common.gr_error(f"Cannot read the audio ({reason[0][:120]}); upload wav, mp3, m4a, ogg or flac")
    if len(wav) == 0:
        raise common.gr_error("The file has no audio track; upload speech as wav, mp3, m4a, ogg or flac, or type a text")
    length = len(wav) / 16000
    return wav[:int(max_seconds * 16000)].copy(), length


def check_speech(wav: np.ndarray) -> None:
    """A clear error for silence: the peak must reach -50 dBFS somewhere."""
    if len(wav) < 16000 * 0.2:
        raise common.gr_error(f"The audio is {len(wav) / 16000:.2f} s long; at least 0.2 s of speech is needed")
    if float(np.abs(wav).max()) < 10 ** (-50 / 20):
        raise common.gr_error("The audio is silent (its peak is below -50 dBFS); upload speech or type a text")


def probe_video(path) -> dict:
    """fps, size, duration, rotation and whether there is sound, from ffmpeg's header parse (no frame decoded)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise common.gr_error("The video file is empty; upload an mp4, mov, webm, mkv or avi video, or a face photo")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
    except Exception as failure:  # ffmpeg's message on hostile bytes: the file failed, not the app
        raise common.gr_error(f"Not a video ffmpeg can read ({type(failure).__name__}); upload an mp4, mov, webm, mkv or avi "
                    "video, or a face photo (PNG or JPEG)") from None
    width, height = meta["source_size"]
    if meta.get("rotate", 0) in (90, 270, -90):  # ffmpeg turns such frames upright while decoding
        width, height = height, width
    return {"fps": float(meta.get("fps") or FPS), "size": (width, height), "duration": meta.get("duration") or 0.0,
            "has_audio": bool(meta.get("audio_codec"))}


def output_size(size: tuple[int, int], resize_factor: int = 1) -> tuple[int, int]:
    """(width, height): at most 720p by the short side, divided by resize_factor, both even (H.264's 4:2:0)."""
    width, height = size
    scale = min(1.0, MAX_SHORT_SIDE / min(width, height)) / resize_factor
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def check_size(size: tuple[int, int], what: str) -> tuple[int, int]:
    """`size` unless a side is under MIN_SIDE, where no face fits (a gr.Error naming the allowed sizes)."""
    if min(size) < MIN_SIDE:
        raise common.gr_error(f"The {what} is {size[0]}x{size[1]} pixels after the resize factor; at least "
                              f"{MIN_SIDE} px on each side is needed (faces of about 96 px or more work best)")
    return size


def video_frames(path, size: tuple[int, int]):
    """RGB uint8 frames of `size` at 25 fps, decoded one at a time (ffmpeg's fps filter makes any input, variable
    frame rates included, a constant 25 fps)."""
    import imageio_ffmpeg

    width, height = size
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24",
                                        output_params=["-vf", f"fps={FPS},scale={width}:{height}"])
    next(reader)
    try:
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


@dataclass
class Source:
    """The face video or still photo, as frames at 25 fps and at most 720p."""
    path: str
    still: np.ndarray | None  # a photo: this one frame, repeated
    size: tuple[int, int]
    info: dict = field(default_factory=dict)

    @classmethod
    def open(cls, path, resize_factor: int = 1) -> "Source":
        if path is None:
            raise common.gr_error("Upload a face video (mp4, mov, webm ...) or a face photo (PNG or JPEG) first")
        path = str(path)
        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
            try:
                Image.open(path).close()  # reads the header: is it a photo given as the video (a still face)?
                is_image = True
            except Exception:
                is_image = False
            if is_image:
                common.check_image_file(path)
                try:
                    rgb = np.asarray(Image.open(path).convert("RGB"))
                except Exception as error:  # a header that parses over pixels that do not (truncated, corrupt)
                    raise common.gr_error(f"The photo cannot be decoded ({type(error).__name__}); upload a complete "
                                          "PNG or JPEG face photo, or a video") from None
                size = check_size(output_size((rgb.shape[1], rgb.shape[0]), resize_factor), "photo")
                still = np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC))
                return cls(path, still, size, {"still": True})
        info = probe_video(path)
        return cls(path, None, check_size(output_size(info["size"], resize_factor), "video"), info)

    def frames(self, limit: int):
        """The first `limit` frames (fewer when the video is shorter)."""
        if self.still is not None:
            for _ in range(limit):
                yield self.still
            return
        for i, frame in enumerate(video_frames(self.path, self.size)):
            if i >= limit:
                return
            yield frame

    def looped(self, count: int, length: int):
        """`count` frames, the video's `length` frames over and over (the official loop to the audio's length)."""
        produced = 0
        while produced < count:
            for frame in self.frames(min(length, count - produced)):
                yield frame
                produced += 1


def write_video(frames, size: tuple[int, int], wav: np.ndarray, path: str) -> None:
    """H.264 at 25 fps with the 16 kHz audio muxed in as AAC, frames streamed to ffmpeg one at a time."""
    import imageio_ffmpeg
    import soundfile

    with tempfile.TemporaryDirectory(prefix="genzoo-wav2lip-") as tmp:
        audio = str(Path(tmp) / "audio.wav")
        soundfile.write(audio, wav, 16000, subtype="PCM_16")
        writer = imageio_ffmpeg.write_frames(path, size, fps=FPS, codec="libx264", macro_block_size=2, quality=7,
                                             ffmpeg_log_level="error",
                                             audio_path=audio, audio_codec="aac", output_params=["-shortest"])
        writer.send(None)
        try:
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()


# ---------------------------------------------------------------------------------------------------------- detection
class CascadeDetector:
    """skimage's LBP frontal-face cascade (its model ships with scikit-image): the largest face, on a copy at most
    320 px wide, mapped to Wav2Lip's crop (CASCADE_TO_CROP)."""
    name = "skimage LBP frontal-face cascade (offline)"

    def __init__(self):
        import skimage.data
        from skimage.feature import Cascade

        self.cascade = Cascade(skimage.data.lbp_frontal_face_cascade_filename())

    def __call__(self, frame: np.ndarray) -> tuple[float, float, float, float] | None:
        scale = min(1.0, 320 / max(frame.shape[:2]))
        small = Image.fromarray(frame).convert("L")
        if scale < 1:
            small = small.resize((round(frame.shape[1] * scale), round(frame.shape[0] * scale)), Image.BILINEAR)
        grey = np.asarray(small, np.float32) / 255
        side = min(grey.shape)
        # scale step 1.1 and 2 neighbours: 100 % of the talking faces' frames, where skimage's defaults (1.2, 4) miss
        # a third of the open-mouth frames; ~0.08 s per frame at 320 px
        hits = self.cascade.detect_multi_scale(img=grey, scale_factor=1.1, step_ratio=1, min_size=(24, 24),
                                               max_size=(side, side), min_neighbor_number=2)
        if not hits:
            return None
        hit = max(hits, key=lambda h: h["width"] * h["height"])
        s = hit["width"]
        left, top, right, bottom = CASCADE_TO_CROP
        box = (hit["c"] + left * s, hit["r"] + top * s, hit["c"] + s + right * s, hit["r"] + s + bottom * s)
        return tuple(v / scale for v in box)


class S3FDDetector:
    """face-alignment's S3FD (Zhang et al. 2017), the official Wav2Lip detector, when installed with its weights."""
    name = "S3FD (face-alignment)"

    def __init__(self):
        import face_alignment  # optional: not a requirement; its weights download from the web on first use

        self.net = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D,
                                                device="cuda" if torch.cuda.is_available() else "cpu",
                                                face_detector="sfd").face_detector

    def __call__(self, frame: np.ndarray):
        boxes = self.net.detect_from_image(frame[..., ::-1].copy())
        boxes = [b for b in boxes if b[4] > 0.5]
        return tuple(float(v) for v in max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))[:4]) if boxes else None


@functools.cache
def detector():
    """S3FD when it loads, else the cascade: chosen once per process and named in the tab."""
    try:
        return S3FDDetector()
    except Exception:  # not installed, or offline without its weights
        return CascadeDetector()


def track_boxes(detections: dict[int, tuple | None], count: int, pads=DEFAULT_PADS, smooth: bool = True,
                size: tuple[int, int] | None = None) -> list[tuple[int, int, int, int] | None]:
    """One box per frame (or None: no face) from detections on some frames: padded, interpolated linearly between
    neighbouring detections, a frame nearer a miss than a hit gets no face; then the official moving average over
    SMOOTH_FRAMES frames (over frames with a face only), rounded and clipped to the frame."""
    top, bottom, left, right = pads
    keys = sorted(detections)
    padded = {k: None if b is None else np.array([b[0] - left, b[1] - top, b[2] + right, b[3] + bottom], float)
              for k, b in detections.items()}
    boxes: list[np.ndarray | None] = []
    j = 0
    for i in range(count):
        while j + 1 < len(keys) and keys[j + 1] <= i:
            j += 1
        a = keys[j]
        b = keys[j + 1] if j + 1 < len(keys) else a
        pa, pb = padded[a], padded[b]
        if pa is not None and pb is not None:
            boxes.append(pa + (pb - pa) * (i - a) / (b - a) if b > a else pa)
        elif pa is not None and (i - a) * 2 <= b - a:  # nearer the hit than the miss
            boxes.append(pa)
        elif pb is not None and (b - i) * 2 < b - a:
            boxes.append(pb)
        else:
            boxes.append(None)
    if smooth:
        smoothed = []
        for i, box in enumerate(boxes):
            window = [w for w in boxes[i:i + SMOOTH_FRAMES] if w is not None]
            smoothed.append(None if box is None else np.mean(window, axis=0))
        boxes = smoothed
    width, height = size or (10**9, 10**9)
    out = []
    for box in boxes:
        if box is None:
            out.append(None)
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        out.append((x0, y0, x1, y1) if x1 - x0 >= 8 and y1 - y0 >= 8 else None)
    return out


def detect(source: Source, length: int, pads=DEFAULT_PADS, smooth: bool = True, every: int = DETECT_EVERY):
    """(boxes of the first `length` frames, frames actually there): the detector on every `every`-th frame and the
    last, streamed."""
    find = detector()
    detections, count = {}, 0
    last = None
    for i, frame in enumerate(source.frames(length)):
        count = i + 1
        last = frame
        if i % every == 0:
            detections[i] = find(frame)
    if count == 0:
        raise common.gr_error("The video has no frames; upload an mp4, mov, webm, mkv or avi video, or a face photo")
    if (count - 1) % every:
        detections[count - 1] = find(last)
    return track_boxes(detections, count, pads, smooth, source.size), count


def preview(source: Source, pads=DEFAULT_PADS, samples: int = 4) -> Image.Image:
    """`samples` frames spread over the first 10 s with their boxes drawn: a check before the full run."""
    from PIL import ImageDraw

    boxes, count = detect(source, 10 * FPS, pads, smooth=False, every=DETECT_EVERY)
    picks = sorted({round(k * (count - 1) / max(samples - 1, 1)) for k in range(samples)})
    tiles = []
    for i, frame in enumerate(source.frames(count)):
        if i in picks:
            tile = Image.fromarray(frame.copy())
            draw = ImageDraw.Draw(tile)
            box = boxes[i]
            if box is None:
                draw.text((6, 6), "no face: passed through", fill=(255, 60, 60))
            else:
                draw.rectangle(box, outline=(0, 255, 0), width=max(2, tile.width // 200))
            tiles.append(tile)
    width = sum(t.width for t in tiles)
    sheet = Image.new("RGB", (width, tiles[0].height))
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width
    return sheet


# ---------------------------------------------------------------------------------------------------------- pipeline
def crop(frame: np.ndarray, box) -> torch.Tensor:
    x0, y0, x1, y1 = box
    face = Image.fromarray(frame[y0:y1, x0:x1]).resize((96, 96), Image.BICUBIC)
    return torch.from_numpy(np.asarray(face).copy()).permute(2, 0, 1).float() / 255


def paste(frame: np.ndarray, box, face: torch.Tensor) -> np.ndarray:
    x0, y0, x1, y1 = box
    array = (face.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    out = frame.copy()
    out[y0:y1, x0:x1] = np.asarray(Image.fromarray(array).resize((x1 - x0, y1 - y0), Image.BICUBIC))
    return out


@dataclass
class Result:
    frames: int
    faces: int
    size: tuple[int, int]
    seconds: dict                    # wall seconds per stage: detection, generator, video I/O (decode + encode)
    crops_in: list = field(default_factory=list)   # the first SCORE_SECONDS of consecutive faces, for SyncNet
    crops_out: list = field(default_factory=list)
    score_start: int = 0


def lip_sync(model, source: Source, wav: np.ndarray, out_path: str | None, pads=DEFAULT_PADS, smooth: bool = True,
             chunk: int = CHUNK, batch_size: int = 16, progress=None, frames_out: list | None = None) -> Result:
    """The whole pipeline. Writes the video to out_path (None: frames go to `frames_out`, for tests); returns
    counts, per-stage times and the crops SyncNet scores."""
    from models import wav2lip as W

    seconds = {"detection": 0.0, "generator": 0.0, "video I/O": 0.0}
    count = max(1, int(round(len(wav) / 16000 * FPS)))
    started = time.perf_counter()
    boxes, length = detect(source, count, pads, smooth)
    seconds["detection"] += time.perf_counter() - started
    mel = W.melspectrogram(wav)
    faces = sum(box is not None for box in boxes)
    result = Result(count, faces * count // length if length else 0, source.size, seconds)
    first_face = next((i for i, b in enumerate(boxes) if b is not None), None)
    if first_face is not None:  # SyncNet's windows must start on a frame whose mel column is whole: 5 | frame
        result.score_start = -(-first_face // 5) * 5
    limit = SCORE_SECONDS * FPS

    def frames():
        buffer, done = [], 0
        for i, frame in enumerate(source.looped(count, length)):
            buffer.append(frame)
            if len(buffer) == chunk or i == count - 1:
                begin = time.perf_counter()
                start = i + 1 - len(buffer)
                indices = [k for k in range(len(buffer)) if boxes[(start + k) % length] is not None]
                if indices:
                    crops = torch.stack([crop(buffer[k], boxes[(start + k) % length]) for k in indices])
                    mels = torch.from_numpy(W.mel_chunks(mel, len(buffer), first=start)[indices])
                    with torch.inference_mode():
                        generated = W.lip_sync_faces(model, crops, mels, batch_size)
                    for n, k in enumerate(indices):
                        frame_index = start + k
                        scored = result.score_start <= frame_index < result.score_start + limit
                        if scored and frame_index - result.score_start == len(result.crops_in):
                            result.crops_in.append(crops[n])
                            result.crops_out.append(generated[n])
                        buffer[k] = paste(buffer[k], boxes[(start + k) % length], generated[n])
                seconds["generator"] += time.perf_counter() - begin
                yield from buffer
                done += len(buffer)
                buffer = []
                if progress is not None:
                    elapsed = time.perf_counter() - started
                    progress(done / count, desc=f"{done}/{count} frames, about {elapsed / done * (count - done):.0f} "
                                                "s left")

    begin = time.perf_counter()
    if out_path is None:
        frames_out.extend(frames())
    else:
        write_video(frames(), source.size, wav[:int(count / FPS * 16000)], out_path)
    seconds["video I/O"] = time.perf_counter() - begin - seconds["generator"]  # decoding the frames, encoding them
    return result


def sync_scores(syncnet, crops: list, wav: np.ndarray, start: int) -> dict | None:
    """LSE-D / LSE-C / offset (models.wav2lip.lip_sync_error) of consecutive face crops starting at frame `start`
    (a multiple of 5, so its mel column is whole) against the audio from that frame on; None when there are fewer
    than 10 frames."""
    from models import wav2lip as W

    if len(crops) < 2 * W.SYNC_FRAMES:
        return None
    mel = W.melspectrogram(wav)[:, W.mel_index(start):]
    with torch.inference_mode():
        return W.lip_sync_error(W.sync_distances(syncnet, torch.stack(crops), mel))


# ---------------------------------------------------------------------------------------------------------- models
@functools.cache
def checkpoints() -> tuple[str, str]:
    """(generator, expert): converted official weights (train/convert_wav2lip.py) when present, else the bundled
    pair trained here."""
    generator = common.resolvable((OFFICIAL_GENERATOR, GENERATOR), "wav2lip")
    expert = common.resolvable((OFFICIAL_EXPERT, EXPERT), "wav2lip")
    return (generator or (GENERATOR,))[0], (expert or (EXPERT,))[0]


@functools.cache
def models():
    from models import wav2lip as W
    from models.hub import default_device, load_pretrained

    device = default_device()
    generator, expert = checkpoints()
    return load_pretrained(W.Wav2Lip, generator, device), load_pretrained(W.SyncNet, expert, device)


def speech_from_text(text: str) -> np.ndarray:
    from train import talking_faces

    if not isinstance(text, str) or not text.strip():
        raise common.gr_error("Upload an audio file or type a text to speak")
    if len(text) > MAX_TEXT_CHARS:
        raise common.gr_error(f"The text is {len(text)} characters; at most {MAX_TEXT_CHARS}")
    if not talking_faces.espeak_available():
        raise common.gr_error("Text to speech needs espeak-ng, which is not installed here; upload an audio file instead")
    return talking_faces.speak(text.strip())


def check_pads(top, bottom, left, right) -> tuple[int, int, int, int]:
    return tuple(common.check_int(v, name, 0, 200) for v, name in
                 ((top, "Top pad"), (bottom, "Bottom pad"), (left, "Left pad"), (right, "Right pad")))


def run(video, audio, text, top, bottom, left, right, resize_factor, smooth, max_seconds, progress=None):
    """The tab's function: (output video path, sync-score markdown, status line)."""
    pads = check_pads(top, bottom, left, right)
    resize_factor = common.check_int(resize_factor, "Resize factor", 1, 4)
    max_seconds = common.check_int(max_seconds, "Max duration (s)", 1, MAX_SECONDS)
    notes = []
    if audio is not None:
        wav, length = read_audio(audio, max_seconds)
        if length > max_seconds:
            notes.append(f"the audio is longer than {max_seconds} s: only the first {max_seconds} s are lip-synced")
    else:
        wav = speech_from_text(text)[:max_seconds * 16000]
    check_speech(wav)
    source = Source.open(video, resize_factor)
    if source.info.get("fps") and abs(source.info["fps"] - FPS) > 0.01:
        notes.append(f"the video's {source.info['fps']:.2f} fps were resampled to {FPS}")
    generator, syncnet = models()
    path = common.temporary_file(".mp4")
    result = lip_sync(generator, source, wav, path, pads, bool(smooth), progress=progress)
    if result.faces == 0:
        notes.append("no face was found in any frame: the video is returned unchanged with the new audio")
    elif result.faces < result.frames:
        notes.append(f"{result.frames - result.faces} of {result.frames} frames had no face and were passed through")
    before = sync_scores(syncnet, result.crops_in, wav, result.score_start)
    after = sync_scores(syncnet, result.crops_out, wav, result.score_start)
    table = "| | LSE-D ↓ | LSE-C ↑ | offset (frames) |\n|---|---|---|---|\n"
    for label, score in (("input video + this audio", before), ("Wav2Lip output", after)):
        table += (f"| {label} | {score['lse_d']:.3f} | {score['lse_c']:.3f} | {score['offset']} |\n" if score
                  else f"| {label} | – | – | – |\n")
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    status = (f"{result.frames} frames ({result.frames / FPS:.1f} s) at {result.size[0]}x{result.size[1]}, face in "
              f"{result.faces}; models: {' + '.join(checkpoints())}; detector: {detector().name}; {timing}" + "".join(f"; {n}" for n in notes))
    return path, table, status


def metrics_markdown() -> str:
    """The bundled pair's numbers from their cards' metrics.json (no model is loaded)."""
    from models.hub import CHECKPOINTS

    lines = []
    for name in (EXPERT, GENERATOR):
        path = CHECKPOINTS / name / "metrics.json"
        if path.exists():
            values = json.loads(path.read_text()).get("values", {})
            lines.append(f"**`{name}`**: " + " · ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                       for k, v in values.items()))
    return "  \n".join(lines) or "*No bundled Wav2Lip metrics yet: `python -m train.wav2lip`.*"


# ---------------------------------------------------------------------------------------------------------- tab
STRINGS = {  # key -> (English, Korean)
    "title": (TITLE, "Wav2Lip"),
    "intro": (
        "**Wav2Lip** (Prajwal et al. 2020, *[A Lip Sync Expert Is All You Need for Speech to Lip Generation In the "
        "Wild](https://arxiv.org/abs/2008.10010)*): a generator redraws the lower half of each face to match the speech, trained against a frozen "
        "**SyncNet** lip-sync expert. The bundled pair is trained here on synthetic talking faces (96×96 crops, "
        "speech from espeak-ng), so it knows those faces best. Real-face quality needs the official weights "
        "(`python -m train.convert_wav2lip`; the tab uses `wav2lip-official` when present), which are for research "
        "and non-commercial use only. "
        "Frames without a face pass through unchanged.",
        "**Wav2Lip**(Prajwal 외 2020, [「립싱크 전문가만 있으면 된다」](https://arxiv.org/abs/2008.10010)): 생성기가 음성에 맞게 각 얼굴의 아래쪽 절반을 "
        "다시 그리며, 고정된 **SyncNet** 립싱크 전문가에 맞서 학습합니다. 함께 제공되는 모델은 여기서 합성 말하는 "
        "얼굴(96×96, espeak-ng 음성)로 학습했기 때문에 그런 얼굴에서 가장 잘 됩니다. 실제 얼굴 품질에는 공식 "
        "가중치(`python -m train.convert_wav2lip`; `wav2lip-official`이 있으면 탭이 그것을 씁니다)가 필요하며, 연구·비상업적 용도로만 쓸 수 있습니다. "
        "얼굴이 없는 프레임은 그대로 통과합니다."),
    "video": ("Face video or photo", "얼굴 동영상 또는 사진"),
    "audio": ("Speech (wav, mp3, m4a, ogg, flac)", "음성 (wav, mp3, m4a, ogg, flac)"),
    "text": ("… or type a text to speak (espeak-ng)", "… 또는 읽어 줄 문장 입력 (espeak-ng)"),
    "options": ("Options", "옵션"),
    "pad_top": ("Top pad (px)", "위 여백 (px)"),
    "pad_bottom": ("Bottom pad (px)", "아래 여백 (px)"),
    "pad_left": ("Left pad (px)", "왼쪽 여백 (px)"),
    "pad_right": ("Right pad (px)", "오른쪽 여백 (px)"),
    "resize": ("Resize factor (divides the resolution)", "축소 배율 (해상도를 나눔)"),
    "smooth": ("Smooth face boxes over time", "얼굴 상자를 시간에 따라 부드럽게"),
    "max_seconds": ("Max duration (s)", "최대 길이 (초)"),
    "preview": ("Preview face boxes", "얼굴 상자 미리 보기"),
    "boxes": ("Detected faces on sampled frames", "샘플 프레임에서 찾은 얼굴"),
    "run": ("Lip-sync", "립싱크"),
    "output": ("Lip-synced video", "립싱크된 동영상"),
    "scores": ("SyncNet scores (LSE-D lower and LSE-C higher = better synced)",
               "SyncNet 점수 (LSE-D는 낮을수록, LSE-C는 높을수록 잘 맞음)"),
    "status": ("What was done", "처리 내용"),
}
t = i18n.Translator(__name__, STRINGS)


def preview_boxes(video, top, bottom, left, right, resize_factor):
    pads = check_pads(top, bottom, left, right)
    return preview(Source.open(video, common.check_int(resize_factor, "Resize factor", 1, 4)), pads)


def lip_sync_request(video, audio, text, top, bottom, left, right, resize_factor, smooth, max_seconds,
                     progress=gr.Progress()):
    return run(video, audio, text, top, bottom, left, right, resize_factor, smooth, max_seconds, progress)


def build() -> None:
    gr.Markdown(t("intro"))
    gr.Markdown(metrics_markdown(), elem_classes=i18n.VERBATIM)
    with gr.Row():
        video = gr.File(label=t("video"), file_types=[*VIDEO_SUFFIXES, ".png", ".jpg", ".jpeg", ".webp", ".bmp"],
                        type="filepath")
        with gr.Column():
            audio = gr.Audio(label=t("audio"), type="filepath", sources=["upload", "microphone"])
            text = gr.Textbox(label=t("text"), max_length=MAX_TEXT_CHARS)
    with gr.Accordion(t("options"), open=False):
        with gr.Row():
            top = gr.Slider(0, 200, value=DEFAULT_PADS[0], step=1, label=t("pad_top"))
            bottom = gr.Slider(0, 200, value=DEFAULT_PADS[1], step=1, label=t("pad_bottom"))
            left = gr.Slider(0, 200, value=DEFAULT_PADS[2], step=1, label=t("pad_left"))
            right = gr.Slider(0, 200, value=DEFAULT_PADS[3], step=1, label=t("pad_right"))
        with gr.Row():
            resize = gr.Slider(1, 4, value=1, step=1, label=t("resize"))
            smooth = gr.Checkbox(value=True, label=t("smooth"))
            max_seconds = gr.Slider(1, MAX_SECONDS, value=DEFAULT_SECONDS, step=1, label=t("max_seconds"))
    with gr.Row():
        show = gr.Button(t("preview"))
        go = gr.Button(t("run"), variant="primary")
    boxes = gr.Image(label=t("boxes"), type="pil", format="jpeg")
    output = gr.Video(label=t("output"))
    scores = gr.Markdown(label=t("scores"), elem_classes=i18n.VERBATIM)
    status = gr.Textbox(label=t("status"), interactive=False)
    examples = sorted(EXAMPLES.glob("*.mp4")) if EXAMPLES.exists() else []
    if examples:
        i18n.examples([[str(p), str(p.with_suffix(".wav")), ""] for p in examples if p.with_suffix(".wav").exists()],
                      inputs=[video, audio, text], headers=[t("video"), t("audio"), t("text")])
    show.click(preview_boxes, [video, top, bottom, left, right, resize], boxes, api_name="wav2lip_preview")
    go.click(lip_sync_request, [video, audio, text, top, bottom, left, right, resize, smooth, max_seconds],
             [output, scores, status], api_name="wav2lip")
