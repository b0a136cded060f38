"""Writes the small CNN of HeadPredictorTest (src/test/java/dev/refocus/torch) in three files, cnn-head/:

- full.pt: the whole model (TorchScript): conv, ReLU, max pooling, flatten, then the head fc1, ReLU, fc2;
- backbone.pt: its frozen part (TorchScript), input [1, 1, 8, 8] to the 64 penultimate features;
- head.safetensors: fc1 and fc2 as a dense network (refocus's naming convention and activations metadata).

Run from this directory with Debian's PyTorch (apt-get install python3-torch):

    /usr/bin/python3 make_head_models.py

The tests use the committed files and need no Python. The seed is fixed; fc2 is scaled down so that samples are
uncertain and the refocus step runs.
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)

    def forward(self, x):
        return torch.flatten(F.max_pool2d(F.relu(self.conv1(x)), 2), 1)


class Cnn(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.fc1 = nn.Linear(4 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(self.backbone(x))))


def write_safetensors(tensors, metadata, name):
    header = {"__metadata__": metadata}
    data = b""
    for key, t in tensors:
        raw = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    with open(name, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    torch.manual_seed(3)
    cnn = Cnn(Backbone()).eval()
    with torch.no_grad():
        cnn.fc2.weight.mul_(0.2)
        cnn.fc2.bias.zero_()
    torch.jit.script(cnn).save("cnn-head/full.pt")
    torch.jit.script(cnn.backbone).save("cnn-head/backbone.pt")
    write_safetensors([("0.weight", cnn.fc1.weight), ("0.bias", cnn.fc1.bias),
                       ("2.weight", cnn.fc2.weight), ("2.bias", cnn.fc2.bias)],
                      {"refocus.activations": "relu,identity"}, "cnn-head/head.safetensors")


if __name__ == "__main__":
    main()
