"""Eval-mode logits of the PyTorch reference SegFormer (shared/reference/pytorch/segformer.py, HF names)
for a checkpoint directory and a raw float32 NCHW input. Used to check odd input sizes.
usage: ref_segformer.py REFERENCE_DIR CKPT_DIR INPUT.bin N,C,H,W OUT.bin"""
import json, os, sys
import torch

ref_dir, ckpt, inp, shape, out = sys.argv[1:6]
sys.path.insert(0, ref_dir)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "pytorch"))
import segformer  # noqa: E402
import hf_checkpoint  # noqa: E402  (the safetensors reader of the bench references)

cfg = json.load(open(f"{ckpt}/config.json"))
sd = hf_checkpoint.read_safetensors(f"{ckpt}/model.safetensors")
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
