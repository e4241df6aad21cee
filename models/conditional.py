"""Conditional GANs: telling G what to draw (cGAN, AC-GAN), letting it discover what to draw (InfoGAN), and
learning the way back from images to latents (BiGAN / ALI).

Papers:
- cGAN: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014 (arXiv:1411.1784). The label is given to
  both networks: concatenated to z for G and, as constant one-hot feature maps, to the image for D.
- AC-GAN: Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier GANs", 2017
  (arXiv:1610.09585). D is not told the label; it predicts it with a second head (L_C) beside real/fake (L_S).
- InfoGAN: Chen et al., "InfoGAN: Interpretable Representation Learning by Information Maximizing GANs", 2016
  (arXiv:1606.03657). G gets z plus codes c (one categorical with 10 values, two continuous in U(-1, 1)); a head Q on
  D's body recovers c, and lambda * (the variational lower bound of I(c; G(z, c))) joins the GAN loss.
- Text-to-image GAN: Reed et al., "Generative Adversarial Text to Image Synthesis", 2016 (arXiv:1605.05396), GAN-CLS
  with GAN-INT: the caption embedding phi(t) is compressed by a fully connected layer + leaky ReLU and concatenated
  to z in G, and replicated spatially and depth-concatenated to D's 4x4 features before a 1x1 and a 4x4 convolution;
  D also learns to reject real images with mismatched text ("matching-aware"), and G is also trained on
  interpolations of two captions' embeddings. Scaled down: the captions' language is tiny and generated from labels
  and measured attributes (see CAPTION_GRAMMAR), so phi(t) is a fixed bag-of-words vector over its vocabulary where
  the paper pre-trains a char-CNN-RNN on 10 human captions per image.
- BiGAN / ALI: Donahue, Krähenbühl & Darrell, "Adversarial Feature Learning", 2017 (arXiv:1605.09782); Dumoulin et
  al., "Adversarially Learned Inference", 2017 (arXiv:1606.00704). An encoder E: x -> z is trained with G against a
  D that sees (x, z) pairs: (x, E(x)) from data, (G(z), z) from the prior.

Scaled down: every generator is DCGAN's 32-px network (models.dcgan.Generator, here as a sub-module) with width 64,
on padded MNIST; the papers' MNIST models are MLP/conv hybrids of similar size. Shipped modules hold only what
inference needs (BiGAN: G and E together, so one checkpoint carries both).
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from models.dcgan import Generator, dcgan_init, doublings, gaussian_to_uniform

HUB_KWARGS = dict(library_name="genzoo", tags=["gan", "conditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")


class ConvBody(nn.Module):
    """DCGAN's discriminator without its last layer: image (B, C, H, W) -> features (B, width, start, start).

    BatchNorm except after the input layer (the DCGAN rule), or no normalisation at all (`norm=False`)."""

    def __init__(self, hidden_channels: int, image_channels: int, image_size: int, norm: bool = True):
        super().__init__()
        start, steps = doublings(image_size)
        channels = hidden_channels
        layers = [nn.Conv2d(image_channels, channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(steps - 1):
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=not norm),
                       nn.BatchNorm2d(channels * 2) if norm else nn.Identity(), nn.LeakyReLU(0.2, True)]
            channels *= 2
        self.net = nn.Sequential(*layers)
        self.out_channels, self.out_size = channels, start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# ------------------------------------------------------------------------------------------------- cGAN, AC-GAN
class ConditionalGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """G(z, y): DCGAN's generator fed [z, one_hot(y)] (cGAN and AC-GAN alike). z (B, latent_dim), y (B,) -> image."""

    def __init__(
        self,
        latent_dim: int = 100,      # z size, N(0, I)
        num_classes: int = 10,      # labels 0..num_classes-1
        hidden_channels: int = 64,  # DCGAN width at the last hidden resolution
        image_channels: int = 1,
        image_size: int = 32,
    ):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.backbone = Generator(latent_dim + num_classes, hidden_channels, image_channels, image_size)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(labels, self.num_classes).to(z)
        return self.backbone(torch.cat([z, onehot], 1))


class ConditionalDiscriminator(nn.Module):
    """cGAN's D(x, y): the label as num_classes constant one-hot maps beside the image channels -> one logit (B,)."""

    def __init__(self, hidden_channels: int = 64, num_classes: int = 10, image_channels: int = 1, image_size: int = 32):
        super().__init__()
        self.num_classes = num_classes
        self.body = ConvBody(hidden_channels, image_channels + num_classes, image_size)
        self.head = nn.Conv2d(self.body.out_channels, 1, self.body.out_size)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        maps = nn.functional.one_hot(labels, self.num_classes).to(x)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.head(self.body(torch.cat([x, maps], 1))).flatten()


class AuxiliaryClassifierDiscriminator(nn.Module):
    """AC-GAN's D(x): one body, two heads -> (real/fake logit (B,), class logits (B, num_classes))."""

    def __init__(self, hidden_channels: int = 64, num_classes: int = 10, image_channels: int = 1, image_size: int = 32):
        super().__init__()
        self.body = ConvBody(hidden_channels, image_channels, image_size)
        self.source = nn.Conv2d(self.body.out_channels, 1, self.body.out_size)
        self.classes = nn.Conv2d(self.body.out_channels, num_classes, self.body.out_size)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.source(h).flatten(), self.classes(h).flatten(1)


# ------------------------------------------------------------------------------------------------------- InfoGAN
class InfoGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """G(z, c): a generator fed [z, one_hot(c_cat), c_cont]. The paper's MNIST split: 62 noise, 10 + 2 codes.

    fc_features = 0: DCGAN's all-convolutional generator. fc_features > 0: the paper's MNIST generator (its Table 1,
    appendix C): FC fc_features - BN - ReLU, FC to (2 hidden) x S/4 x S/4 - BN - ReLU, 4x4 stride-2 upconv to hidden
    - BN - ReLU, 4x4 stride-2 upconv to the image (the paper: 1024, 7x7x128, 64 at 28 px; here S/4 = 8 at 32 px)."""

    def __init__(
        self,
        latent_dim: int = 62,       # incompressible noise z, N(0, I)
        num_categories: int = 10,   # values of the categorical code
        num_continuous: int = 2,    # continuous codes, U(-1, 1) in training
        hidden_channels: int = 64,
        image_channels: int = 1,
        image_size: int = 32,
        fc_features: int = 0,       # 0 = DCGAN's generator; 1024 = the paper's FC-then-upconv MNIST network
        uniform_noise: bool = False,  # feed erf(z / sqrt 2) ~ U(-1, 1) for z ~ N(0, I): the official code's noise
    ):
        super().__init__()
        self.latent_dim, self.num_categories, self.num_continuous = latent_dim, num_categories, num_continuous
        self.uniform_noise = uniform_noise
        inputs = latent_dim + num_categories + num_continuous
        if not fc_features:
            self.backbone = Generator(inputs, hidden_channels, image_channels, image_size)
            return
        if image_size % 4:
            raise ValueError(f"the paper's InfoGAN generator upsamples twice: image_size must be a multiple of 4; "
                             f"got {image_size}")
        start, width = image_size // 4, 2 * hidden_channels
        self.backbone = nn.Sequential(
            nn.Linear(inputs, fc_features, bias=False), nn.BatchNorm1d(fc_features), nn.ReLU(True),
            nn.Linear(fc_features, width * start * start, bias=False), nn.BatchNorm1d(width * start * start),
            nn.ReLU(True), nn.Unflatten(1, (width, start, start)),
            nn.ConvTranspose2d(width, hidden_channels, 4, 2, 1, bias=False), nn.BatchNorm2d(hidden_channels),
            nn.ReLU(True), nn.ConvTranspose2d(hidden_channels, image_channels, 4, 2, 1), nn.Tanh())
        self.backbone.apply(dcgan_init)

    def forward(self, z: torch.Tensor, categories: torch.Tensor, continuous: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(categories, self.num_categories).to(z)
        if self.uniform_noise:
            # The official InfoGAN code draws its 62 noise variables from U(-1, 1). Its 62 variables then weigh less
            # against the one-hot code at the first layer (norm ~4.5 rather than ~7.9), and the code takes the digit.
            z = gaussian_to_uniform(z)
        return self.backbone(torch.cat([z, onehot, continuous.to(z)], 1))


class InfoDiscriminator(nn.Module):
    """D and Q sharing one body (the paper: Q is one extra layer on D's features, so I(c; G) costs almost nothing).

    x -> (real/fake logit (B,), categorical logits (B, num_categories), continuous means (B, num_continuous)).
    fc_features = 0: DCGAN's convolutional body, Q a 128-wide layer on it. fc_features > 0: the paper's MNIST D:
    4x4 stride-2 conv to hidden - LReLU, 4x4 stride-2 conv to 2 hidden - BN - LReLU, FC fc_features - BN - LReLU,
    then an FC for D and FC q_features - BN - LReLU - FC for Q."""

    def __init__(self, hidden_channels: int = 64, num_categories: int = 10, num_continuous: int = 2,
                 image_channels: int = 1, image_size: int = 32, q_features: int = 128, fc_features: int = 0):
        super().__init__()
        self.num_categories = num_categories
        if fc_features:
            width, start = 2 * hidden_channels, image_size // 4
            self.body = nn.Sequential(
                nn.Conv2d(image_channels, hidden_channels, 4, 2, 1), nn.LeakyReLU(0.2, True),
                nn.Conv2d(hidden_channels, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, True),
                nn.Flatten(), nn.Linear(width * start * start, fc_features, bias=False), nn.BatchNorm1d(fc_features),
                nn.LeakyReLU(0.2, True), nn.Unflatten(1, (fc_features, 1, 1)))
            features, size = fc_features, 1  # as a 1x1 map, so the heads below are the same 1x1-kernel layers
        else:
            self.body = ConvBody(hidden_channels, image_channels, image_size)
            features, size = self.body.out_channels, self.body.out_size
        self.source = nn.Conv2d(features, 1, size)
        self.q = nn.Sequential(nn.Conv2d(features, q_features, size, bias=False),
                               nn.BatchNorm2d(q_features), nn.LeakyReLU(0.2, True),
                               nn.Conv2d(q_features, num_categories + num_continuous, 1))
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        q = self.q(h).flatten(1)
        return self.source(h).flatten(), q[:, :self.num_categories], q[:, self.num_categories:]


# --------------------------------------------------------------------------------------------------- BiGAN / ALI
class Encoder(nn.Module):
    """E(x): DCGAN's discriminator body down to a latent vector (B, latent_dim); deterministic, as in BiGAN."""

    def __init__(self, latent_dim: int = 100, hidden_channels: int = 64, image_channels: int = 1, image_size: int = 32):
        super().__init__()
        self.body = ConvBody(hidden_channels, image_channels, image_size)
        self.head = nn.Conv2d(self.body.out_channels, latent_dim, self.body.out_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten(1)


class BiGAN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """The inference pair: `generator` z -> x and `encoder` x -> z. forward(z) = G(z), so the evaluation kit's
    unconditional protocol applies; `encode(x)` and `reconstruct(x)` = G(E(x)) are what the tab shows."""

    def __init__(self, latent_dim: int = 100, hidden_channels: int = 64, image_channels: int = 1, image_size: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = Generator(latent_dim, hidden_channels, image_channels, image_size)
        self.encoder = Encoder(latent_dim, hidden_channels, image_channels, image_size)
        self.encoder.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(x))


class JointDiscriminator(nn.Module):
    """BiGAN's D(x, z): conv features of x and MLP features of z, joined by an MLP -> one logit (B,).

    No BatchNorm (ALI's discriminator uses dropout instead): a pair's score must not depend on the rest of the batch,
    or D could tell data pairs from generated pairs by batch statistics alone."""

    def __init__(self, latent_dim: int = 100, hidden_channels: int = 64, image_channels: int = 1,
                 image_size: int = 32, joint_features: int = 512, dropout: float = 0.2):
        super().__init__()
        self.image = ConvBody(hidden_channels, image_channels, image_size, norm=False)
        image_features = self.image.out_channels * self.image.out_size ** 2
        self.latent = nn.Sequential(nn.Linear(latent_dim, joint_features), nn.LeakyReLU(0.2, True), nn.Dropout(dropout))
        self.joint = nn.Sequential(nn.Dropout(dropout), nn.Linear(image_features + joint_features, joint_features),
                                   nn.LeakyReLU(0.2, True), nn.Dropout(dropout), nn.Linear(joint_features, 1))
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.image(x).flatten(1), self.latent(z)], 1)).flatten()


# ---------------------------------------------------------------------------------------------- text to image
ATTRIBUTES = (("thin", "thick"), ("upright", "slanted"), ("small", "large"))  # each a pair of opposites
CLASS_NAMES = {
    "mnist": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "fashion-mnist": ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"],
}
CAPTION_GRAMMAR = (
    'caption := ["a" | "an"] [thin | thick] [upright | slanted] [small | large] CLASS\n'
    "Words are separated by spaces, case and punctuation are ignored, attributes may come in any order, at most one of "
    "each pair. CLASS is a digit's name (zero ... nine, or the digit itself) for MNIST, or one of t-shirt, trouser, "
    "pullover, dress, coat, sandal, shirt, sneaker, bag, boot for Fashion-MNIST.")


def caption_vocabulary(dataset: str = "mnist") -> list[str]:
    """The words phi(t) has one dimension for: the attributes, then the class names."""
    return [word for pair in ATTRIBUTES for word in pair] + CLASS_NAMES[dataset]


def parse_caption(text: str, vocabulary: list[str]) -> tuple[int, list[str]]:
    """'a thick seven' -> (class index, ["thick"]); ValueError naming the allowed words otherwise."""
    classes = vocabulary[2 * len(ATTRIBUTES):]
    words = [w.strip(".,;:!?\"'") for w in text.lower().split()]
    words = [str(classes[int(w)]) if w.isdigit() and int(w) < len(classes) else w for w in words if w]
    words = [w for w in words if w not in ("a", "an")]
    unknown = [w for w in words if w not in vocabulary]
    if unknown:
        raise ValueError(f"unknown word {unknown[0][:30]!r}; captions use: a, an, {', '.join(vocabulary)}")
    named = [w for w in words if w in classes]
    if len(named) != 1:
        raise ValueError(f"a caption names exactly one class ({', '.join(classes)}); got {len(named)}")
    attributes = [w for w in words if w not in classes]
    for pair in ATTRIBUTES:
        if all(p in attributes for p in pair):
            raise ValueError(f"{pair[0]!r} and {pair[1]!r} contradict each other: use at most one")
    if len(set(attributes)) != len(attributes):
        raise ValueError("each attribute at most once")
    return classes.index(named[0]), attributes


def caption_embedding(label: int, attributes: list[str], vocabulary: list[str]) -> torch.Tensor:
    """phi(t): the bag-of-words vector of a caption, (len(vocabulary),)."""
    phi = torch.zeros(len(vocabulary))
    phi[2 * len(ATTRIBUTES) + label] = 1
    for word in attributes:
        phi[vocabulary.index(word)] = 1
    return phi


class TextToImageGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """GAN-CLS's G(z, phi(t)): DCGAN's generator fed [z, LeakyReLU(FC(phi(t)))]. `embed(captions)` gives phi."""

    def __init__(
        self,
        latent_dim: int = 100,
        vocabulary: list[str] | None = None,  # phi(t)'s words; None = the MNIST caption vocabulary
        text_features: int = 64,              # the compressed caption embedding ("128" in the paper)
        hidden_channels: int = 64,
        image_channels: int = 1,
        image_size: int = 32,
    ):
        super().__init__()
        self.vocabulary = list(vocabulary or caption_vocabulary("mnist"))
        self.latent_dim = latent_dim
        self.compress = nn.Sequential(nn.Linear(len(self.vocabulary), text_features), nn.LeakyReLU(0.2, True))
        self.backbone = Generator(latent_dim + text_features, hidden_channels, image_channels, image_size)

    def embed(self, captions: list[str]) -> torch.Tensor:
        """Caption strings -> phi (B, len(vocabulary)); ValueError for a caption outside the grammar."""
        return torch.stack([caption_embedding(*parse_caption(c, self.vocabulary), self.vocabulary) for c in captions])

    def forward(self, z: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        return self.backbone(torch.cat([z, self.compress(phi.to(z))], 1))


class MatchingAwareDiscriminator(nn.Module):
    """GAN-CLS's D(x, phi(t)) -> logit (B,): "does this image look real *and* match this caption?"."""

    def __init__(self, vocabulary_size: int, text_features: int = 64, hidden_channels: int = 64,
                 image_channels: int = 1, image_size: int = 32):
        super().__init__()
        self.body = ConvBody(hidden_channels, image_channels, image_size)
        self.compress = nn.Sequential(nn.Linear(vocabulary_size, text_features), nn.LeakyReLU(0.2, True))
        channels, size = self.body.out_channels, self.body.out_size
        self.joint = nn.Sequential(nn.Conv2d(channels + text_features, channels, 1, bias=False),  # 1x1 after concat
                                   nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, True), nn.Conv2d(channels, 1, size))
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        h = self.body(x)                                                   # (B, C, 4, 4)
        t = self.compress(phi)[:, :, None, None].expand(-1, -1, *h.shape[2:])  # replicated spatially
        return self.joint(torch.cat([h, t], 1)).flatten()


def d_loss_gan_cls(real_right, real_wrong, fake_right) -> torch.Tensor:
    """Reed et al. 2016, Algorithm 1: log D(x, h) + (log(1 - D(x, h_wrong)) + log(1 - D(G(z, h), h))) / 2."""
    softplus = nn.functional.softplus
    return softplus(-real_right).mean() + 0.5 * (softplus(real_wrong).mean() + softplus(fake_right).mean())


# ------------------------------------------------------------------------------------------------------- losses
def d_loss_acgan(real_source, real_class, fake_source, fake_class, real_labels, fake_labels) -> torch.Tensor:
    """Odena et al. 2017, eqs. 2-3: D maximises L_S + L_C; both as cross-entropies to minimise."""
    bce, ce = nn.functional.binary_cross_entropy_with_logits, nn.functional.cross_entropy
    source = bce(real_source, torch.ones_like(real_source)) + bce(fake_source, torch.zeros_like(fake_source))
    return source + ce(real_class, real_labels) + ce(fake_class, fake_labels)


def g_loss_acgan(fake_source, fake_class, fake_labels) -> torch.Tensor:
    """Odena et al. 2017: G maximises L_C - L_S; with the non-saturating form of L_S, as in the authors' code."""
    bce, ce = nn.functional.binary_cross_entropy_with_logits, nn.functional.cross_entropy
    return bce(fake_source, torch.ones_like(fake_source)) + ce(fake_class, fake_labels)


def info_loss(category_logits, continuous_mean, categories, continuous, continuous_weight: float = 0.1) -> torch.Tensor:
    """-L_I(G, Q) up to constants (Chen et al. 2016, eq. 5): cross-entropy of the categorical code plus the Gaussian
    negative log-likelihood (unit variance, a "factored Gaussian" as in the paper) of the continuous codes."""
    nll_cat = nn.functional.cross_entropy(category_logits, categories)
    nll_cont = 0.5 * (continuous_mean - continuous).pow(2).sum(1).mean()
    return nll_cat + continuous_weight * nll_cont
