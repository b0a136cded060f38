"""Writes the TorchScript files of TorchScriptImportGraphTest (torch/src/test/java/dev/refocus/torch), each MLP with its
safetensors twin: the same weights as a state dict of an nn.Sequential (keys 0.weight, 0.bias, 2.weight, ...) with
the activations in its metadata, as docs/EXPORTING.md writes it.

Run from this directory with Debian's PyTorch (apt-get install python3-torch):

    /usr/bin/python3 make_graph_models.py

The tests use the committed files and need no Python. Seeds are fixed.
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = [6, 9, 7, 4]
ACTIVATIONS = {  # refocus name -> module
    "relu": nn.ReLU(),
    "tanh": nn.Tanh(),
    "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU(approximate="tanh"),
    "silu": nn.SiLU(),
    "sigmoid": nn.Sigmoid(),
    "leaky_relu": nn.LeakyReLU(),
}


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


class Custom(nn.Module):
    """Attributes l0, l1, l2 and functional activations: not an nn.Sequential."""

    def __init__(self, seed, act):
        super().__init__()
        self.l0, self.l1, self.l2 = linears(seed)
        self.act = act

    def forward(self, x):
        return self.l2(self.act(self.l1(self.act(self.l0(x)))))


class MatmulAdd(nn.Module):
    """x @ W.t() + b for the first layer, torch.addmm for the second, F.linear for the head; flattens its input."""

    def __init__(self, seed):
        super().__init__()
        self.l0, self.l1, self.l2 = linears(seed)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.silu(torch.matmul(x, self.l0.weight.t()) + self.l0.bias)
        x = F.gelu(torch.addmm(self.l1.bias, x, self.l1.weight.t()))
        return F.linear(x, self.l2.weight, self.l2.bias)


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


def sequential(seed, act):
    l0, l1, l2 = linears(seed)
    return nn.Sequential(l0, act, l1, act, l2)


def main():
    x = torch.randn(1, SIZES[0])
    for k, (name, act) in enumerate(ACTIVATIONS.items()):
        model = sequential(10 + k, act).eval()
        torch.jit.script(model).save("seq-%s-scripted.pt" % name)
        write_twin("seq-%s.safetensors" % name, [model[0], model[2], model[4]], [name, name, "identity"])
    relu = sequential(10, nn.ReLU()).eval()
    torch.jit.trace(relu, x).save("seq-relu-traced.pt")
    custom = Custom(30, nn.GELU()).eval()
    torch.jit.trace(custom, x).save("custom-gelu-traced.pt")
    torch.jit.script(custom).save("custom-gelu-scripted.pt")
    write_twin("custom-gelu.safetensors", [custom.l0, custom.l1, custom.l2], ["gelu", "gelu", "identity"])
    matmul = MatmulAdd(40).eval()
    torch.jit.trace(matmul, torch.randn(1, 2, 3)).save("matmul-add-traced.pt")
    write_twin("matmul-add.safetensors", [matmul.l0, matmul.l1, matmul.l2], ["silu", "gelu", "identity"])
    # refused, each for a reason the importer names
    torch.jit.trace(Residual().eval(), x).save("residual.pt")
    torch.jit.trace(Conv().eval(), x).save("conv.pt")
    torch.jit.script(sequential(50, nn.LeakyReLU(0.2)).eval()).save("leaky-relu-0.2.pt")
    no_bias = nn.Sequential(nn.Linear(6, 5, bias=False), nn.ReLU(), nn.Linear(5, 4)).eval()
    torch.jit.script(no_bias).save("no-bias.pt")


if __name__ == "__main__":
    main()
