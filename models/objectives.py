"""GAN objectives: the lecture's family tree of losses and regularisers, on one DCGAN backbone.

Every objective below trains the same generator (models.dcgan.Generator, re-exported here as `Generator`) against a
discriminator that differs only where its paper says it must. Papers, in the order of the tab:
- GAN, minimax and non-saturating: Goodfellow et al., "Generative Adversarial Nets", 2014 (arXiv:1406.2661).
  The original MLPs (ReLU G, maxout D with dropout) are `MLPGenerator` / `MLPDiscriminator`.
- LSGAN: Mao et al., "Least Squares Generative Adversarial Networks", 2017 (arXiv:1611.04076); a-b-c = 0-1-1.
- WGAN: Arjovsky, Chintala & Bottou, "Wasserstein GAN", 2017 (arXiv:1701.07875); weight clipping, Algorithm 1.
- WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs", 2017 (arXiv:1704.00028); lambda = 10 on
  interpolates, no BatchNorm in the critic (layer normalisation instead, as the paper recommends).
- DRAGAN: Kodali et al., "On Convergence and Stability of GANs", 2017 (arXiv:1705.07215); the penalty on
  noisy perturbations of real data only.
- SN-GAN: Miyato et al., "Spectral Normalization for Generative Adversarial Networks", 2018 (arXiv:1802.05957);
  one power iteration per forward pass (torch's spectral_norm parametrisation), with the hinge loss.
- R1: Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually Converge?", 2018
  (arXiv:1801.04406); gamma/2 * ||grad D(x)||^2 on real data.
- EBGAN: Zhao, Mathieu & LeCun, "Energy-based Generative Adversarial Network", 2017 (arXiv:1609.03126); an
  auto-encoder D whose reconstruction error is the energy, a margin, and the pulling-away term.
- BEGAN: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium GANs", 2017 (arXiv:1703.10717); an auto-encoder D,
  a Wasserstein-like loss between the L1 reconstruction-error distributions, k_t control with gamma, M_global.

Scaled down: 32-px MNIST (28 px padded by 2) and widths of 64 channels, so each objective trains in minutes on a
CPU; the MLPs are the paper's MNIST sizes. Losses take logits or energies and return scalars, so each is a
two-line function that can be checked by hand (tests/test_objectives.py).
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

# Re-exported: the generator every objective trains, and the non-saturating losses that several of them use.
from models.dcgan import Generator, d_loss_nonsaturating, dcgan_init, doublings, g_loss_nonsaturating  # noqa: F401

HUB_KWARGS = dict(library_name="genzoo", tags=["gan", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")


# ------------------------------------------------------------------------------------------------ Goodfellow 2014
class MLPGenerator(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """The original GAN's MNIST generator: z -> two ReLU layers of 1200 -> 784 pixels. z (B, latent_dim) -> image."""

    def __init__(
        self,
        latent_dim: int = 100,         # z size (the paper's code: 100)
        hidden_features: int = 1200,   # units per hidden layer (the paper's MNIST model: 1200, 1200)
        image_channels: int = 1,       # 1 for MNIST-like data
        image_size: int = 28,          # output side in pixels
    ):
        super().__init__()
        self.latent_dim, self.image_channels, self.image_size = latent_dim, image_channels, image_size
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_features), nn.ReLU(True),
            nn.Linear(hidden_features, hidden_features), nn.ReLU(True),
            # tanh instead of the paper's sigmoid: every genzoo image lives in [-1, 1]
            nn.Linear(hidden_features, image_channels * image_size * image_size), nn.Tanh())
        _uniform_init(self, 0.05)  # the paper's code (mnist.yaml): irange .05 for G

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, self.image_channels, self.image_size, self.image_size)

    @torch.no_grad()
    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        """Start G at the data's mean image, as the paper's code does (init_sigmoid_bias_from_marginals): with the
        tiny initial weights, G(z) ~ tanh(bias). `mean_image` is the training set's per-pixel mean, in [-1, 1]."""
        self.net[-2].bias.copy_(torch.atanh(mean_image.flatten().clamp(-0.998, 0.998)))


def _uniform_init(module: nn.Module, bound: float) -> None:
    """pylearn2's `irange` initialisation: weights U(-bound, bound), biases 0. The defaults of nn.Linear made both
    the non-saturating and the minimax MLP GAN collapse onto one or two digits within 200 kimg."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


class Maxout(nn.Module):
    """max over `pieces` linear maps (Goodfellow et al. 2013), the unit of the original GAN's discriminator."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.out_features, self.pieces).amax(-1)


class MLPDiscriminator(nn.Module):
    """The original GAN's MNIST discriminator: dropout, two maxout layers (240 units x 5 pieces), one logit."""

    def __init__(self, image_channels: int = 1, image_size: int = 28, hidden_features: int = 240, pieces: int = 5,
                 input_dropout: float = 0.2, hidden_dropout: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Dropout(input_dropout),
            Maxout(image_channels * image_size * image_size, hidden_features, pieces), nn.Dropout(hidden_dropout),
            Maxout(hidden_features, hidden_features, pieces), nn.Dropout(hidden_dropout),
            nn.Linear(hidden_features, 1))
        _uniform_init(self, 0.005)  # the paper's code: irange .005 for D

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


# ---------------------------------------------------------------------------------------------- the DCGAN critics
def _normalisation(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # one group = layer norm over (C, H, W), per sample: safe under penalties
    return nn.Identity()


class Critic(nn.Module):
    """DCGAN's discriminator with a choice of normalisation; image -> one score (logit or critic value) (B,).

    norm="batch" is DCGAN's own D (used by LSGAN and the clipped WGAN, as in their papers); "layer" is WGAN-GP's
    choice (a per-sample penalty is meaningless when BatchNorm couples the samples of a batch), also DRAGAN's;
    "spectral" divides every weight by its largest singular value (SN-GAN); "none" for R1.
    """

    def __init__(self, hidden_channels: int = 64, image_channels: int = 1, image_size: int = 32,
                 norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "layer", "spectral", "none"):
            raise ValueError(f"norm must be batch, layer, spectral or none; got {norm!r}")
        start, steps = doublings(image_size)
        sn = nn.utils.parametrizations.spectral_norm if norm == "spectral" else (lambda m: m)
        channels = hidden_channels
        layers = [sn(nn.Conv2d(image_channels, channels, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for _ in range(steps - 1):
            # (B, C, 2s, 2s) -> (B, 2C, s, s); a bias only where no normalisation would cancel it
            layers += [sn(nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=norm not in ("batch", "layer"))),
                       _normalisation(norm, channels * 2), nn.LeakyReLU(0.2, True)]
            channels *= 2
        layers += [sn(nn.Conv2d(channels, 1, start, 1, 0))]  # (B, C, start, start) -> (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        if norm != "spectral":
            self.apply(dcgan_init)  # SN-GAN keeps PyTorch's default init, as the paper's Chainer code does

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class AutoencoderCritic(nn.Module):
    """EBGAN's and BEGAN's discriminator: an auto-encoder; it returns the reconstruction and the code.

    Encoder = DCGAN's discriminator body down to a `code_dim` vector; decoder = DCGAN's generator body back up.
    EBGAN uses BatchNorm and LeakyReLU (the paper's MNIST model); BEGAN the paper's ELU, here with BatchNorm too
    (train/objectives.py's build() says why).
    """

    def __init__(self, hidden_channels: int = 64, image_channels: int = 1, image_size: int = 32,
                 code_dim: int = 64, norm: str = "none", activation: str = "elu"):
        super().__init__()
        start, steps = doublings(image_size)
        act = (lambda: nn.ELU(inplace=True)) if activation == "elu" else (lambda: nn.LeakyReLU(0.2, True))
        bn = (lambda c: nn.BatchNorm2d(c)) if norm == "batch" else (lambda c: nn.Identity())
        channels, encoder = hidden_channels, [nn.Conv2d(image_channels, hidden_channels, 4, 2, 1), act()]
        for _ in range(steps - 1):
            # (B, C, 2s, 2s) -> (B, 2C, s, s)
            encoder += [nn.Conv2d(channels, channels * 2, 4, 2, 1), bn(channels * 2), act()]
            channels *= 2
        # (B, C, start, start) -> (B, code_dim) -> back
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(channels * start * start, code_dim))
        decoder = [nn.Linear(code_dim, channels * start * start), nn.Unflatten(1, (channels, start, start)), act()]
        for _ in range(steps - 1):
            # (B, C, s, s) -> (B, C/2, 2s, 2s)
            decoder += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1), bn(channels // 2), act()]
            channels //= 2
        decoder += [nn.ConvTranspose2d(channels, image_channels, 4, 2, 1)]  # no squashing: errors stay linear
        self.decoder = nn.Sequential(*decoder)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.encoder(x)           # (B, C, H, W) -> (B, code_dim)
        return self.decoder(code), code  # (B, C, H, W), (B, code_dim)


# --------------------------------------------------------------------------------------------------------- losses
# Every D loss takes D's raw outputs on a real and a fake batch; every G loss D's outputs on a fake batch.

def d_loss_minimax(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Goodfellow et al. 2014, eq. 1 for D: maximise log D(x) + log(1 - D(G(z))). Same as the non-saturating D loss."""
    return d_loss_nonsaturating(real_logits, fake_logits)


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """Goodfellow et al. 2014, eq. 1 for G: minimise log(1 - D(G(z))). Saturates (no gradient) when D wins."""
    return -nn.functional.softplus(fake_logits).mean()  # log(1 - sigmoid(l)) = -softplus(l)


def d_loss_lsgan(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Mao et al. 2017, eq. 9 with a=0, b=1: 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2."""
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()


def g_loss_lsgan(fake_scores: torch.Tensor) -> torch.Tensor:
    """Mao et al. 2017, eq. 9 with c=1: 1/2 (D(G(z)) - 1)^2."""
    return 0.5 * ((fake_scores - 1) ** 2).mean()


def d_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Arjovsky et al. 2017: the critic maximises E f(x) - E f(G(z)); minus that is the loss."""
    return fake_scores.mean() - real_scores.mean()


def g_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """Arjovsky et al. 2017: G minimises -E f(G(z))."""
    return -fake_scores.mean()


@torch.no_grad()
def clip_weights(critic: nn.Module, c: float = 0.01) -> None:
    """WGAN's Algorithm 1, line 7: clip every critic parameter to [-c, c] after each critic step."""
    for p in critic.parameters():
        p.clamp_(-c, c)


def _gradient_norms(critic: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """||grad_x critic(x)||_2 per sample, with a graph so a penalty on it can be backpropagated."""
    points = points.requires_grad_(True)
    grad, = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return grad.flatten(1).norm(dim=1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Gulrajani et al. 2017, Algorithm 1: lambda * E (||grad f(x_hat)||_2 - 1)^2 at x_hat = eps x + (1 - eps) G(z)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    return weight * ((_gradient_norms(critic, x_hat) - 1) ** 2).mean()


def dragan_penalty(critic: nn.Module, real: torch.Tensor, weight: float = 10.0, noise_scale: float = 0.5,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Kodali et al. 2017: lambda * E (||grad D(x_p)||_2 - 1)^2 at points x_p near the real data only.

    As in the authors' code: x_p = x + alpha * delta with delta = noise_scale * std(x) * U[0, 1] per pixel and
    alpha ~ U[0, 1] per sample, so the penalty constrains D in a neighbourhood of the data manifold.
    """
    real = real.detach()
    delta = noise_scale * real.std() * torch.rand(real.shape, generator=generator).to(real)
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real)
    return weight * ((_gradient_norms(critic, real + alpha * delta) - 1) ** 2).mean()


def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The hinge loss of SN-GAN (Miyato et al. 2018, eq. 16): E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    return nn.functional.relu(1 - real_scores).mean() + nn.functional.relu(1 + fake_scores).mean()


def g_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    """SN-GAN's generator loss with the hinge D: -E D(G(z))."""
    return -fake_scores.mean()


def r1_penalty(critic: nn.Module, real: torch.Tensor, gamma: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mescheder et al. 2018, eq. 9: gamma/2 * E ||grad D(x)||^2 on real data. Returns (penalty, D's real logits)
    so the caller's loss reuses the same forward pass."""
    real = real.detach().requires_grad_(True)
    logits = critic(real)
    grad, = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.flatten(1).pow(2).sum(1).mean(), logits


def reconstruction_energy(x: torch.Tensor, reconstruction: torch.Tensor, p: int = 2) -> torch.Tensor:
    """Per-sample auto-encoder energy: mean squared (p=2, EBGAN) or absolute (p=1, BEGAN) error over pixels. (B,)"""
    error = (reconstruction - x).abs()
    return (error ** p if p != 1 else error).flatten(1).mean(1)


def d_loss_ebgan(real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float) -> torch.Tensor:
    """Zhao et al. 2017, eq. 1: D(x) + [m - D(G(z))]^+ with D = the reconstruction energy."""
    return real_energy.mean() + nn.functional.relu(margin - fake_energy).mean()


def pulling_away_term(codes: torch.Tensor) -> torch.Tensor:
    """Zhao et al. 2017, eq. 7: mean squared cosine similarity between different samples' codes (0 = orthogonal).
    Added to G's loss, it pushes the batch apart and counters mode collapse."""
    n = codes.shape[0]
    unit = nn.functional.normalize(codes.flatten(1), dim=1)
    cosine = unit @ unit.T
    return (cosine.pow(2).sum() - n) / (n * (n - 1))  # the diagonal (all 1) excluded


def g_loss_ebgan(fake_energy: torch.Tensor, fake_codes: torch.Tensor, pt_weight: float = 0.1) -> torch.Tensor:
    """Zhao et al. 2017: G minimises D(G(z)), plus the pulling-away term on D's codes of the fakes (weight 0.1)."""
    return fake_energy.mean() + pt_weight * pulling_away_term(fake_codes)


def d_loss_began(real_error: torch.Tensor, fake_error: torch.Tensor, k: float) -> torch.Tensor:
    """Berthelot et al. 2017, eq. 4: L_D = L(x) - k_t L(G(z)), with L the L1 reconstruction error."""
    return real_error.mean() - k * fake_error.mean()


def g_loss_began(fake_error: torch.Tensor) -> torch.Tensor:
    """Berthelot et al. 2017, eq. 4: L_G = L(G(z))."""
    return fake_error.mean()


def began_update(k: float, real_error: float, fake_error: float, gamma: float = 0.5,
                 lambda_k: float = 1e-3) -> tuple[float, float]:
    """Berthelot et al. 2017: k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1), and the convergence
    measure M_global = L(x) + |gamma L(x) - L(G(z))|. Returns (k_{t+1}, M_global)."""
    balance = gamma * real_error - fake_error
    return min(max(k + lambda_k * balance, 0.0), 1.0), real_error + abs(balance)


def wasserstein_estimate(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> float:
    """E f(x) - E f(G(z)): the WGAN critic's estimate of W(P_r, P_g) (up to its Lipschitz constant), for the curves."""
    return (real_scores.mean() - fake_scores.mean()).item()

