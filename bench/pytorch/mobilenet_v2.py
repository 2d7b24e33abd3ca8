"""Plain-PyTorch MobileNetV2 + DeepLabV3 head (HuggingFace's MobileNetV2ForSemanticSegmentation), the benchmark peer.

The module tree and parameter names are HF's, so an HF state dict loads with load_state_dict(strict=True);
test/pytorch-refs.test.ts checks the logits against numbers made by HF's own modeling_mobilenet_v2.py. The
computation follows HF step by step (TF "SAME" padding as a separate F.pad before every conv, BatchNorm as
its own module): this is the reference, not a tuned model. python3-transformers is not packaged in Debian
12, so this stands in for it.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from hf_common import ConvLayer, init_hf_weights, make_divisible

# google/mobilenet_v2_<multiplier>_*; the DeepLabV3 checkpoint (deeplabv3_mobilenet_v2_1.0_513) is 1.0
VARIANTS = {"1.4": 1.4, "1.0": 1.0, "0.75": 0.75, "0.5": 0.5, "0.35": 0.35}


class Config:
    """HF MobileNetV2Config's fields and defaults (the ones the model reads)."""

    def __init__(self, **kw):
        self.num_channels = 3
        self.image_size = 224
        self.depth_multiplier = 1.0
        self.depth_divisible_by = 8
        self.min_depth = 8
        self.expand_ratio = 6.0
        self.output_stride = 32
        self.first_layer_is_expansion = True
        self.finegrained_output = True
        self.hidden_act = "relu6"
        self.tf_padding = True
        self.classifier_dropout_prob = 0.8
        self.initializer_range = 0.02
        self.layer_norm_eps = 0.001
        self.semantic_loss_ignore_index = 255
        self.num_labels = 21
        for k, v in kw.items():
            setattr(self, k, v)


def apply_depth_multiplier(config, channels):
    return make_divisible(int(round(channels * config.depth_multiplier)), config.depth_divisible_by, config.min_depth)


def tf_same_padding(x, conv):
    """TensorFlow "SAME" padding for a padding-0 conv: the total pad per axis depends on the input size
    (k - s if n % s == 0 else k - n % s), the extra pixel goes after, and both sides scale by the dilation."""
    pads = []
    for n, s, k, d in reversed(list(zip(x.shape[-2:], conv.stride, conv.kernel_size, conv.dilation))):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pads += [total // 2 * d, (total - total // 2) * d]
    return F.pad(x, pads, "constant", 0.0)


ACTIVATIONS = {"relu6": nn.ReLU6, "relu": nn.ReLU}


class MobileNetV2ConvLayer(ConvLayer):
    """[TF SAME pad] -> conv -> BatchNorm (eps layer_norm_eps, or the head's 1e-5) -> activation."""

    def __init__(self, config, in_channels, out_channels, kernel_size, stride=1, groups=1, bias=False, dilation=1,
                 use_normalization=True, use_activation=True, layer_norm_eps=None):
        eps = config.layer_norm_eps if layer_norm_eps is None else layer_norm_eps
        name = use_activation if isinstance(use_activation, str) else config.hidden_act
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, groups=groups, bias=bias,
                      padding=0 if config.tf_padding else (kernel_size - 1) // 2 * dilation),
            # momentum 0.997 as HF sets it (a TF decay copied into PyTorch's convention)
            nn.BatchNorm2d(out_channels, eps=eps, momentum=0.997) if use_normalization else None,
            ACTIVATIONS[name]() if use_activation else None)
        self.tf_padding = config.tf_padding

    def forward(self, x):
        return super().forward(tf_same_padding(x, self.convolution) if self.tf_padding else x)


class MobileNetV2InvertedResidual(nn.Module):
    def __init__(self, config, in_channels, out_channels, stride, dilation=1):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride {stride}: expected 1 or 2")
        expanded = make_divisible(int(round(in_channels * config.expand_ratio)), config.depth_divisible_by,
                                  config.min_depth)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand_1x1 = MobileNetV2ConvLayer(config, in_channels, expanded, 1)
        self.conv_3x3 = MobileNetV2ConvLayer(config, expanded, expanded, 3, stride=stride, groups=expanded,
                                             dilation=dilation)
        self.reduce_1x1 = MobileNetV2ConvLayer(config, expanded, out_channels, 1, use_activation=False)

    def forward(self, x):
        y = self.reduce_1x1(self.conv_3x3(self.expand_1x1(x)))
        return x + y if self.use_residual else y


class MobileNetV2Stem(nn.Module):
    """3x3 stride-2 conv to 32 channels, [1x1 expand], 3x3 depthwise, 1x1 project."""

    def __init__(self, config, in_channels, expanded_channels, out_channels):
        super().__init__()
        self.first_conv = MobileNetV2ConvLayer(config, in_channels, expanded_channels, 3, stride=2)
        self.expand_1x1 = None if config.first_layer_is_expansion else MobileNetV2ConvLayer(
            config, expanded_channels, expanded_channels, 1)
        self.conv_3x3 = MobileNetV2ConvLayer(config, expanded_channels, expanded_channels, 3,
                                             groups=expanded_channels)
        self.reduce_1x1 = MobileNetV2ConvLayer(config, expanded_channels, out_channels, 1, use_activation=False)

    def forward(self, x):
        x = self.first_conv(x)
        if self.expand_1x1 is not None:
            x = self.expand_1x1(x)
        return self.reduce_1x1(self.conv_3x3(x))


class MobileNetV2Model(nn.Module):
    """The backbone as the segmentation model holds it (no pooler). Returns layer.15's output: the head reads
    that, while conv_1x1 (to 1280 channels) runs as in HF but its result is unused."""

    CHANNELS = [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320]
    STRIDES = [2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1]

    def __init__(self, config):
        super().__init__()
        ch = [apply_depth_multiplier(config, c) for c in self.CHANNELS]
        self.conv_stem = MobileNetV2Stem(config, config.num_channels, apply_depth_multiplier(config, 32), ch[0])
        self.layer = nn.ModuleList()
        current_stride, dilation = 2, 1
        for i, s in enumerate(self.STRIDES):
            # Once the output stride is reached, strides turn into dilation, one block later.
            if current_stride == config.output_stride:
                stride, layer_dilation = 1, dilation
                dilation *= s
            else:
                stride, layer_dilation = s, 1
                current_stride *= s
            self.layer.append(MobileNetV2InvertedResidual(config, ch[i], ch[i + 1], stride, layer_dilation))
        out = 1280 if config.finegrained_output and config.depth_multiplier < 1.0 else apply_depth_multiplier(config, 1280)
        self.conv_1x1 = MobileNetV2ConvLayer(config, ch[-1], out, 1)

    def forward(self, x):
        x = self.conv_stem(x)
        for layer in self.layer:
            x = layer(x)
        self.conv_1x1(x)  # HF computes the last hidden state; the segmentation head does not read it
        return x


class MobileNetV2DeepLabV3Plus(nn.Module):
    """HF's name; a DeepLabV3 head without atrous branches: [image pool -> 1x1, 1x1] -> 1x1 -> classifier."""

    def __init__(self, config):
        super().__init__()
        cin = apply_depth_multiplier(config, 320)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_pool = MobileNetV2ConvLayer(config, cin, 256, 1, use_activation="relu", layer_norm_eps=1e-5)
        self.conv_aspp = MobileNetV2ConvLayer(config, cin, 256, 1, use_activation="relu", layer_norm_eps=1e-5)
        self.conv_projection = MobileNetV2ConvLayer(config, 512, 256, 1, use_activation="relu", layer_norm_eps=1e-5)
        self.dropout = nn.Dropout2d(config.classifier_dropout_prob)
        self.classifier = MobileNetV2ConvLayer(config, 256, config.num_labels, 1, use_normalization=False,
                                               use_activation=False, bias=True)

    def forward(self, x):
        pooled = self.conv_pool(self.avg_pool(x))
        pooled = F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=True)
        x = torch.cat([pooled, self.conv_aspp(x)], dim=1)  # the pooled branch first
        return self.classifier(self.dropout(self.conv_projection(x)))


class MobileNetV2ForSemanticSegmentation(nn.Module):
    """forward(pixel_values) -> logits at 1/output_stride (the loss is the caller's, as in bench)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.mobilenet_v2 = MobileNetV2Model(config)
        self.segmentation_head = MobileNetV2DeepLabV3Plus(config)
        init_hf_weights(self, config.initializer_range)

    def forward(self, pixel_values):
        return self.segmentation_head(self.mobilenet_v2(pixel_values))


def build(variant, num_labels):
    """A freshly initialised DeepLabV3 MobileNetV2 of a published width (google/deeplabv3_mobilenet_v2_1.0_513
    settings: output stride 8, image 513)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown MobileNetV2 variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    return MobileNetV2ForSemanticSegmentation(Config(num_labels=num_labels, depth_multiplier=VARIANTS[variant],
                                                     output_stride=8, image_size=513))
