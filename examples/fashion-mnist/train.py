#!/usr/bin/python3
"""Train the example MLP on Fashion-MNIST and export it for refocus.

Writes, next to this script:
  mlp-784-512-256-10.safetensors     the trained model (safetensors, written by hand)
  test-3000-images-idx3-ubyte.gz     the first 3000 images of the Fashion-MNIST test split
  test-3000-labels-idx1-ubyte.gz     their labels (both in the original IDX format)

Input convention: pixel/255 as float32, flattened row-major to 784 values, no normalisation.
Data: Debian's dataset-fashion-mnist package (override the folder with FASHION_MNIST_DIR).
"""
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
SUBSET = 3000
EPOCHS, BATCH, LR = 6, 128, 1e-3


def read_idx(path):
    """Reads an IDX file (gzipped or not) into a uint8 numpy array."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, "only uint8 IDX files are supported"
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(prefix):
    def find(name):
        for candidate in (name + ".gz", name):
            if os.path.exists(os.path.join(DATA, candidate)):
                return os.path.join(DATA, candidate)
        raise FileNotFoundError(os.path.join(DATA, name))
    images = read_idx(find(prefix + "-images-idx3-ubyte"))
    labels = read_idx(find(prefix + "-labels-idx1-ubyte"))
    return images, labels


def to_inputs(images):
    return torch.from_numpy(images.reshape(len(images), 784).astype(np.float32) / 255.0)


def write_idx_gz(path, array, magic):
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        blob = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # pad so the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    train_images, train_labels = load_split("train")
    test_images, test_labels = load_split("t10k")
    x_train, y_train = to_inputs(train_images), torch.from_numpy(train_labels.astype(np.int64))
    x_test, y_test = to_inputs(test_images), torch.from_numpy(test_labels.astype(np.int64))

    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        for idx in torch.randperm(len(x_train)).split(BATCH):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        print(f"epoch {epoch + 1:2d}: test accuracy {accuracy(model, x_test, y_test):.4f}", flush=True)
    print(f"train time: {time.time() - start:.1f} s ({EPOCHS} epochs, batch {BATCH}, Adam lr {LR}, cosine)")
    print(f"test accuracy, full 10000: {accuracy(model, x_test, y_test):.4f}")
    print(f"test accuracy, first {SUBSET}: {accuracy(model, x_test[:SUBSET], y_test[:SUBSET]):.4f}")

    write_safetensors(os.path.join(HERE, "mlp-784-512-256-10.safetensors"), model.state_dict(), {
        "format": "pt",
        "refocus.hidden_activation": "relu",
        "refocus.input": "pixel/255, 784 = 28x28 row-major",
    })
    write_idx_gz(os.path.join(HERE, f"test-{SUBSET}-images-idx3-ubyte.gz"), test_images[:SUBSET], 2051)
    write_idx_gz(os.path.join(HERE, f"test-{SUBSET}-labels-idx1-ubyte.gz"), test_labels[:SUBSET], 2049)


if __name__ == "__main__":
    main()
