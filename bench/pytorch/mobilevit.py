"""Plain-PyTorch MobileViT + DeepLabV3 (HuggingFace's MobileViTForSemanticSegmentation), the benchmark peer.

The module tree and parameter names are HF's, so an HF state dict (e.g. the shared fixtures'
model.safetensors) loads with load_state_dict(strict=True); test/pytorch-refs.test.ts checks the logits
against numbers made by HF's own modeling_mobilevit.py. The computation follows HF step by step (separate
q/k/v projections, unfolding by reshape/transpose, bilinear resize of odd maps, bilinear upsampling of the
ASPP pooling branch): this is the reference, not a tuned model. python3-transformers is not packaged in
Debian 12, so this stands in for it.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from hf_common import ConvLayer, init_hf_weights, make_divisible

# apple/deeplabv3-mobilevit-* (HF's convert_mlcvnets_to_pytorch.py sizes; output stride 16, image 512)
VARIANTS = {
    "xx-small": dict(hidden_sizes=[64, 80, 96], neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320], expand_ratio=2.0,
                     hidden_dropout_prob=0.05),
    "x-small": dict(hidden_sizes=[96, 120, 144], neck_hidden_sizes=[16, 32, 48, 64, 80, 96, 384], expand_ratio=4.0,
                    hidden_dropout_prob=0.1),
    "small": dict(hidden_sizes=[144, 192, 240], neck_hidden_sizes=[16, 32, 64, 96, 128, 160, 640], expand_ratio=4.0,
                  hidden_dropout_prob=0.1),
}


class Config:
    """HF MobileViTConfig's fields and defaults (the ones the model reads)."""

    def __init__(self, **kw):
        self.num_channels = 3
        self.image_size = 256
        self.patch_size = 2
        self.hidden_sizes = [144, 192, 240]
        self.neck_hidden_sizes = [16, 32, 64, 96, 128, 160, 640]
        self.num_attention_heads = 4
        self.mlp_ratio = 2.0
        self.expand_ratio = 4.0
        self.hidden_act = "silu"
        self.conv_kernel_size = 3
        self.output_stride = 32
        self.hidden_dropout_prob = 0.1
        self.attention_probs_dropout_prob = 0.0
        self.classifier_dropout_prob = 0.1
        self.initializer_range = 0.02
        self.layer_norm_eps = 1e-5
        self.qkv_bias = True
        self.aspp_out_channels = 256
        self.atrous_rates = [6, 12, 18]
        self.aspp_dropout_prob = 0.1
        self.semantic_loss_ignore_index = 255
        self.num_labels = 21
        for k, v in kw.items():
            setattr(self, k, v)
        if self.hidden_act not in ("silu", "swish"):
            raise ValueError(f"hidden_act {self.hidden_act!r}: expected 'silu' or 'swish'")


ACTIVATIONS = {"silu": nn.SiLU, "swish": nn.SiLU, "relu": nn.ReLU}


class MobileViTConvLayer(ConvLayer):
    """conv (symmetric padding (k-1)/2 * dilation) -> BatchNorm (eps 1e-5) -> activation."""

    def __init__(self, config, in_channels, out_channels, kernel_size, stride=1, groups=1, bias=False, dilation=1,
                 use_normalization=True, use_activation=True):
        name = use_activation if isinstance(use_activation, str) else config.hidden_act
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2 * dilation,
                      dilation=dilation, groups=groups, bias=bias),
            nn.BatchNorm2d(out_channels, eps=1e-5, momentum=0.1) if use_normalization else None,
            ACTIVATIONS[name]() if use_activation else None)


class MobileViTInvertedResidual(nn.Module):
    def __init__(self, config, in_channels, out_channels, stride, dilation=1):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride {stride}: expected 1 or 2")
        expanded = make_divisible(int(round(in_channels * config.expand_ratio)), 8)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand_1x1 = MobileViTConvLayer(config, in_channels, expanded, 1)
        self.conv_3x3 = MobileViTConvLayer(config, expanded, expanded, 3, stride=stride, groups=expanded,
                                           dilation=dilation)
        self.reduce_1x1 = MobileViTConvLayer(config, expanded, out_channels, 1, use_activation=False)

    def forward(self, x):
        y = self.reduce_1x1(self.conv_3x3(self.expand_1x1(x)))
        return x + y if self.use_residual else y


class MobileViTMobileNetLayer(nn.Module):
    def __init__(self, config, in_channels, out_channels, stride=1, num_stages=1):
        super().__init__()
        self.layer = nn.ModuleList()
        for i in range(num_stages):
            self.layer.append(MobileViTInvertedResidual(config, in_channels, out_channels, stride if i == 0 else 1))
            in_channels = out_channels

    def forward(self, x):
        for block in self.layer:
            x = block(x)
        return x


class MobileViTSelfAttention(nn.Module):
    def __init__(self, config, hidden_size):
        super().__init__()
        if hidden_size % config.num_attention_heads:
            raise ValueError(f"hidden size {hidden_size} not a multiple of {config.num_attention_heads} heads")
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = hidden_size // config.num_attention_heads
        self.query = nn.Linear(hidden_size, hidden_size, bias=config.qkv_bias)
        self.key = nn.Linear(hidden_size, hidden_size, bias=config.qkv_bias)
        self.value = nn.Linear(hidden_size, hidden_size, bias=config.qkv_bias)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x):
        b, n, _ = x.shape
        return x.view(b, n, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, x):
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)


class MobileViTSelfOutput(nn.Module):
    def __init__(self, config, hidden_size):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x):
        return self.dropout(self.dense(x))


class MobileViTAttention(nn.Module):
    def __init__(self, config, hidden_size):
        super().__init__()
        self.attention = MobileViTSelfAttention(config, hidden_size)
        self.output = MobileViTSelfOutput(config, hidden_size)

    def forward(self, x):
        return self.output(self.attention(x))


class MobileViTIntermediate(nn.Module):
    def __init__(self, config, hidden_size, intermediate_size):
        super().__init__()
        self.dense = nn.Linear(hidden_size, intermediate_size)
        self.intermediate_act_fn = ACTIVATIONS[config.hidden_act]()

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))


class MobileViTOutput(nn.Module):
    def __init__(self, config, hidden_size, intermediate_size):
        super().__init__()
        self.dense = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.dropout(self.dense(x)) + residual


class MobileViTTransformerLayer(nn.Module):
    """Pre-LayerNorm: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config, hidden_size, intermediate_size):
        super().__init__()
        self.attention = MobileViTAttention(config, hidden_size)
        self.intermediate = MobileViTIntermediate(config, hidden_size, intermediate_size)
        self.output = MobileViTOutput(config, hidden_size, intermediate_size)
        self.layernorm_before = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        x = self.attention(self.layernorm_before(x)) + x
        return self.output(self.intermediate(self.layernorm_after(x)), x)


class MobileViTTransformer(nn.Module):
    def __init__(self, config, hidden_size, num_stages):
        super().__init__()
        self.layer = nn.ModuleList(
            MobileViTTransformerLayer(config, hidden_size, int(hidden_size * config.mlp_ratio)) for _ in range(num_stages))

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class MobileViTLayer(nn.Module):
    """MobileViT block: [downsampling IR] -> local convs -> unfold -> transformer -> fold -> fuse with input."""

    def __init__(self, config, in_channels, out_channels, stride, hidden_size, num_stages, dilation=1):
        super().__init__()
        self.patch_size = config.patch_size
        if stride == 2:
            # With dilation the downsampling IR keeps the resolution (stride 1) and dilates by half.
            self.downsampling_layer = MobileViTInvertedResidual(
                config, in_channels, out_channels, stride=stride if dilation == 1 else 1,
                dilation=dilation // 2 if dilation > 1 else 1)
            in_channels = out_channels
        else:
            self.downsampling_layer = None
        self.conv_kxk = MobileViTConvLayer(config, in_channels, in_channels, config.conv_kernel_size)
        self.conv_1x1 = MobileViTConvLayer(config, in_channels, hidden_size, 1, use_normalization=False,
                                           use_activation=False)
        self.transformer = MobileViTTransformer(config, hidden_size, num_stages)
        self.layernorm = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)
        self.conv_projection = MobileViTConvLayer(config, hidden_size, in_channels, 1)
        self.fusion = MobileViTConvLayer(config, 2 * in_channels, in_channels, config.conv_kernel_size)

    def unfolding(self, x):
        """(B, C, H, W) -> (B*P*P, N, C): one sequence per pixel position inside a PxP patch."""
        p = self.patch_size
        b, c, h, w = x.shape
        nh, nw = math.ceil(h / p), math.ceil(w / p)
        resized = (nh * p, nw * p) != (h, w)
        if resized:  # odd maps are resized, not padded (HF: padding would need masking in attention)
            x = F.interpolate(x, size=(nh * p, nw * p), mode="bilinear", align_corners=False)
        t = x.reshape(b * c * nh, p, nw, p).transpose(1, 2)      # (B*C*nh, nw, p, p)
        t = t.reshape(b, c, nh * nw, p * p).transpose(1, 3)       # (B, P*P, N, C)
        return t.reshape(b * p * p, nh * nw, c), (b, c, h, w, nh, nw, resized)

    def folding(self, t, info):
        """The exact inverse of unfolding (then the resize back for odd maps)."""
        p = self.patch_size
        b, c, h, w, nh, nw, resized = info
        x = t.contiguous().view(b, p * p, nh * nw, c).transpose(1, 3)  # (B, C, N, P*P)
        x = x.reshape(b * c * nh, nw, p, p).transpose(1, 2)           # (B*C*nh, p, nw, p)
        x = x.reshape(b, c, nh * p, nw * p)
        if resized:
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        return x

    def forward(self, x):
        if self.downsampling_layer is not None:
            x = self.downsampling_layer(x)
        residual = x
        t, info = self.unfolding(self.conv_1x1(self.conv_kxk(x)))
        t = self.layernorm(self.transformer(t))
        y = self.conv_projection(self.folding(t, info))
        return self.fusion(torch.cat((residual, y), dim=1))


class MobileViTEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        n = config.neck_hidden_sizes
        # DeepLab keeps the resolution of the last stage (stride 16) or the last two (stride 8) by dilation.
        dilate4 = config.output_stride == 8
        dilate5 = config.output_stride in (8, 16)
        dilation = 1
        self.layer = nn.ModuleList([
            MobileViTMobileNetLayer(config, n[0], n[1], stride=1, num_stages=1),
            MobileViTMobileNetLayer(config, n[1], n[2], stride=2, num_stages=3),
            MobileViTLayer(config, n[2], n[3], stride=2, hidden_size=config.hidden_sizes[0], num_stages=2),
        ])
        if dilate4:
            dilation *= 2
        self.layer.append(MobileViTLayer(config, n[3], n[4], stride=2, hidden_size=config.hidden_sizes[1],
                                         num_stages=4, dilation=dilation))
        if dilate5:
            dilation *= 2
        self.layer.append(MobileViTLayer(config, n[4], n[5], stride=2, hidden_size=config.hidden_sizes[2],
                                         num_stages=3, dilation=dilation))

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class MobileViTModel(nn.Module):
    """The backbone as the segmentation model holds it (expand_output=False: no conv_1x1_exp)."""

    def __init__(self, config):
        super().__init__()
        self.conv_stem = MobileViTConvLayer(config, config.num_channels, config.neck_hidden_sizes[0], 3, stride=2)
        self.encoder = MobileViTEncoder(config)

    def forward(self, x):
        return self.encoder(self.conv_stem(x))


class MobileViTASPPPooling(nn.Module):
    def __init__(self, config, in_channels, out_channels):
        super().__init__()
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_1x1 = MobileViTConvLayer(config, in_channels, out_channels, 1, use_activation="relu")

    def forward(self, x):
        size = x.shape[-2:]
        return F.interpolate(self.conv_1x1(self.global_pool(x)), size=size, mode="bilinear", align_corners=False)


class MobileViTASPP(nn.Module):
    def __init__(self, config):
        super().__init__()
        cin, cout = config.neck_hidden_sizes[-2], config.aspp_out_channels
        if len(config.atrous_rates) != 3:
            raise ValueError(f"atrous_rates {config.atrous_rates}: expected 3 values")
        self.convs = nn.ModuleList([MobileViTConvLayer(config, cin, cout, 1, use_activation="relu")])
        self.convs.extend(MobileViTConvLayer(config, cin, cout, 3, dilation=r, use_activation="relu")
                          for r in config.atrous_rates)
        self.convs.append(MobileViTASPPPooling(config, cin, cout))
        self.project = MobileViTConvLayer(config, 5 * cout, cout, 1, use_activation="relu")
        self.dropout = nn.Dropout(config.aspp_dropout_prob)

    def forward(self, x):
        return self.dropout(self.project(torch.cat([conv(x) for conv in self.convs], dim=1)))


class MobileViTDeepLabV3(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.aspp = MobileViTASPP(config)
        self.dropout = nn.Dropout2d(config.classifier_dropout_prob)
        self.classifier = MobileViTConvLayer(config, config.aspp_out_channels, config.num_labels, 1,
                                             use_normalization=False, use_activation=False, bias=True)

    def forward(self, x):
        return self.classifier(self.dropout(self.aspp(x)))


class MobileViTForSemanticSegmentation(nn.Module):
    """forward(pixel_values) -> logits at 1/output_stride (the loss is the caller's, as in bench)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.mobilevit = MobileViTModel(config)
        self.segmentation_head = MobileViTDeepLabV3(config)
        init_hf_weights(self, config.initializer_range)

    def forward(self, pixel_values):
        return self.segmentation_head(self.mobilevit(pixel_values))


def build(variant, num_labels):
    """A freshly initialised DeepLabV3 MobileViT of a published size (xx-small, x-small, small)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown MobileViT variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    return MobileViTForSemanticSegmentation(Config(num_labels=num_labels, output_stride=16, image_size=512,
                                                   **VARIANTS[variant]))
