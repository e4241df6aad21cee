"""genzoo: the generative models of a GAN lecture, one tab per family. `python app.py` serves it on 127.0.0.1:7860.

Models load lazily on first use, so the app is ready to serve in about as long as importing gradio and torch takes.
"""

from __future__ import annotations

import os

import gradio as gr

import demos
from demos import common

HEADER = """# genzoo — the generative models of a GAN lecture
Each tab is one model family, trained on packaged data on a CPU (small images, faithful architectures) and scored
with one shared evaluation kit. Weights come from the Hugging Face Hub when reachable, else from the bundled
checkpoints. Train any of them yourself: `python -m train.<family>`."""


def build() -> gr.Blocks:
    # delete_cache: gradio removes its cached copies of uploads and outputs older than an hour, every half hour.
    with gr.Blocks(title="genzoo: generative models of a GAN lecture", delete_cache=(1800, 3600)) as blocks:
        gr.Markdown(HEADER)
        with gr.Tabs():
            for tab in demos.TABS:
                with gr.Tab(tab.TITLE):
                    tab.build()
    # Bounded queue: a crowd waits in line (or is told the queue is full) instead of exhausting CPU and memory.
    blocks.queue(default_concurrency_limit=int(os.environ.get("GENZOO_CONCURRENCY", 2)), max_size=64)
    return blocks


demo = build()
# What every launch passes (this file's, the tests'): gradio refuses larger uploads before they reach a tab.
LAUNCH_OPTIONS = dict(max_file_size=common.MAX_UPLOAD_BYTES)

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", 7860)), **LAUNCH_OPTIONS)
