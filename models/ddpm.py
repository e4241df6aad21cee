"""DDPM: a denoising diffusion model (a diffusers UNet2DModel that predicts the noise), sampled with DDPM or DDIM.

Papers:
- Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", 2020 (arXiv:2006.11239): the forward process
  q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) with a linear beta schedule from 1e-4 to 0.02 over
  T = 1000 steps, a U-Net eps_theta(x_t, t) trained with the "simple" loss ||eps - eps_theta(x_t, t)||^2 at a
  uniformly drawn t (its eq. 14, algorithm 1), and the ancestral sampler (algorithm 2) with sigma_t^2 = beta tilde_t
  ("fixed_small"), the predicted x_0 clipped to [-1, 1] as in the paper's code.
- Song, Meng & Ermon, "Denoising Diffusion Implicit Models", 2021 (arXiv:2010.02502): the same trained network
  sampled on a sub-sequence of the timesteps (its eq. 12); eta = 0 is deterministic (an ODE-like map from x_T to
  x_0), eta = 1 with every step is the DDPM sampler again.

The schedulers are diffusers' (DDPMScheduler for training noise and ancestral sampling, DDIMScheduler for the fast
sampler), built from this module's config whenever they are needed, so one checkpoint (config.json +
model.safetensors, the UNet's weights inside this module's state dict) carries both.

Scaled down, for 28x28 MNIST on a CPU: the paper's CIFAR-10 U-Net has widths (128, 256, 256, 256) at 32, 16, 8 and
4 px, 2 ResNet blocks per resolution, self-attention at 16x16, dropout 0.1 and 35.7 M parameters, trained for
800k steps of batch 128 on TPUs. Here the U-Net has three resolutions (28 -> 14 -> 7, so MNIST needs no padding),
widths (16, 32, 64), 1 ResNet block per resolution on the way down, self-attention only at 7x7 and in the middle
block, GroupNorm with 8 groups (a 16-wide layer cannot have the paper's 32), no dropout, 0.69 M parameters, and it
trains for a few hundred kimg (train/ddpm.py gives the bundled run). A training step costs about 3 forward passes,
and every sample costs one forward pass per sampling step, so width is what a CPU pays for twice; the noise schedule
and T are the paper's, unchanged.
"""

from __future__ import annotations

from typing import Callable, Iterable, NamedTuple

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

HUB_KWARGS = dict(library_name="genzoo", tags=["diffusion", "ddpm", "ddim", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")
SAMPLERS = ("auto", "ddim", "ddpm")


def simple_loss(eps_pred: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Ho et al.'s L_simple (eq. 14): the mean squared error between the true and the predicted noise, the
    variational bound with its per-timestep weights dropped (better samples, the paper found)."""
    return nn.functional.mse_loss(eps_pred, eps)


class Step(NamedTuple):
    """One sampling step: the network saw `x_t` at `timestep` and predicted the clean image `x0` from it."""
    index: int           # 0 .. steps - 1, in sampling order
    timestep: int        # t of the training schedule, T - 1 .. 0
    x_t: torch.Tensor    # (B, C, H, W), the noisy input of this step
    x0: torch.Tensor     # (B, C, H, W), the predicted x_0 (clipped to [-1, 1])


class DDPM(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """eps_theta(x_t, t) as a module; as a generator, flattened noise z (B, C*H*W) -> images (B, C, H, W) in [-1, 1]
    by `default_steps` deterministic DDIM steps, so the evaluation kit's `generator(z)` protocol applies unchanged."""

    def __init__(
        self,
        image_size: int = 28,               # side in pixels, divisible by 2 ** (resolutions - 1): 28 -> 14 -> 7
        image_channels: int = 1,            # 1 for MNIST-like data, 3 for RGB
        block_out_channels: tuple[int, ...] = (16, 32, 64),  # U-Net width per resolution, full size first
        layers_per_block: int = 1,          # ResNet blocks per resolution going down (up: one more); paper 2
        attention: bool = True,             # self-attention at the lowest resolution and in the middle block
        attention_head_dim: int = 8,        # channels per attention head
        norm_num_groups: int = 8,           # GroupNorm groups, must divide every width (paper: 32)
        dropout: float = 0.0,               # dropout in the ResNet blocks (paper: 0.1 on CIFAR-10)
        num_train_timesteps: int = 1000,    # T, the length of the forward process (paper: 1000)
        beta_start: float = 1e-4,           # beta_1 of the noise schedule (paper)
        beta_end: float = 0.02,             # beta_T (paper)
        beta_schedule: str = "linear",      # "linear" (paper) or "squaredcos_cap_v2" (Nichol & Dhariwal 2021)
        default_steps: int = 20,            # DDIM steps of forward(z), hence of the evaluation kit; T = DDPM
    ):
        super().__init__()
        from diffusers import UNet2DModel  # here, not at the top: importing diffusers costs ~1.6 s of app start

        levels = len(block_out_channels)
        if image_size % 2 ** (levels - 1):
            raise ValueError(f"image_size {image_size} must be divisible by 2**{levels - 1} for a U-Net with {levels} "
                             "resolutions (28 works with 3: 28 -> 14 -> 7; 32 with up to 6)")
        if any(c % norm_num_groups for c in block_out_channels):
            raise ValueError(f"norm_num_groups={norm_num_groups} must divide every width in {block_out_channels}")
        if not 1 <= default_steps <= num_train_timesteps:
            raise ValueError(f"default_steps must be between 1 and num_train_timesteps={num_train_timesteps}")
        self.image_size, self.image_channels = image_size, image_channels
        self.num_train_timesteps, self.default_steps = num_train_timesteps, default_steps
        self.latent_dim = image_channels * image_size * image_size  # what the evaluation kit draws z ~ N(0, I) of
        self.schedule = dict(num_train_timesteps=num_train_timesteps, beta_start=beta_start, beta_end=beta_end,
                             beta_schedule=beta_schedule)
        down, up = ["DownBlock2D"] * levels, ["UpBlock2D"] * levels
        if attention:
            down[-1], up[0] = "AttnDownBlock2D", "AttnUpBlock2D"
        self.unet = UNet2DModel(
            sample_size=image_size, in_channels=image_channels, out_channels=image_channels,
            block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
            down_block_types=tuple(down), up_block_types=tuple(up), add_attention=attention,
            attention_head_dim=attention_head_dim, norm_num_groups=norm_num_groups, dropout=dropout)
        self.scheduler("ddim")  # fail at construction, not at the first sample, on a schedule diffusers rejects

    # ------------------------------------------------------------------------------------------------ schedules
    def scheduler(self, kind: str = "ddpm"):
        """A fresh diffusers scheduler for this model's noise schedule. Fresh per use: set_timesteps() changes a
        scheduler's state, so one shared instance would let two concurrent requests of the app corrupt each other.

        "ddpm": DDPMScheduler, the forward process (add_noise) and algorithm 2 with sigma_t^2 = beta tilde_t.
        "ddim": DDIMScheduler with "trailing" timesteps (the last one is t = T - 1, so x_T really is pure noise even
        with 10 steps; the "leading" default would start at t = 900) and alpha_bar = 1 after the last step, so the
        final output is the predicted x_0. diffusers steps from t to t - T // steps, which is exact when the step count
        divides T (10, 20, 50, ... the kit's 20); other counts land their last step on t = 0 (1 % noise left, less
        than a grey level) and are off by one timestep here and there."""
        from diffusers import DDIMScheduler, DDPMScheduler

        shared = dict(**self.schedule, clip_sample=True, clip_sample_range=1.0, prediction_type="epsilon")
        if kind == "ddpm":
            return DDPMScheduler(**shared, variance_type="fixed_small")
        if kind == "ddim":
            return DDIMScheduler(**shared, set_alpha_to_one=True, timestep_spacing="trailing")
        raise ValueError(f"scheduler kind must be 'ddpm' or 'ddim', got {kind!r}")

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps: a draw of q(x_t | x_0) (Ho et al. eq. 4)."""
        return self.scheduler("ddpm").add_noise(x0, noise, timesteps.to(x0.device))

    # ------------------------------------------------------------------------------------------------ network
    def forward(self, z: torch.Tensor, timesteps: torch.Tensor | None = None) -> torch.Tensor:
        """Two uses of one module, so that accelerate's DDP wrapper sees the training forward pass:
        - timesteps given: z is x_t (B, C, H, W) and the output is eps_theta(x_t, t), (B, C, H, W);
        - timesteps None: z is flattened noise (B, latent_dim) and the output is `default_steps` DDIM steps from it,
          images (B, C, H, W) in [-1, 1], deterministic in z."""
        if timesteps is not None:
            return self.unet(z, timesteps).sample
        noise = z.view(z.shape[0], self.image_channels, self.image_size, self.image_size)
        return self.sample(noise, self.default_steps)

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None,
             denoiser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """L_simple of a batch of clean images x0 in [-1, 1] (Ho et al. algorithm 1): t ~ U{0, ..., T - 1} and
        eps ~ N(0, I) per image, both drawn (on the CPU) from `generator`. `denoiser(x_t, t)` defaults to this module;
        a trainer passes its accelerate-wrapped copy so that distributed training sees the forward pass."""
        b = x0.shape[0]
        t = torch.randint(0, self.num_train_timesteps, (b,), generator=generator).to(x0.device)
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        x_t = self.add_noise(x0, eps, t)
        return simple_loss((denoiser or self)(x_t, t), eps)

    # ------------------------------------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, noise: torch.Tensor, steps: int | None = None, eta: float = 0.0,
               generator: torch.Generator | None = None, callback: Callable[[Step], None] | None = None,
               keep: Iterable[int] | None = None, sampler: str = "auto"):
        """x_T = noise (B, C, H, W) -> images (B, C, H, W) in [-1, 1].

        steps: network evaluations (default `default_steps`). sampler "auto" = the DDPM ancestral sampler when
        steps == T (Ho et al. algorithm 2), DDIM otherwise; "ddim" forces DDIM (with steps == T and eta = 1 it is the
        ancestral sampler again, which tests/test_ddpm.py checks). eta: DDIM's stochasticity (0 = deterministic;
        ignored by "ddpm"). generator: the noise that stochastic steps add (DDPM, or DDIM with eta > 0), drawn on
        the CPU. callback(Step) runs after every step (progress bars). keep: step indices whose Step is returned.
        Returns the images, or (images, [Step, ...]) when `keep` is given.
        """
        steps = self.default_steps if steps is None else int(steps)
        if not 1 <= steps <= self.num_train_timesteps:
            raise ValueError(f"steps must be between 1 and T={self.num_train_timesteps}, got {steps}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        if sampler == "auto":
            sampler = "ddpm" if steps == self.num_train_timesteps else "ddim"
        if sampler == "ddpm" and steps != self.num_train_timesteps:
            raise ValueError(f"the DDPM ancestral sampler runs all T={self.num_train_timesteps} steps; use DDIM for "
                             f"{steps}")
        scheduler = self.scheduler(sampler)
        scheduler.set_timesteps(steps, device=noise.device)
        keep = set(keep) if keep is not None else None
        trajectory, x = [], noise
        for i, t in enumerate(scheduler.timesteps):
            eps = self.unet(x, t.expand(x.shape[0])).sample
            if sampler == "ddim":
                # use_clipped_model_output: the direction to x_t uses the eps implied by the *clipped* x_0, as the
                # DDPM posterior mean does, so that DDIM(eta=1, all steps) is exactly the ancestral sampler
                out = scheduler.step(eps, t, x, eta=eta, use_clipped_model_output=True, generator=generator)
            else:
                out = scheduler.step(eps, t, x, generator=generator)
            point = Step(i, int(t), x, out.pred_original_sample)
            if callback is not None:
                callback(point)
            if keep is not None and i in keep:
                trajectory.append(point)
            x = out.prev_sample
        # The last step returns the clipped x_0 prediction (alpha_bar = 1 after it) when steps divides T, so the clamp
        # only removes float rounding there; it bounds the t = 0 output of other step counts.
        images = x.clamp(-1, 1)
        return (images, trajectory) if keep is not None else images
