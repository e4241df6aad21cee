"""Wav2Lip pipeline speed and memory on this machine (genzoo issue 8): seconds of CPU per second of 25 fps video.

    python -m bench.wav2lip                 # 480p and 720p, 8 s each; memory at 8 s and 32 s; bench/results/wav2lip.json
    python -m bench.wav2lip --seconds=4     # shorter clips (what a busy machine can run)
    python -m bench.wav2lip --long=600      # also the peak memory of a 10-minute 480p video (the issue's case; ~25 min)

The test video is a bundled example's talking face (a test identity) pasted, 4x larger, onto a 16:9 frame of the
stated height, looped to the length and encoded with the bundled ffmpeg; the audio is the example's speech, looped.
Each stage's figure is the pipeline's own timer (demos.wav2lip.lip_sync: detection = the first pass, generator =
crops + mel windows + the network + pasting, video I/O = decoding and encoding) divided by the video's seconds,
plus the process's CPU seconds for the whole run. Target (issue 8): <= 3 s per second of 720p video.
Memory: the peak resident size of a fresh process that lip-syncs 1x and 4x the length at 480p; streaming means the
two stay about equal; --long=600 adds the issue's 10-minute case (75x) and its ratio to the 1x run.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import machine, write

HEIGHTS = (480, 720)
TARGET_720P = 3.0


def make_video(folder: Path, height: int, seconds: float) -> tuple[str, np.ndarray]:
    import imageio_ffmpeg
    from PIL import Image

    from demos import wav2lip as D

    example = D.EXAMPLES / "id0046-00000.mp4"
    faces = list(D.Source.open(example).frames(10**6))
    wav, _ = D.read_audio(example.with_suffix(".wav"), 60)
    width = height * 16 // 9 // 2 * 2
    path = str(folder / f"{height}p.mp4")
    writer = imageio_ffmpeg.write_frames(path, (width, height), fps=25, macro_block_size=2)
    writer.send(None)
    background = np.full((height, width, 3), 70, np.uint8)
    side = min(height - 20, 4 * faces[0].shape[0])
    for i in range(int(seconds * 25)):
        frame = background.copy()
        face = np.asarray(Image.fromarray(faces[i % len(faces)]).resize((side, side), Image.BILINEAR))
        y, x = (height - side) // 2, (width - side) // 2
        frame[y:y + side, x:x + side] = face
        writer.send(frame)
    writer.close()
    return path, np.tile(wav, int(np.ceil(seconds * 16000 / len(wav))))[:int(seconds * 16000)]


def generator():
    from models import wav2lip as W
    from models.hub import load_pretrained

    try:
        return load_pretrained(W.Wav2Lip, "wav2lip-talking-faces", device="cpu"), "bundled checkpoint"
    except FileNotFoundError:
        return W.Wav2Lip(width=0.25).eval(), "untrained, width 0.25 (speed depends on the architecture only)"


def run_once(height: int, seconds: float) -> dict:
    from demos import wav2lip as D

    with tempfile.TemporaryDirectory(prefix="genzoo-bench-") as tmp:
        path, wav = make_video(Path(tmp), height, seconds)
        model, which = generator()
        cpu = time.process_time()
        wall = time.perf_counter()
        result = D.lip_sync(model, D.Source.open(path), wav, str(Path(tmp) / "out.mp4"))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    video = result.frames / 25
    return {"height": height, "video_seconds": video, "frames_with_face": result.faces, "frames": result.frames,
            "wall_per_video_second": wall / video, "cpu_per_video_second": cpu / video,
            "stages_per_video_second": {k: v / video for k, v in result.seconds.items()}, "generator": which,
            "detector": D.detector().name}


def _peak_rss(height, seconds, queue):
    run_once(height, seconds)
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB -> MiB on Linux


def peak_memory_mib(height: int, seconds: float) -> float:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_peak_rss, args=(height, seconds, queue))
    process.start()
    value = queue.get()
    process.join()
    return value


def main(argv: list[str]) -> dict:
    seconds, long = 8.0, None
    for arg in argv:
        if arg.startswith("--seconds="):
            seconds = float(arg.split("=", 1)[1])
        elif arg.startswith("--long="):
            long = float(arg.split("=", 1)[1])
    speed = [run_once(h, seconds) for h in HEIGHTS]
    for row in speed:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stages_per_video_second"].items())
        print(f"{row['height']}p: {row['wall_per_video_second']:.2f} s wall / {row['cpu_per_video_second']:.2f} s CPU "
              f"per second of video ({stages}); face in {row['frames_with_face']}/{row['frames']} frames")
    memory = {f"{m}x": peak_memory_mib(480, m * seconds) for m in (1, 4)}
    print(f"peak RSS at 480p: {memory['1x']:.0f} MiB for {seconds:.0f} s, {memory['4x']:.0f} MiB for "
          f"{4 * seconds:.0f} s (ratio {memory['4x'] / memory['1x']:.2f})")
    long_key = f"{long:.0f}s" if long else None
    if long:
        memory[long_key] = peak_memory_mib(480, long)
        print(f"peak RSS at 480p for {long:.0f} s: {memory[long_key]:.0f} MiB "
              f"(ratio to {seconds:.0f} s: {memory[long_key] / memory['1x']:.2f})")
    target = speed[-1]["wall_per_video_second"]
    result = {"machine": machine(), "speed": speed, "peak_rss_mib_480p": memory,
              "memory_ratio_4x": memory["4x"] / memory["1x"],
              **({"memory_ratio_long": memory[long_key] / memory["1x"]} if long else {}),
              "target_720p_seconds_per_second": TARGET_720P, "met_720p": target <= TARGET_720P}
    write("wav2lip", result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
