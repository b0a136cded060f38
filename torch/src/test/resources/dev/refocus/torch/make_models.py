"""Writes the TorchScript files of the libtorch backend's tests (src/test/java/dev/refocus/torch).

Run from this directory with Debian's PyTorch (apt-get install python3-torch):

    /usr/bin/python3 make_models.py

The tests use the committed .pt files and need no Python. Seeds are fixed. Each model's head is scaled down and
its bias zeroed so that most samples are uncertain (margin below 0.16) and the refocus step runs.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def uncertain_head(linear, scale):
    with torch.no_grad():
        linear.weight.mul_(scale)
        linear.bias.zero_()


class SmallCnn(nn.Module):
    """conv, batch norm (running statistics in eval mode), ReLU, max pooling, conv, linear: input [1, 1, 8, 8]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.fc = nn.Linear(6 * 2 * 2, 7)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


class TupleOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        z = self.fc(x)
        return z, z


class BatchOfLogits(nn.Module):
    """Returns [1, 1, 3]: not the logits of one sample as [C] or [1, C]."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x).unsqueeze(0)


def save(module, name):
    torch.jit.script(module.eval()).save(name)


def main():
    torch.manual_seed(0)
    relu = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 5))
    uncertain_head(relu[4], 0.1)
    save(relu, "mlp-relu.pt")

    tanh = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Identity(), nn.Linear(7, 6), nn.Tanh(), nn.Linear(6, 4))
    uncertain_head(tanh[5], 0.1)
    save(tanh, "mlp-tanh.pt")

    # only for the import: a Linear without bias and a ReLU on the head
    save(nn.Sequential(nn.Linear(4, 6, bias=False), nn.Identity(), nn.Linear(6, 3), nn.ReLU()), "mlp-mixed.pt")

    cnn = SmallCnn()
    cnn.train()
    with torch.no_grad():
        for _ in range(4):  # running statistics that differ from the initial 0 and 1
            cnn(torch.randn(16, 1, 8, 8) * 2.0 + 0.5)
    uncertain_head(cnn.fc, 0.1)
    save(cnn, "cnn.pt")

    # bad inputs
    torch.save(relu.state_dict(), "state-dict.pt")
    save(TupleOutput(), "tuple-output.pt")
    save(BatchOfLogits(), "batch-output.pt")
    save(nn.Sequential(nn.Linear(4, 3)).double(), "float64.pt")
    save(nn.Sequential(nn.Linear(4, 5), nn.Sigmoid(), nn.Linear(5, 3)), "mlp-sigmoid.pt")


if __name__ == "__main__":
    main()
