"""The PyTorch baseline of benchmarks/gpu/gpu-check.sh: refocus as a PyTorch user would write it, per sample.

For S, M and L of docs/DESIGN.md (nn.Linear + ReLU, the head's weight scaled by 0.01 and its bias zeroed, as
BenchmarkModels.java makes them), one sample at a time on the device:
  plain       one forward pass under no_grad, the answer read back (what inference costs today)
  clone       Algorithm 1 literally (the paper's code): forward, margin check, deepcopy(model), iFo-weighted loss,
              backward, clip_grad_norm_(1), SGD step, forward with the copy
  functional  no clone: functional_call with p - lr * clip(g), what a skilled PyTorch user would write
The step uses refocus's default configuration (iFo weighted, n_f = 2, T = 1, clipping norm 1, every parameter,
eta 0.02) at d = 1, so that every sample takes it, as refocus's "uncertain" rows. Each call ends with the answer on
the host (.item()), which synchronises, as a Java caller's answer does.

Also measured, for the report's ceilings: the device-to-device copy bandwidth (bytes read + written per second, a
1 GiB copy) and the fp32 matrix rate (8192^3 with TF32 off).

usage: torch_baseline.py [--device cuda|cpu] [--tiny] [--out baseline.json]
  --tiny: small models and few calls, to dry-run this script on a machine without a GPU.
"""
import argparse
import copy
import json
import time

import torch
import torch.nn as nn

try:
    from torch.func import functional_call
except ImportError:  # PyTorch < 2.0 (the build machines' 1.13)
    from torch.nn.utils.stateless import functional_call

SIZES = {"S": [32, 64, 64, 3], "M": [256, 1024, 1024, 32], "L": [1024, 4096, 4096, 1000]}
TINY = {"S": [8, 16, 3], "M": [16, 32, 5], "L": [32, 64, 10]}
ETA, D, N_FOCUS, CLIP = 0.02, 1.0, 2, 1.0


def mlp(dims):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    with torch.no_grad():
        model[-1].weight.mul_(0.01)
        model[-1].bias.zero_()
    return model.eval()


def ifo_weighted(logits, focus):
    p = torch.softmax(logits, -1).detach()
    return -(p[..., focus] * logits[..., focus]).sum()


def uncertain(z):
    top = torch.topk(torch.softmax(z, -1), N_FOCUS, -1)
    return (top.values[0, 0] - top.values[0, 1]).item() < D, top.indices[0]


def plain(model, x):
    with torch.no_grad():
        return int(model(x).argmax())


def clone_step(model, x):
    with torch.no_grad():
        z = model(x)
    adapt, focus = uncertain(z)
    if not adapt:
        return int(z.argmax())
    adapted = copy.deepcopy(model)
    opt = torch.optim.SGD(adapted.parameters(), lr=ETA)
    opt.zero_grad()
    ifo_weighted(adapted(x)[0], focus).backward()
    torch.nn.utils.clip_grad_norm_(adapted.parameters(), CLIP)
    opt.step()
    with torch.no_grad():
        return int(adapted(x).argmax())


def functional_step(model, params, x):
    z = functional_call(model, params, (x,))
    adapt, focus = uncertain(z.detach())
    if not adapt:
        return int(z.argmax())
    grads = torch.autograd.grad(ifo_weighted(z[0], focus), list(params.values()))
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = torch.clamp(CLIP / (norm + 1e-6), max=1.0)  # clip_grad_norm_'s rule
    new = {k: v - ETA * scale * g for (k, v), g in zip(params.items(), grads)}
    with torch.no_grad():
        return int(functional_call(model, new, (x,)).argmax())


def timed(fn, calls, sync):
    for i in range(max(3, calls // 5)):
        fn(i)
    sync()
    times = []
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        sync()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"median_us": times[len(times) // 2] * 1e6, "p99_us": times[int(len(times) * 0.99)] * 1e6, "calls": calls}


def copy_bandwidth(dev, sync, tiny):
    n = (1 << 20) if tiny else (1 << 28)  # floats: 4 MiB or 1 GiB
    src = torch.rand(n, device=dev)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    sync()
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        dst.copy_(src)
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * 4 * n / best  # bytes read + written per second


def fp32_rate(dev, sync, tiny):
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    n = 256 if tiny else 8192
    a, b = torch.rand(n, n, device=dev), torch.rand(n, n, device=dev)
    for _ in range(3):
        a @ b
    sync()
    start = time.perf_counter()
    reps = 10
    for _ in range(reps):
        a @ b
    sync()
    return 2 * n ** 3 * reps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    dev = args.device
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    torch.set_num_threads(1)
    out = {"device": dev, "torch": torch.__version__,
           "name": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "models": {}}
    out["copy_bytes_per_s"] = copy_bandwidth(dev, sync, args.tiny)
    out["fp32_flop_per_s"] = fp32_rate(dev, sync, args.tiny)
    print(f"baseline: {out['name']}, torch {out['torch']}: copy {out['copy_bytes_per_s'] / 1e12:.2f} TB/s, "
          f"fp32 {out['fp32_flop_per_s'] / 1e12:.1f} TFLOP/s", flush=True)
    for name, dims in (TINY if args.tiny else SIZES).items():
        torch.manual_seed(0)
        model = mlp(dims).to(dev)
        params = {k: v.detach().requires_grad_(True) for k, v in model.named_parameters()}
        xs = torch.randn(16, 1, dims[0], device=dev)  # rotated, as the Java side's inputs
        calls = 20 if args.tiny else (300 if name == "L" else 1000)
        row = {"dims": dims, "params": sum(p.numel() for p in model.parameters()),
               "plain": timed(lambda i: plain(model, xs[i % 16]), calls, sync),
               "clone": timed(lambda i: clone_step(model, xs[i % 16]), calls // 5 if name == "L" else calls, sync),
               "functional": timed(lambda i: functional_step(model, params, xs[i % 16]), calls, sync)}
        out["models"][name] = row
        print(f"baseline {name}: " + ", ".join(f"{k} {row[k]['median_us']:.1f} us (p99 {row[k]['p99_us']:.1f})"
                                                for k in ("plain", "clone", "functional")), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
