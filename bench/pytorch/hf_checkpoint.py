"""HF checkpoint directories (config.json + model.safetensors) -> the matching reference model, loaded strictly.
Reads safetensors itself (the format is a u64 header length, a JSON header, raw little-endian data), since the
safetensors package is not packaged for Debian's python3-torch."""
import json
import os
import struct

import torch

import mobilenet_v2
import mobilevit

FAMILIES = {"mobilevit": mobilevit, "mobilenet_v2": mobilenet_v2}
DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    sd = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        if v["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {v['dtype']}, expected one of {', '.join(DTYPES)}")
        a, b = v["data_offsets"]
        sd[name] = torch.frombuffer(bytearray(buf[base + a:base + b]), dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
    return sd


def load(ckpt_dir):
    """The model that ckpt_dir/config.json's model_type names, with ckpt_dir/model.safetensors loaded strictly."""
    with open(os.path.join(ckpt_dir, "config.json")) as f:
        cfg = json.load(f)
    family = FAMILIES.get(cfg.get("model_type"))
    if family is None:
        raise ValueError(f"{ckpt_dir}/config.json: model_type {cfg.get('model_type')!r}, expected one of {', '.join(FAMILIES)}")
    fields = {k: v for k, v in cfg.items() if k not in ("id2label", "label2id", "architectures", "model_type")}
    model = getattr(family, {"mobilevit": "MobileViTForSemanticSegmentation",
                             "mobilenet_v2": "MobileNetV2ForSemanticSegmentation"}[cfg["model_type"]])(
        family.Config(num_labels=len(cfg["id2label"]), **fields))
    model.load_state_dict(read_safetensors(os.path.join(ckpt_dir, "model.safetensors")), strict=True)
    return model
