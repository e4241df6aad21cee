"""PixelRNN's Row LSTM: an exact-likelihood autoregressive model of binary images, one row of LSTM states at a time.

Paper: van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural Networks", 2016 (arXiv:1601.06759).

What the paper prescribes and this file keeps:
- p(x) = prod_i p(x_i | x_<i) in raster order, every conditional computed in one pass over the image;
- a 7x7 convolution with mask A first (a pixel never sees itself), then Row LSTM layers whose input-to-state map
  is a k=3 one-dimensional convolution along the row with mask B (a position sees itself and its left neighbour),
  and whose state-to-state map is a k=3 convolution of the previous row's hidden state; the four gates of a whole
  row come from one convolution, and rows are processed top to bottom, so a layer has a triangular receptive field;
- residual connections around each layer: 2h features in, an LSTM of h units, a 1x1 convolution back to 2h, added;
- two 1x1 ReLU layers and one Bernoulli logit per pixel for binary MNIST (the paper's MNIST model has a sigmoid
  output; its 256-way softmax is for 8-bit colour data).

Scaled down: the paper's best MNIST model has 7 Diagonal BiLSTM layers of h = 16 units (79.20 nats; its Row LSTM
80.54), trained on a GPU; the bundled Row LSTM has 4 layers of h = 16, sized to train on 2 CPU cores in well
under an hour (train/pixelrnn.py gives its length). Added: the forget gate's bias starts at 1 (Gers et al. 2000),
so early in training the states carry information down the image instead of forgetting it.

Conventions: images are {0, 1} tensors (B, 1, H, W); `forward` returns per-pixel logits for all pixels at once, so
any raster-order sampler that calls forward works. `raster_cache` gives models.pixelcnn.sample (the app's sampler)
an exact, faster path that recomputes only the current row per pixel from cached row states: H * (W + 1) one-row
passes instead of H * W whole images; `sample` here uses the same cache without depending on models.pixelcnn.
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

HUB_KWARGS = dict(library_name="genzoo", tags=["pixelrnn", "autoregressive", "unconditional-image-generation"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")


def causal_mask(kernel_h: int, kernel_w: int, include_center: bool) -> torch.Tensor:
    """(kh, kw) 0/1 mask of the taps a raster-order model may use: every row above the centre, and in the centre
    row the taps left of the centre, plus the centre itself for mask B. One colour channel, so no channel groups."""
    mask = torch.zeros(kernel_h, kernel_w)
    cy, cx = kernel_h // 2, kernel_w // 2
    mask[:cy] = 1
    mask[cy, :cx + include_center] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """A convolution whose weights are multiplied by a fixed causal mask (mask A: no centre; mask B: centre)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int], mask_type: str):
        kh, kw = kernel_size
        super().__init__(in_channels, out_channels, kernel_size, padding=(kh // 2, kw // 2))
        # Not persistent: the mask is a function of the config, so checkpoints hold only learned weights.
        self.register_buffer("mask", causal_mask(kh, kw, mask_type == "B"), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


def left_and_here(t: torch.Tensor) -> torch.Tensor:
    """(..., W, C) -> (..., W, 2C): each position's left neighbour (zero at the left edge) beside itself: the two
    taps a k=3 row convolution keeps under mask B."""
    return torch.cat([F.pad(t, (0, 0, 1, 0))[..., :-1, :], t], -1)


def three_neighbours(t: torch.Tensor) -> torch.Tensor:
    """(B, W, C) -> (B, W, 3C): the positions left of, at and right of each one (zeros beyond the edges)."""
    w = t.shape[-2]
    padded = F.pad(t, (0, 0, 1, 1))
    return torch.cat([padded[..., :w, :], padded[..., 1:w + 1, :], padded[..., 2:, :]], -1)


class RowLSTMLayer(nn.Module):
    """One residual Row LSTM layer on channels-last features: (B, H, W, 2h) -> (B, H, W, 2h), causal in raster order.

    The paper's convolutions along a row are written as linear maps of neighbouring positions stacked side by side,
    the same arithmetic as one GEMM each: oneDNN's per-call overhead on these small rows made conv1d calls 25x slower
    than their FLOPs, and 1x1 convolutions are linear maps anyway. Channels last keeps every map a plain `x @ W`.
    """

    def __init__(self, hidden_channels: int):
        super().__init__()
        h = hidden_channels
        # K_is, the k=3 input-to-state convolution along the row with mask B: the masked tap (col + 1) is dropped,
        # the kept taps (col - 1, col) of the 2h features give the 4 gates; computed for all rows at once
        self.input_to_state = nn.Linear(2 * 2 * h, 4 * h)
        # K_ss, the k=3 state-to-state convolution of the row above: taps (col - 1, col, col + 1); K_is has the bias
        self.state_to_state = nn.Linear(3 * h, 4 * h, bias=False)
        self.output = nn.Linear(h, 2 * h)  # the 1x1 convolution back to the residual width (the paper's figure 5)
        with torch.no_grad():
            self.input_to_state.bias.zero_()
            self.input_to_state.bias[h:2 * h] = 1.0  # gate order (o, f, i, g): the forget gate starts open
        self.hidden_channels = h

    def step(self, gates_in: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One row of the recurrence: input-to-state gates (B, W, 4h) of this row and the (h, c), each (B, W, h), of
        the row above -> this row's (h, c). Gates of the whole row at once, as the paper's Row LSTM."""
        k = self.hidden_channels
        gates = gates_in + self.state_to_state(three_neighbours(h))
        # split/chunk, not slicing: their backward is one concatenation, a slice's is a zero-filled copy per slice
        sigm, g = gates.split([3 * k, k], -1)
        o, f, i = torch.sigmoid(sigm).chunk(3, -1)
        c = f * c + i * torch.tanh(g)
        return o * torch.tanh(c), c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, rows, w, _ = x.shape
        # (B, H, W, 4h) -> H rows of (B, W, 4h); unbind, because indexing row r would backpropagate through a
        # zero-filled (B, H, W, 4h) tensor per row (measured: 70 % of a training step)
        gates_in = self.input_to_state(left_and_here(x)).unbind(1)
        h = c = x.new_zeros(b, w, self.hidden_channels)  # the state above the first row
        states = []
        for r in range(rows):  # top to bottom: row r sees rows < r only through the state
            h, c = self.step(gates_in[r], h, c)
            states.append(h)
        return x + self.output(torch.stack(states, 1))  # (B, H, W, h) -> (B, H, W, 2h), residual


class RowLSTM(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """{0, 1} image (B, 1, H, W) -> Bernoulli logits (B, 1, H, W); logit (r, c) depends only on pixels before it."""

    def __init__(
        self,
        hidden_channels: int = 16,   # h: LSTM units per layer; the residual stream is 2h wide (the paper's MNIST: 16)
        num_layers: int = 4,         # Row LSTM layers (the paper's MNIST: 7)
        output_channels: int = 64,   # width of the two 1x1 ReLU layers before the logits (the paper's CIFAR: 1024)
        image_size: int = 28,        # side in pixels; the model is fully convolutional, this is what it was trained on
    ):
        super().__init__()
        self.image_size = image_size
        h = hidden_channels
        self.input_conv = MaskedConv2d(1, 2 * h, (7, 7), "A")  # (B, 1, H, W) -> (B, 2h, H, W), never sees x_rc
        self.layers = nn.ModuleList(RowLSTMLayer(h) for _ in range(num_layers))
        # 1x1 convolutions (as linear maps on channels-last features) mix channels only, so they keep causality
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(2 * h, output_channels), nn.ReLU(),
                                  nn.Linear(output_channels, output_channels), nn.ReLU(),
                                  nn.Linear(output_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.input_conv(x).permute(0, 2, 3, 1)  # (B, 2h, H, W) -> channels last (B, H, W, 2h)
        for layer in self.layers:
            features = layer(features)
        return self.head(features).permute(0, 3, 1, 2)  # (B, 1, H, W) logits of p(x_rc = 1 | x_<rc)

    def nll_map(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x_rc | x_<rc) in nats, (B, 1, H, W), for x in {0, 1}."""
        return bernoulli_nll(self(x), x)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x) in nats per image, (B,): exact, the sum of the per-pixel conditionals."""
        return self.nll_map(x).flatten(1).sum(1)

    # ---------------------------------------------------------------------------------------------- sampling
    def _row(self, x: torch.Tensor, r: int, states: list) -> tuple[torch.Tensor, list]:
        """Logits (B, W) of row r given the image x (rows <= r as known so far) and each layer's (h, c) above row r;
        also the layers' new states. Exactly forward(x)[:, 0, r], at the cost of one row."""
        k = self.input_conv.kernel_size[0] // 2
        window = F.pad(x, (0, 0, k, k))[:, :, r:r + 2 * k + 1]  # the 7 input rows the 7x7 conv needs for row r
        features = F.conv2d(window, self.input_conv.weight * self.input_conv.mask, self.input_conv.bias,
                            padding=(0, k))[:, :, 0].transpose(1, 2)  # (B, 2h, 1, W) -> (B, W, 2h)
        new_states = []
        for layer, (h, c) in zip(self.layers, states):
            h, c = layer.step(layer.input_to_state(left_and_here(features)), h, c)
            new_states.append((h, c))
            features = features + layer.output(h)
        return self.head(features)[..., 0], new_states

    def raster_cache(self, n: int, labels: torch.Tensor | None = None) -> "RowLSTMCache":
        """What models.pixelcnn.sample uses when a model has it: per-pixel logits from cached row states."""
        if labels is not None:
            raise ValueError("RowLSTM is unconditional: labels must be None")
        return RowLSTMCache(self, n)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0,
               given: torch.Tensor | None = None, known_mask: torch.Tensor | None = None) -> torch.Tensor:
        """n images (n, 1, S, S) in {0, 1}, drawn pixel by pixel in raster order (logits / temperature). Pixels where
        `known_mask` is true are copied from `given` instead (completion). Uniforms come from `generator` on the CPU,
        one (n, S, S) draw, so a seed gives the same images on any device. models.pixelcnn.sample gives the same
        distribution through `raster_cache` (with its own layout of uniforms, so other images for a seed)."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        device, s = self.input_conv.weight.device, self.image_size
        uniforms = torch.rand(n, s, s, generator=generator).to(device)
        x = torch.zeros(n, 1, s, s, device=device)
        if given is not None:
            known = known_mask.to(device).bool().expand(n, 1, s, s)
            x = torch.where(known, given.to(device).expand(n, 1, s, s).float(), x)
        cache = RowLSTMCache(self, n)
        for r in range(s):
            for c in range(s):
                drawn = (uniforms[:, r, c] < torch.sigmoid(cache.step(x, r, c)[:, 0] / temperature)).float()
                x[:, 0, r, c] = drawn if given is None else torch.where(known[:, 0, r, c], x[:, 0, r, c], drawn)
        return x


class RowLSTMCache:
    """Raster-order sampling state: each layer's (h, c) above the current row. `step(x, r, c)` -> logits (n, 1) of
    pixel (r, c) given x's pixels before it; pixels must be asked for in raster order. A finished row's states are
    computed once, when the next row starts, so a whole image costs H * (W + 1) one-row passes."""

    def __init__(self, model: RowLSTM, n: int):
        device, s = model.input_conv.weight.device, model.image_size
        self.model, self.row = model, 0
        self.states = [(torch.zeros(n, s, layer.hidden_channels, device=device),) * 2 for layer in model.layers]

    def step(self, x: torch.Tensor, r: int, c: int) -> torch.Tensor:
        while self.row < r:  # rows above r are final now: their states feed the rows below
            _, self.states = self.model._row(x, self.row, self.states)
            self.row += 1
        logits, _ = self.model._row(x, r, self.states)
        return logits[:, c, None]


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | sigmoid(logits)) per pixel in nats: the paper's sigmoid output for binary MNIST."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")
