"""Loading weights: the Hub repo (online or the HF cache), then the bundled folder, then one clear error.

Every genzoo model is an `nn.Module` with huggingface_hub's `PyTorchModelHubMixin`, so a checkpoint is a folder (or a
Hub repo) holding `config.json` (the constructor's keyword arguments) and `model.safetensors`, beside the card and
plain-data records (metrics.json, training.json, replay.png). Only those files are ever fetched, so nothing is
unpickled, whatever else a repo holds.

Where the Hub is unreachable (this machine, CI, an offline laptop) we decide that once per process with a 2-second
probe, instead of letting every `from_pretrained` hit huggingface_hub's ~20 s retry loop per request.

Environment:
  GENZOO_HUB_NAMESPACE  Hub user/org holding the `<namespace>/<name>` repos (default "genzoo"); "" = never ask the Hub.
  HF_HUB_OFFLINE=1      use only the local HF cache and the bundled folders.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from pathlib import Path
from typing import TypeVar

import torch

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "assets" / "checkpoints"
WEIGHT_FILES = ["config.json", "model.safetensors"]
RECORD_FILES = ["README.md", "metrics.json", "training.json", "replay.png"]  # card, numbers, curves: data, not code
M = TypeVar("M", bound=torch.nn.Module)


def default_device() -> torch.device:
    """CUDA when present, else CPU: the one place that choice is made."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def hub_namespace() -> str:
    return os.environ.get("GENZOO_HUB_NAMESPACE", "genzoo").strip().strip("/")


def repo_id(name: str) -> str | None:
    """`<namespace>/<name>`, checked by huggingface_hub's own rules (ValueError naming them), or None without a
    namespace."""
    namespace = hub_namespace()
    if not namespace:
        return None
    return checked_repo_id(f"{namespace}/{name}")


def checked_repo_id(repo: str) -> str:
    """`repo` if it is a valid Hub repo id ("user/name": letters, digits, '-', '_', '.'; at most 96 characters),
    else a ValueError that says so. Ids come from our code, the environment and --push_to_hub, never from an upload,
    but a malformed one must not become a URL or a cache path."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo)
    except HFValidationError as error:
        raise ValueError(f"Not a valid Hugging Face repo id: {repo!r} (expected 'user/name' of letters, digits, "
                         f"'-', '_' and '.'; check GENZOO_HUB_NAMESPACE or --push_to_hub): {error}") from None
    if repo.count("/") != 1:
        raise ValueError(f"Not a valid Hugging Face repo id: {repo!r} (expected exactly one '/', as in 'user/name')")
    return repo


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@functools.cache
def hub_reachable(timeout: float = 2.0) -> bool:
    """Can we open a TCP connection to the Hub? Asked once per process; DNS runs in a thread so it cannot stall us."""
    if _env_flag("HF_HUB_OFFLINE"):
        return False
    from huggingface_hub import constants

    host = constants.ENDPOINT.split("://")[-1].split("/")[0].split(":")[0]
    result = []

    def probe():
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result)


def hub_folder(name: str) -> Path | None:
    """Local folder with `name`'s weights from the Hub (downloaded now, or from the HF cache), or None."""
    repo = repo_id(name)
    if repo is None:
        return None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        folder = Path(snapshot_download(repo, allow_patterns=WEIGHT_FILES + RECORD_FILES,
                                        local_files_only=not hub_reachable()))
    except (LocalEntryNotFoundError, RepositoryNotFoundError, HfHubHTTPError, OSError, ValueError):
        return None
    return folder if all((folder / f).exists() for f in WEIGHT_FILES) else None


def checkpoint_folder(name: str, family: str | None = None) -> Path:
    """Where `name` resolves: Hub repo (or cache) -> bundled `assets/checkpoints/<name>/` -> FileNotFoundError
    naming `python -m train.<family>` (default: the name's first word)."""
    if Path(name).is_dir():  # an explicit folder, e.g. a trainer's output
        folder = Path(name)
        if all((folder / f).exists() for f in WEIGHT_FILES):
            return folder
        raise FileNotFoundError(f"{folder} must hold {' and '.join(WEIGHT_FILES)}")
    folder = hub_folder(name)
    if folder is not None:
        return folder
    bundled = CHECKPOINTS / name
    if all((bundled / f).exists() for f in WEIGHT_FILES):
        return bundled
    family = family or name.split("-")[0]
    where = f"the Hub repo {repo_id(name)} nor " if repo_id(name) else ""
    raise FileNotFoundError(
        f"No weights for {name!r}: neither {where}{bundled} has {' and '.join(WEIGHT_FILES)}. "
        f"Train them with: python -m train.{family} (see its docstring for the exact command)"
    )


# One load at a time: the app's queue workers load models lazily, and two first requests at once used to import a
# library's lazy module from two threads (diffusers' UNet2DModel then failed to import in one of them).
_LOADING = threading.RLock()


def load_pretrained(cls: type[M], name: str, device: torch.device | str | None = None, family: str | None = None) -> M:
    """Build `cls` from the checkpoint `name` (a bundled name, Hub name or folder), in eval mode on `device`.
    `family` names the trainer in the error when there are no weights (default: the module defining `cls`)."""
    device = torch.device(device) if device is not None else default_device()
    family = family or cls.__module__.rsplit(".", 1)[-1]  # models/<family>.py is trained by train/<family>.py
    with _LOADING:
        model = cls.from_pretrained(str(checkpoint_folder(name, family)), map_location=str(device))
    return model.to(device).eval().requires_grad_(False)
