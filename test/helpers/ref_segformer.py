"""Eval-mode logits of the PyTorch reference SegFormer (shared/reference/pytorch/segformer.py, HF names)
for a checkpoint directory and a raw float32 NCHW input. Used to check odd input sizes.
usage: ref_segformer.py REFERENCE_DIR CKPT_DIR INPUT.bin N,C,H,W OUT.bin"""
import json, struct, sys
import torch

ref_dir, ckpt, inp, shape, out = sys.argv[1:6]
sys.path.insert(0, ref_dir)
import segformer  # noqa: E402

cfg = json.load(open(f"{ckpt}/config.json"))
with open(f"{ckpt}/model.safetensors", "rb") as f:
    buf = f.read()
n = struct.unpack("<Q", buf[:8])[0]
header = json.loads(buf[8:8 + n])
base = 8 + n
dtypes = {"F32": torch.float32, "I64": torch.int64}
sd = {}
for k, v in header.items():
    if k == "__metadata__":
        continue
    a, b = v["data_offsets"]
    sd[k] = torch.frombuffer(bytearray(buf[base + a:base + b]), dtype=dtypes[v["dtype"]]).reshape(v["shape"])
fields = {k: cfg[k] for k in ["depths", "sr_ratios", "hidden_sizes", "patch_sizes", "strides", "num_attention_heads",
                              "mlp_ratios", "decoder_hidden_size", "num_encoder_blocks", "num_channels"]}
model = segformer.SegformerForSemanticSegmentation(segformer.Config(num_labels=len(cfg["id2label"]), **fields))
model.load_state_dict(sd)
model.eval()
dims = [int(x) for x in shape.split(",")]
x = torch.frombuffer(bytearray(open(inp, "rb").read()), dtype=torch.float32).reshape(dims)
with torch.no_grad():
    y = model(x)
open(out, "wb").write(y.contiguous().numpy().tobytes())
print(json.dumps({"shape": list(y.shape)}))
