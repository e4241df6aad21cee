"""Train Wav2Lip's lip-sync expert, then the generator against it (genzoo issue 8; models: models/wav2lip.py).

Reproduce the bundled checkpoints (build the synthetic talking faces first; each card gives its wall time):
    python -m train.talking_faces
    python -m train.wav2lip --model=syncnet --export_dir=assets/checkpoints/syncnet-talking-faces
    python -m train.wav2lip --model=wav2lip --export_dir=assets/checkpoints/wav2lip-talking-faces
Continue a killed run bit for bit: add --resume (same --out_dir).
The paper's setting on LRS2 on a GPU (faces cropped by the official preprocess.py into <root>/<speaker>/<clip>/
<i>.jpg + audio.wav; the official filelists/ with train.txt / val.txt / test.txt):
    python -m train.wav2lip --model=syncnet --width=1 --data_root=/data/lrs2_preprocessed --filelists=/data/filelists \
        --kimg=64000 --push_to_hub=me/syncnet-lrs2
    python -m train.wav2lip --model=wav2lip --gan --width=1 --data_root=/data/lrs2_preprocessed \
        --filelists=/data/filelists --syncnet=me/syncnet-lrs2 --sync_threshold=0.75 --kimg=4000 \
        --push_to_hub=me/wav2lip-gan-lrs2

What each stage trains with (the official color_syncnet_train.py / wav2lip_train.py / hq_wav2lip_train.py):
- syncnet: batches of 64 five-frame windows (lower halves) with the mel window of the first frame; half of them
  in sync (label 1), half with the frames of another moment of the same clip (label 0); BCE on the cosine
  (`cosine_loss`); Adam(1e-4).
- wav2lip: batches of 16 five-frame windows; input = each frame with its lower half masked + the frames of another
  moment of the same clip (the reference), each frame's own mel window (starting one frame earlier, as the
  official data loader); loss = (1 - s - d) L1 + s * expert sync loss + d * quality GAN loss, where s = 0.03 is
  switched on once the expert's loss on validation generations falls below sync_threshold (3.0; the official
  schedule's 0.75 is never reached in a CPU-length run), and d =
  0.07 with --gan (else 0); Adam(1e-4) (with --gan, betas (0.5, 0.999) for both networks, as hq_wav2lip_train.py).
- ema_decay 0: the last iterate ships, as the paper's (its BatchNorm statistics are the ones it was trained with).

Measured at the end of a full run (test identities, never seen in training) and written into the card:
- syncnet: the offset accuracy (the argmin over +-15 frames of the mean embedding distance, within +-1 frame of 0)
  and LSE-D / LSE-C of the genuinely synced clips vs the same clips with another clip's audio;
- wav2lip: LSE-D / LSE-C (our expert, offset search +-15 frames as the paper) of: the originals (synced), the
  originals with unrelated audio, and Wav2Lip's output for that unrelated audio; plus the L1 of reconstructions.
Scaled down from the paper: width 0.25 (1/16 of the compute), synthetic faces of train/talking_faces.py (LRS2 cannot
be had here), training measured in thousands of windows (kimg) in place of the paper's days on a GPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models import wav2lip as W
from train import common

MODELS = ("syncnet", "wav2lip")
KIMG = {"syncnet": 120, "wav2lip": 16}          # defaults (a CPU budget: ~18 and ~30 min): windows seen, thousands
BATCH = {"syncnet": 64, "wav2lip": 16}         # the official batch sizes
DEFAULT_DATA = "data/talking-faces/preprocessed"


@dataclass
class Config:
    """Wav2Lip's expert or generator; every field can be overridden with --field=value."""
    model: str = "syncnet"            # "syncnet" (the expert: train it first) or "wav2lip" (the generator)
    gan: bool = False                 # wav2lip: add the visual-quality discriminator (the paper's "Wav2Lip + GAN")
    data_root: str = DEFAULT_DATA     # <data_root>/<speaker>/<clip>/<i>.jpg + audio.wav (official preprocess layout)
    filelists: str | None = None      # folder with train.txt / val.txt / test.txt; None = <data_root>/../filelists
    width: float = 0.25               # channel multiplier of the networks (1.0 = the paper's)
    syncnet: str = "syncnet-talking-faces"  # wav2lip: the frozen expert (a bundled/Hub checkpoint name or folder)
    batch_size: int | None = None     # None = BATCH[model] (the paper's 64 / 16)
    lr: float = 1e-4                  # Adam learning rate (all the official trainers)
    kimg: int | None = None           # five-frame windows seen, thousands; None = KIMG[model]
    sync_weight: float = 0.03         # wav2lip: weight of the expert's sync loss once switched on
    sync_threshold: float = 3.0       # ... switched on when the expert's loss on validation generations is below this;
                                      # the official 0.75 assumes days of L1 first: here the loss sat at 2.1-2.2 for 16
                                      # kimg, so it never switched on and the lips ignored the audio (LSE-D 1.068 vs
                                      # unrelated 1.011); 3.0 switches it on at the first validation (step 200)
    disc_weight: float = 0.07         # wav2lip --gan: weight of the quality discriminator's loss
    eval_every: int = 200             # steps between validation losses (and the sync switch check)
    eval_clips: int | None = None     # clips scored at the end; None = every test clip
    ema_decay: float = 0.0            # 0: the last iterate ships (the paper); TrainingRun keeps it as the "EMA"
    seed: int = 0
    out_dir: str | None = None        # None = runs/<model>[-gan]-<data folder name>
    export_dir: str | None = None
    resume: bool = False
    save_every: int = 250
    replay_frames: int = 12           # wav2lip: validation grids over training (syncnet: none)
    evaluate: bool = True             # score the export on the test split (full-length runs)
    max_steps: int | None = None
    fake_data: bool = False           # random faces and noise audio instead of a dataset (smoke tests)
    device: str = "auto"
    push_to_hub: str | None = None

    def __post_init__(self):
        if self.model not in MODELS:
            raise SystemExit(f"--model must be one of {', '.join(MODELS)}; got {self.model!r}")
        self.kimg = KIMG[self.model] if self.kimg is None else self.kimg
        self.batch_size = BATCH[self.model] if self.batch_size is None else self.batch_size
        if self.out_dir is None:
            name = Path(self.data_root).parent.name if Path(self.data_root).name == "preprocessed" else \
                Path(self.data_root).name
            self.out_dir = f"runs/{self.model}{'-gan' if self.gan else ''}-{name}"


PROTOCOL = ("test identities only (never seen in training), every test clip; distances are Euclidean between the "
            "expert's L2-normalised embeddings, averaged over 5-frame windows per audio offset in +-15 frames; LSE-D = "
            "the minimum over offsets, LSE-C = median - minimum, the offset = the argmin (accuracy: |offset| <= 1). "
            "'unrelated' = the same faces with the next test clip's audio. Scores use our own expert (no pretrained "
            "SyncNet exists offline), so they are comparable within genzoo only")


# ---------------------------------------------------------------------------------------------------------- data
class Clips:
    """Every clip of a split in memory: faces (T, 96, 96, 3) uint8 and the mel spectrogram (80, M). Batches are drawn
    with a torch.Generator, so a step's batch is a function of (seed, step) (TrainingRun seeds it)."""

    def __init__(self, faces: list[np.ndarray], mels: list[np.ndarray], names: list[str]):
        keep = [i for i, f in enumerate(faces) if len(f) >= 3 * W.SYNC_FRAMES]  # the official minimum length
        if not keep:
            raise SystemExit(f"no clip has {3 * W.SYNC_FRAMES} frames or more")
        self.faces = [torch.from_numpy(faces[i]) for i in keep]
        self.mels = [mels[i] for i in keep]
        self.names = [names[i] for i in keep]

    @classmethod
    def load(cls, root: Path, names: list[str]) -> "Clips":
        from train import talking_faces

        faces, mels = [], []
        for name in names:
            clip, wav = talking_faces.load_preprocessed(root, name)
            faces.append(clip)
            mels.append(W.melspectrogram(wav))
        return cls(faces, mels, names)

    @classmethod
    def fake(cls, count: int = 3, frames: int = 40, seed: int = 0) -> "Clips":
        rng = np.random.default_rng(seed)
        faces = [rng.integers(0, 256, (frames, W.FACE_SIZE, W.FACE_SIZE, 3), dtype=np.uint8) for _ in range(count)]
        mels = [W.melspectrogram(rng.standard_normal(frames * W.SAMPLE_RATE // W.FPS).astype(np.float32) * 0.1)
                for _ in range(count)]
        return cls(faces, mels, [f"fake/{i:05d}" for i in range(count)])

    def __len__(self) -> int:
        return len(self.faces)

    def _frames(self, clip: int, start: int) -> torch.Tensor:
        """(3, 5, 96, 96) float in [0, 1]: frames start..start+4."""
        return self.faces[clip][start:start + W.SYNC_FRAMES].permute(3, 0, 1, 2).float() / 255

    def _mel(self, clip: int, frame: int) -> torch.Tensor:
        return torch.from_numpy(W.mel_window(self.mels[clip], frame))

    def _starts(self, clip: int, first: int) -> int:
        """The last usable window start of `clip`: its frames and every mel window the stage needs exist."""
        last = len(self.faces[clip]) - W.SYNC_FRAMES
        while last >= first and W.mel_window(self.mels[clip], last + W.SYNC_FRAMES - 1) is None:
            last -= 1
        return last

    def _pick(self, g: torch.Generator, first: int) -> tuple[int, int, int]:
        """(clip, start, another start of the same clip) drawn uniformly."""
        while True:
            clip = int(torch.randint(len(self), (1,), generator=g))
            last = self._starts(clip, first)
            if last > first:
                start, other = (int(v) for v in torch.randint(first, last + 1, (2,), generator=g))
                while other == start:
                    other = int(torch.randint(first, last + 1, (1,), generator=g))
                return clip, start, other

    def syncnet_batch(self, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mels (n, 1, 80, 16), lower halves (n, 15, 48, 96), in_sync (n,)): the mel of one window, and either its
        own frames (1) or the frames of another moment of the clip (0), each half the time."""
        mels, faces, labels = [], [], []
        for _ in range(n):
            clip, start, other = self._pick(g, 0)
            in_sync = bool(torch.rand((), generator=g) < 0.5)
            mels.append(self._mel(clip, start))
            faces.append(self._frames(clip, start if in_sync else other))
            labels.append(float(in_sync))
        return (torch.stack(mels)[:, None], W.lower_half_stack(torch.stack(faces)), torch.tensor(labels))

    def wav2lip_batch(self, n: int, g: torch.Generator) -> dict[str, torch.Tensor]:
        """The generator's batch: `faces` (n, 6, 5, 96, 96) = masked targets + references, `frame_mels`
        (n, 5, 1, 80, 16) (each frame's window, starting one frame before it as the official loader), `mel`
        (n, 1, 80, 16) (the window's, for the expert), `target` (n, 3, 5, 96, 96)."""
        items = {"faces": [], "frame_mels": [], "mel": [], "target": []}
        for _ in range(n):
            clip, start, other = self._pick(g, 1)
            target, reference = self._frames(clip, start), self._frames(clip, other)
            masked = target.clone()
            masked[:, :, W.FACE_SIZE // 2:] = 0
            items["faces"].append(torch.cat([masked, reference]))
            items["frame_mels"].append(torch.stack([self._mel(clip, start + k - 1) for k in range(W.SYNC_FRAMES)]))
            items["mel"].append(self._mel(clip, start))
            items["target"].append(target)
        batch = {k: torch.stack(v) for k, v in items.items()}
        batch["frame_mels"], batch["mel"] = batch["frame_mels"][:, :, None], batch["mel"][:, None]
        return batch


def filelist_folder(cfg: Config) -> Path:
    return Path(cfg.filelists) if cfg.filelists else Path(cfg.data_root).parent / "filelists"


def split_clips(cfg: Config, split: str) -> Clips:
    if cfg.fake_data:
        return Clips.fake(seed={"train": 0, "val": 1, "test": 2}[split])
    path = filelist_folder(cfg) / f"{split}.txt"
    if not path.exists():
        raise SystemExit(f"{path} not found: build the synthetic talking faces with `python -m train.talking_faces`, "
                         f"or give --data_root and --filelists of a preprocessed LRS2-layout folder")
    names = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    return Clips.load(Path(cfg.data_root), names)


def data_checksum(cfg: Config) -> str:
    """The manifest's checksum of the synthetic set (train/talking_faces.py), else of the filelists."""
    import hashlib

    if cfg.fake_data:
        return "fake"
    manifest = Path(cfg.data_root).parent / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())["sha256"]
    digest = hashlib.sha256()
    for split in ("train", "val", "test"):
        path = filelist_folder(cfg) / f"{split}.txt"
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------- scores
def unrelated_audio(clips: Clips, index: int) -> np.ndarray:
    """The mel of another clip (the next one), looped to at least this clip's length: a mismatched soundtrack."""
    other = clips.mels[(index + 1) % len(clips)]
    need = W.mel_index(len(clips.faces[index])) + W.MEL_STEP
    return np.tile(other, (1, -(-need // other.shape[1]))) if other.shape[1] < need else other


def faces_tensor(faces: torch.Tensor) -> torch.Tensor:
    """(T, 96, 96, 3) uint8 -> (T, 3, 96, 96) float in [0, 1]."""
    return faces.permute(0, 3, 1, 2).float() / 255


def syncnet_scores(syncnet: W.SyncNet, clips: Clips, limit: int | None = None) -> dict:
    """Offset accuracy and LSE of synced vs mismatched clips, averaged over (up to `limit`) clips."""
    hits, synced, mismatched = [], [], []
    for i in range(min(len(clips), limit or len(clips))):
        faces = faces_tensor(clips.faces[i])
        own = W.lip_sync_error(W.sync_distances(syncnet, faces, clips.mels[i]))
        hits.append(abs(own["offset"]) <= 1)
        synced.append(own)
        mismatched.append(W.lip_sync_error(W.sync_distances(syncnet, faces, unrelated_audio(clips, i))))
    mean = lambda rows, k: float(np.mean([r[k] for r in rows]))  # noqa: E731
    return {"offset_accuracy": float(np.mean(hits)), "clips": len(hits),
            "synced_lse_d": mean(synced, "lse_d"), "synced_lse_c": mean(synced, "lse_c"),
            "unrelated_lse_d": mean(mismatched, "lse_d"), "unrelated_lse_c": mean(mismatched, "lse_c")}


def wav2lip_scores(model: W.Wav2Lip, syncnet: W.SyncNet, clips: Clips, limit: int | None = None) -> dict:
    """LSE of originals (synced), originals with unrelated audio, and Wav2Lip's output for that audio; L1 of
    reconstructions (the output for the clip's own audio vs the clip)."""
    rows = {"synced": [], "unrelated": [], "wav2lip": []}
    l1 = []
    for i in range(min(len(clips), limit or len(clips))):
        faces = faces_tensor(clips.faces[i])
        other = unrelated_audio(clips, i)
        rows["synced"].append(W.lip_sync_error(W.sync_distances(syncnet, faces, clips.mels[i])))
        rows["unrelated"].append(W.lip_sync_error(W.sync_distances(syncnet, faces, other)))
        dubbed = W.lip_sync_faces(model, faces, torch.from_numpy(W.mel_chunks(other, len(faces))))
        rows["wav2lip"].append(W.lip_sync_error(W.sync_distances(syncnet, dubbed, other)))
        own = W.lip_sync_faces(model, faces, torch.from_numpy(W.mel_chunks(clips.mels[i], len(faces))))
        l1.append(float((own - faces).abs().mean()))
    out = {"clips": len(l1), "reconstruction_l1": float(np.mean(l1))}
    for key, values in rows.items():
        out[f"{key}_lse_d"] = float(np.mean([v["lse_d"] for v in values]))
        out[f"{key}_lse_c"] = float(np.mean([v["lse_c"] for v in values]))
        out[f"{key}_offset_within_1"] = float(np.mean([abs(v["offset"]) <= 1 for v in values]))
    return out


# ---------------------------------------------------------------------------------------------------------- train
def main(cfg: Config):
    from models.hub import load_pretrained

    train_clips, val_clips = split_clips(cfg, "train"), split_clips(cfg, "val")
    torch.manual_seed(cfg.seed)
    if cfg.model == "syncnet":
        net = W.SyncNet(width=cfg.width)
        nets, optimizers = {"G": net}, {"G": torch.optim.Adam(net.parameters(), lr=cfg.lr)}
        expert = quality = None
    else:
        net = W.Wav2Lip(width=cfg.width)
        betas = (0.5, 0.999) if cfg.gan else (0.9, 0.999)
        nets, optimizers = {"G": net}, {"G": torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=betas)}
        expert = (W.SyncNet(width=cfg.width).eval().requires_grad_(False) if cfg.fake_data
                  else load_pretrained(W.SyncNet, cfg.syncnet, device="cpu", family="wav2lip"))
        quality = None
        if cfg.gan:
            quality = W.Wav2LipDiscriminator(width=cfg.width)
            nets["D"] = quality
            optimizers["D"] = torch.optim.Adam(quality.parameters(), lr=cfg.lr, betas=betas)

    val_batches = [getattr(val_clips, f"{cfg.model}_batch")(cfg.batch_size, torch.Generator().manual_seed(cfg.seed + k))
                   for k in range(4)]

    def replay(model):
        batch = val_batches[0]
        out = model(batch["frame_mels"][:4].to(run.device), batch["faces"][:4].to(run.device)).cpu()
        rows = [batch["faces"][:4, :3, 0], batch["faces"][:4, 3:, 0], out[:, :, 0], batch["target"][:4, :, 0]]
        return torch.cat(rows) * 2 - 1  # masked | reference | generated | target, in the grids' [-1, 1]

    run = common.TrainingRun(cfg, nets, optimizers, cfg.batch_size, replay=replay if cfg.model == "wav2lip" else None,
                             state={"sync_on": False},
                             panels=[[("loss", "train"), ("val_loss", "val")], [("sync_loss", "expert on G")]])
    if expert is not None:
        expert.to(run.device)
    net, opt = run.nets["G"], run.optimizers["G"]
    if cfg.model == "wav2lip":  # oneDNN's convolutions run ~1.3x faster channels-last on a CPU; the shipped copy
        net.to(memory_format=torch.channels_last)  # (TrainingRun's EMA, made before this) stays contiguous

    @torch.no_grad()
    def validate() -> dict:
        net.eval()
        losses, syncs = [], []
        for batch in val_batches:
            if cfg.model == "syncnet":
                mels, faces, labels = (t.to(run.device) for t in batch)
                losses.append(float(W.cosine_loss(*net(mels, faces), labels)))
            else:
                b = {k: v.to(run.device) for k, v in batch.items()}
                generated = net(b["frame_mels"], b["faces"])
                losses.append(float(W.reconstruction_loss(generated, b["target"])))
                syncs.append(float(W.expert_sync_loss(expert, b["mel"], generated)))
        net.train()
        return {"val_loss": float(np.mean(losses)), **({"val_sync_loss": float(np.mean(syncs))} if syncs else {})}

    for step in run.steps():
        numbers = {}
        if cfg.model == "syncnet":
            mels, faces, labels = (t.to(run.device) for t in train_clips.syncnet_batch(cfg.batch_size, run.rng))
            loss = W.cosine_loss(*net(mels, faces), labels)
        else:
            b = {k: v.to(run.device) for k, v in train_clips.wav2lip_batch(cfg.batch_size, run.rng).items()}
            generated = net(b["frame_mels"], b["faces"])
            l1 = W.reconstruction_loss(generated, b["target"])
            s = cfg.sync_weight if run.state["sync_on"] else 0.0
            d = cfg.disc_weight if quality is not None else 0.0
            sync = W.expert_sync_loss(expert, b["mel"], generated) if s else torch.zeros((), device=run.device)
            adversarial = W.g_quality_loss(run.nets["D"](generated)) if d else torch.zeros((), device=run.device)
            loss = s * sync + d * adversarial + (1 - s - d) * l1
            numbers = {"l1_loss": l1.detach(), "sync_loss": sync.detach()}
            if d:
                numbers["adv_loss"] = adversarial.detach()
        opt.zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        opt.step()
        if cfg.model == "wav2lip" and quality is not None:
            d_loss = W.d_quality_loss(run.nets["D"](b["target"]), run.nets["D"](generated.detach()))
            run.optimizers["D"].zero_grad(set_to_none=True)
            run.accelerator.backward(d_loss)
            run.optimizers["D"].step()
            numbers["d_loss"] = d_loss.detach()
        if (step + 1) % cfg.eval_every == 0:
            numbers.update(validate())
            # the official schedule: the expert's loss joins once the generator's lips are roughly in sync
            if cfg.model == "wav2lip" and numbers["val_sync_loss"] < cfg.sync_threshold:
                run.state["sync_on"] = True
        if numbers.keys() & {"val_loss"}:
            run.history.append({"step": step, "kimg": run.kimg(step + 1), "loss": float(loss.detach()),
                                **{k: float(v) for k, v in numbers.items()}})
        else:
            run.log(step, loss=loss.detach(), **numbers)

    export, folder, complete = run.finish(labels=("train", "val"), sync_switched_on=run.state["sync_on"])
    metrics = None
    if cfg.evaluate and complete and run.accelerator.is_main_process:
        test = split_clips(cfg, "test")
        export = export.cpu()
        scores = (syncnet_scores(export, test, cfg.eval_clips) if cfg.model == "syncnet"
                  else wav2lip_scores(export, expert.cpu(), test, cfg.eval_clips))
        metrics = {"protocol": PROTOCOL, "values": scores}
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
        print(json.dumps(metrics, indent=2))
    if run.accelerator.is_main_process:
        write_card(cfg, folder, run, metrics, run.wall)
    run.publish(folder)
    return export


def write_card(cfg: Config, folder: Path, run, metrics: dict | None, wall: float) -> None:
    name = "SyncNet lip-sync expert" if cfg.model == "syncnet" else "Wav2Lip" + (" + GAN" if cfg.gan else "")
    cls = "SyncNet" if cfg.model == "syncnet" else "Wav2Lip"
    if metrics and cfg.model == "syncnet":
        accuracy = metrics["values"]["offset_accuracy"]
        verdict = (f"Target (genzoo issue 8): offset accuracy >= 90 % within +-1 frame on held-out clips: "
                   f"{'met' if accuracy >= 0.9 else 'NOT met'} ({100 * accuracy:.1f} %).")
    elif metrics:
        v = metrics["values"]
        verdict = (f"Target (genzoo issue 8): the lip-synced output beats the same video with unrelated audio and "
                   f"approaches the synced originals: LSE-D {v['wav2lip_lse_d']:.3f} vs unrelated "
                   f"{v['unrelated_lse_d']:.3f} and synced {v['synced_lse_d']:.3f} (lower is better); LSE-C "
                   f"{v['wav2lip_lse_c']:.3f} vs {v['unrelated_lse_c']:.3f} and {v['synced_lse_c']:.3f} (higher is "
                   "better).")
    else:
        verdict = ""
    common.write_card(
        folder, title=f"{name} (width {cfg.width}) on synthetic talking faces",
        summary=(f"The {name} of Prajwal et al. 2020, 'A Lip Sync Expert Is All You Need for Speech to Lip Generation "
                 f"In the Wild' (arXiv:2008.10010), with the official module layout at {cfg.width}x the paper's "
                 f"channels, trained on a CPU on the synthetic talking faces of train/talking_faces.py (96 x 96 face "
                 f"crops, 16 kHz speech from espeak-ng, lips driven by the speech). See models/wav2lip.py."),
        command=run.command("train.wav2lip", Config, model=cfg.model), config=cfg,
        data=f"{cfg.data_root} (filelists {filelist_folder(cfg)})", data_checksum=data_checksum(cfg),
        wall_seconds=wall, metrics=metrics, tags=["wav2lip", "lip-sync", cfg.model],
        usage=f"from models.hub import load_pretrained\nfrom models.wav2lip import {cls}\n"
              f"model = load_pretrained({cls}, {folder.name!r})",
        notes=f"Trained for {run.step} steps ({run.kimg(run.step):.0f} kimg of five-frame windows, batch "
              f"{cfg.batch_size}). {verdict}")


if __name__ == "__main__":
    main(common.parse_config(Config))
