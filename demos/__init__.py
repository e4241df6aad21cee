"""The app's tabs, in order. Each module exposes TITLE and build(); app.py makes one gr.Tab per entry. Tabs that
serve image checkpoints also expose samplers(), which the Compare tab and train/leaderboard.py read.

TABS is built on first use (PEP 562): the trainers import demos.common for their replay grids, and that must not
import gradio and every tab (a training machine, a GPU box say, need not have the app's packages)."""


def __getattr__(name: str):
    if name != "TABS":
        raise AttributeError(f"module 'demos' has no attribute {name!r}")
    from demos import (compare, conditional, dcgan, diffusion, objectives, pixelcnn, style, stylegan, translation, vae,
                       wav2lip)

    globals()["TABS"] = tabs = [dcgan, objectives, conditional, vae, pixelcnn, diffusion, translation, style, stylegan,
                                wav2lip, compare]
    return tabs
