"""A deterministic autoencoder and the variational autoencoder, on binarized images with a Bernoulli decoder.

Papers:
- Kingma & Welling, "Auto-Encoding Variational Bayes", 2014 (arXiv:1312.6114): the VAE. An encoder q(z|x) =
  N(mu(x), diag sigma^2(x)), a decoder p(x|z) (Bernoulli for binary data, their appendix C), the prior p(z) = N(0, I),
  the reparameterisation z = mu + sigma * eps with eps ~ N(0, I) (section 2.4), and the evidence lower bound
  ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)) with the KL in closed form for two Gaussians (appendix B).
- Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", 2016 (arXiv:1509.00519): the importance
  weighted bound log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x) (their eq. 8), which equals the ELBO at k = 1,
  does not decrease in expectation as k grows, and tends to log p(x); their appendix uses k = 5000 to *estimate*
  a model's test log-likelihood. Their table 1 is this project's anchor: a one-stochastic-layer VAE at 86.76 nats
  on dynamically binarized MNIST (88.71 on Larochelle's static binarization, their appendix).

What is scaled down or changed: the papers' encoders and decoders are MLPs (Kingma & Welling: one hidden layer of
500 tanh units; Burda et al.: two of 200 tanh units) trained for 3280 passes over the data. Here both networks are
small convolutional nets (two stride-2 convolutions of `hidden_channels` and 2 * `hidden_channels` channels and one
fully connected layer of `hidden_features` units, ReLU; the decoder mirrors the encoder with transposed
convolutions), which reach a good bound in far fewer passes on a CPU; train/vae.py gives the bundled sizes and length.
No BatchNorm anywhere: a likelihood must not depend on the other images of a batch.

Conventions. Images x are (B, 1, S, S) in [0, 1] (binary {0, 1} in training); `decode(z)` returns the Bernoulli
logits of every pixel, (B, 1, S, S); `forward(z)` returns the Bernoulli means p mapped to [-1, 1] (2p - 1), the
range every genzoo generator has, so the shared evaluation kit and the app treat a decoder like any generator.
Every per-image quantity (elbo, iwae_nll, log-likelihoods, KL) is in nats, shape (B,).

The `Autoencoder` has the same encoder and decoder with a deterministic code z = f(x), trained only to reconstruct
(the same Bernoulli log-likelihood, no KL term). Nothing shapes where its codes lie, so decoding z ~ N(0, I) is not
sampling from anything: that is the contrast with the VAE that the app shows.
"""

from __future__ import annotations

import math

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

HUB_KWARGS = dict(library_name="genzoo", tags=["vae", "autoencoder", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")
LOG_2PI = math.log(2 * math.pi)


# ------------------------------------------------------------------------------------------------ likelihoods
def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) = sum over pixels of x log p + (1 - x) log(1 - p), p = sigmoid(logits): (B, ...) -> (B,) nats.
    Computed from the logits (softplus form), so a confident decoder never takes log 0."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) in closed form (Kingma & Welling, appendix B), summed over the latent
    dimensions: 0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2). (B, D) -> (B,) nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dimension: (..., D) -> (...,) nats."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), the prior p(z): (..., D) -> (...,) nats."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


# ------------------------------------------------------------------------------------------------ networks
def _check_size(image_size: int) -> int:
    if image_size % 4 or image_size < 4:
        raise ValueError(f"image_size must be a multiple of 4 (two stride-2 halvings), e.g. 8, 16, 28; "
                         f"got {image_size}")
    return image_size // 4


def conv_encoder(out_features: int, hidden_channels: int, hidden_features: int, image_size: int) -> nn.Sequential:
    """(B, 1, S, S) -> (B, out_features): two stride-2 convolutions and a fully connected ReLU layer."""
    s, c = _check_size(image_size), hidden_channels
    return nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(),              # (B, 1, S, S) -> (B, C, S/2, S/2)
        nn.Conv2d(c, 2 * c, 4, 2, 1), nn.ReLU(),          # -> (B, 2C, S/4, S/4)
        nn.Flatten(),                                     # -> (B, 2C * (S/4)^2)
        nn.Linear(2 * c * s * s, hidden_features), nn.ReLU(),
        nn.Linear(hidden_features, out_features))


def conv_decoder(latent_dim: int, hidden_channels: int, hidden_features: int, image_size: int) -> nn.Sequential:
    """(B, latent_dim) -> Bernoulli logits (B, 1, S, S): the encoder's mirror image, transposed convolutions."""
    s, c = _check_size(image_size), hidden_channels
    return nn.Sequential(
        nn.Linear(latent_dim, hidden_features), nn.ReLU(),
        nn.Linear(hidden_features, 2 * c * s * s), nn.ReLU(),
        nn.Unflatten(1, (2 * c, s, s)),                   # -> (B, 2C, S/4, S/4)
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.ReLU(),  # -> (B, C, S/2, S/2)
        nn.ConvTranspose2d(c, 1, 4, 2, 1))                # -> (B, 1, S, S) logits: no output non-linearity


class Autoencoder(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """x (B, 1, S, S) in [0, 1] -> code z = f(x) (B, latent_dim) -> Bernoulli logits of x. Deterministic."""

    def __init__(
        self,
        latent_dim: int = 32,        # code size
        hidden_channels: int = 32,   # channels after the first convolution; 2x after the second
        hidden_features: int = 512,  # width of the fully connected layer on each side of the code
        image_size: int = 28,        # side in pixels; a multiple of 4
    ):
        super().__init__()
        self.latent_dim, self.image_size = latent_dim, image_size
        self.encoder = conv_encoder(latent_dim, hidden_channels, hidden_features, image_size)
        self.decoder = conv_decoder(latent_dim, hidden_channels, hidden_features, image_size)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, 1, S, S) -> (B, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, latent_dim) -> logits (B, 1, S, S)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decoded Bernoulli means as an image in [-1, 1] (any z: this is *not* a sampler, see the module docstring)."""
        return torch.sigmoid(self.decode(z)) * 2 - 1

    def reconstruction_nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x | z = f(x)), nats per image (B,): the training loss. Not a likelihood of x: the code is free."""
        return -bernoulli_log_likelihood(self.decode(self.encode(x)), x)


class VAE(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """Kingma & Welling's VAE: Gaussian q(z|x) (B, 1, S, S) -> (mu, logvar) (B, latent_dim) each; Bernoulli p(x|z)."""

    def __init__(
        self,
        latent_dim: int = 32,        # z size; p(z) = N(0, I). 2 gives the latent-manifold picture of the paper's fig. 4
        hidden_channels: int = 32,   # channels after the first convolution; 2x after the second
        hidden_features: int = 512,  # width of the fully connected layer on each side of z
        image_size: int = 28,        # side in pixels; a multiple of 4
    ):
        super().__init__()
        self.latent_dim, self.image_size = latent_dim, image_size
        self.encoder = conv_encoder(2 * latent_dim, hidden_channels, hidden_features, image_size)  # mu and log sigma^2
        self.decoder = conv_decoder(latent_dim, hidden_channels, hidden_features, image_size)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): (mu, logvar), each (B, latent_dim). logvar = log sigma^2, unconstrained."""
        return self.encoder(x).chunk(2, 1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (..., latent_dim) batched as (N, latent_dim) -> logits (N, 1, S, S)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z ~ p(z) -> the decoder's Bernoulli means in [-1, 1] (2p - 1): what the app and the kit show as a sample."""
        return torch.sigmoid(self.decode(z)) * 2 - 1

    def sample_posterior(self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None,
                         samples: int | None = None) -> torch.Tensor:
        """The reparameterisation trick: z = mu + sigma * eps, eps ~ N(0, I) drawn on the CPU from `generator` (so a
        seeded draw is the same on any device), differentiable in mu and logvar. `samples` = k adds a leading
        dimension: (k, B, D)."""
        shape = mu.shape if samples is None else (samples, *mu.shape)
        eps = torch.randn(shape, generator=generator, dtype=mu.dtype).to(mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The evidence lower bound per image (B,), nats: one reparameterised sample for E_q[log p(x|z)] (the paper's
        estimator B, eq. 7) minus the analytic KL. Training maximises its mean."""
        mu, logvar = self.encode(x)
        z = self.sample_posterior(mu, logvar, generator)
        return bernoulli_log_likelihood(self.decode(z), x) - kl_divergence(mu, logvar)

    def log_weights(self, x: torch.Tensor, k: int, chunk: int = 100,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """log p(x, z_i) - log q(z_i|x) for k samples z_i ~ q(z|x) per image: (B, k). Decodes `chunk` samples per image
        at a time (B * chunk images per decoder call), so k = 1000..5000 fits in memory."""
        mu, logvar = self.encode(x)
        out = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            z = self.sample_posterior(mu, logvar, generator, samples=n)  # (n, B, D)
            logits = self.decode(z.flatten(0, 1))                       # (n * B, 1, S, S)
            log_px = bernoulli_log_likelihood(logits, x.repeat(n, 1, 1, 1)).view(n, -1)
            out.append(log_px + standard_normal_log_density(z) - gaussian_log_density(z, mu, logvar))
        return torch.cat(out).T  # (B, k)

    def iwae_nll(self, x: torch.Tensor, k: int = 1000, chunk: int = 100,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Burda et al.'s importance-weighted estimate of -log p(x), nats per image (B,):
        -(logsumexp_i log w_i - log k). An upper bound on the true NLL in expectation, tightening as k grows; k = 1
        is -ELBO (with the KL estimated by sampling instead of in closed form)."""
        return -(torch.logsumexp(self.log_weights(x, k, chunk, generator), 1) - math.log(k))
