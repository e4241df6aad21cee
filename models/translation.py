"""Image-to-image translation, the lecture's family: Pix2Pix (paired), CycleGAN and DiscoGAN (unpaired), StarGAN
(many domains, one generator). SPADE follows in this file (genzoo issue 5).

Pix2Pix, a conditional GAN that learns a paired mapping x -> y. Paper: Isola, Zhu, Zhou & Efros, "Image-to-Image
Translation with Conditional Adversarial Networks", CVPR 2017 (arXiv:1611.07004).

What the paper prescribes and this file keeps:
- the generator is a U-Net: an encoder of 4x4 stride-2 convolutions (Conv-Norm-LeakyReLU(0.2), no norm on the
  first) and a mirrored decoder of 4x4 stride-2 transposed convolutions (Conv-Norm-ReLU) with a skip connection
  from every encoder layer i to decoder layer n - i (channel concatenation), a tanh output;
  `skips=False` gives the paper's "encoder-decoder" ablation (the same network without the skips);
- noise is dropout (p = 0.5) in the first three decoder layers, kept on at test time (the paper: "we provide noise
  only in the form of dropout ... at both training and test time"), so `forward` samples unless `dropout=False`;
- the innermost encoder layer has no normalisation (with batch size 1, normalising a 1x1 map zeroes it; the
  authors' code leaves it out for that reason);
- the discriminator is a PatchGAN: it classifies overlapping N x N patches of the pair (x, y) concatenated on
  channels as real or fake (C64-C128-C256-..., 4x4 convolutions, BatchNorm except the first, LeakyReLU 0.2),
  averaged by the loss;
- objective: cGAN loss + lambda * L1(y, G(x)) with lambda = 100; D's loss halved (the paper: "we divide the
  objective by 2 while optimizing D"); Adam 2e-4, beta1 0.5; weights from N(0, 0.02).

Scaled down: the paper works at 256 x 256 with 8 encoder layers (bottleneck 1x1) and 64 filters in the first layer
and a 70 x 70 PatchGAN (3 stride-2 layers). Here images are 64 px: `num_downs=6` reaches the same 1x1 bottleneck,
`base_channels` is the first layer's width (the bundled G: 16, D: 32; the paper: 64 for both) and the PatchGAN has
`num_layers=2` stride-2 layers, a 34 x 34 receptive field on a 64-px image (the paper's 70 x 70 on 256 px is a
similar share of the image). The paper trains with batch size 1 and BatchNorm, i.e. instance statistics;
`norm="instance"` (the default) is that, at any batch size; `norm="batch"` is the batch-statistics variant the
paper also reports for larger batches.

CycleGAN, two mappings G: A -> B and F: B -> A learned from unpaired sets. Paper: Zhu, Park, Isola & Efros, "Unpaired
Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv:1703.10593). Kept: the
generator of Johnson et al. (c7s1-k, two stride-2 downsamplings, residual blocks, two fractionally strided
upsamplings, c7s1 out; reflection padding, instance norm, ReLU, tanh); 70 x 70-style PatchGAN discriminators with
instance norm; the least-squares GAN loss; cycle consistency ||F(G(a)) - a||_1 + ||G(F(b)) - b||_1 with lambda = 10;
the identity loss (weight 0.5 lambda) that keeps a mapping from changing what is already in its target domain; D
trained on a history of 50 generated images (Shrivastava et al.'s buffer), its loss halved; Adam 2e-4, beta1 0.5.
Scaled down: 32-px digits, width 16 (the paper: 64) and 6 residual blocks (the paper's 128-px setting; 9 at 256 px).

DiscoGAN, cross-domain relations from unpaired sets. Paper: Kim, Cha, Kim, Lee & Kim, "Learning to Discover
Cross-Domain Relations with Generative Adversarial Networks", ICML 2017 (arXiv:1703.05192). Kept: two encoder-decoder
generators G_AB, G_BA (4x4 stride-2 convolutions with LeakyReLU 0.2 and BatchNorm except the first, mirrored by
transposed convolutions with ReLU, tanh out; no skips, so the mapping must pass a small bottleneck), two image-level
discriminators (the same encoder, then one logit), the standard GAN loss, and the reconstruction loss of both
round trips (mean squared error, the paper's distance) added to each generator's GAN loss with weight 1; Adam 2e-4,
betas (0.5, 0.999). Scaled down: 32 px (the paper: 64), width 32 (64), a 4x4 bottleneck as the paper's.

StarGAN, one generator for translations among many domains. Paper: Choi, Choi, Kim, Ha, Kim & Choo, "StarGAN: Unified
Generative Adversarial Networks for Multi-Domain Image-to-Image Translation", CVPR 2018 (arXiv:1711.09020). Kept: G
takes the image and the target domain's label vector, replicated spatially and concatenated on channels (Table 4:
c7s1, two 4x4 stride-2 downsamplings, 6 residual blocks, two upsamplings, instance norm, tanh); D is a PatchGAN
without normalisation (LeakyReLU 0.01) with two heads, D_src (real / fake) and D_cls (the domain's attributes,
Table 5); losses: WGAN-GP adversarial (lambda_gp = 10), domain classification of real images (D) and of
translations (G), lambda_cls = 1, and the reconstruction ||x - G(G(x, c), c')||_1 with lambda_rec = 10; targets are
the labels of the batch shuffled (the authors' code); n_critic = 5, Adam 1e-4 (0.5, 0.999), lr decaying linearly to
0 over the second half. Scaled down: 32 px (the paper: 128), G width 16 (64), D width 32 (64) with 4 stride-2 layers
(6) to the same 2x2 map. Changed for the digits: the bundled G has no downsampling (`downsamplings=0`, its residual
blocks at full resolution, the same FLOPs), because with the paper's two at 32 px G relabelled the digits instead of
keeping them (measured in train/translation.py); the paper's 2 stay the default.
"""

from __future__ import annotations

import math

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

from models.dcgan import dcgan_init
from models.objectives import d_loss_wasserstein, g_loss_wasserstein, gradient_penalty

HUB_KWARGS = dict(library_name="genzoo", tags=["gan", "image-to-image"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")
L1_WEIGHT = 100.0  # the paper's lambda


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'instance' or 'batch'; got {kind!r}")


class UNetGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """x (B, in_channels, S, S) in [-1, 1] -> y (B, out_channels, S, S) in [-1, 1], S = 2 ** num_downs."""

    def __init__(
        self,
        in_channels: int = 1,       # the input domain's channels (edges: 1)
        out_channels: int = 1,      # the output domain's channels (grey items: 1, RGB: 3)
        base_channels: int = 16,    # first encoder layer's width, doubling per layer up to 8x (the paper: 64)
        num_downs: int = 6,         # encoder layers; the image side is 2 ** num_downs (the paper: 8 for 256 px)
        skips: bool = True,         # U-Net skip connections; False = the paper's encoder-decoder ablation
        norm: str = "instance",     # "instance" (the paper's batch size 1) or "batch"
        dropout: bool = True,       # dropout p = 0.5 in the first three decoder layers, the paper's noise
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.skips, self.dropout = in_channels, out_channels, skips, dropout
        self.image_size = 2 ** num_downs
        widths = [base_channels * min(2 ** i, 8) for i in range(num_downs)]  # C64-C128-C256-C512-C512-...
        self.down = nn.ModuleList()
        for i, width in enumerate(widths):
            layers = [nn.Conv2d(in_channels if i == 0 else widths[i - 1], width, 4, 2, 1, bias=False)]
            if 0 < i < num_downs - 1:  # no norm on the first layer (the paper) nor the 1x1 innermost (see above)
                layers.append(norm_layer(norm, width))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(1, num_downs)):  # decoder layer producing the resolution of encoder layer i - 1
            incoming = widths[i] * (2 if skips and i < num_downs - 1 else 1)
            self.up.append(nn.Sequential(nn.ConvTranspose2d(incoming, widths[i - 1], 4, 2, 1, bias=False),
                                         norm_layer(norm, widths[i - 1])))
        self.out = nn.ConvTranspose2d(widths[0] * (2 if skips else 1), out_channels, 4, 2, 1)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """`generator` (a CPU torch.Generator) draws the dropout noise; None uses the global RNG (training)."""
        features = []
        h = x
        for i, layer in enumerate(self.down):
            h = layer(h if i == 0 else F.leaky_relu(h, 0.2))
            features.append(h)
        for j, layer in enumerate(self.up):
            h = layer(F.relu(h))
            if j < 3 and self.dropout:  # the noise: on in training and at test time, as in the paper
                h = dropout(h, generator)
            if self.skips:
                h = torch.cat([h, features[-2 - j]], 1)  # decoder layer j meets encoder layer n - 2 - j
        return torch.tanh(self.out(F.relu(h)))


def dropout(h: torch.Tensor, generator: torch.Generator | None, p: float = 0.5) -> torch.Tensor:
    """Inverted dropout that is always on; with a generator, its mask is a function of that generator alone (a
    served request's seed gives the same output whatever other requests do to the global RNG)."""
    if generator is None:
        return F.dropout(h, p, training=True)
    keep = torch.rand(h.shape, generator=generator).to(h.device) >= p
    return h * keep / (1 - p)


class PatchDiscriminator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """(x, y) -> (B, 1, P, P) logits, one per overlapping patch; the loss averages them. Images given are
    concatenated on channels: pix2pix's D sees the pair (x, y), CycleGAN's one image."""

    def __init__(
        self,
        in_channels: int = 2,       # input + output channels, concatenated (the conditional GAN sees the pair)
        base_channels: int = 32,    # first layer's width (the paper: 64)
        num_layers: int = 2,        # stride-2 layers: 3 = the paper's 70 x 70 PatchGAN, 2 = 34 x 34, 1 = 16 x 16
        norm: str = "batch",        # "batch" (pix2pix) or "instance" (CycleGAN)
    ):
        super().__init__()
        layers = [nn.Conv2d(in_channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = base_channels
        for i in range(1, num_layers + 1):  # num_layers - 1 more stride-2 layers, then one stride-1 layer
            stride, out = (2 if i < num_layers else 1), base_channels * min(2 ** i, 8)
            layers += [nn.Conv2d(width, out, 4, stride, 1, bias=False), norm_layer(norm, out), nn.LeakyReLU(0.2, True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat(images, 1))


def receptive_field(num_layers: int) -> int:
    """Side of the input patch one PatchGAN logit sees (4x4 kernels: num_layers stride-2, then two stride-1)."""
    field = 1
    for stride in reversed([2] * num_layers + [1, 1]):
        field = (field - 1) * stride + 4
    return field


def pix2pix_d_loss(D: nn.Module, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The paper's D objective, halved: BCE of real pairs as 1 and generated pairs as 0, over every patch."""
    real, generated = D(x, y), D(x, fake.detach())
    return 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                  + F.binary_cross_entropy_with_logits(generated, torch.zeros_like(generated)))


def pix2pix_g_loss(D: nn.Module | None, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor,
                   l1_weight: float = L1_WEIGHT) -> tuple[torch.Tensor, torch.Tensor]:
    """(total, L1): the non-saturating cGAN loss + lambda * L1(y, G(x)); D=None is the paper's "L1 only" ablation."""
    l1 = F.l1_loss(fake, y)
    if D is None:
        return l1_weight * l1, l1
    logits = D(x, fake)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)) + l1_weight * l1, l1


# ------------------------------------------------------------------------------------------------------ CycleGAN
class ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False),
                                  norm_layer(norm, channels), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False),
                                  norm_layer(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """CycleGAN's generator (Johnson et al.'s): image (B, in_channels, S, S) -> (B, out_channels, S, S), S % 4 == 0."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        base_channels: int = 16,    # k of c7s1-k (the paper: 64)
        num_blocks: int = 6,        # residual blocks at 1/4 resolution (the paper: 6 at 128 px, 9 at 256 px)
        norm: str = "instance",
    ):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, base_channels, 7, bias=False),
                  norm_layer(norm, base_channels), nn.ReLU(True)]
        width = base_channels
        for _ in range(2):  # d2k, d4k
            layers += [nn.Conv2d(width, 2 * width, 3, 2, 1, bias=False), norm_layer(norm, 2 * width), nn.ReLU(True)]
            width *= 2
        layers += [ResnetBlock(width, norm) for _ in range(num_blocks)]
        for _ in range(2):  # u2k, uk
            layers += [nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1, bias=False),
                       norm_layer(norm, width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)  # N(0, 0.02), as the authors' code

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CycleGAN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """Both mappings in one module (one checkpoint): G: A -> B and F: B -> A; forward(x, "AtoB" | "BtoA")."""

    def __init__(self, channels: int = 1, base_channels: int = 16, num_blocks: int = 6, norm: str = "instance"):
        super().__init__()
        self.G = ResnetGenerator(channels, channels, base_channels, num_blocks, norm)
        self.F = ResnetGenerator(channels, channels, base_channels, num_blocks, norm)

    def forward(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA'; got {direction!r}")
        return self.G(x) if direction == "AtoB" else self.F(x)


def lsgan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Mao et al.'s least-squares GAN loss, CycleGAN's choice: (D - 1)^2 for real targets, D^2 for fake ones."""
    return F.mse_loss(logits, torch.full_like(logits, 1.0 if real else 0.0))


def cycle_consistency_loss(model: CycleGAN, real_a: torch.Tensor, real_b: torch.Tensor,
                           fake_a: torch.Tensor, fake_b: torch.Tensor) -> torch.Tensor:
    """||F(G(a)) - a||_1 + ||G(F(b)) - b||_1 (fake_b = G(a), fake_a = F(b))."""
    return F.l1_loss(model.F(fake_b), real_a) + F.l1_loss(model.G(fake_a), real_b)


def identity_loss(model: CycleGAN, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
    """||G(b) - b||_1 + ||F(a) - a||_1: a target-domain image should pass unchanged."""
    return F.l1_loss(model.G(real_b), real_b) + F.l1_loss(model.F(real_a), real_a)


def cyclegan_g_loss(model: CycleGAN, D: nn.ModuleDict, real_a: torch.Tensor, real_b: torch.Tensor,
                    lambda_cycle: float = 10.0, lambda_identity: float = 0.5):
    """(total, {"adversarial", "cycle", "identity"}, fake_a, fake_b): LSGAN loss of both mappings against D["A"] and
    D["B"], + lambda_cycle * cycle + lambda_cycle * lambda_identity * identity (the paper's weights)."""
    fake_b, fake_a = model.G(real_a), model.F(real_b)
    adversarial = lsgan_loss(D["B"](fake_b), True) + lsgan_loss(D["A"](fake_a), True)
    cycle = cycle_consistency_loss(model, real_a, real_b, fake_a, fake_b)
    identity = identity_loss(model, real_a, real_b) if lambda_identity > 0 else torch.zeros((), device=real_a.device)
    total = adversarial + lambda_cycle * cycle + lambda_cycle * lambda_identity * identity
    return total, {"adversarial": adversarial, "cycle": cycle, "identity": identity}, fake_a, fake_b


def cyclegan_d_loss(D: nn.ModuleDict, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor,
                    fake_b: torch.Tensor) -> torch.Tensor:
    """Each D's LSGAN loss on its domain's real images and (pooled) generated ones, halved as in the paper."""
    loss = 0.0
    for domain, real, fake in (("A", real_a, fake_a), ("B", real_b, fake_b)):
        loss = loss + 0.5 * (lsgan_loss(D[domain](real), True) + lsgan_loss(D[domain](fake.detach()), False))
    return loss


class ImagePool:
    """Shrivastava et al.'s history buffer, as CycleGAN uses it: D sees, per image, with probability 1/2 a generated
    image from up to `size` earlier steps (which the new one then replaces) and otherwise the new one. Its state is a
    tensor, so a resumed run continues with the same history."""

    def __init__(self, size: int = 50):
        self.size, self.images = size, None

    def query(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return images
        images = images.detach()
        out = []
        for image in images:
            stored = 0 if self.images is None else len(self.images)
            if stored < self.size:
                self.images = image[None].clone() if self.images is None else torch.cat([self.images, image[None]])
                out.append(image)
            elif torch.rand((), generator=generator) < 0.5:
                i = int(torch.randint(stored, (), generator=generator))
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)


# ------------------------------------------------------------------------------------------------------ DiscoGAN
def encoder_layers(in_channels: int, widths: list[int]) -> list[nn.Module]:
    """DiscoGAN's encoder: 4x4 stride-2 convolutions, LeakyReLU 0.2, BatchNorm except after the first."""
    layers, width = [], in_channels
    for i, out in enumerate(widths):
        layers += [nn.Conv2d(width, out, 4, 2, 1, bias=i == 0)] + ([nn.BatchNorm2d(out)] if i else [])
        layers.append(nn.LeakyReLU(0.2, True))
        width = out
    return layers


class EncoderDecoder(nn.Module):
    """DiscoGAN's generator: image (B, C, S, S) -> (B, C, S, S) through an S / 2**num_downs bottleneck."""

    def __init__(self, channels: int = 1, base_channels: int = 32, num_downs: int = 3):
        super().__init__()
        widths = [base_channels * 2 ** i for i in range(num_downs)]
        layers = encoder_layers(channels, widths)
        for width, out in zip(widths[::-1], widths[-2::-1]):
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[0], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ImageDiscriminator(nn.Module):
    """DiscoGAN's discriminator: the encoder, then one logit per image (a 4x4 convolution over the last map)."""

    def __init__(self, channels: int = 1, base_channels: int = 32, num_downs: int = 3, image_size: int = 32):
        super().__init__()
        widths = [base_channels * 2 ** i for i in range(num_downs)]
        side = image_size // 2 ** num_downs
        self.net = nn.Sequential(*encoder_layers(channels, widths), nn.Conv2d(widths[-1], 1, side), nn.Flatten())
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1) logits


class DiscoGAN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """Both generators in one module (one checkpoint): G_AB and G_BA; forward(x, "AtoB" | "BtoA")."""

    def __init__(self, channels: int = 1, base_channels: int = 32, num_downs: int = 3):
        super().__init__()
        self.G_AB = EncoderDecoder(channels, base_channels, num_downs)
        self.G_BA = EncoderDecoder(channels, base_channels, num_downs)

    def forward(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction must be 'AtoB' or 'BtoA'; got {direction!r}")
        return self.G_AB(x) if direction == "AtoB" else self.G_BA(x)


def discogan_g_loss(model: DiscoGAN, D: nn.ModuleDict, real_a: torch.Tensor, real_b: torch.Tensor):
    """(total, {"adversarial", "reconstruction"}, fake_a, fake_b): for each direction the non-saturating GAN loss of
    the translation against its domain's D plus the MSE of its round trip, summed over both (the paper's L_G)."""
    fake_b, fake_a = model.G_AB(real_a), model.G_BA(real_b)
    adversarial = sum(F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
                      for logits in (D["B"](fake_b), D["A"](fake_a)))
    reconstruction = F.mse_loss(model.G_BA(fake_b), real_a) + F.mse_loss(model.G_AB(fake_a), real_b)
    return adversarial + reconstruction, {"adversarial": adversarial, "reconstruction": reconstruction}, fake_a, fake_b


def discogan_d_loss(D: nn.ModuleDict, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor,
                    fake_b: torch.Tensor) -> torch.Tensor:
    """Each D's standard GAN loss on its domain's real and translated images, summed."""
    loss = 0.0
    for domain, real, fake in (("A", real_a, fake_a), ("B", real_b, fake_b)):
        r, f = D[domain](real), D[domain](fake.detach())
        loss = loss + F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) \
            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    return loss


# ------------------------------------------------------------------------------------------------------ StarGAN
class StarGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """StarGAN's single generator for every domain: (image (B, C, S, S), target attributes (B, A)) -> image; the
    attributes are replicated over the image and concatenated to it as A more input channels (the paper's Fig. 3)."""

    def __init__(
        self,
        channels: int = 3,          # RGB
        num_attributes: int = 5,    # the length of a domain's label vector (the paper's CelebA: 5)
        base_channels: int = 16,    # width of the first layer (the paper: 64); each downsampling doubles it
        num_blocks: int = 6,        # residual blocks at the bottleneck resolution (the paper: 6)
        downsamplings: int = 2,     # stride-2 convolutions before the blocks, each undone by a transposed one after
                                    # them (the paper: 2)
    ):
        super().__init__()
        self.num_attributes = num_attributes
        # The paper's Table 4: c7s1-64, two 4x4 stride-2 downsamplings, 6 residual blocks, two 4x4 stride-2
        # transposed convolutions, c7s1-3 with tanh; instance normalisation and ReLU throughout.
        width = base_channels
        layers = [nn.Conv2d(channels + num_attributes, width, 7, 1, 3, bias=False), norm_layer("instance", width),
                  nn.ReLU(True)]
        for _ in range(downsamplings):
            layers += [nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), norm_layer("instance", 2 * width), nn.ReLU(True)]
            width *= 2
        layers += [StarResidualBlock(width) for _ in range(num_blocks)]
        for _ in range(downsamplings):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), norm_layer("instance", width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers += [nn.Conv2d(width, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        if attributes.shape != (x.shape[0], self.num_attributes):
            raise ValueError(f"attributes must be (batch, {self.num_attributes}); got {tuple(attributes.shape)}")
        c = attributes.to(x)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.net(torch.cat([x, c], 1))


class StarResidualBlock(nn.Module):
    """conv3x3-IN-ReLU-conv3x3-IN, added to the input (zero padding, as the authors' code)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False), norm_layer("instance", channels),
                                  nn.ReLU(True), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  norm_layer("instance", channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarDiscriminator(nn.Module):
    """StarGAN's D: a PatchGAN trunk of 4x4 stride-2 convolutions with LeakyReLU 0.01 and no normalisation down to a
    2x2 map, then two heads: D_src (B, 1, 2, 2) real/fake scores (a Wasserstein critic) and D_cls (B, A) attribute
    logits (the paper's Table 5; it has 6 layers for 128 px, here log2(S) - 1)."""

    def __init__(self, channels: int = 3, num_attributes: int = 5, base_channels: int = 32, image_size: int = 32):
        super().__init__()
        num_layers = max(1, int(math.log2(image_size)) - 1)
        layers, width = [], channels
        for i in range(num_layers):
            out = base_channels * 2 ** i
            layers += [nn.Conv2d(width, out, 4, 2, 1), nn.LeakyReLU(0.01, True)]
            width = out
        self.trunk = nn.Sequential(*layers)
        side = image_size // 2 ** num_layers
        self.src = nn.Conv2d(width, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(width, num_attributes, side, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.src(h), self.cls(h).flatten(1)


def domain_classification_loss(logits: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """StarGAN's L_cls: binary cross-entropy of every attribute, summed over attributes, averaged over the batch (a
    multi-label problem, as the authors treat CelebA's)."""
    return F.binary_cross_entropy_with_logits(logits, attributes, reduction="sum") / logits.shape[0]


def stargan_d_loss(D: StarDiscriminator, real: torch.Tensor, real_attributes: torch.Tensor, fake: torch.Tensor,
                   lambda_cls: float = 1.0, lambda_gp: float = 10.0, generator: torch.Generator | None = None):
    """(total, parts): the paper's L_D = -L_adv + lambda_cls L_cls^r with L_adv the WGAN-GP objective: D(fake) -
    D(real) + lambda_gp (||grad D_src(x_hat)||_2 - 1)^2, and L_cls^r the domain loss of the real images' labels."""
    real_src, real_cls = D(real)
    fake_src, _ = D(fake.detach())
    adversarial = d_loss_wasserstein(real_src, fake_src)
    penalty = gradient_penalty(lambda x: D(x)[0], real, fake, lambda_gp, generator)
    cls = domain_classification_loss(real_cls, real_attributes)
    return adversarial + penalty + lambda_cls * cls, {"d_adversarial": adversarial, "gp": penalty, "d_cls": cls}


def stargan_g_loss(G: StarGenerator, D: StarDiscriminator, real: torch.Tensor, real_attributes: torch.Tensor,
                   target_attributes: torch.Tensor, lambda_cls: float = 1.0, lambda_rec: float = 10.0,
                   lambda_id: float = 0.0):
    """(total, parts, fake): L_G = L_adv + lambda_cls L_cls^f + lambda_rec L_rec: fool the critic, be classified
    as the target domain, and come back: ||x - G(G(x, c), c')||_1 with c' the original labels.

    lambda_id > 0 adds CycleGAN's identity term ||G(x, c_x) - x||_1 (not in StarGAN, whose default 0 this is): the
    cycle alone accepts any content change G can undo. On the colourised digits, with the paper's two
    downsamplings, it pins translations that keep the background, but G then changes the digit where the background
    flips instead; what kept the digit was a G without downsampling (see train/translation.py)."""
    fake = G(real, target_attributes)
    fake_src, fake_cls = D(fake)
    adversarial = g_loss_wasserstein(fake_src)
    cls = domain_classification_loss(fake_cls, target_attributes)
    reconstruction = F.l1_loss(G(fake, real_attributes), real)
    total = adversarial + lambda_cls * cls + lambda_rec * reconstruction
    parts = {"g_adversarial": adversarial, "g_cls": cls, "reconstruction": reconstruction}
    if lambda_id > 0:
        parts["identity"] = F.l1_loss(G(real, real_attributes), real)
        total = total + lambda_id * parts["identity"]
    return total, parts, fake


# ------------------------------------------------------------------------------------------------------ SPADE
def spectral(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


class SPADE(nn.Module):
    """Spatially-adaptive normalisation: a parameter-free BatchNorm of x, then a per-pixel scale and shift that a
    small conv net computes from the label map resized to x: x_hat * (1 + gamma(m)) + beta(m) (the paper's eq. 1)."""

    def __init__(self, channels: int, num_classes: int, hidden: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(num_classes, hidden, 3, 1, 1), nn.ReLU(True))
        self.gamma = nn.Conv2d(hidden, channels, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        segmap = F.interpolate(segmap, size=x.shape[-2:], mode="nearest")
        h = self.shared(segmap)
        return self.norm(x) * (1 + self.gamma(h)) + self.beta(h)


class SPADEResBlock(nn.Module):
    """The paper's Fig. 4 (right): two (SPADE, LeakyReLU 0.2, spectral-normed 3x3 conv) stages, and a learned
    (SPADE, 1x1 conv) shortcut when the width changes."""

    def __init__(self, fin: int, fout: int, num_classes: int, hidden: int):
        super().__init__()
        middle = min(fin, fout)
        self.norm_0, self.conv_0 = SPADE(fin, num_classes, hidden), spectral(nn.Conv2d(fin, middle, 3, 1, 1))
        self.norm_1, self.conv_1 = SPADE(middle, num_classes, hidden), spectral(nn.Conv2d(middle, fout, 3, 1, 1))
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.norm_s, self.conv_s = SPADE(fin, num_classes, hidden), spectral(nn.Conv2d(fin, fout, 1, bias=False))

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """GauGAN: (one-hot label map (B, K, S, S), style z (B, z_dim)) -> image (B, 3, S, S). z is projected to the
    coarsest map (4 x 4, the paper's VAE mode) and every block is modulated by the label map: the layout comes only
    from the SPADE layers, the style only from z."""

    def __init__(
        self,
        num_classes: int = 7,       # label-map classes (data.SCENE_CLASSES)
        image_size: int = 64,       # 4 * 2 ** (number of upsampling blocks)
        base_channels: int = 8,     # nf: the last block's width; the coarsest is 16 nf (the paper: nf = 64)
        z_dim: int = 64,            # style code (the paper: 256)
        hidden: int = 32,           # SPADE's shared conv width (the paper: 128)
    ):
        super().__init__()
        ups = int(math.log2(image_size // 4))
        if 4 * 2 ** ups != image_size:
            raise ValueError(f"image_size must be 4 times a power of two; got {image_size}")
        self.num_classes, self.z_dim, self.image_size = num_classes, z_dim, image_size
        nf = base_channels
        widths = [16 * nf] + [16 * nf // 2 ** i for i in range(ups + 1)]  # 64 px, nf 8: 128, 128, 64, 32, 16, 8
        self.fc = nn.Linear(z_dim, widths[0] * 16)
        self.blocks = nn.ModuleList(SPADEResBlock(widths[i], widths[i + 1], num_classes, hidden)
                                    for i in range(ups + 1))
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, 1, 1)

    def forward(self, segmap: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(z.shape[0], -1, 4, 4)
        for i, block in enumerate(self.blocks):
            x = block(x, segmap)
            if i < len(self.blocks) - 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.to_rgb(F.leaky_relu(x, 0.2)))


class StyleEncoder(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """SPADE's image encoder for multimodal synthesis: image (B, 3, S, S) -> (mu, logvar) of q(z | image); 3x3
    stride-2 convolutions with instance norm and LeakyReLU 0.2 down to 4 x 4, then two linear heads."""

    def __init__(self, image_size: int = 64, base_channels: int = 16, z_dim: int = 64):
        super().__init__()
        layers, width = [], 3
        for i in range(int(math.log2(image_size // 4))):
            out = base_channels * min(2 ** i, 8)
            layers += [spectral(nn.Conv2d(width, out, 3, 2, 1)), nn.InstanceNorm2d(out, affine=True),
                       nn.LeakyReLU(0.2, True)]
            width = out
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.mu, self.logvar = nn.Linear(width * 16, z_dim), nn.Linear(width * 16, z_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(image)
        return self.mu(h), self.logvar(h)


class SPADE_GAN(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """What ships: the generator and its style encoder in one module. forward(segmap, z) draws; encode(image) gives
    the style of an example image (the paper's guided synthesis)."""

    def __init__(self, num_classes: int = 7, image_size: int = 64, base_channels: int = 8, z_dim: int = 64,
                 hidden: int = 32, encoder_channels: int = 16):
        super().__init__()
        self.G = SPADEGenerator(num_classes, image_size, base_channels, z_dim, hidden)
        self.E = StyleEncoder(image_size, encoder_channels, z_dim)
        self.num_classes, self.z_dim, self.image_size = num_classes, z_dim, image_size

    def forward(self, segmap: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.G(segmap, z)

    def encode(self, image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ q(z | image) by the reparameterisation trick (generator=None: the mean)."""
        mu, logvar = self.E(image)
        if generator is None:
            return mu
        return mu + torch.randn(mu.shape, generator=generator).to(mu) * torch.exp(0.5 * logvar)


def one_hot_labels(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, S, S) int64 -> (B, K, S, S) float one-hot, SPADE's input."""
    return F.one_hot(labels, num_classes).permute(0, 3, 1, 2).float()


class NLayerDiscriminator(nn.Module):
    """pix2pixHD's PatchGAN as SPADE uses it, on (label map, image): 4x4 convolutions, spectral norm and instance
    norm after the first, LeakyReLU 0.2; returns every layer's output (feature matching reads them all)."""

    def __init__(self, in_channels: int, base_channels: int = 32, num_layers: int = 3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Sequential(nn.Conv2d(in_channels, base_channels, 4, 2, 2),
                                                   nn.LeakyReLU(0.2, True))])
        width = base_channels
        for i in range(1, num_layers):
            out = min(width * 2, 512)
            self.layers.append(nn.Sequential(spectral(nn.Conv2d(width, out, 4, 2 if i < num_layers - 1 else 1, 2,
                                                                bias=False)),
                                             nn.InstanceNorm2d(out, affine=False), nn.LeakyReLU(0.2, True)))
            width = out
        self.layers.append(nn.Sequential(nn.Conv2d(width, 1, 4, 1, 2)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Module):
    """num_d PatchGANs, each on the (label map, image) pair downsampled 2x more than the last (3x3 average pooling)."""

    def __init__(self, in_channels: int, base_channels: int = 32, num_layers: int = 3, num_d: int = 2):
        super().__init__()
        self.ds = nn.ModuleList(NLayerDiscriminator(in_channels, base_channels, num_layers) for _ in range(num_d))

    def forward(self, segmap: torch.Tensor, image: torch.Tensor) -> list[list[torch.Tensor]]:
        x, out = torch.cat([segmap, image], 1), []
        for d in self.ds:
            out.append(d(x))
            x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        return out


def hinge_d_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Lim & Ye / Miyato et al.'s hinge loss, SPADE's choice, averaged over the discriminators' last outputs."""
    return sum(F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for r, f in zip(real, fake)) / len(real)


def feature_matching_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """pix2pixHD's feature matching: L1 between D's intermediate features of real and generated pairs, over every
    layer but the last of every discriminator, averaged over the discriminators."""
    return sum(F.l1_loss(f, r.detach()) for rs, fs in zip(real, fake) for r, f in zip(rs[:-1], fs[:-1])) / len(real)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z | x) || N(0, I)), summed over z and averaged over the batch (the authors' KLDLoss, times 1/B)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]
