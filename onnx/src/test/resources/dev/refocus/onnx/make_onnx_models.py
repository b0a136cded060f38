"""Writes the ONNX files of OnnxImportTest (onnx/src/test/java/dev/refocus/onnx), each MLP with its safetensors twin:
the same weights as a state dict of an nn.Sequential (keys 0.weight, 0.bias, 2.weight, ...) with the activations in
its metadata, as docs/EXPORTING.md writes it.

Run from this directory with Debian's PyTorch and ONNX (apt-get install python3-torch python3-onnx):

    /usr/bin/python3 make_onnx_models.py

The tests use the committed files and need no Python. Seeds are fixed.
"""
import json
import struct

import onnx
import onnx.helper
import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = [6, 9, 7, 4]


def linears(seed, sizes=SIZES):
    torch.manual_seed(seed)
    layers = [nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    with torch.no_grad():  # a head scaled down so that some samples are uncertain
        layers[-1].weight.mul_(0.3)
    return layers


def write_twin(name, layers, activations):
    """The safetensors twin: float32 little-endian tensors 2i.weight, 2i.bias, activations in the metadata."""
    tensors, offset, data = {}, 0, b""
    for i, layer in enumerate(layers):
        for kind, t in (("weight", layer.weight), ("bias", layer.bias)):
            raw = t.detach().contiguous().numpy().astype("<f4").tobytes()
            tensors["%d.%s" % (2 * i, kind)] = {"dtype": "F32", "shape": list(t.shape),
                                                "data_offsets": [offset, offset + len(raw)]}
            offset += len(raw)
            data += raw
    tensors["__metadata__"] = {"refocus.activations": ",".join(activations)}
    header = json.dumps(tensors).encode()
    header += b" " * (-len(header) % 8)
    with open(name, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def export(model, example, name, opset=13):
    torch.onnx.export(model, example, name, opset_version=opset, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})


class Custom(nn.Module):
    """Attributes l0, l1, l2 and functional activations: GELU (the Erf pattern), then SiLU (Sigmoid and Mul)."""

    def __init__(self, seed):
        super().__init__()
        self.l0, self.l1, self.l2 = linears(seed)

    def forward(self, x):
        return self.l2(F.silu(self.l1(F.gelu(self.l0(x)))))


class MatmulAdd(nn.Module):
    """x @ W.t() + b (MatMul and Add), leaky ReLU, then tanh; flattens its [2, 3] input."""

    def __init__(self, seed):
        super().__init__()
        self.l0, self.l1, self.l2 = linears(seed)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.leaky_relu(torch.matmul(x, self.l0.weight.t()) + self.l0.bias)
        x = torch.tanh(torch.matmul(x, self.l1.weight.t()) + self.l1.bias)
        return torch.matmul(x, self.l2.weight.t()) + self.l2.bias


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.l0, self.l1, self.l2 = linears(7, [6, 7, 7, 4])

    def forward(self, x):
        h = torch.relu(self.l0(x))
        h = h + torch.relu(self.l1(h))
        return self.l2(h)


class Conv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x.unsqueeze(1)), 1))


def main():
    x = torch.randn(1, SIZES[0])
    l0, l1, l2 = linears(10)
    seq = nn.Sequential(l0, nn.ReLU(), l1, nn.ReLU(), l2).eval()
    export(seq, x, "seq-relu.onnx")
    write_twin("seq-relu.safetensors", [l0, l1, l2], ["relu", "relu", "identity"])

    custom = Custom(30).eval()
    export(custom, x, "custom-gelu-silu.onnx", opset=17)
    write_twin("custom-gelu-silu.safetensors", [custom.l0, custom.l1, custom.l2], ["gelu", "silu", "identity"])

    matmul = MatmulAdd(40).eval()
    export(matmul, torch.randn(1, 2, 3), "matmul-add.onnx")
    write_twin("matmul-add.safetensors", [matmul.l0, matmul.l1, matmul.l2], ["leaky_relu", "tanh", "identity"])
    export(Residual().eval(), x, "residual.onnx")
    export(Conv().eval(), x, "conv.onnx")

    # Gelu as one op (opset 20): onnx 1.12 cannot export it, so it is written node by node (no checker: 1.12 does
    # not know opset 20); exact GELU after the first layer, the tanh form after the second
    l0, l1, l2 = linears(50)
    h = onnx.helper
    inits = [h.make_tensor(n, onnx.TensorProto.FLOAT, list(t.shape), t.detach().numpy().astype("<f4").tobytes(),
                           raw=True)
             for n, t in (("w0", l0.weight), ("b0", l0.bias), ("w1", l1.weight), ("b1", l1.bias),
                          ("w2", l2.weight), ("b2", l2.bias))]
    nodes = [h.make_node("Gemm", ["x", "w0", "b0"], ["h0"], name="gemm0", transB=1),
             h.make_node("Gelu", ["h0"], ["a0"], name="gelu0"),
             h.make_node("Gemm", ["a0", "w1", "b1"], ["h1"], name="gemm1", transB=1),
             h.make_node("Gelu", ["h1"], ["a1"], name="gelu1", approximate="tanh"),
             h.make_node("Gemm", ["a1", "w2", "b2"], ["logits"], name="gemm2", transB=1)]
    graph = h.make_graph(nodes, "gelu", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", SIZES[0]])],
                         [h.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", SIZES[-1]])], inits)
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 20)]), "seq-gelu-opset20.onnx")
    write_twin("seq-gelu-opset20.safetensors", [l0, l1, l2], ["gelu", "gelu_tanh", "identity"])


if __name__ == "__main__":
    main()
