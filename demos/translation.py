"""Image-to-image tab. Pix2Pix: draw edges (or upload a photo, whose edges are extracted) and see the item the
generator makes of them, next to the paper's two ablations; held-out test pairs with their scores. CycleGAN: a digit
through thin -> thick and back (or the other way), with the round trip next to the input. DiscoGAN: bag <-> shoe.
StarGAN: a digit (test or uploaded) into the picked domain of 12, and into all of them in a row. SPADE: paint a label
map (or upload one, or take a test scene's) and see it synthesized under several styles.

Models (models/translation.py; Isola et al. 2017, Zhu et al. 2017): pix2pix-fashion-mnist (U-Net, cGAN + L1) and the
ablations pix2pix-encdec-fashion-mnist (no skips) and pix2pix-l1-fashion-mnist (no cGAN), edges -> Fashion-MNIST items
at 64 px; cyclegan-mnist-strokes, thin <-> thick digits at 32 px; discogan-bags-shoes; stargan-mnist-attributes
(Choi et al. 2018), colourised digits at 32 px; spade-scenes (Park et al. 2019), procedural landscapes at 64 px; all
trained by train/translation.py. A checkpoint
that is not bundled (or on the Hub) says so and names its train command; the conversion of your input is shown either
way.
"""

from __future__ import annotations

import functools
import json
import time

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos import common, i18n, uploads
from models.hub import checkpoint_folder, load_pretrained
from models.translation import SPADE_GAN, CycleGAN, DiscoGAN, StarGenerator, UNetGenerator, one_hot_labels

TITLE = "Image-to-image"
IMAGE_SIZE = 64                # what the bundled models translate
DATASET = "fashion-mnist"
# checkpoint -> (label, caption in the grids, train command); the first is the paper's model, then its ablations
MODELS = {
    "pix2pix-fashion-mnist": ("U-Net, cGAN + L1 (the paper)", "pix2pix",
                              "python -m train.translation --export_dir=assets/checkpoints/pix2pix-fashion-mnist"),
    "pix2pix-encdec-fashion-mnist": ("encoder-decoder, cGAN + L1", "enc-dec", "python -m train.translation "
                                     "--skips=false --export_dir=assets/checkpoints/pix2pix-encdec-fashion-mnist"),
    "pix2pix-l1-fashion-mnist": ("U-Net, L1 only", "L1 only", "python -m train.translation --adversarial=false "
                                 "--export_dir=assets/checkpoints/pix2pix-l1-fashion-mnist"),
}
CYCLE = "cyclegan-mnist-strokes"
CYCLE_COMMAND = "python -m train.translation --model=cyclegan --export_dir=assets/checkpoints/cyclegan-mnist-strokes"
CYCLE_SIZE = 32                # the CycleGAN's digits and DiscoGAN's items: 28 px padded to 32
DISCO = "discogan-bags-shoes"
DISCO_COMMAND = "python -m train.translation --model=discogan --export_dir=assets/checkpoints/discogan-bags-shoes"
STAR = "stargan-mnist-attributes"
STAR_COMMAND = "python -m train.translation --model=stargan --export_dir=assets/checkpoints/stargan-mnist-attributes"
SPADE_NAME = "spade-scenes"
SPADE_COMMAND = "python -m train.translation --model=spade --export_dir=assets/checkpoints/spade-scenes"
# checkpoint -> (class, command): the models with one checkpoint each (loaded by check_checkpoint)
CHECKPOINT_CLASSES = {CYCLE: (CycleGAN, CYCLE_COMMAND), DISCO: (DiscoGAN, DISCO_COMMAND),
                      STAR: (StarGenerator, STAR_COMMAND), SPADE_NAME: (SPADE_GAN, SPADE_COMMAND)}
SPADE_SIZE = 64                # the scenes' side
SPADE_STYLES = 4               # random styles per label map
MAX_SCENE_INDEX = 1999         # the test scenes
UNPAINTED = 245                # a pixel with every channel >= this is blank paper, read as sky
STAR_COLOURS = ("red", "green", "blue")     # data.ATTRIBUTES' first three, in order
STAR_THICKNESS = ("thin", "thick")
STAR_BACKGROUNDS = ("dark", "light")
DIRECTIONS = {"AtoB": ("thin → thick (G)", "BtoA"), "BtoA": ("thick → thin (F)", "AtoB")}  # -> (report, the way back)
MAX_TEST_INDEX = 9999          # the Fashion-MNIST / MNIST test splits
NOISE_SAMPLES = 4              # outputs of the paper's model under different dropout draws
ITEM_BOX = 60                  # a drawing's strokes are scaled into a 60-px square of the 64 (items fill the frame)
DISPLAY_SCALE = 3
STRINGS = {  # key -> (English, Korean); build() uses only the keys
    "title": (TITLE, "이미지 변환"),
    "intro": (
        "**Pix2Pix** (Isola, Zhu, Zhou & Efros 2017, [*Image-to-Image Translation with Conditional Adversarial "
        "Networks*](https://arxiv.org/abs/1611.07004)): a U-Net generator with skip connections, a PatchGAN "
        "discriminator that judges (input, output) patches, and the cGAN loss plus 100 × L1; dropout is its only "
        "noise. Trained here on the edges2shoes analogue: Canny edges → Fashion-MNIST items at 64 px "
        "(`python -m train.translation`; `models/translation.py`). The two ablations of the paper's Table 1 sit next "
        "to it: without the skips (encoder-decoder) and without the cGAN (L1 only, which blurs).",
        "**Pix2Pix**(Isola, Zhu, Zhou & Efros 2017, [*Image-to-Image Translation with Conditional Adversarial "
        "Networks*](https://arxiv.org/abs/1611.07004), 「조건부 적대 신경망을 이용한 이미지 간 변환」): 스킵 연결이 "
        "있는 U-Net 생성자, (입력, 출력) 패치를 판별하는 PatchGAN 판별자, cGAN 손실 + 100 × L1을 씁니다. 잡음은 "
        "드롭아웃뿐입니다. 여기서는 edges2shoes를 본뜬 데이터(Canny 윤곽선 → 64픽셀 Fashion-MNIST 물건)로 "
        "학습했습니다(`python -m train.translation`; `models/translation.py`). 논문 표 1의 두 가지 제거 실험도 "
        "나란히 보여 줍니다: 스킵 연결이 없는 인코더-디코더, cGAN 없이 L1만 쓴 모델(흐려집니다)."),
    "tab_draw": ("Draw or upload", "그리기 또는 올리기"),
    "draw_intro": (
        "Draw the outline of a shoe, bag, shirt or dress (dark lines on white), or upload a photo: its edges are "
        "extracted with the same Canny detector as the training pairs. The first image shows what the model gets.",
        "신발, 가방, 셔츠, 원피스의 윤곽을 흰 바탕에 어두운 선으로 그리거나 사진을 올리세요. 사진은 학습 데이터와 "
        "같은 Canny 검출기로 윤곽선을 뽑습니다. 첫 번째 그림이 모델이 받는 입력입니다."),
    "draw_edges": ("Draw edges", "윤곽선 그리기"),
    "or_upload": ("…or upload a photo or an edge drawing", "…또는 사진이나 윤곽선 그림 올리기"),
    "upload_is": ("The upload is", "올린 이미지는"),
    "photo": ("a photo (extract its edges)", "사진 (윤곽선 추출)"),
    "edges": ("an edge drawing", "윤곽선 그림"),
    "translate_sketch": ("Translate the drawing", "그림 변환"),
    "translate_upload": ("Translate the upload", "올린 이미지 변환"),
    "outputs": ("Input as the model sees it → each model's output", "모델이 보는 입력 → 모델별 출력"),
    "noise": ("The paper's model under 4 dropout draws", "드롭아웃 4회 추출에 따른 논문 모델의 출력"),
    "tab_test": ("Held-out pairs", "평가용 쌍"),
    "test_intro": (
        "A pair of the test split (never trained on): its edges, the real item, and every model's output with its "
        "L1 and SSIM to the real one.",
        "학습에 쓰지 않은 테스트 쌍: 윤곽선, 실제 물건, 모델별 출력과 실제 물건에 대한 L1·SSIM."),
    "index": ("Test pair", "테스트 쌍 번호"),
    "show": ("Translate", "변환"),
    "pair": ("Edges · real item · outputs", "윤곽선 · 실제 물건 · 출력"),
    "tab_cycle": ("CycleGAN: thin ↔ thick", "CycleGAN: 가는 획 ↔ 굵은 획"),
    "cycle_intro": (
        "**CycleGAN** (Zhu, Park, Isola & Efros 2017, [*Unpaired Image-to-Image Translation using Cycle-Consistent "
        "Adversarial Networks*](https://arxiv.org/abs/1703.10593)): two generators, G: thin → thick and F: thick → "
        "thin, learned from two sets of digits that were never paired (thin strokes from one half of MNIST's "
        "training digits, thick from the other). The cycle loss ‖F(G(x)) − x‖₁ is what keeps the digit: the round "
        "trip is shown next to your input. The test digits exist in both domains, a pairing training never saw, "
        "which scores the translations.",
        "**CycleGAN**(Zhu, Park, Isola & Efros 2017, [*Unpaired Image-to-Image Translation using Cycle-Consistent "
        "Adversarial Networks*](https://arxiv.org/abs/1703.10593), 「순환 일관성 적대 신경망을 이용한 짝 없는 이미지 "
        "간 변환」): 짝지어진 적 없는 두 숫자 집합(MNIST 학습 숫자의 절반은 가는 획, 나머지 절반은 굵은 획)에서 "
        "두 생성자 G: 가는 획 → 굵은 획, F: 굵은 획 → 가는 획을 학습합니다. 숫자를 지켜 주는 것은 순환 손실 "
        "‖F(G(x)) − x‖₁이며, 입력 옆에 왕복 결과를 보여 줍니다. 테스트 숫자는 두 영역 모두에 있어(학습에서는 "
        "보지 못한 짝) 변환을 채점하는 데 씁니다."),
    "draw_digit": ("Draw a digit", "숫자 그리기"),
    "tab_disco": ("DiscoGAN: bags ↔ shoes", "DiscoGAN: 가방 ↔ 신발"),
    "disco_intro": (
        "**DiscoGAN** (Kim et al. 2017, [*Learning to Discover Cross-Domain Relations with Generative Adversarial "
        "Networks*](https://arxiv.org/abs/1703.05192)): the paper's handbags ↔ shoes, here Fashion-MNIST's bags ↔ "
        "its sandals, sneakers and boots, never paired. Two encoder-decoder generators, each trained with a GAN loss "
        "and the reconstruction loss of its round trip: the relation it finds is what survives both. Upload a photo "
        "of a bag or a shoe, or take a test item.",
        "**DiscoGAN**(Kim et al. 2017, [*Learning to Discover Cross-Domain Relations with Generative Adversarial "
        "Networks*](https://arxiv.org/abs/1703.05192), 「생성적 적대 신경망으로 영역 간 관계 발견하기」): 논문의 "
        "핸드백 ↔ 신발을 여기서는 짝지은 적 없는 Fashion-MNIST의 가방 ↔ 샌들·운동화·부츠로 합니다. 인코더-디코더 "
        "생성자 두 개를 GAN 손실과 왕복 재구성 손실로 학습하므로, 두 손실을 함께 만족하는 관계가 남습니다. 가방이나 "
        "신발 사진을 올리거나 테스트 물건을 고르세요."),
    "item_photo": ("A photo of a bag or a shoe", "가방이나 신발 사진"),
    "bag_to_shoe": ("bag → shoe (G_AB)", "가방 → 신발 (G_AB)"),
    "shoe_to_bag": ("shoe → bag (G_BA)", "신발 → 가방 (G_BA)"),
    "translate_photo": ("Translate the photo", "사진 변환"),
    "test_item": ("Test item (bags 0-999, shoes 0-2999)", "테스트 물건 (가방 0-999, 신발 0-2999)"),
    "direction": ("Direction", "방향"),
    "dir_atob": ("thin → thick (G)", "가는 획 → 굵은 획 (G)"),
    "dir_btoa": ("thick → thin (F)", "굵은 획 → 가는 획 (F)"),
    "translate_digit": ("Translate the drawing", "그림 변환"),
    "cycle_strip": ("Input · translated · round trip", "입력 · 변환 · 왕복"),
    "tab_star": ("StarGAN: 12 domains", "StarGAN: 12개 영역"),
    "star_intro": (
        "**StarGAN** (Choi et al. 2018, [*StarGAN: Unified Generative Adversarial Networks for Multi-Domain "
        "Image-to-Image Translation*](https://arxiv.org/abs/1711.09020)): one generator for every domain. It gets the "
        "image and the target's attribute vector (stroke colour red / green / blue, thick strokes, light background: "
        "12 domains of colourised MNIST, CelebA's hair colour, gender and age here), replicated over the image as "
        "extra channels. Its D is a WGAN-GP critic with a second head that classifies the domain; a reconstruction "
        "loss G(G(x, c), c′) ≈ x asks only that G can undo its edit. What keeps the digit here is a G that never "
        "downsamples (with the paper's two, it redrew each digit as another one per background and back). Each "
        "training digit was seen in one domain only. Pick a test digit "
        "or upload an image, then pick the target: the row below shows it in every domain, and a separately trained "
        "attribute classifier (the judge of the scores) reads each output.",
        "**StarGAN**(Choi et al. 2018, [*StarGAN: Unified Generative Adversarial Networks for Multi-Domain "
        "Image-to-Image Translation*](https://arxiv.org/abs/1711.09020), 「StarGAN: 여러 영역 간 이미지 변환을 위한 "
        "통합 생성적 적대 신경망」): 생성자 하나로 모든 영역을 오갑니다. 이미지와 목표 속성 벡터(획 색 빨강 / 초록 / "
        "파랑, 굵은 획, 밝은 배경: 색을 입힌 MNIST의 12개 영역, CelebA의 머리색·성별·나이에 해당)를 받는데, 속성은 "
        "이미지 전체에 복제해 채널로 붙입니다. 판별자는 WGAN-GP 비평자이면서 영역을 분류하는 두 번째 출력을 갖고, "
        "재구성 손실 G(G(x, c), c′) ≈ x는 변환을 되돌릴 수 있기만을 요구합니다. 여기서 숫자를 지키는 것은 해상도를 "
        "줄이지 않는 생성자입니다(논문처럼 두 번 줄이면 배경마다 숫자를 다른 숫자로 바꿔 그렸다가 되돌렸습니다). "
        "학습 숫자는 각각 한 영역에서만 보였습니다. 테스트 "
        "숫자를 고르거나 이미지를 올린 뒤 목표를 고르세요. 아래 줄은 모든 영역으로 바꾼 결과이고, 따로 학습한 속성 "
        "분류기(점수의 채점자)가 각 출력을 읽습니다."),
    "star_upload": ("…or upload an image (a coloured digit)", "…또는 이미지 올리기 (색이 있는 숫자)"),
    "colour": ("Stroke colour", "획 색"),
    "thickness": ("Strokes", "획 굵기"),
    "background": ("Background", "배경"),
    "red": ("red", "빨강"), "green": ("green", "초록"), "blue": ("blue", "파랑"),
    "thin": ("thin", "가는 획"), "thick": ("thick", "굵은 획"), "dark": ("dark", "어두운 배경"),
    "light": ("light", "밝은 배경"),
    "translate_test": ("Translate the test digit", "테스트 숫자 변환"),
    "translate_image": ("Translate the upload", "올린 이미지 변환"),
    "star_strip": ("Input · translated · round trip (· ground truth for test digits)",
                   "입력 · 변환 · 왕복 (· 테스트 숫자의 정답)"),
    "star_domains": ("The input in all 12 domains", "12개 영역 모두로 바꾼 입력"),
    "tab_spade": ("SPADE: paint a landscape", "SPADE: 풍경 그리기"),
    "spade_intro": (
        "**SPADE / GauGAN** (Park, Liu, Wang & Zhu 2019, [*Semantic Image Synthesis with Spatially-Adaptive "
        "Normalization*](https://arxiv.org/abs/1903.07291)): a generator whose every normalisation layer is scaled "
        "and shifted per pixel by a small network of the label map, so the layout survives all the way to the "
        "output; the style comes from a code z, drawn at random or encoded from an example image (its VAE). "
        "Trained here on procedural 64-px landscapes. Paint with the class colours (blank paper counts as sky), "
        "or start from a test scene's map, then resample the style with the seed.",
        "**SPADE / GauGAN**(Park, Liu, Wang & Zhu 2019, [*Semantic Image Synthesis with Spatially-Adaptive "
        "Normalization*](https://arxiv.org/abs/1903.07291), 「공간 적응 정규화를 이용한 의미 기반 이미지 합성」): "
        "생성자의 모든 정규화 층을 레이블 맵에서 나온 작은 신경망이 픽셀마다 배율·이동으로 조절하므로, 배치가 "
        "출력까지 살아남습니다. 스타일은 무작위로 뽑거나 예시 이미지에서 인코딩한 코드 z(VAE)에서 옵니다. 여기서는 "
        "절차적으로 만든 64픽셀 풍경으로 학습했습니다. 클래스 색으로 칠하거나(빈 종이는 하늘) 테스트 장면의 맵에서 "
        "시작한 뒤, 시드로 스타일을 바꿔 보세요."),
    "palette": ("Classes and their colours", "클래스와 색"),
    "paint": ("Paint a label map", "레이블 맵 칠하기"),
    "spade_upload": ("…or upload a label map painted in these colours", "…또는 이 색으로 칠한 레이블 맵 올리기"),
    "synthesize": ("Synthesize the painting", "그림으로 합성"),
    "synthesize_upload": ("Synthesize the upload", "올린 맵으로 합성"),
    "scene_index": ("Test scene (0-1999)", "테스트 장면 (0-1999)"),
    "show_scene": ("Synthesize the test scene's map", "테스트 장면 맵으로 합성"),
    "spade_strip": ("Label map as read · 4 random styles", "읽어 낸 레이블 맵 · 무작위 스타일 4개"),
    "spade_scene": ("Map · real scene · its style encoded · random styles", "맵 · 실제 장면 · 그 스타일 인코딩 · 무작위 스타일"),
    "cycle_test_strip": ("Thin · G(thin) · real thick · F(G(thin))  |  thick · F(thick) · real thin · G(F(thick))",
                         "가는 획 · G(가는 획) · 실제 굵은 획 · F(G(가는 획))  |  굵은 획 · F(굵은 획) · 실제 가는 획 · "
                         "G(F(굵은 획))"),
}
t = i18n.Translator(__name__, STRINGS)


# ------------------------------------------------------------------------------------------------ models
@functools.cache
def available() -> tuple[str, ...]:
    """The checkpoints that resolve (Hub, cache or bundled), in MODELS' order."""
    return common.resolvable(MODELS, "translation")


def missing_message() -> str:
    lines = [f"- {label}: `{command}`" for name, (label, _, command) in MODELS.items() if name not in available()]
    return ("*Not bundled yet:*\n" + "\n".join(lines)) if lines else ""


@functools.cache
def load(name: str) -> UNetGenerator:
    return load_pretrained(UNetGenerator, name, family="translation")


def l1_ssim(out: torch.Tensor, target: torch.Tensor) -> str:
    """One output against its ground truth, as the kit's pair_scores measures them (SSIM on [0, 1])."""
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    return f"L1 {(out - target).abs().mean().item():.3f}, SSIM {ssim((out + 1) / 2, (target + 1) / 2, data_range=1.0):.3f}"


def metric_values(name: str, label: str, command: str, resolves: bool) -> dict | str:
    """A checkpoint's metrics.json values, or the line to show instead (not bundled / no metrics)."""
    if not resolves:
        return f"*{label}: not bundled yet: `{command}`.*"
    path = checkpoint_folder(name, "translation") / "metrics.json"
    if not path.exists():
        return f"**{label}**: no metrics.json"
    return json.loads(path.read_text())["values"]


def checkpoint_metrics(name: str, label: str) -> dict | str:
    """metric_values of one of CHECKPOINT_CLASSES' models."""
    return metric_values(name, label, CHECKPOINT_CLASSES[name][1], checkpoint_available(name))


def metrics_line(name: str) -> str:
    label, _, command = MODELS[name]
    v = metric_values(name, label, command, name in available())
    if isinstance(v, str):
        return v
    return (f"**{label}** (`{name}`): L1 {v['L1']:.3f}, PSNR {v['PSNR_dB']:.1f} dB, SSIM {v['SSIM']:.3f}, class kept "
            f"{100 * v['class_kept']:.1f} %, FD {v['FD']:.2f}, precision {v['precision']:.2f}, recall {v['recall']:.2f}")


@torch.inference_mode()
def translate_all(edges: torch.Tensor, seed: int) -> tuple[list[torch.Tensor], list[str], list[str]]:
    """(outputs, labels, timing lines) of every available model for (1, 1, 64, 64) edges, dropout drawn from seed."""
    outputs, labels, lines = [], [], []
    for name in available():
        G = load(name)
        start = time.perf_counter()
        noise = torch.Generator().manual_seed(seed)
        outputs.append(G(edges.to(next(G.parameters()).device), generator=noise).float().cpu())
        labels.append(MODELS[name][1])
        lines.append(f"{MODELS[name][0]}: {1000 * (time.perf_counter() - start):.0f} ms")
    return outputs, labels, lines


# ------------------------------------------------------------------------------------------------ inputs
def sketch_to_edges(image, size: int = IMAGE_SIZE) -> torch.Tensor:
    """A drawing (dark strokes on light paper, any size and mode) -> (1, 1, size, size) one-pixel edges, -1 on a
    line: the strokes' bounding box is scaled into ITEM_BOX px and centred, then thinned to a skeleton (Canny's lines
    are one pixel wide; a brush stroke shrunk to 64 px is three)."""
    from skimage.morphology import skeletonize

    # digit_from_image inverts dark-on-light drawings, so its intensity is the ink
    ink = common.digit_from_image(image, size=size, box=round(ITEM_BOX * size / IMAGE_SIZE))[0, 0].numpy()
    lines = skeletonize(ink > 0.5)
    return torch.from_numpy(1.0 - 2.0 * lines.astype(np.float32))[None, None]


def square_upload(image, size: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Any upload -> (a (size, size) "L" or (size, size, 3) "RGB" array in [0, 1], its border colour in [0, 1]):
    transparency on white, padded to a square with the mean colour of its border (so an item keeps its background),
    resized with bicubic filtering."""
    rgba = common.open_upload(image)
    picture = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert(mode)
    array = np.asarray(picture, dtype=np.float32) / 255
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]]).mean(0)
    fill = round(255 * float(border)) if mode == "L" else tuple(round(255 * float(b)) for b in border)
    side = max(picture.size)
    square = Image.new(mode, (side, side), fill)
    square.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
    return np.asarray(square.resize((size, size), Image.BICUBIC), dtype=np.float32) / 255, border


def photo_to_item(image, size: int = IMAGE_SIZE) -> torch.Tensor:
    """A photo -> (1, 1, size, size) grey picture in [-1, 1], Fashion-MNIST's way: square_upload, then made
    light-on-dark when its border is light (a product shot on white)."""
    x, border = square_upload(image, size, "L")
    if border > 0.5:
        x = 1 - x
    return torch.from_numpy(x * 2 - 1)[None, None]


def photo_to_edges(image, size: int = IMAGE_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """A photo -> (its photo_to_item picture, that picture's Canny edges as in training)."""
    from train.data import edge_map

    picture = photo_to_item(image, size)
    return picture, edge_map(picture)


def check_upload_kind(kind) -> str:
    if kind not in ("photo", "edges"):
        raise common.gr_error(f"The upload must be described as 'photo' or 'edges'; got {kind!r}")
    return kind


# ------------------------------------------------------------------------------------------------ events
def translate(image, kind="edges", seed=0):
    """(strip: input as the model sees it, then each model's output; the paper's model under NOISE_SAMPLES dropout
    draws; report). `kind` "photo" extracts Canny edges first; "edges" reads the image as a drawing."""
    seed = common.check_seed(seed)
    shown, shown_labels = [], []
    if check_upload_kind(kind) == "photo":
        picture, edges = photo_to_edges(image)
        shown, shown_labels = [picture], ["photo"]
        conversion = f"your photo as {IMAGE_SIZE}x{IMAGE_SIZE} grey, then Canny edges (sigma 1.5, as in training)"
    else:
        edges = sketch_to_edges(image)
        conversion = (f"your drawing's strokes scaled into {ITEM_BOX} px of {IMAGE_SIZE}, centred and thinned to "
                      "one-pixel lines")
    outputs, labels, lines = translate_all(edges, seed)
    strip = common.image_grid(torch.cat([*shown, edges, *outputs]), nrow=len(shown) + 1 + len(outputs),
                              scale=DISPLAY_SCALE, labels=[*shown_labels, "input", *labels])
    noise = None
    if "pix2pix-fashion-mnist" in available():
        G = load("pix2pix-fashion-mnist")
        draws = []
        with torch.inference_mode():
            for i in range(NOISE_SAMPLES):
                noise = torch.Generator().manual_seed(seed + i)
                draws.append(G(edges.to(next(G.parameters()).device), generator=noise).float().cpu())
        spread = torch.cat(draws).std(0).mean().item()
        noise = common.image_grid(torch.cat(draws), nrow=NOISE_SAMPLES, scale=DISPLAY_SCALE)
        lines.append(f"dropout noise: mean per-pixel std over {NOISE_SAMPLES} draws = {spread:.3f} (in [-1, 1] units; "
                     "the paper found dropout adds little variety, and so it is here)")
    report = "  \n".join(lines + ([missing_message()] if missing_message() else []) + [f"<sub>{conversion}</sub>"])
    return strip, noise, report


def translate_sketch(image, seed=0):
    """translate() of a drawing (read as edges)."""
    return translate(image, "edges", seed)


def test_pair_tensors(index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(edges, item) of one held-out pair, exactly what data.edge_pairs(DATASET, "test") holds at `index`: Canny runs
    per image, so only the requested one is computed (not all 10k on the first request)."""
    from train.data import edge_map, fashion_mnist, upsample

    items, _ = fashion_mnist("test", 28)  # the idx file is read and checked once per process (train.data)
    item = upsample(items[index:index + 1], IMAGE_SIZE)
    return edge_map(item), item


@torch.inference_mode()
def test_pair(index, seed=0):
    """(edges · real item · outputs, report with each output's L1 and SSIM to the real item) for one test pair."""
    index, seed = common.check_int(index, "Test pair", 0, MAX_TEST_INDEX), common.check_seed(seed)
    try:
        x, y = test_pair_tensors(index)
    except FileNotFoundError as error:  # data.DatasetMissing: Fashion-MNIST is a Debian package
        raise common.gr_error(str(error)) from None
    outputs, labels, _ = translate_all(x, seed)
    lines = [f"{MODELS[name][0]}: {l1_ssim(out, y)}" for name, out in zip(available(), outputs)]
    strip = common.image_grid(torch.cat([x, y, *outputs]), nrow=2 + len(outputs), scale=DISPLAY_SCALE,
                              labels=["edges", "real", *labels])
    return strip, "  \n".join(lines + ([missing_message()] if missing_message() else []))


# ------------------------------------------------------------------------------------------------ CycleGAN, DiscoGAN
@functools.cache
def checkpoint_available(name: str) -> bool:
    return bool(common.resolvable([name], "translation"))


@functools.cache
def checkpoint_model(name: str) -> CycleGAN | DiscoGAN:
    return load_pretrained(CHECKPOINT_CLASSES[name][0], name, family="translation")


def check_checkpoint(name: str) -> CycleGAN | DiscoGAN:
    """The loaded CycleGAN / DiscoGAN checkpoint, or a gr.Error naming its train command."""
    if not checkpoint_available(name):
        raise common.gr_error(f"No checkpoint {name!r} yet. Train it with: {CHECKPOINT_CLASSES[name][1]}")
    return checkpoint_model(name)


def check_direction(value) -> str:
    if value not in DIRECTIONS:
        raise common.gr_error(f"Direction must be one of {', '.join(DIRECTIONS)}; got {value!r}")
    return value


@torch.inference_mode()
def cycle_drawing(image, direction="AtoB"):
    """(strip: your digit as the model sees it, translated, and back; report). The drawing becomes a 28-px digit
    (MNIST's way), padded to 32 px, and binarized at intensity 0.5 like the training domains."""
    direction = check_direction(direction)
    model = check_checkpoint(CYCLE)
    digit = common.digit_from_image(image)  # (1, 1, 28, 28) in [0, 1]
    x = torch.nn.functional.pad((digit > 0.5).float() * 2 - 1, (2, 2, 2, 2), value=-1.0)
    device = next(model.parameters()).device
    start = time.perf_counter()
    out = model(x.to(device), direction).cpu()
    back = model(out.to(device), DIRECTIONS[direction][1]).cpu()
    seconds = time.perf_counter() - start
    strip = common.image_grid(torch.cat([x, out, back]), nrow=3, scale=DISPLAY_SCALE * 2,
                              labels=["input", "translated", "round trip"])
    return strip, (f"{DIRECTIONS[direction][0]}, then back: round trip {l1_ssim(back, x)} to your input; "
                   f"{1000 * seconds:.0f} ms  \n<sub>your drawing as a 28-px MNIST digit (ink box 20 px), padded to "
                   f"{CYCLE_SIZE} px, binarized at 0.5</sub>")


@functools.cache
def cycle_test_digits():
    from train.data import stroke_pairs

    return stroke_pairs("test", CYCLE_SIZE)


@torch.inference_mode()
def cycle_test(index):
    """One test digit in both domains (the hidden pairing): each translated, scored against its real counterpart,
    and sent back."""
    index = common.check_int(index, "Test digit", 0, MAX_TEST_INDEX)
    model = check_checkpoint(CYCLE)
    try:
        thin, thick, _ = cycle_test_digits()
    except FileNotFoundError as error:
        raise common.gr_error(str(error)) from None
    a, b = thin[index:index + 1], thick[index:index + 1]
    device = next(model.parameters()).device
    fake_b, fake_a = model(a.to(device)).cpu(), model(b.to(device), "BtoA").cpu()
    back_a, back_b = model(fake_b.to(device), "BtoA").cpu(), model(fake_a.to(device)).cpu()
    strip = common.image_grid(torch.cat([a, fake_b, b, back_a, b, fake_a, a, back_b]), nrow=8, scale=DISPLAY_SCALE * 2,
                              labels=["thin", "G(thin)", "real", "F(G)", "thick", "F(thick)", "real", "G(F)"])
    return strip, (f"G(thin) vs the real thick digit: {l1_ssim(fake_b, b)}; F(thick) vs the real thin one: "
                   f"{l1_ssim(fake_a, a)}; round trips: thin {l1_ssim(back_a, a)}, thick "
                   f"{l1_ssim(back_b, b)}")


def cycle_metrics_line() -> str:
    v = checkpoint_metrics(CYCLE, "CycleGAN")
    if isinstance(v, str):
        return v
    return (f"**CycleGAN** (`{CYCLE}`): thin → thick L1 {v['AtoB_L1']:.3f}, SSIM {v['AtoB_SSIM']:.3f}, class kept "
            f"{100 * v['AtoB_class_kept']:.1f} %; thick → thin L1 {v['BtoA_L1']:.3f}, SSIM {v['BtoA_SSIM']:.3f}, "
            f"class kept {100 * v['BtoA_class_kept']:.1f} %")


# ------------------------------------------------------------------------------------------------ DiscoGAN
@torch.inference_mode()
def disco_strip(x: torch.Tensor, direction: str) -> tuple[Image.Image, str]:
    """(input · translated · round trip, the classifier's reading of the translation)."""
    from train.evaluate import classify

    model = check_checkpoint(DISCO)
    device = next(model.parameters()).device
    out = model(x.to(device), direction).cpu()
    back = model(out.to(device), DIRECTIONS[direction][1]).cpu()
    _, probs = classify(out, "fashion-mnist")
    from train.data import FASHION_MNIST_CLASSES

    label = FASHION_MNIST_CLASSES[int(probs.argmax())]
    strip = common.image_grid(torch.cat([x, out, back]), nrow=3, scale=DISPLAY_SCALE * 2,
                              labels=["input", "translated", "round trip"])
    return strip, (f"the Fashion-MNIST classifier reads the translation as **{label}** "
                   f"({100 * probs.max().item():.0f} %); round trip L1 {(back - x).abs().mean().item():.3f}")


def disco_photo(image, direction="AtoB"):
    direction = check_direction(direction)
    check_checkpoint(DISCO)
    x = torch.nn.functional.pad(photo_to_item(image, 28), (2, 2, 2, 2), value=-1.0)
    strip, report = disco_strip(x, direction)
    return strip, report + ("  \n<sub>your photo as a 28-px Fashion-MNIST-style item (light on black), padded to "
                            f"{CYCLE_SIZE} px</sub>")


@functools.cache
def disco_test_items():
    from train.data import item_domains

    bags, shoes, _ = item_domains("test", CYCLE_SIZE)
    return bags, shoes


def disco_test(index, direction="AtoB"):
    direction = check_direction(direction)
    check_checkpoint(DISCO)
    try:
        bags, shoes = disco_test_items()
    except FileNotFoundError as error:
        raise common.gr_error(str(error)) from None
    items = bags if direction == "AtoB" else shoes
    index = common.check_int(index, "Test item", 0, len(items) - 1)
    return disco_strip(items[index:index + 1], direction)


def disco_metrics_line() -> str:
    v = checkpoint_metrics(DISCO, "DiscoGAN")
    if isinstance(v, str):
        return v
    return (f"**DiscoGAN** (`{DISCO}`): bags → a shoe class {100 * v['AtoB_in_target']:.1f} %, shoes → bag "
            f"{100 * v['BtoA_in_target']:.1f} % (target ≥ 90 %); round trips L1 {v['AtoB_round_trip_L1']:.3f} / "
            f"{v['BtoA_round_trip_L1']:.3f}")


# ------------------------------------------------------------------------------------------------ StarGAN
def star_target(colour, thickness, background) -> torch.Tensor:
    """The pickers' choices -> the (1, 5) attribute vector (red, green, blue, thick, light background)."""
    for value, allowed, name in ((colour, STAR_COLOURS, "Stroke colour"), (thickness, STAR_THICKNESS, "Strokes"),
                                 (background, STAR_BACKGROUNDS, "Background")):
        if value not in allowed:
            raise common.gr_error(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    from train.data import attribute_vectors

    return attribute_vectors(torch.tensor([STAR_COLOURS.index(colour)]), torch.tensor([thickness == "thick"]),
                             torch.tensor([background == "light"]))


def photo_to_rgb(image, size: int = CYCLE_SIZE) -> torch.Tensor:
    """Any upload -> (1, 3, size, size) in [-1, 1] by square_upload."""
    x, _ = square_upload(image, size, "RGB")
    return torch.from_numpy(x * 2 - 1).permute(2, 0, 1)[None].contiguous()


def reading(probs: torch.Tensor, domain: torch.Tensor) -> str:
    """One image as the attribute classifier read it: "digit 7, red thick on light"."""
    from train.data import domain_name

    return f"digit {int(probs.argmax())}, {domain_name(domain)}"


def judge_line(images: torch.Tensor) -> list[str]:
    """The attribute classifier's reading of each image."""
    from train.evaluate import read_attributes

    return [reading(p, d) for p, d in zip(*read_attributes(images))]


@torch.inference_mode()
def star_translate(x: torch.Tensor, source: torch.Tensor, target: torch.Tensor, truth: torch.Tensor | None = None):
    """(input · G(x, target) · G(G(x, target), source) [· truth]; x in all 12 domains; report)."""
    from train.data import all_domains, domain_name

    model = check_checkpoint(STAR)
    device = next(model.parameters()).device
    start = time.perf_counter()
    out = model(x.to(device), target.to(device)).cpu()
    back = model(out.to(device), source.to(device)).cpu()
    seconds = time.perf_counter() - start
    domains = all_domains()
    every = model(x.expand(len(domains), -1, -1, -1).to(device), domains.to(device)).cpu()
    shown = [x, out, back] + ([truth] if truth is not None else [])
    strip = common.image_grid(torch.cat(shown), nrow=len(shown), scale=DISPLAY_SCALE * 2,
                              labels=["input", "translated", "round trip", "truth"][:len(shown)])
    row = common.image_grid(every, nrow=len(domains), scale=DISPLAY_SCALE,
                            labels=[domain_name(d).replace(" on ", "/") for d in domains])
    reading = judge_line(out)[0]
    lines = [f"target **{domain_name(target[0])}**; the judge reads the output as: {reading}",
             f"round trip back to {domain_name(source[0])}: L1 {(back - x).abs().mean().item():.3f} to the input; "
             f"{1000 * seconds:.0f} ms for both"]
    if truth is not None:
        lines.append(f"output vs the digit drawn in the target domain (the hidden pairing): {l1_ssim(out, truth)}")
    return strip, row, "  \n".join(lines)


@functools.cache
def star_test_digits():
    from train.data import attribute_digits

    return attribute_digits("test", CYCLE_SIZE)


def stargan_test(index, colour="blue", thickness="thick", background="dark"):
    """A test digit, in its own domain, to the chosen one; its ground truth (the same digit drawn there) beside."""
    from train.data import render_digits

    index = common.check_int(index, "Test digit", 0, MAX_TEST_INDEX)
    target = star_target(colour, thickness, background)
    check_checkpoint(STAR)
    try:
        thin, thick, _, source = star_test_digits()
    except FileNotFoundError as error:
        raise common.gr_error(str(error)) from None
    thin, thick, source = thin[index:index + 1], thick[index:index + 1], source[index:index + 1]
    return star_translate(render_digits(thin, thick, source), source, target, render_digits(thin, thick, target))


def stargan_upload(image, colour="blue", thickness="thick", background="dark"):
    """An uploaded image to the chosen domain; its own domain (for the round trip) is what the judge reads in it."""
    from train.evaluate import read_attributes

    target = star_target(colour, thickness, background)
    check_checkpoint(STAR)
    x = photo_to_rgb(image)
    probs, source = read_attributes(x)
    strip, row, report = star_translate(x, source, target)
    return strip, row, report + (f"  \n<sub>your image as {CYCLE_SIZE}x{CYCLE_SIZE} RGB (padded to a square with its "
                                 f"border colour); the judge reads it as: {reading(probs[0], source[0])}</sub>")


def star_metrics_line() -> str:
    v = checkpoint_metrics(STAR, "StarGAN")
    if isinstance(v, str):
        return v
    split = kept_split(v)
    return (f"**StarGAN** (`{STAR}`): target attributes read by the judge {100 * v['attribute_accuracy']:.1f} % "
            f"(colour {100 * v['colour_accuracy']:.1f}, thickness {100 * v['thickness_accuracy']:.1f}, background "
            f"{100 * v['background_accuracy']:.1f}), digit kept {100 * v['class_kept']:.1f} % (targets ≥ 90 %: "
            f"{verdict(v['attribute_accuracy'])} and {verdict(v['class_kept'])}); L1 to the ground truth {v['L1']:.3f}, "
            f"round trip {v['round_trip_L1']:.3f}" + split)


def kept_split(v: dict) -> str:
    """Where the digit is lost, from evaluate_domains' split (older metrics files lack it)."""
    if "class_kept_background_flipped" not in v:
        return ""
    return (f". Digit kept when the background flips {100 * v['class_kept_background_flipped']:.1f} %, when it stays "
            f"{100 * v['class_kept_background_kept']:.1f} % (into the input's own domain "
            f"{100 * v['class_kept_own_domain']:.1f} %)")


def verdict(share: float, target: float = 0.9) -> str:
    return "met" if share >= target else "**not met**"


# ------------------------------------------------------------------------------------------------ SPADE
def palette_markdown() -> str:
    from train.data import SCENE_CLASSES, SCENE_PALETTE

    return " · ".join(f"<span style='background:rgb{tuple(c)};padding:0 0.6em'>&nbsp;</span> {name} `#{bytes(c).hex()}`"
                      for name, c in zip(SCENE_CLASSES, SCENE_PALETTE))


def labels_from_painting(image, size: int = SPADE_SIZE) -> torch.Tensor:
    """A painting or upload of any size and mode -> (1, size, size) class indices: each pixel the class of the
    nearest palette colour (blank paper, every channel >= UNPAINTED, is sky), then resized with nearest sampling."""
    from train.data import SCENE_PALETTE

    rgba = common.open_upload(image)
    rgb = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
                     .resize((size, size), Image.NEAREST), dtype=np.float32)
    distance = ((rgb[:, :, None, :] - np.asarray(SCENE_PALETTE, np.float32)[None, None]) ** 2).sum(-1)
    labels = distance.argmin(-1)
    labels[(rgb >= UNPAINTED).all(-1)] = 0
    return torch.from_numpy(labels.astype(np.int64))[None]


def fcn_agreement(images: torch.Tensor, labels: torch.Tensor) -> str:
    """The share of each image's pixels the FCN-score segmenter labels as the map does, e.g. "91 %, 88 %"."""
    segmenter = segmenter_model()
    if segmenter is None:
        return "(no segmenter-scenes to judge: python -m train.classifier --dataset=scenes)"
    with torch.inference_mode():
        read = segmenter(images).argmax(1)
    return ", ".join(f"{100 * (r == labels[0]).float().mean().item():.0f} %" for r in read)


@functools.cache
def segmenter_model():
    """The FCN-score judge, or None where it is not bundled (the tab still draws)."""
    from models.classifier import Segmenter

    if not common.resolvable(["segmenter-scenes"], "classifier"):
        return None
    return load_pretrained(Segmenter, "segmenter-scenes", device="cpu")


@torch.inference_mode()
def spade_styles(labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, float]:
    """(SPADE_STYLES outputs (n, 3, S, S) for one label map under random styles from seed, seconds)."""
    from train.data import SCENE_CLASSES

    model = check_checkpoint(SPADE_NAME)
    device = next(model.parameters()).device
    z = torch.randn(SPADE_STYLES, model.z_dim, generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    seg = one_hot_labels(labels, len(SCENE_CLASSES)).expand(SPADE_STYLES, -1, -1, -1)
    out = model(seg.to(device), z.to(device)).float().cpu()
    return out, time.perf_counter() - start


def spade_synthesize(image, seed=0):
    """(label map as read · SPADE_STYLES random styles, report with the segmenter's agreement per output)."""
    from train.data import paint_labels

    seed = common.check_seed(seed)
    labels = labels_from_painting(image, check_checkpoint(SPADE_NAME).image_size)
    out, seconds = spade_styles(labels, seed)
    strip = common.image_grid(torch.cat([paint_labels(labels), out]), nrow=1 + SPADE_STYLES, scale=DISPLAY_SCALE,
                              labels=["map"] + [f"style {i + 1}" for i in range(SPADE_STYLES)])
    side = labels.shape[-1]
    return strip, (f"{SPADE_STYLES} styles in {1000 * seconds:.0f} ms; share of pixels the FCN-score segmenter labels "
                   f"as your map: {fcn_agreement(out, labels)}  \n<sub>your image read at {side}x{side}: each pixel the "
                   f"class of the nearest palette colour, blank paper as sky</sub>")


def spade_paint(image, seed=0):
    """spade_synthesize() of the sketchpad."""
    return spade_synthesize(image, seed)


@torch.inference_mode()
def spade_test(index, seed=0):
    """A test scene: its map, the real rendering, SPADE with the real image's style encoded, random styles."""
    from train.data import Scenes, paint_labels

    index, seed = common.check_int(index, "Test scene", 0, MAX_SCENE_INDEX), common.check_seed(seed)
    model = check_checkpoint(SPADE_NAME)
    real, labels = Scenes("test", model.image_size)[index]
    labels = labels[None]
    device = next(model.parameters()).device
    seg = one_hot_labels(labels, model.num_classes).to(device)
    guided = model(seg, model.encode(real[None].to(device))).float().cpu()
    out, _ = spade_styles(labels, seed)
    shown = torch.cat([guided, out[:SPADE_STYLES - 1]])
    strip = common.image_grid(torch.cat([paint_labels(labels), real[None], shown]), nrow=2 + len(shown),
                              scale=DISPLAY_SCALE, labels=["map", "real", "its style", "random", "random", "random"])
    return strip, (f"share of pixels the FCN-score segmenter labels as the map (real, its style, random styles): "
                   f"{fcn_agreement(torch.cat([real[None], shown]), labels)}; its style encoded vs the real scene: "
                   f"{l1_ssim(guided, real[None])}")


def spade_metrics_line() -> str:
    v = checkpoint_metrics(SPADE_NAME, "SPADE")
    if isinstance(v, str):
        return v
    return (f"**SPADE** (`{SPADE_NAME}`): FCN score with random styles: pixel accuracy "
            f"{100 * v['random_style_pixel_accuracy']:.1f} %, mean class accuracy "
            f"{100 * v['random_style_mean_class_accuracy']:.1f} %, mIoU {v['random_style_mean_IoU']:.3f} (real scenes: "
            f"{100 * v['real_pixel_accuracy']:.1f} % / {100 * v['real_mean_class_accuracy']:.1f} % / "
            f"{v['real_mean_IoU']:.3f}); style spread {v['style_spread']:.3f}")


def samplers() -> dict[str, common.Sampler]:
    return {}  # translators need an input image: they are not in the unconditional Compare row


def build() -> None:
    gr.Markdown(t("intro"))
    gr.Markdown("  \n".join([*(metrics_line(name) for name in MODELS), cycle_metrics_line(), disco_metrics_line(),
                             star_metrics_line(), spade_metrics_line()]),
                elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_draw")):
        gr.Markdown(t("draw_intro"))
        with gr.Row():
            sketch = uploads.SketchUpload(label=t("draw_edges"), type="pil", image_mode="RGBA", canvas_size=(320, 320))
            with gr.Column():
                upload = uploads.ImageUpload(label=t("or_upload"), type="pil", image_mode="RGBA", sources=["upload"])
                kind = gr.Radio([(t("photo"), "photo"), (t("edges"), "edges")], value="photo", label=t("upload_is"))
        with gr.Row():
            seed = uploads.integer_box(t("seed"))
            run_sketch = gr.Button(t("translate_sketch"), variant="primary")
            run_upload = gr.Button(t("translate_upload"))
        strip = gr.Image(label=t("outputs"), type="pil", format="png")
        noise = gr.Image(label=t("noise"), type="pil", format="png")
        report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_test")):
        gr.Markdown(t("test_intro"))
        with gr.Row():
            index = uploads.integer_box(t("index"), maximum=MAX_TEST_INDEX)
            test_seed = uploads.integer_box(t("seed"))
            show = gr.Button(t("show"), variant="primary")
        pair = gr.Image(label=t("pair"), type="pil", format="png")
        pair_report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_cycle")):
        gr.Markdown(t("cycle_intro"))
        with gr.Row():
            cycle_sketch = uploads.SketchUpload(label=t("draw_digit"), type="pil", image_mode="RGBA",
                                                canvas_size=(280, 280))
            with gr.Column():
                direction = gr.Radio([(t(f"dir_{key.lower()}"), key) for key in DIRECTIONS], value="AtoB", label=t("direction"))
                run_cycle = gr.Button(t("translate_digit"), variant="primary")
        cycle_strip = gr.Image(label=t("cycle_strip"), type="pil", format="png")
        cycle_report = gr.Markdown(elem_classes=i18n.VERBATIM)
        with gr.Row():
            cycle_index = uploads.integer_box(t("index"), maximum=MAX_TEST_INDEX)
            run_cycle_test = gr.Button(t("show"))
        cycle_test_strip = gr.Image(label=t("cycle_test_strip"), type="pil", format="png")
        cycle_test_report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_disco")):
        gr.Markdown(t("disco_intro"))
        with gr.Row():
            disco_upload = uploads.ImageUpload(label=t("item_photo"), type="pil", image_mode="RGBA", sources=["upload"])
            with gr.Column():
                disco_direction = gr.Radio([(t("bag_to_shoe"), "AtoB"), (t("shoe_to_bag"), "BtoA")], value="AtoB",
                                           label=t("direction"))
                run_disco = gr.Button(t("translate_photo"), variant="primary")
                disco_index = uploads.integer_box(t("test_item"), maximum=2999)
                run_disco_test = gr.Button(t("show"))
        disco_out = gr.Image(label=t("cycle_strip"), type="pil", format="png")
        disco_report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_star")):
        gr.Markdown(t("star_intro"))
        with gr.Row():
            with gr.Column():
                star_index = uploads.integer_box(t("index"), maximum=MAX_TEST_INDEX)
                run_star_test = gr.Button(t("translate_test"), variant="primary")
                star_upload = uploads.ImageUpload(label=t("star_upload"), type="pil", image_mode="RGBA",
                                                  sources=["upload"])
                run_star_upload = gr.Button(t("translate_image"))
            with gr.Column():
                star_colour = gr.Radio([(t(c), c) for c in STAR_COLOURS], value="blue", label=t("colour"))
                star_thickness = gr.Radio([(t(c), c) for c in STAR_THICKNESS], value="thick", label=t("thickness"))
                star_background = gr.Radio([(t(c), c) for c in STAR_BACKGROUNDS], value="dark", label=t("background"))
        star_strip = gr.Image(label=t("star_strip"), type="pil", format="png")
        star_row = gr.Image(label=t("star_domains"), type="pil", format="png")
        star_report = gr.Markdown(elem_classes=i18n.VERBATIM)
    with gr.Tab(t("tab_spade")):
        from train.data import SCENE_PALETTE

        gr.Markdown(t("spade_intro"))
        gr.Markdown(f"{t('palette')}: {palette_markdown()}", elem_classes=i18n.VERBATIM)
        with gr.Row():
            paint = uploads.SketchUpload(label=t("paint"), type="pil", image_mode="RGBA", canvas_size=(256, 256),
                                         brush=gr.Brush(colors=["#" + bytes(c).hex() for c in SCENE_PALETTE],
                                                        default_color="#" + bytes(SCENE_PALETTE[5]).hex(),
                                                        color_mode="fixed", default_size=12))
            with gr.Column():
                spade_upload = uploads.ImageUpload(label=t("spade_upload"), type="pil", image_mode="RGBA",
                                                   sources=["upload"])
                spade_seed = uploads.integer_box(t("seed"))
                run_paint = gr.Button(t("synthesize"), variant="primary")
                run_spade_upload = gr.Button(t("synthesize_upload"))
                scene_index = uploads.integer_box(t("scene_index"), maximum=MAX_SCENE_INDEX)
                run_scene = gr.Button(t("show_scene"))
        spade_out = gr.Image(label=t("spade_strip"), type="pil", format="png")
        spade_report = gr.Markdown(elem_classes=i18n.VERBATIM)

    run_sketch.click(translate_sketch, [sketch, seed], [strip, noise, report], api_name="pix2pix_sketch")
    run_upload.click(translate, [upload, kind, seed], [strip, noise, report], api_name="pix2pix_upload")
    show.click(test_pair, [index, test_seed], [pair, pair_report], api_name="pix2pix_test_pair")
    run_cycle.click(cycle_drawing, [cycle_sketch, direction], [cycle_strip, cycle_report], api_name="cyclegan_sketch")
    run_cycle_test.click(cycle_test, cycle_index, [cycle_test_strip, cycle_test_report], api_name="cyclegan_test")
    run_disco.click(disco_photo, [disco_upload, disco_direction], [disco_out, disco_report], api_name="discogan_upload")
    run_disco_test.click(disco_test, [disco_index, disco_direction], [disco_out, disco_report],
                         api_name="discogan_test")
    star_targets = [star_colour, star_thickness, star_background]
    run_star_test.click(stargan_test, [star_index, *star_targets], [star_strip, star_row, star_report],
                        api_name="stargan_test")
    run_star_upload.click(stargan_upload, [star_upload, *star_targets], [star_strip, star_row, star_report],
                          api_name="stargan_upload")
    run_paint.click(spade_paint, [paint, spade_seed], [spade_out, spade_report], api_name="spade_paint")
    run_spade_upload.click(spade_synthesize, [spade_upload, spade_seed], [spade_out, spade_report],
                           api_name="spade_upload")
    run_scene.click(spade_test, [scene_index, spade_seed], [spade_out, spade_report], api_name="spade_test")
