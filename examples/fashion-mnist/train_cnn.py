#!/usr/bin/python3
"""Train the example's second model, a small CNN, on Fashion-MNIST and export it as TorchScript.

Writes, next to this script:
  cnn-fashion-mnist.pt    the trained CNN, TorchScript (torch.jit.script), input [1, 1, 28, 28], output [1, 10]

Architecture: Conv(1->8, 3x3, pad 1)-ReLU-MaxPool(2) -> Conv(8->16, 3x3, pad 1)-ReLU-MaxPool(2) -> Flatten ->
Linear(784, 32)-ReLU -> Linear(32, 10); 26.7 K parameters (about 110 KB as TorchScript).
Input convention: pixel/255 as float32, as the MLP's (the refocus command line reads IDX images so).
Trained on the 60000 training images only; the example's 3000 test images (test-3000-*) are never seen.
Data: Debian's dataset-fashion-mnist package (override the folder with FASHION_MNIST_DIR).
"""
import os
import time

import numpy as np
import torch
from torch import nn

from train import load_split, accuracy, SUBSET

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS, BATCH, LR = 3, 128, 2e-3


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def to_images(images):
    return torch.from_numpy(images.reshape(len(images), 1, 28, 28).astype(np.float32) / 255.0)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    train_images, train_labels = load_split("train")
    test_images, test_labels = load_split("t10k")
    x_train, y_train = to_images(train_images), torch.from_numpy(train_labels.astype(np.int64))
    x_test, y_test = to_images(test_images), torch.from_numpy(test_labels.astype(np.int64))

    model = Cnn()
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
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    print(f"test accuracy, full 10000: {accuracy(model, x_test, y_test):.4f}")
    print(f"test accuracy, first {SUBSET}: {accuracy(model, x_test[:SUBSET], y_test[:SUBSET]):.4f}")
    path = os.path.join(HERE, "cnn-fashion-mnist.pt")
    torch.jit.script(model.eval()).save(path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
