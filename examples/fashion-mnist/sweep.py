#!/usr/bin/python3
"""Learning-rate sweep of "focus on likely classes" on the exported Fashion-MNIST model.

For every uncertain sample (top-1 minus top-2 probability < D) one clipped gradient g of the
focus loss is computed; since one plain SGD step only scales g, the prediction after the step
theta - eta * g is then evaluated for the whole eta grid with forward passes only.
The update is forgotten after each sample. Everything is float32, like the model.
Prints the table and writes it to sweep-results.txt next to this script.
"""
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
N_FOCUS, D, CLIP = 2, 0.16, 1.0
ETAS = [5e-6 * 2 ** k for k in range(20)]
METHODS = ["IFO_WEIGHTED", "IFO", "DOFO", "CROSS_ENTROPY", "ENTROPY"]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32"
        begin, end = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(body[begin:end], "<f4").copy()).reshape(info["shape"])
    return tensors


def read_idx_gz(path):
    data = gzip.open(path).read()
    ndim = data[3]
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def forward(params, x):
    """The MLP Linear-ReLU-Linear-ReLU-Linear on a flat parameter list [W0, b0, W1, b1, W2, b2]."""
    n = len(params) // 2
    for i in range(n):
        x = F.linear(x, params[2 * i], params[2 * i + 1])
        if i < n - 1:
            x = F.relu(x)
    return x


def focus_classes(z):
    """The N_FOCUS most likely classes; ties go to the lower index."""
    return torch.sort(z, descending=True, stable=True).indices[:N_FOCUS]


def loss(method, z, focus):
    mask = torch.zeros_like(z, dtype=torch.bool)
    mask[focus] = True
    if method == "IFO_WEIGHTED":
        return -(F.softmax(z, 0).detach()[mask] * z[mask]).sum()
    if method == "IFO":
        return -z[mask].mean()
    if method == "DOFO":
        return z[~mask].mean()
    if method == "CROSS_ENTROPY":
        return torch.logsumexp(z, 0) - z[mask].mean()
    if method == "ENTROPY":
        return -(F.softmax(z, 0) * F.log_softmax(z, 0)).sum()
    raise ValueError(method)


def clipped_gradient(params, method, x):
    leaves = [p.clone().requires_grad_(True) for p in params]
    z = forward(leaves, x)
    loss(method, z, focus_classes(z.detach())).backward()
    torch.nn.utils.clip_grad_norm_(leaves, CLIP)
    return [p.grad for p in leaves]


def main():
    torch.set_num_threads(2)
    tensors = read_safetensors(os.path.join(HERE, "mlp-784-512-256-10.safetensors"))
    params = [tensors[f"{i}.{kind}"] for i in (0, 2, 4) for kind in ("weight", "bias")]
    images = read_idx_gz(os.path.join(HERE, "test-3000-images-idx3-ubyte.gz"))
    labels = torch.from_numpy(read_idx_gz(os.path.join(HERE, "test-3000-labels-idx1-ubyte.gz")).astype(np.int64))
    x = torch.from_numpy(images.reshape(len(images), 784).astype(np.float32) / 255.0)

    with torch.no_grad():
        base = forward(params, x)
    top2 = F.softmax(base, 1).topk(2, 1).values
    uncertain = ((top2[:, 0] - top2[:, 1]) < D).nonzero().flatten().tolist()
    base_pred = base.argmax(1)
    base_acc = (base_pred == labels).float().mean().item()

    lines = [f"Fashion-MNIST first {len(x)} test images; n_f={N_FOCUS}, d={D}, clip={CLIP}, one plain SGD step, float32",
             f"{'method':<14} {'eta':>10} {'acc_without':>11} {'acc_with':>9} {'adapted':>7} {'right>wrong':>11} {'wrong>right':>11}"]
    print(*lines, sep="\n", flush=True)
    for method in METHODS:
        preds = base_pred.repeat(len(ETAS), 1)  # [eta, sample]
        for i in uncertain:
            g = clipped_gradient(params, method, x[i])
            with torch.no_grad():
                for k, eta in enumerate(ETAS):
                    preds[k, i] = forward([p - eta * gp for p, gp in zip(params, g)], x[i]).argmax()
        for k, eta in enumerate(ETAS):
            right_before, right_after = base_pred == labels, preds[k] == labels
            line = (f"{method:<14} {eta:>10.4g} {base_acc:>11.4f} {right_after.float().mean().item():>9.4f} "
                    f"{len(uncertain):>7d} {(right_before & ~right_after).sum().item():>11d} "
                    f"{(~right_before & right_after).sum().item():>11d}")
            lines.append(line)
            print(line, flush=True)
    with open(os.path.join(HERE, "sweep-results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
