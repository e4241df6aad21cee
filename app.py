"""genzoo: the generative models of a GAN lecture, one tab per family. `python app.py` serves it on 127.0.0.1:7860.

Models load lazily on first use, so the app is ready to serve in about as long as importing gradio and torch takes.
"""

from __future__ import annotations

import os

import gradio as gr

import demos
from demos import common, i18n

HEADER = (  # (English, Korean), as every tab's STRINGS
    """# genzoo — the generative models of a GAN lecture
Each tab is one model family, trained on packaged data on a CPU (small images, faithful architectures) and scored
with one shared evaluation kit. Weights come from the Hugging Face Hub when reachable, else from the bundled
checkpoints. Train any of them yourself: `python -m train.<family>`.
The page follows your browser's language (Korean or English); switch it with Language, on the right.""",
    """# genzoo — GAN 강의의 생성 모델 모음
탭 하나가 모델 계열 하나입니다. 모두 패키지에 포함된 데이터로 CPU에서 학습했고(작은 이미지, 논문 그대로의 구조),
하나의 공통 평가 도구로 채점했습니다. 가중치는 Hugging Face Hub에 연결되면 Hub에서, 아니면 함께 제공되는
체크포인트에서 불러옵니다. 직접 학습해 보려면 `python -m train.<family>`를 실행하세요.
화면 언어는 브라우저 언어(한국어 또는 영어)를 따르며, 오른쪽의 언어에서 바꿀 수 있습니다.""")
t = i18n.Translator(__name__, {"header": HEADER})


def build() -> gr.Blocks:
    # delete_cache: gradio removes its cached copies of uploads and outputs older than an hour, every half hour.
    # fill_width: the page uses the window, so the eleven tab names fit one row on a laptop screen
    with gr.Blocks(title="genzoo: generative models of a GAN lecture", delete_cache=(1800, 3600), fill_width=True) as blocks:
        with gr.Row():
            gr.Markdown(t("header"))
            language = i18n.language_switch()
        with gr.Tabs():
            for tab in demos.TABS:
                with gr.Tab(i18n.tab_label(tab)):
                    tab.build()
        i18n.connect_language_switch(language, blocks)
    # Bounded queue: a crowd waits in line (or is told the queue is full) instead of exhausting CPU and memory.
    blocks.queue(default_concurrency_limit=int(os.environ.get("GENZOO_CONCURRENCY", 2)), max_size=64)
    return blocks


demo = build()
# What every launch passes (this file's, the tests'): gradio refuses larger uploads before they reach a tab, and the
# browser shows every tab's strings in Korean or English (demos/i18n.py).
LAUNCH_OPTIONS = dict(max_file_size=common.MAX_UPLOAD_BYTES, i18n=i18n.I18n())

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", 7860)), **LAUNCH_OPTIONS)
