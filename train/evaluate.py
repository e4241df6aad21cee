"""The shared evaluation kit: one protocol, one feature extractor per dataset, the same numbers for every model.

    python -m train.evaluate dcgan-mnist            # a bundled/Hub checkpoint name, or a checkpoint folder
    python -m train.evaluate runs/x/checkpoint --dataset=mnist --family=dcgan --out=metrics.json
    python -m train.evaluate gan-minimax-mnist --family=objectives --generator=MLPGenerator   # class = models.<family>.<generator>

Protocol (printed with every number): 10,000 samples from latents drawn with seed 2024 vs the 10,000 test images;
the real-vs-real floor is 10,000 training images (drawn with seed 2025) vs the same test images. Features are the
128-d penultimate activations of genzoo's own classifier for that dataset (models/classifier.py, trained here:
no Inception weights exist offline), so FDs are comparable within genzoo only.

- FD and KID: torchmetrics' FrechetInceptionDistance / KernelInceptionDistance, with our extractor plugged in.
- Precision and recall: Kynkäänniemi et al. 2019 ("Improved Precision and Recall Metric for Assessing Generative
  Models", arXiv:1904.06991), k = 3 nearest-neighbour balls in the same feature space.
- Class histogram and confidence: the classifier's argmax and max probability on the samples.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

from models.classifier import Classifier
from models.hub import checkpoint_folder, load_pretrained

NUM_SAMPLES = 10_000
SAMPLE_SEED = 2024       # latents of the generated set
FLOOR_SEED = 2025        # which training images form the real-vs-real floor
KID_SEED = 2026          # KID's random subsets
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PR_K = 3                 # neighbourhood size of precision/recall (the paper's recommended k)
CONFIDENCE = 0.9         # "classified with confidence" threshold


def protocol(dataset: str, n: int = NUM_SAMPLES) -> str:
    return (f"{n} samples (latent seed {SAMPLE_SEED}) vs the {dataset} test set; features: genzoo classifier-{dataset} "
            f"(128-d, trained here; not Inception, so FD/KID are comparable within genzoo only); KID {KID_SUBSETS}x"
            f"{KID_SUBSET_SIZE} subsets (seed {KID_SEED}), reported x1000; precision/recall k={PR_K}; "
            f"confidence >= {CONFIDENCE}")


@functools.cache
def classifier(dataset: str) -> Classifier:
    return load_pretrained(Classifier, f"classifier-{dataset}", device="cpu")


def fit_size(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bring samples to the classifier's input size: undo the 2-px padding of 32-px MNIST, else resize."""
    if images.shape[-1] == size:
        return images
    if images.shape[-1] == size + 4:
        return images[..., 2:-2, 2:-2]
    return nn.functional.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


@torch.no_grad()
def classify(images: torch.Tensor, dataset: str, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, 128), probabilities (N, classes)) of images in [-1, 1]."""
    clf = classifier(dataset)
    feats, probs = [], []
    for i in range(0, len(images), batch):
        x = fit_size(images[i:i + batch].float().cpu(), clf.image_size)
        if x.shape[1] == 3 and clf.body[0].in_channels == 1:  # an RGB model, a grayscale judge: luminance
            x = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:])
        f = clf.features(x)
        feats.append(f)
        probs.append(torch.softmax(clf.head(f), 1))
    return torch.cat(feats), torch.cat(probs)


class _Precomputed(nn.Module):
    """torchmetrics runs its extractor inside `update`; ours already ran (once for all metrics), so pass through."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=_Precomputed(real.shape[1]))
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return float(fid.compute())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    from torchmetrics.image.kid import KernelInceptionDistance

    kid = KernelInceptionDistance(feature=_Precomputed(real.shape[1]), subsets=KID_SUBSETS,
                                  subset_size=min(KID_SUBSET_SIZE, len(real), len(fake)))
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng():  # KID draws its subsets from the global RNG: pin it, leave the caller's alone
        torch.manual_seed(KID_SEED)
        mean, std = kid.compute()
    return float(mean), float(std)


def _knn_radii(features: torch.Tensor, k: int, chunk: int = 2000) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    return torch.cat([torch.cdist(features[i:i + chunk], features).topk(k + 1, largest=False).values[:, k]
                      for i in range(0, len(features), chunk)])


def _inside_manifold(query: torch.Tensor, reference: torch.Tensor, radii: torch.Tensor,
                     chunk: int = 2000) -> torch.Tensor:
    return torch.cat([(torch.cdist(query[i:i + chunk], reference) <= radii[None]).any(1)
                      for i in range(0, len(query), chunk)])


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = PR_K) -> tuple[float, float]:
    """Kynkäänniemi et al. 2019: precision = fakes inside the real manifold, recall = reals inside the fake one."""
    precision = _inside_manifold(fake, real, _knn_radii(real, k)).float().mean().item()
    recall = _inside_manifold(real, fake, _knn_radii(fake, k)).float().mean().item()
    return precision, recall


def compare(real_images: torch.Tensor, fake_images: torch.Tensor, dataset: str) -> dict:
    """Every number of the kit for one set of samples against the reference images."""
    real_f, _ = classify(real_images, dataset)
    fake_f, fake_p = classify(fake_images, dataset)
    kid_mean, kid_std = kernel_distance(real_f, fake_f)
    precision, recall = precision_recall(real_f, fake_f)
    confidence, label = fake_p.max(1)
    histogram = (torch.bincount(label, minlength=fake_p.shape[1]).float() / len(label)).tolist()
    return {"FD": frechet_distance(real_f, fake_f), "KIDx1000": 1000 * kid_mean, "KIDx1000_std": 1000 * kid_std,
            "precision": precision, "recall": recall,
            "confident_fraction": (confidence >= CONFIDENCE).float().mean().item(),
            "class_min_fraction": min(histogram), "class_max_fraction": max(histogram),
            "class_histogram": [round(h, 4) for h in histogram]}


@functools.cache
def real_sets(dataset: str, n: int = NUM_SAMPLES) -> tuple[torch.Tensor, torch.Tensor]:
    """(test images, the floor's training subset), at the set's native size (28 px; fashion-styles 32 px)."""
    from train import data

    test, _ = data.packaged(dataset, "test")
    train, _ = data.packaged(dataset, "train")
    subset = torch.randperm(len(train), generator=torch.Generator().manual_seed(FLOOR_SEED))[:n]
    return test[:n], train[subset]


@functools.cache
def floor(dataset: str, n: int = NUM_SAMPLES) -> dict:
    """Real-vs-real: what the numbers look like for a perfect generator (training images vs test images)."""
    test, train_subset = real_sets(dataset, n)
    return compare(test, train_subset, dataset)


@torch.no_grad()
def generate(generator: nn.Module, n: int = NUM_SAMPLES, seed: int = SAMPLE_SEED, batch: int = 500) -> torch.Tensor:
    """n samples from the protocol's latents: N(0, I) of the generator's `latent_dim`, drawn on the CPU."""
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    device = next(generator.parameters()).device
    return torch.cat([generator(z[i:i + batch].to(device)).float().cpu() for i in range(0, n, batch)])


def evaluate_generator(generator: nn.Module, dataset: str, n: int = NUM_SAMPLES) -> dict:
    """The protocol for an unconditional generator: {"protocol", "values", "floor"}."""
    test, _ = real_sets(dataset, n)
    values = compare(test, generate(generator.eval(), n), dataset)
    return {"protocol": protocol(dataset, n), "dataset": dataset, "num_samples": n, "values": values,
            "floor": floor(dataset, n)}


@torch.no_grad()
def evaluate_conditional(generator: nn.Module, model: str, dataset: str, n: int = NUM_SAMPLES) -> dict:
    """The protocol plus each conditional model's own test, on the same 10k protocol latents.

    - cGAN / AC-GAN: labels i % 10 for sample i (class-balanced); "requested_class_accuracy" = the fraction the
      classifier assigns to the requested class.
    - InfoGAN: categorical code i % 10, continuous codes U(-1, 1); "category_purity" = for each code value, the share
      of its samples in its most frequent class, averaged (1 = every code value is one digit), plus that mapping.
    - GAN-CLS (t2i): captions naming class i % 10 with random attributes; "caption_class_accuracy" = the fraction
      classified as the named class, and "thick_to_thin_ink" = mean ink of "thick" captions' samples over "thin" ones'.
    - BiGAN: "reconstruction_class_agreement" = the fraction of the first n test digits x whose G(E(x)) the
      classifier puts in x's class; the kit's distribution numbers are on G(z).
    """
    fake, _, values = conditional_test(generator, model, dataset, n)
    test, _ = real_sets(dataset, n)
    values = {**compare(test, fake, dataset), **values}
    return {"protocol": f"{protocol(dataset, n)}; {model}: see train.evaluate.evaluate_conditional",
            "dataset": dataset, "num_samples": n, "values": values, "floor": floor(dataset, n)}


@torch.no_grad()
def conditional_test(generator: nn.Module, model: str, dataset: str, n: int = NUM_SAMPLES):
    """The protocol's n conditional samples and the model's own test (see evaluate_conditional), without the
    distribution numbers: (samples, the classifier's probabilities, {own test: value}). Cheap enough at n = 1000 for
    the bundled checkpoints' tests."""
    from train import data

    generator = generator.eval()
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(SAMPLE_SEED))
    codes = torch.arange(n) % 10
    uniform = torch.Generator().manual_seed(SAMPLE_SEED + 1)
    continuous = torch.rand(n, getattr(generator, "num_continuous", 0), generator=uniform) * 2 - 1
    batches = range(0, n, 500)
    if model in ("cgan", "acgan"):
        fake = torch.cat([generator(z[i:i + 500].to(device), codes[i:i + 500].to(device)).cpu() for i in batches])
    elif model == "infogan":
        fake = torch.cat([generator(z[i:i + 500].to(device), codes[i:i + 500].to(device),
                                    continuous[i:i + 500].to(device)).cpu() for i in batches])
    elif model == "t2i":
        from models.conditional import ATTRIBUTES, caption_embedding

        words = [w for pair in ATTRIBUTES for w in pair]
        pick = torch.randint(0, len(words) + 1, (n,), generator=uniform)  # one attribute or none per caption
        attrs = [[words[j]] if j < len(words) else [] for j in pick.tolist()]
        phi = torch.stack([caption_embedding(c, a, generator.vocabulary) for c, a in zip(codes.tolist(), attrs)])
        fake = torch.cat([generator(z[i:i + 500].to(device), phi[i:i + 500].to(device)).cpu() for i in batches])
    else:
        fake = torch.cat([generator(z[i:i + 500].to(device)).cpu() for i in batches])
    _, probs = classify(fake, dataset)
    values = {}
    predicted = probs.argmax(1)
    if model in ("cgan", "acgan"):
        values["requested_class_accuracy"] = (predicted == codes).float().mean().item()
    elif model == "t2i":
        values["caption_class_accuracy"] = (predicted == codes).float().mean().item()
        ink = (fake + 1).mean((1, 2, 3))
        thick, thin = pick == words.index("thick"), pick == words.index("thin")
        values["thick_to_thin_ink"] = (ink[thick].mean() / ink[thin].mean().clamp_min(1e-6)).item()
    elif model == "infogan":
        counts = torch.zeros(10, probs.shape[1]).index_put_((codes, predicted), torch.ones(n), accumulate=True)
        values["category_purity"] = (counts.max(1).values / counts.sum(1)).mean().item()
        values["category_to_class"] = counts.argmax(1).tolist()
    else:
        loader = data.mnist if dataset == "mnist" else data.fashion_mnist
        images, labels = loader("test", generator.generator.image_size)
        reconstructed = torch.cat([generator.reconstruct(images[i:i + 500].to(device)).cpu() for i in batches])
        agree = classify(reconstructed, dataset)[1].argmax(1) == labels[:n]
        values["reconstruction_class_agreement"] = agree.float().mean().item()
    return fake, probs, values


def pair_scores(fake: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, dataset: str,
                batch: int = 500) -> dict:
    """Translations against their ground-truth counterparts (both in [-1, 1]): L1 (mean absolute error in [-1, 1]
    units), PSNR (dB, peak-to-peak 2) and SSIM (torchmetrics, 11-px Gaussian window, on [0, 1]) per pair, averaged;
    "class_kept" = the share of outputs the dataset's classifier puts in the label's class."""
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    targets = targets.float()
    mse = (fake - targets).pow(2).flatten(1).mean(1)
    psnr = 10 * torch.log10(4.0 / mse.clamp_min(1e-10))
    ssims = torch.cat([ssim((fake[i:i + batch] + 1) / 2, (targets[i:i + batch] + 1) / 2, data_range=1.0,
                            reduction="none") for i in range(0, len(fake), batch)])
    _, probs = classify(fake, dataset)
    return {"L1": (fake - targets).abs().mean().item(), "PSNR_dB": psnr.mean().item(), "SSIM": ssims.mean().item(),
            "class_kept": (probs.argmax(1) == labels).float().mean().item()}


PAIR_PROTOCOL = ("L1 in [-1, 1] units, PSNR peak-to-peak 2, SSIM (11-px Gaussian) on [0, 1]; class_kept = "
                 "classifier-{dataset} puts the output in its source's class")


@torch.no_grad()
def translate(generator: nn.Module, inputs: torch.Tensor, *per_item: torch.Tensor, batch: int = 500,
              **kwargs) -> torch.Tensor:
    """generator(inputs, *per_item, **kwargs) in batches; `per_item` tensors (e.g. StarGAN's target attributes) are
    sliced with the inputs, `kwargs` passed whole."""
    device = next(generator.parameters()).device
    return torch.cat([generator.eval()(inputs[i:i + batch].to(device), *(t[i:i + batch].to(device) for t in per_item),
                                       **kwargs).float().cpu() for i in range(0, len(inputs), batch)])


@torch.no_grad()
def evaluate_translation(generator: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                         dataset: str, seed: int = SAMPLE_SEED) -> dict:
    """A paired translator (Pix2Pix) on held-out pairs: pair_scores of G(inputs[i]) against targets[i], then the
    kit's distribution numbers (FD ...) of the outputs against the test images. The generator's dropout noise is
    drawn from `seed` (the paper keeps it on at test time)."""
    torch.manual_seed(seed)
    fake = translate(generator, inputs)
    test, _ = real_sets(dataset, len(fake))
    values = {**pair_scores(fake, targets, labels, dataset), **compare(test, fake, dataset)}
    return {"protocol": (f"{len(fake)} held-out pairs of the {dataset} test split (inputs -> the paired target), "
                         f"dropout noise seed {seed}; {PAIR_PROTOCOL.format(dataset=dataset)}; "
                         + protocol(dataset, len(fake)).replace(f"{len(fake)} samples (latent seed {SAMPLE_SEED})",
                                                                 "the outputs")),
            "dataset": dataset, "num_samples": len(fake), "values": values, "floor": floor(dataset, len(fake))}


@torch.no_grad()
def evaluate_cycle(model: nn.Module, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, dataset: str,
                   pairing: str) -> dict:
    """An unpaired translator (CycleGAN) scored with a hidden pairing: a[i] and b[i] are the same item in the two
    domains. pair_scores of G(a) against b ("AtoB_..."), of F(b) against a ("BtoA_..."), and the round trips'
    L1 (F(G(a)) vs a, G(F(b)) vs b)."""
    fake_b, fake_a = translate(model, a, direction="AtoB"), translate(model, b, direction="BtoA")
    values = {f"AtoB_{k}": v for k, v in pair_scores(fake_b, b, labels, dataset).items()}
    values |= {f"BtoA_{k}": v for k, v in pair_scores(fake_a, a, labels, dataset).items()}
    values["AtoB_round_trip_L1"] = (translate(model, fake_b, direction="BtoA") - a).abs().mean().item()
    values["BtoA_round_trip_L1"] = (translate(model, fake_a, direction="AtoB") - b).abs().mean().item()
    return {"protocol": f"{len(a)} test items in both domains ({pairing}); {PAIR_PROTOCOL.format(dataset=dataset)}",
            "dataset": dataset, "num_samples": len(a), "values": values}


@torch.no_grad()
def evaluate_relation(model: nn.Module, a: torch.Tensor, b: torch.Tensor, classes_a: tuple[int, ...],
                      classes_b: tuple[int, ...], dataset: str, domains: str) -> dict:
    """An unpaired translator between two sets of classes (DiscoGAN's bags <-> shoes): "AtoB_in_target" = the share
    of translations of A the classifier puts in one of B's classes (and the other way), plus each round trip's L1."""
    fake_b, fake_a = translate(model, a, direction="AtoB"), translate(model, b, direction="BtoA")
    in_b = torch.isin(classify(fake_b, dataset)[1].argmax(1), torch.tensor(classes_b)).float().mean().item()
    in_a = torch.isin(classify(fake_a, dataset)[1].argmax(1), torch.tensor(classes_a)).float().mean().item()
    values = {"AtoB_in_target": in_b, "BtoA_in_target": in_a,
              "AtoB_round_trip_L1": (translate(model, fake_b, direction="BtoA") - a).abs().mean().item(),
              "BtoA_round_trip_L1": (translate(model, fake_a, direction="AtoB") - b).abs().mean().item()}
    return {"protocol": (f"{len(a)} + {len(b)} test items ({domains}); in_target = classifier-{dataset} puts the "
                         f"translation in one of the other domain's classes ({classes_b} / {classes_a}); round trip "
                         "L1 in [-1, 1] units"), "dataset": dataset, "num_samples": len(a) + len(b), "values": values}


@torch.no_grad()
def read_attributes(images: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(digit probabilities (N, 10), the domain read (N, 5) attribute vectors: one colour, thick and light in {0, 1})
    of 32-px RGB digits by classifier-mnist-attributes."""
    clf = classifier("mnist-attributes")
    logits = torch.cat([clf(images[i:i + batch].float().cpu()) for i in range(0, len(images), batch)])
    colour = nn.functional.one_hot(logits[:, 10:13].argmax(1), 3).float()
    return torch.softmax(logits[:, :10], 1), torch.cat([colour, (logits[:, 13:] > 0).float()], 1)


def attributes_match(read: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per image, whether the domain read (N, 5) has each attribute group of `targets` (N, 5)."""
    colour = read[:, :3].argmax(1) == targets[:, :3].argmax(1)
    thickness, background = (read[:, 3] > 0.5) == (targets[:, 3] > 0.5), (read[:, 4] > 0.5) == (targets[:, 4] > 0.5)
    return {"colour": colour, "thickness": thickness, "background": background,
            "all": colour & thickness & background}


@torch.no_grad()
def evaluate_domains(model: nn.Module, thin: torch.Tensor, thick: torch.Tensor, labels: torch.Tensor,
                     source: torch.Tensor, n: int = 2000) -> dict:
    """StarGAN on the colourised test digits (data.ATTRIBUTE_PROTOCOL): the first n, each in its own domain,
    translated into all 12 domains. "attribute_accuracy" = the mean over the three attribute groups of the share the
    attribute classifier reads as the target's (also per group, and "all_attributes" right at once); "class_kept" =
    its digit head keeps the label; "L1" to the ground-truth rendering of that digit in the target domain (the
    hidden pairing); "round_trip_L1" = G(G(x, c), c_source) vs x. The digit kept is also split by whether the
    translation flips the background and for the input's own domain: the cycle loss only asks G to be invertible,
    and a G that swaps digits on one kind of translation and swaps them back on the other satisfies it."""
    from train.data import all_domains, render_digits

    thin, thick, labels, source = thin[:n], thick[:n], labels[:n], source[:n]
    x = render_digits(thin, thick, source)
    sums = {k: 0.0 for k in ("colour", "thickness", "background", "all", "class_kept", "L1", "round_trip_L1")}
    kept_by = {k: [0.0, 0] for k in ("background_kept", "background_flipped", "own_domain")}  # (hits, count)
    domains = all_domains()
    for domain in domains:
        target = domain.expand(len(x), -1)
        fake = translate(model, x, target)
        probs, read = read_attributes(fake)
        for key, hits in attributes_match(read, target).items():
            sums[key] += hits.float().mean().item()
        kept = probs.argmax(1) == labels
        sums["class_kept"] += kept.float().mean().item()
        same_background = source[:, 4] == target[:, 4]
        for key, mask in (("background_kept", same_background), ("background_flipped", ~same_background),
                          ("own_domain", (source == target).all(1))):
            kept_by[key][0] += kept[mask].sum().item()
            kept_by[key][1] += mask.sum().item()
        sums["L1"] += (fake - render_digits(thin, thick, target)).abs().mean().item()
        sums["round_trip_L1"] += (translate(model, fake, source) - x).abs().mean().item()
    means = {k: v / len(domains) for k, v in sums.items()}
    values = {"attribute_accuracy": (means["colour"] + means["thickness"] + means["background"]) / 3,
              "colour_accuracy": means["colour"], "thickness_accuracy": means["thickness"],
              "background_accuracy": means["background"], "all_attributes": means["all"],
              "class_kept": means["class_kept"],
              **{f"class_kept_{k}": hits / max(count, 1) for k, (hits, count) in kept_by.items()},
              "L1": means["L1"], "round_trip_L1": means["round_trip_L1"]}
    probs, read = read_attributes(x)  # the judge on the inputs themselves: the ceiling of the numbers above
    judge = attributes_match(read, source)
    values["judge_on_real_attributes"] = sum(judge[k].float().mean().item() for k in ("colour", "thickness",
                                                                                     "background")) / 3
    values["judge_on_real_class"] = (probs.argmax(1) == labels).float().mean().item()
    return {"protocol": (f"the first {len(x)} test digits, each translated into all {len(domains)} domains "
                         f"({len(x) * len(domains)} images); judge: classifier-mnist-attributes (trained here on "
                         "every digit in every domain); attribute_accuracy = mean of the colour, thickness and "
                         "background accuracies; L1 in [-1, 1] units to the digit rendered in the target domain"),
            "dataset": "mnist-attributes", "num_samples": len(x) * len(domains), "values": values}


@torch.no_grad()
def segmentation_scores(model: Segmenter, images: torch.Tensor, labels: torch.Tensor, batch: int = 250) -> dict:
    """FCN-score numbers of a segmenter's reading of `images` (N, 3, S, S) against `labels` (N, S, S): pixel
    accuracy, per-class pixel accuracy (recall of each class's pixels) and its mean, and mean IoU."""
    from train.data import SCENE_CLASSES

    model.eval()
    device = next(model.parameters()).device
    pred = torch.cat([model(images[i:i + batch].to(device)).argmax(1).cpu() for i in range(0, len(images), batch)])
    k = len(SCENE_CLASSES)
    confusion = torch.bincount(labels.flatten() * k + pred.flatten(), minlength=k * k).reshape(k, k).double()
    hits, truth, said = confusion.diag(), confusion.sum(1), confusion.sum(0)
    present = truth > 0
    per_class = hits / truth.clamp_min(1)
    iou = hits / (truth + said - hits).clamp_min(1)
    return {"pixel_accuracy": (hits.sum() / confusion.sum()).item(),
            "mean_class_accuracy": per_class[present].mean().item(), "mean_IoU": iou[present].mean().item(),
            **{f"accuracy_{name}": per_class[i].item() for i, name in enumerate(SCENE_CLASSES) if present[i]}}


@torch.no_grad()
def evaluate_spade(model: nn.Module, n: int = 1000, seed: int = SAMPLE_SEED) -> dict:
    """SPADE on the first n test scenes: the FCN score (segmenter-scenes' reading of each output against the label
    map it was drawn from) with a random style z ~ N(0, I) (seed) and with the style encoded from the real image;
    the same segmenter on the real images is the ceiling. "style_spread" = the mean per-pixel standard deviation
    over 4 random styles of the same map (multimodality); "guided_L1" = the encoded-style output vs the real image."""
    from models.classifier import Segmenter
    from models.translation import one_hot_labels
    from train.data import SCENE_CLASSES, scene_tensors

    real, labels = scene_tensors("test", n)
    segmenter = load_pretrained(Segmenter, "segmenter-scenes", device="cpu")
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    random_style, guided, spread = [], [], []
    model.eval()
    for i in range(0, n, 100):
        seg = one_hot_labels(labels[i:i + 100], len(SCENE_CLASSES)).to(device)
        draws = torch.stack([model(seg, torch.randn(len(seg), model.z_dim, generator=g).to(device)).float().cpu()
                             for _ in range(4)])
        random_style.append(draws[0])
        spread.append(draws.std(0).mean((1, 2, 3)))
        guided.append(model(seg, model.encode(real[i:i + 100].to(device))).float().cpu())
    random_style, guided = torch.cat(random_style), torch.cat(guided)
    values = {f"random_style_{k}": v for k, v in segmentation_scores(segmenter, random_style, labels).items()}
    values |= {f"guided_{k}": v for k, v in segmentation_scores(segmenter, guided, labels).items()
               if not k.startswith("accuracy_")}
    values |= {f"real_{k}": v for k, v in segmentation_scores(segmenter, real, labels).items()
               if not k.startswith("accuracy_")}
    values["style_spread"] = torch.cat(spread).mean().item()
    values["guided_L1"] = (guided - real).abs().mean().item()
    return {"protocol": (f"the first {n} test scenes (data.SCENE_PROTOCOL); FCN score = segmenter-scenes (trained "
                         "here on real scenes) labels each output, scored against the input map: pixel accuracy, "
                         f"per-class pixel accuracy and mean IoU; random styles from seed {seed}; real_* = the "
                         "segmenter on the real images (the ceiling)"),
            "dataset": "scenes", "num_samples": n, "values": values}


@torch.no_grad()
def evaluate_nll(nll, images: torch.Tensor, protocol_text: str, batch: int = 500, device=None) -> dict:
    """Test negative log-likelihood of a density model: `nll(x)` gives per-image nats (B,) for a batch of the fixed
    test `images`. Returns {"protocol", "values": {"nll_nats", "nll_nats_sem", "bits_per_dim"}, "num_samples"}.

    For binarized MNIST pass data.binarized_mnist_test() and data.BINARIZATION_PROTOCOL; for 8-bit data, images in
    [-1, 1] and a protocol naming the discretisation. bits/dim = nats / (C * H * W * ln 2)."""
    device = device or torch.device("cpu")
    per_image = torch.cat([nll(images[i:i + batch].to(device)).double().cpu() for i in range(0, len(images), batch)])
    dims = images[0].numel()
    mean = per_image.mean().item()
    return {"protocol": f"{protocol_text}; test NLL over {len(images)} images", "num_samples": len(images),
            "values": {"nll_nats": mean, "nll_nats_sem": (per_image.std() / math.sqrt(len(per_image))).item(),
                       "bits_per_dim": mean / (dims * math.log(2))}}


def save_metrics(metrics: dict, folder: Path) -> None:
    """metrics.json beside the weights, and the card's protocol line and table rewritten from it; the notes the
    trainer or a person wrote under the table stay."""
    from train.common import metrics_markdown

    folder = Path(folder)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    card = folder / "README.md"
    if card.exists():
        head, sep, rest = card.read_text().partition("## Quality\n")
        if sep:
            lines, end = rest.split("\n"), 1  # line 0: the protocol (or "Not evaluated yet"); then the table
            while end < len(lines) and (lines[end].startswith("|") or (
                    lines[end] == "" and end + 1 < len(lines) and lines[end + 1].startswith("|"))):
                end += 1
            card.write_text(head + sep + metrics_markdown(metrics) + "\n" + "\n".join(lines[end:]))


def table(metrics: dict) -> str:
    rows = [f"Protocol: {metrics['protocol']}", f"{'metric':<22}{'model':>14}{'real-vs-real':>14}"]
    for key, value in metrics["values"].items():
        if isinstance(value, list):
            continue
        ref = metrics.get("floor", {}).get(key, math.nan)
        rows.append(f"{key:<22}{value:>14.4f}{ref:>14.4f}")
    rows.append("class histogram: " + " ".join(f"{h:.3f}" for h in metrics["values"]["class_histogram"]))
    return "\n".join(rows)


def main(argv: list[str]) -> dict:
    if not argv or argv[0].startswith("-"):
        raise SystemExit(__doc__)
    name, options = argv[0], dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
    stem = Path(name).name if Path(name).is_dir() else name
    dataset = options.get("dataset") or next((d for d in ("fashion-styles", "fashion-mnist") if stem.endswith(d)), "mnist")
    family = options.get("family") or stem.split("-")[0]
    # The naming convention <family>-<dataset> finds the class: models/<family>.py's Generator (or --generator=...).
    generator_cls = getattr(importlib.import_module(f"models.{family}"), options.get("generator", "Generator"))
    folder = checkpoint_folder(name)
    generator = load_pretrained(generator_cls, str(folder))
    metrics = evaluate_generator(generator, dataset, int(options.get("n", NUM_SAMPLES)))
    print(table(metrics))
    out = options.get("out")
    if out:
        Path(out).write_text(json.dumps(metrics, indent=2))
    elif Path(name).is_dir() or folder.is_relative_to(Path(__file__).resolve().parent.parent):
        save_metrics(metrics, folder)  # our own folders get metrics.json and an updated card
        print(f"wrote {folder / 'metrics.json'}")
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
