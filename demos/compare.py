"""Compare tab: one seed through every unconditional model of a dataset, the leaderboard, and training replays.

Each family's tab says how to sample its checkpoints (`samplers()` in demos/<family>.py), so this tab works for
whatever is bundled. The leaderboard is a JSON file built by `python -m train.leaderboard` (sampling times are
measured then, on the machine that built it); the tab only reads it.
"""

from __future__ import annotations

import functools
import json
import time

import gradio as gr
from PIL import Image

from demos import common, i18n, uploads

TITLE = "Compare"
MAX_PER_MODEL = 16   # samples per model in the side-by-side row
COLUMNS = [("checkpoint", "checkpoint"), ("model", "model"), ("family", "family"), ("FD", "FD ↓"),
           ("KIDx1000", "KID×1000 ↓"), ("precision", "precision ↑"), ("recall", "recall ↑"),
           ("classes", "classes % (min–max)"), ("confident_fraction", "confident ≥ 0.9 %"), ("nll", "test NLL"),
           ("sampling_ms_per_image", "ms / image"), ("parameters", "parameters"), ("train_minutes", "train min")]
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "비교"),
    "intro": (
        "Every family side by side: the same seed through each unconditional model, the shared kit's numbers for "
        "every bundled checkpoint, and how each one learned.",
        "모든 모델 계열을 나란히 비교합니다: 같은 시드를 모든 무조건부(unconditional) 모델에 넣어 본 결과, 함께 "
        "제공되는 모든 체크포인트의 공통 평가 지표, 그리고 각 모델이 학습해 온 과정입니다."),
    "tab_same_seed": ("Same seed, every model", "같은 시드, 모든 모델"),
    "per_model": ("Samples per model", "모델별 샘플 수"),
    "dataset": ("Dataset", "데이터셋"),
    "run": ("Sample every model", "모든 모델로 샘플링"),
    "gallery": ("Same seed, every model (time each took)", "같은 시드, 모든 모델 (각 모델이 걸린 시간)"),
    "tab_leaderboard": ("Leaderboard", "리더보드"),
    "legend": (
        "**checkpoint**, **model**, **family** = the bundled checkpoint, its model and its tab · **test NLL** = "
        "negative log-likelihood of the test set, for likelihood models (nats per image and bits per dimension) · "
        "**ms / image** = sampling time per image on the machine that built the board · **parameters** = of the "
        "network that samples · **train min** = CPU minutes of training. The *real-vs-real floor* rows compare "
        "training images with test images: the best a model can hope for.",
        "**checkpoint**, **model**, **family** = 함께 제공되는 체크포인트, 그 모델, 그 모델이 속한 탭 · "
        "**test NLL** = 가능도 모델의 테스트 세트 음의 로그 가능도(이미지당 nats와 차원당 bits) · **ms / image** = "
        "리더보드를 만든 컴퓨터에서 이미지 한 장을 샘플링하는 데 걸린 시간 · **parameters** = 샘플링하는 신경망의 "
        "파라미터 수 · **train min** = 학습에 든 CPU 시간(분). *real-vs-real floor* 행은 학습 이미지와 테스트 "
        "이미지를 비교한 값으로, 모델이 도달할 수 있는 최선입니다."),
    "plot": ("Quality (FD, lower is better) vs sampling cost (log10 ms per image)",
             "품질(FD, 낮을수록 좋음) 대 샘플링 비용(이미지당 ms의 log10)"),
    "others": ("**Every other bundled checkpoint**: translators, style transfer, lip sync and the evaluation kit's "
               "judges, which sample nothing from noise, with the headline numbers of their own protocols (each "
               "model card has all of them).",
               "**그 밖의 모든 체크포인트**: 잡음에서 샘플을 만들지 않는 변환 모델, 스타일 전이, 립싱크, 평가 도구의 "
               "판정 모델과 각자의 평가 방식에 따른 주요 수치입니다 (전체 수치는 각 모델 카드에 있습니다)."),
    "tab_replays": ("Training replays", "학습 과정 재생"),
    "checkpoint": ("Checkpoint", "체크포인트"),
    "position": ("Position in training (0 = start, 1 = end)", "학습 중 위치 (0 = 시작, 1 = 끝)"),
    "show": ("Show", "보기"),
    "replay": ("The whole replay", "전체 재생"),
}
t = i18n.Translator(__name__, STRINGS)


def tabs():
    import demos  # the app's tab list; imported here because demos/__init__.py imports this module

    return [t for t in demos.TABS if hasattr(t, "samplers")]


@functools.cache
def all_samplers() -> dict[str, common.Sampler]:
    return {name: s for tab in tabs() for name, s in tab.samplers().items()}


def datasets() -> list[str]:
    return sorted({s.dataset for s in all_samplers().values() if s.unconditional and not s.slow})


def same_seed(seed, count, dataset="mnist"):
    """The same seed through every unconditional model trained on `dataset` (but the slow ones, which would hold
    the queue for minutes): [(labelled grid, caption)]."""
    seed = common.check_seed(seed)
    count = common.check_int(count, "Samples per model", 1, MAX_PER_MODEL)
    chosen = {n: s for n, s in all_samplers().items() if s.unconditional and not s.slow and s.dataset == dataset}
    if not chosen:
        raise common.gr_error(f"Dataset must be one of {', '.join(datasets()) or '(no models bundled)'}; "
                              f"got {dataset!r}")
    out = []
    for name, sampler in chosen.items():
        start = time.perf_counter()
        images = sampler.sample(seed, count)
        ms = 1000 * (time.perf_counter() - start)
        grid = common.image_grid(images, nrow=min(count, 8), scale=2)
        out.append((common.caption(grid, sampler.title), f"{sampler.title} · {sampler.family} · {ms:.0f} ms"))
    return out


@functools.cache
def leaderboard() -> dict:
    """assets/leaderboard.json, or an empty board naming the command that builds it."""
    from train.leaderboard import OUT

    if not OUT.exists():
        return {"rows": [], "floors": {}, "protocols": {}, "missing": "python -m train.leaderboard"}
    return json.loads(OUT.read_text())


def _cell(row: dict, key: str):
    if key == "classes":
        if "class_min_fraction" not in row:
            return None
        return f"{100 * row['class_min_fraction']:.1f}–{100 * row['class_max_fraction']:.1f}"
    if key == "nll":
        if "nll_nats" not in row:
            return None
        return f"{row['nll_nats']:.2f} nats ({row['bits_per_dim']:.3f} bits/dim)"
    value = row.get(key)
    if key == "confident_fraction" and value is not None:
        return round(100 * value, 1)
    if isinstance(value, float):
        return round(value, 3 if abs(value) < 1 else 2)
    return value


def leaderboard_rows() -> list[list]:
    """One row per checkpoint, then each dataset's real-vs-real floor."""
    board = leaderboard()
    rows = [[_cell(r, key) for key, _ in COLUMNS] for r in board["rows"]]
    for dataset, floor in board["floors"].items():
        rows.append([f"real-vs-real floor ({dataset})", "training images vs test images", ""]
                    + [_cell({**floor, "class_min_fraction": floor.get("class_min_fraction", 0),
                              "class_max_fraction": floor.get("class_max_fraction", 0)}, key)
                       for key, _ in COLUMNS[3:9]] + [None] * 4)
    return rows


OTHER_COLUMNS = ["checkpoint", "model", "numbers (its own protocol)", "protocol", "parameters", "train min"]


def other_rows() -> list[list]:
    """One row per bundled checkpoint that samples nothing from noise (the board's "others")."""
    def number(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return [[r["checkpoint"], r["model"], " · ".join(f"{k} {number(v)}" for k, v in r["numbers"].items()),
             r["protocol"], r["parameters"], r.get("train_minutes")] for r in leaderboard().get("others", [])]


def protocol_markdown() -> str:
    board = leaderboard()
    if board.get("missing"):
        return f"*No leaderboard built yet: `{board['missing']}`.*"
    lines = [f"**{d}**: {p}" for d, p in board["protocols"].items()]
    return ("Distribution numbers follow the shared kit's protocol, per dataset: " + " · ".join(lines)
            + f".  \nSampling time: {board['timing']}. NLL: each likelihood model's test protocol (its card). "
            "Click a column header to sort.")


def cost_plot():
    """Quality (FD) against sampling cost, one point per checkpoint with an FD. log10 of the time: GANs take a
    millisecond per image where autoregressive and diffusion samplers take hundreds."""
    import math

    import pandas as pd

    rows = [r for r in leaderboard()["rows"] if "FD" in r]
    return pd.DataFrame({"log10 ms per image": [math.log10(r["sampling_ms_per_image"]) for r in rows],
                         "FD": [r["FD"] for r in rows],
                         "family": [r["family"] for r in rows], "checkpoint": [r["checkpoint"] for r in rows]})


def with_replay() -> list[str]:
    from models.hub import checkpoint_folder

    return [n for n in all_samplers() if common.replay_frames(checkpoint_folder(n))]


def replay(name, position):
    """A checkpoint's sample grid at `position` (0 = start, 1 = end) of its training, and all frames animated."""
    from models.hub import checkpoint_folder

    names = with_replay()
    if name not in names:
        raise common.gr_error(f"Checkpoint must be one of {', '.join(names) or '(none with a replay)'}; got {name!r}")
    position = common.check_float(position, "Position", 0, 1)
    frames = common.replay_frames(checkpoint_folder(name))
    big = [common.caption(f.resize((f.width * 3, f.height * 3), Image.NEAREST), f"{k:.0f} kimg") for f, k in frames]
    return big[round(position * (len(big) - 1))], common.save_animation(big, duration_ms=250, boomerang=False)


def build() -> None:
    gr.Markdown(t("intro"))
    with gr.Tab(t("tab_same_seed")):
        with gr.Row():
            seed = uploads.integer_box(t("seed"))
            count = gr.Slider(1, MAX_PER_MODEL, value=8, step=1, label=t("per_model"))
            dataset = gr.Dropdown(datasets() or ["mnist"], value="mnist", label=t("dataset"))
        run = gr.Button(t("run"), variant="primary")
        gallery = gr.Gallery(label=t("gallery"), columns=3, height="auto", format="png",  # lossless: pixel digits
                             elem_id="compare-gallery")
    with gr.Tab(t("tab_leaderboard")):
        gr.Markdown(protocol_markdown(), elem_classes=i18n.VERBATIM)
        gr.Markdown(t("metric_legend"))
        gr.Markdown(t("legend"))
        gr.Dataframe(leaderboard_rows(), headers=[label for _, label in COLUMNS], interactive=False, wrap=True)
        if leaderboard()["rows"]:
            gr.ScatterPlot(cost_plot(), x="log10 ms per image", y="FD", color="family", tooltip=["checkpoint", "FD"],
                           title=t("plot"), height=360)
        if leaderboard().get("others"):
            gr.Markdown(t("others"))
            gr.Dataframe(other_rows(), headers=OTHER_COLUMNS, interactive=False, wrap=True)
    with gr.Tab(t("tab_replays")):
        names = with_replay()
        with gr.Row():
            name = gr.Dropdown(names, value=names[0] if names else None, label=t("checkpoint"))
            position = gr.Slider(0, 1, value=1, step=0.01, label=t("position"))
        show = gr.Button(t("show"), variant="primary")
        with gr.Row():
            frame = gr.Image(label=t("frame"), type="pil", format="png")
            animation = gr.Image(label=t("replay"), type="filepath")

    run.click(same_seed, [seed, count, dataset], gallery, api_name="compare_same_seed")
    show.click(replay, [name, position], [frame, animation], api_name="compare_replay")
    position.release(replay, [name, position], [frame, animation], api_name=False)
