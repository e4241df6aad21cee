"""Conditional GANs tab: ask for a class (cGAN, AC-GAN), turn InfoGAN's learned codes, encode your own digit
with BiGAN's encoder to see G(E(x)), and type a caption for the text-to-image GAN.

Checkpoints come from train/conditional.py (papers in models/conditional.py). A model whose checkpoint is not bundled
(or on the Hub) says so and names the command that trains it; the rest of the tab keeps working.
"""

from __future__ import annotations

import functools
import json

import gradio as gr
import torch

from demos import common, i18n, uploads
from models.conditional import CAPTION_GRAMMAR, BiGAN, ConditionalGenerator, InfoGenerator, TextToImageGenerator
from models.hub import checkpoint_folder, default_device, load_pretrained
from train.conditional import MODELS

TITLE = "Conditional GANs"
DATASET = "mnist"
CLASSES = [str(i) for i in range(10)]
MAX_CODE = 3.0                 # continuous codes are trained in [-1, 1]; the paper shows extrapolation to +-2
CODE_STEPS = 7                 # columns of the categorical x continuous grid
MAX_CAPTION_CHARS = 200
CLASSES_OF = {"cgan": ConditionalGenerator, "acgan": ConditionalGenerator, "infogan": InfoGenerator, "bigan": BiGAN,
              "t2i": TextToImageGenerator}
PAPERS = [
    i18n.Paper("cGAN", "Mirza & Osindero 2014", "Conditional Generative Adversarial Nets", "1411.1784",
               "조건부 생성적 적대 신경망"),
    i18n.Paper("AC-GAN", "Odena, Olah & Shlens 2017", "Conditional Image Synthesis with Auxiliary Classifier GANs",
               "1610.09585", "보조 분류기 GAN을 이용한 조건부 이미지 합성"),
    i18n.Paper("InfoGAN", "Chen et al. 2016",
               "InfoGAN: Interpretable Representation Learning by Information Maximizing Generative Adversarial Nets",
               "1606.03657", "정보량 최대화 생성적 적대 신경망을 이용한 해석 가능한 표현 학습"),
    i18n.Paper("BiGAN", "Donahue, Krähenbühl & Darrell 2017", "Adversarial Feature Learning", "1605.09782",
               "적대적 특징 학습"),
    i18n.Paper("ALI", "Dumoulin et al. 2017", "Adversarially Learned Inference", "1606.00704", "적대적으로 학습한 추론"),
    i18n.Paper("GAN-CLS", "Reed et al. 2016", "Generative Adversarial Text to Image Synthesis", "1605.05396",
               "생성적 적대 신경망을 이용한 텍스트-이미지 합성"),
]
PAPERS_EN, PAPERS_KO = i18n.paper_list(PAPERS)
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "조건부 GAN"),
    "intro": (
        "Four ways to give a GAN a handle on what it draws, all on DCGAN's 32-px networks trained here on MNIST "
        "(`python -m train.conditional --model=...`; `models/conditional.py`).\n\n"
        + PAPERS_EN,
        "GAN이 무엇을 그릴지 조절할 수 있게 하는 네 가지 방법입니다. 모두 DCGAN의 32픽셀 신경망을 쓰며, 여기서 "
        "MNIST로 학습했습니다(`python -m train.conditional --model=...`; `models/conditional.py`).\n\n"
        + PAPERS_KO),
    "tab_class": ("cGAN / AC-GAN", "cGAN / AC-GAN"),
    "cgan": ("cGAN (label concatenated to G and D)", "cGAN (레이블을 G와 D의 입력에 이어 붙임)"),
    "acgan": ("AC-GAN (auxiliary classifier D)", "AC-GAN (보조 분류기를 단 D)"),
    "digit": ("Digit", "숫자"),
    "run_class": ("Generate this digit", "이 숫자 생성"),
    "tab_info": ("InfoGAN", "InfoGAN"),
    "info_intro": (
        "InfoGAN was never told the labels: the categorical code's values are whatever clusters it found (often "
        "digits, in its own order); the continuous codes often learn slant and width. Codes were trained in [-1, 1]; "
        "the grid extrapolates to ±2.",
        "InfoGAN은 레이블을 한 번도 받지 않았습니다. 범주형 코드의 값은 모델이 스스로 찾아낸 군집이고(대개 숫자지만 "
        "순서는 모델 나름입니다), 연속 코드는 흔히 기울기와 굵기를 배웁니다. 코드는 [-1, 1] 범위에서 학습했으며, "
        "격자는 ±2까지 외삽합니다."),
    "info_seed": ("Seed (the noise z)", "시드 (노이즈 z)"),
    "category": ("Categorical code c1", "범주형 코드 c1"),
    "code_1": ("Continuous code c2", "연속 코드 c2"),
    "code_2": ("Continuous code c3", "연속 코드 c3"),
    "varied": ("Sweep in the grid", "격자에서 훑을 코드"),
    "info_samples": ("8 samples with these codes", "이 코드로 만든 샘플 8개"),
    "info_grid": ("rows: c1 = 0…9; columns: the swept code from -2 to 2", "행: c1 = 0…9, 열: 훑는 코드 −2 → 2"),
    "tab_bigan": ("BiGAN", "BiGAN"),
    "bigan_intro": (
        "Draw a digit (or upload one): the encoder E maps it to a latent vector and the generator draws G(E(x)). "
        "BiGAN never trains on reconstructions: whatever survives the round trip is what E and G agreed on through "
        "the joint discriminator.",
        "숫자를 그리거나 업로드하면 인코더 E가 그것을 잠재 벡터로 보내고, 생성자가 G(E(x))를 그립니다. BiGAN은 "
        "재구성 손실로 학습한 적이 없습니다. 왕복한 뒤에도 남아 있는 것은 E와 G가 (x, z) 쌍을 보는 결합 판별자를 "
        "통해 합의한 것뿐입니다."),
    "encode_sketch": ("Encode the drawing", "그림 인코딩"),
    "encode_upload": ("Encode the upload", "업로드한 이미지 인코딩"),
    "pair": ("x (as E sees it) | G(E(x))", "x (E가 보는 모습) | G(E(x))"),
    "tab_t2i": ("Text to image", "텍스트 → 이미지"),
    "t2i_intro": (
        "GAN-CLS (Reed et al. 2016) with the matching-aware discriminator and GAN-INT. The captions it was trained on "
        "were generated from each digit's label and measured attributes (ink = thin/thick, shear = upright/slanted, "
        f"bounding box = small/large, in thirds per class). Grammar:\n```\n{CAPTION_GRAMMAR}\n```",
        "GAN-CLS(Reed et al. 2016)에 캡션과 이미지의 짝을 가려내는(matching-aware) 판별자와 GAN-INT(캡션 임베딩 "
        "보간)를 더했습니다. 학습에 쓴 캡션은 각 숫자의 레이블과 측정한 속성(잉크 양 = thin/thick, 기울기 = "
        "upright/slanted, 경계 상자 = small/large; 클래스마다 3등분)에서 자동으로 만든 것입니다. 캡션은 영어로 "
        f"입력하며, 문법은 다음과 같습니다:\n```\n{CAPTION_GRAMMAR}\n```"),
    "caption": ("Caption", "캡션 (영어)"),
    "run_t2i": ("Draw the caption", "캡션대로 그리기"),
}
t = i18n.Translator(__name__, STRINGS)


def checkpoint(model: str) -> str:
    return f"{model}-{DATASET}"


@functools.cache
def generator(model: str) -> torch.nn.Module:
    try:
        return load_pretrained(CLASSES_OF[model], checkpoint(model), family="conditional")
    except FileNotFoundError:
        raise common.gr_error(f"The {model} checkpoint is not bundled yet: train it with "
                              f"python -m train.conditional --model={model}") from None


def metrics_line(model: str) -> str:
    try:
        path = checkpoint_folder(checkpoint(model), "conditional") / "metrics.json"
    except FileNotFoundError:
        return f"*`{checkpoint(model)}` is not bundled yet: `python -m train.conditional --model={model}`.*"
    if not path.exists():
        return f"*`{checkpoint(model)}`: not evaluated yet.*"
    v = json.loads(path.read_text())["values"]
    key, what, bar = {"cgan": ("requested_class_accuracy", "samples classified as the requested class", 0.95),
                      "acgan": ("requested_class_accuracy", "samples classified as the requested class", 0.95),
                      "infogan": ("category_purity", "purity of the categorical code's clusters", 0.80),
                      "bigan": ("reconstruction_class_agreement", "test digits whose G(E(x)) keeps their class", 0.70),
                      "t2i": ("caption_class_accuracy", "samples classified as the class their caption names", 0.90)}[model]
    verdict = "met" if v[key] >= bar else "**not met**"  # shown, not hidden: the tab is also a record of what works
    line = (f"`{checkpoint(model)}`: {100 * v[key]:.1f} % {what} (target ≥ {100 * bar:.0f} %: {verdict}) · "
            f"FD {v['FD']:.2f} · precision {v['precision']:.2f} · recall {v['recall']:.2f}")
    if "category_to_class" in v:
        line += " · code → most frequent digit: " + ", ".join(f"{c}→{d}" for c, d in enumerate(v["category_to_class"]))
    return line


@torch.inference_mode()
def class_samples(model, digit, seed, count):
    """`count` samples of the requested digit from cGAN or AC-GAN, the same latents whatever the digit."""
    if model not in ("cgan", "acgan"):
        raise common.gr_error(f"Model must be cgan or acgan; got {model!r}")
    digit = common.check_int(digit, "Digit", 0, 9)
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, common.MAX_SAMPLES)
    G = generator(model)
    z = common.latents(seed, count, G.latent_dim).to(default_device())
    images = G(z, torch.full((count,), digit, device=z.device)).cpu()
    return common.image_grid(images, nrow=min(count, 8), scale=common.DISPLAY_SCALE // 2)


def check_code(value, name: str) -> float:
    return common.check_float(value, name, -MAX_CODE, MAX_CODE)


@torch.inference_mode()
def info_codes(seed, category, code_1, code_2, varied):
    """InfoGAN: (a) 8 samples with the chosen codes; (b) the paper's figure: rows = the 10 values of the categorical
    code, columns = the chosen continuous code swept from -2 to 2, everything else fixed."""
    seed = common.check_seed(seed)
    category = common.check_int(category, "Categorical code", 0, 9)
    codes = torch.tensor([check_code(code_1, "Continuous code 1"), check_code(code_2, "Continuous code 2")])
    varied = common.check_int(varied, "Code to sweep", 1, 2) - 1
    G = generator("infogan")
    device = default_device()
    z = common.latents(seed, 8, G.latent_dim)
    samples = G(z.to(device), torch.full((8,), category, device=device), codes.expand(8, -1).to(device)).cpu()
    sweep = torch.linspace(-2, 2, CODE_STEPS)
    cats = torch.arange(10).repeat_interleave(CODE_STEPS)
    cont = codes.repeat(10 * CODE_STEPS, 1)
    cont[:, varied] = sweep.repeat(10)
    grid = G(z[:1].expand(10 * CODE_STEPS, -1).to(device), cats.to(device), cont.to(device)).cpu()
    return (common.image_grid(samples, nrow=8, scale=common.DISPLAY_SCALE // 2),
            common.image_grid(grid, nrow=CODE_STEPS, scale=common.DISPLAY_SCALE // 2))


def digit_from_upload(image) -> torch.Tensor:
    """A drawn or uploaded digit -> (1, 1, 32, 32) in [-1, 1], MNIST-style: white on black, the ink's bounding box
    scaled to 20 px and centred (MNIST's 28-px frame), padded to 32 like the training data."""
    return common.digit_from_image(image, 32, box=20) * 2 - 1


@torch.inference_mode()
def bigan_reconstruct(image):
    """x -> (x as the encoder sees it | G(E(x))), and the first entries of E(x)."""
    x = digit_from_upload(image)
    model = generator("bigan")
    z = model.encode(x.to(default_device()))
    reconstruction = model.generator(z).cpu()
    pair = common.image_grid(torch.cat([x, reconstruction]), nrow=2, scale=common.DISPLAY_SCALE * 2)
    code = ", ".join(f"{v:+.2f}" for v in z[0, :8].tolist())
    return pair, (f"E(x) = [{code}, …] ({z.shape[1]} dimensions; |E(x)| = {z.norm():.2f}, a prior sample has "
                  f"|z| ≈ {z.shape[1] ** 0.5:.1f})")


@torch.inference_mode()
def text_to_image(caption, seed, count):
    """GAN-CLS: `count` samples for one caption of the documented grammar."""
    if not isinstance(caption, str) or not caption.strip():
        raise common.gr_error("Type a caption, e.g. 'a thick seven'")
    if len(caption) > MAX_CAPTION_CHARS:
        raise common.gr_error(f"Caption too long: {len(caption)} characters; at most {MAX_CAPTION_CHARS}")
    seed = common.check_seed(seed)
    count = common.check_int(count, "Number of samples", 1, common.MAX_SAMPLES)
    G = generator("t2i")
    try:
        phi = G.embed([caption])
    except ValueError as error:
        raise common.gr_error(f"Caption not understood: {error}") from None
    z = common.latents(seed, count, G.latent_dim).to(default_device())
    images = G(z, phi.to(z.device).expand(count, -1)).cpu()
    return common.image_grid(images, nrow=min(count, 8), scale=common.DISPLAY_SCALE // 2)


def samplers() -> dict[str, common.Sampler]:
    """For the Compare tab and the leaderboard: sample i asks for digit i % 10 (InfoGAN: category i % 10 with both
    continuous codes at 0; text to image: the caption "a <digit>"); BiGAN's G(z) is unconditional."""
    def sampler(model):
        @torch.inference_mode()
        def sample(seed, n):
            G, device = generator(model), default_device()
            z, digits = common.latents(seed, n, G.latent_dim).to(device), (torch.arange(n) % 10).to(device)
            if model == "infogan":
                return G(z, digits, torch.zeros(n, G.num_continuous, device=device)).cpu()
            if model == "t2i":
                return G(z, G.embed([f"a {d}" for d in digits.tolist()]).to(device)).cpu()
            return (G(z) if model == "bigan" else G(z, digits)).cpu()
        return common.Sampler(sample, MODELS[model][0], TITLE, DATASET, unconditional=model == "bigan")

    found = {}
    for model in CLASSES_OF:
        try:
            checkpoint_folder(checkpoint(model), "conditional")
            found[checkpoint(model)] = sampler(model)
        except FileNotFoundError:
            pass
    return found


def build() -> None:
    gr.Markdown(t("intro"))
    with gr.Tab(t("tab_class")):
        gr.Markdown(metrics_line("cgan") + "  \n" + metrics_line("acgan"), elem_classes=i18n.VERBATIM)
        with gr.Row():
            model = gr.Radio([(t(m), m) for m in ("cgan", "acgan")], value="cgan", label=t("model"))
            digit = gr.Dropdown(CLASSES, value="7", label=t("digit"))
            seed = uploads.integer_box(t("seed"))
            count = gr.Slider(1, common.MAX_SAMPLES, value=16, step=1, label=t("count"))
        run = gr.Button(t("run_class"), variant="primary")
        grid = gr.Image(label=t("samples"), type="pil", format="png")
    with gr.Tab(t("tab_info")):
        gr.Markdown(metrics_line("infogan"), elem_classes=i18n.VERBATIM)
        gr.Markdown(t("info_intro"))
        with gr.Row():
            info_seed = uploads.integer_box(t("info_seed"))
            category = gr.Slider(0, 9, value=0, step=1, label=t("category"))
            code_1 = gr.Slider(-MAX_CODE, MAX_CODE, value=0, step=0.1, label=t("code_1"))
            code_2 = gr.Slider(-MAX_CODE, MAX_CODE, value=0, step=0.1, label=t("code_2"))
            varied = gr.Radio([("c2", 1), ("c3", 2)], value=1, label=t("varied"))
        run_info = gr.Button(t("generate"), variant="primary")
        with gr.Row():
            info_samples = gr.Image(label=t("info_samples"), type="pil", format="png")
            info_grid = gr.Image(label=t("info_grid"), type="pil", format="png")
    with gr.Tab(t("tab_bigan")):
        gr.Markdown(metrics_line("bigan"), elem_classes=i18n.VERBATIM)
        gr.Markdown(t("bigan_intro"))
        with gr.Row():
            sketch = uploads.SketchUpload(label=t("draw_digit"), type="pil", image_mode="RGBA", canvas_size=(280, 280))
            upload = uploads.ImageUpload(label=t("or_upload"), type="pil", image_mode="RGBA", sources=["upload"])
        with gr.Row():
            run_sketch = gr.Button(t("encode_sketch"), variant="primary")
            run_upload = gr.Button(t("encode_upload"))
        pair = gr.Image(label=t("pair"), type="pil", format="png")
        code = gr.Markdown()

    with gr.Tab(t("tab_t2i")):
        gr.Markdown(metrics_line("t2i"), elem_classes=i18n.VERBATIM)
        gr.Markdown(t("t2i_intro"))
        with gr.Row():
            caption = gr.Textbox(value="a thick seven", label=t("caption"), max_lines=1)
            t2i_seed = uploads.integer_box(t("seed"))
            t2i_count = gr.Slider(1, common.MAX_SAMPLES, value=16, step=1, label=t("count"))
        run_t2i = gr.Button(t("run_t2i"), variant="primary")
        t2i_grid = gr.Image(label=t("samples"), type="pil", format="png")

    run.click(class_samples, [model, digit, seed, count], grid, api_name="conditional_class_samples")
    run_info.click(info_codes, [info_seed, category, code_1, code_2, varied], [info_samples, info_grid],
                   api_name="conditional_infogan")
    run_sketch.click(bigan_reconstruct, sketch, [pair, code], api_name="conditional_bigan_sketch")
    run_upload.click(bigan_reconstruct, upload, [pair, code], api_name="conditional_bigan")
    run_t2i.click(text_to_image, [caption, t2i_seed, t2i_count], t2i_grid, api_name="conditional_text_to_image")
