"""What the fault tests share: run a trainer as a real process and kill -9 it part-way through."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from train import common

ROOT = Path(__file__).resolve().parent.parent


def kill_9_mid_run(module: str, args: list[str], out_dir: Path, after_step: int, timeout: float = 120) -> int:
    """Start `python -m module args --out_dir=out_dir`, SIGKILL it once its resume file holds step >= after_step,
    and return the step that file holds afterwards (what --resume will continue from)."""
    proc = subprocess.Popen([sys.executable, "-m", module, *args, f"--out_dir={out_dir}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resume_file, deadline = Path(out_dir) / "resume.pt", time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None:
            if resume_file.exists() and common.load_resume(resume_file)["step"] >= after_step:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return common.load_resume(resume_file)["step"]
