"""The evaluation kit's feature extractor: a small CNN classifier trained here, one per dataset.

Standard FID uses an ImageNet Inception-v3, whose weights cannot be had offline and which is a poor judge of 28-px
digits anyway. Like the MNIST-FID practice of the GAN literature (e.g. "Are GANs Created Equal?", Lucic et al. 2018,
arXiv:1711.10337, which scores MNIST with a LeNet), every number of our kit comes from this network's penultimate
layer (`features`, 128-d) and its class probabilities. Numbers are therefore comparable within genzoo, not with
Inception-FIDs in papers; every printout says so.

Architecture: two VGG-style blocks (conv3x3-BN-ReLU twice, max-pool), then a 128-unit layer and the class logits.
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class Classifier(nn.Module, PyTorchModelHubMixin, library_name="genzoo", tags=["image-classification", "genzoo"],
                 repo_url="https://github.com/genzoo/genzoo", license="mit"):
    """(B, image_channels, image_size, image_size) in [-1, 1] -> logits (B, num_classes)."""

    def __init__(
        self,
        image_channels: int = 1,   # 1 for MNIST / Fashion-MNIST
        image_size: int = 28,      # input side; must be divisible by 4
        num_classes: int = 10,     # output classes
        hidden_channels: int = 32,  # width of the first block; the second has twice as many
        feature_dim: int = 128,    # size of the penultimate layer, the evaluation features
        dropout: float = 0.3,      # before the last layer, training only
    ):
        super().__init__()
        c = hidden_channels

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True),
                    nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True),
                    nn.MaxPool2d(2)]

        self.image_size = image_size
        # (B, C, S, S) -> (B, c, S/2, S/2) -> (B, 2c, S/4, S/4) -> (B, feature_dim)
        self.body = nn.Sequential(*block(image_channels, c), *block(c, 2 * c), nn.Flatten(),
                                  nn.Linear(2 * c * (image_size // 4) ** 2, feature_dim, bias=False),
                                  nn.BatchNorm1d(feature_dim), nn.ReLU(True))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))
        self.num_features = feature_dim  # read by torchmetrics' FID/KID for a custom extractor

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Segmenter(nn.Module, PyTorchModelHubMixin, library_name="genzoo", tags=["image-segmentation", "genzoo"],
                repo_url="https://github.com/genzoo/genzoo", license="mit"):
    """The FCN-score judge of SPADE (genzoo issue 5; the idea of pix2pix's section 4.2: a segmentation net trained on
    real images, applied to generated ones): image (B, 3, S, S) in [-1, 1] -> class logits (B, num_classes, S, S).
    Fully convolutional, full resolution: 3x3 convolutions with growing dilation (1, 2, 4, 8, 1; Yu & Koltun 2016)
    give each pixel a 37-px view without pooling."""

    def __init__(self, num_classes: int = 7, hidden_channels: int = 32):
        super().__init__()
        layers, width = [], 3
        for dilation in (1, 2, 4, 8, 1):
            layers += [nn.Conv2d(width, hidden_channels, 3, padding=dilation, dilation=dilation, bias=False),
                       nn.BatchNorm2d(hidden_channels), nn.ReLU(True)]
            width = hidden_channels
        self.net = nn.Sequential(*layers, nn.Conv2d(width, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
