"""Pieces HF's MobileViT and MobileNetV2 modeling files both define the same way (written once here)."""
import torch.nn as nn


def make_divisible(value, divisor=8, min_value=None):
    """Round a width to a multiple of divisor (at least min_value), never more than 10% below it (TF MobileNet)."""
    min_value = divisor if min_value is None else min_value
    v = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return v + divisor if v < 0.9 * value else v


class ConvLayer(nn.Module):
    """HF's <Family>ConvLayer tail: convolution -> [normalization] -> [activation], under HF's attribute names."""

    def __init__(self, convolution, normalization, activation):
        super().__init__()
        if convolution.in_channels % convolution.groups or convolution.out_channels % convolution.groups:
            raise ValueError(f"channels {convolution.in_channels}->{convolution.out_channels} not divisible by "
                             f"{convolution.groups} groups")
        self.convolution = convolution
        self.normalization = normalization
        self.activation = activation

    def forward(self, x):
        x = self.convolution(x)
        if self.normalization is not None:
            x = self.normalization(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


def init_hf_weights(model, std):
    """HF's _init_weights: conv/linear weights ~ N(0, std), zero biases, norm layers weight 1 and bias 0."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
