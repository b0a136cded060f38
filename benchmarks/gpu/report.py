"""The table of benchmarks/gpu/gpu-check.sh: refocus's CUDA backend (GpuCheck's rows, timed from Java) beside the
PyTorch baseline of the same run (torch_baseline.py's JSON), with the ratios that issue 10's targets name.

usage: report.py --java rows.tsv --torch baseline.json [--out table.md]
Either input may be missing (a step that failed): its columns then read "-".
"""
import argparse
import json
import os

# FLOP per sample: a plain pass is 2 per weight; an uncertain sample (T = 1, IMPLICIT, every layer adapting) adds
# W^T delta and the second pass, and forms no weight gradient: about 6 per weight.
FLOP_PER_WEIGHT = {"certain": 2, "uncertain": 6}
DIMS = {"S": [32, 64, 64, 3], "M": [256, 1024, 1024, 32], "L": [1024, 4096, 4096, 1000]}


def params(dims):
    return sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(len(dims) - 1))


def read_java(path):
    latency, throughput, agreement = {}, {}, None
    if path and os.path.exists(path):
        for line in open(path):
            f = line.rstrip("\n").split("\t")
            if f[0] == "latency":
                latency[(f[1], f[2])] = (float(f[3]), float(f[4]))
            elif f[0] == "throughput":
                throughput[(f[1], f[2], int(f[3]))] = float(f[4])
            elif f[0] == "agreement":
                agreement = tuple(int(v) for v in f[1:4])
    return latency, throughput, agreement


def us(pair):
    return "-" if pair is None else f"{pair[0]:.1f} / {pair[1]:.1f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt(x, digits=2, suffix=""):
    return "-" if x is None else f"{x:.{digits}f}{suffix}"


def verdict(ok):
    return "-" if ok is None else ("met" if ok else "**missed**")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--java")
    parser.add_argument("--torch")
    parser.add_argument("--out")
    args = parser.parse_args()
    latency, throughput, agreement = read_java(args.java)
    torch = json.load(open(args.torch)) if args.torch and os.path.exists(args.torch) else {"models": {}}
    copy_bw, fp32 = torch.get("copy_bytes_per_s"), torch.get("fp32_flop_per_s")
    models = [m for m in ("S", "M", "L") if any(k[0] == m for k in latency) or m in torch["models"]]

    lines = [f"### refocus CUDA backend vs PyTorch, one run on {torch.get('name', '?')} (torch {torch.get('torch', '?')})",
             "",
             "Batch 1, per sample, µs median / p99. refocus: each call timed from Java (CudaPredictor; uncertain: d = 1, "
             "certain: d = 0; device input: predictDevice). PyTorch: per sample on the same GPU, the answer read back.",
             "",
             "| model | plain | certain | uncertain | uncertain, device input | PyTorch plain | PyTorch clone (paper) "
             "| PyTorch functional |",
             "|---|---|---|---|---|---|---|---|"]
    for m in models:
        t = torch["models"].get(m, {})
        tp = lambda k: (t[k]["median_us"], t[k]["p99_us"]) if k in t else None
        lines.append(f"| {m} | {us(latency.get((m, 'plain')))} | {us(latency.get((m, 'certain')))} | "
                     f"{us(latency.get((m, 'uncertain')))} | {us(latency.get((m, 'uncertain-device')))} | "
                     f"{us(tp('plain'))} | {us(tp('clone'))} | {us(tp('functional'))} |")

    lines += ["", "Targets (issue 10), from the medians:", "",
              "| target | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    row = lambda label, cells: lines.append(f"| {label} | " + " | ".join(cells) + " |")
    med = lambda m, k: latency[(m, k)][0] if (m, k) in latency else None
    cells = []
    for m in models:
        u = med(m, "uncertain")
        if m == "L":
            floor = None if copy_bw is None else 2.5 * 4 * params(DIMS["L"]) / copy_bw * 1e6
            r = ratio(u, floor)
            cells.append(f"{fmt(u, 1)} µs = {fmt(r)}× the floor {fmt(floor, 1)} µs: "
                         f"{verdict(None if r is None else r <= 1.5)}")
        else:
            cells.append(f"{fmt(u, 1)} µs: {verdict(None if u is None else u < 10)}"
                         f"{'' if u is None or u < 10 else ' (bar 25 µs: ' + verdict(u < 25) + ')'}")
    row("uncertain: S, M < 10 µs (bar 25); L ≤ 1.5× its traffic floor (2.5 passes of weight bytes at the "
        "measured copy bandwidth)", cells)
    cells = []
    for m in models:
        r = ratio(med(m, "certain"), med(m, "plain"))
        cells.append(f"{fmt(r)}×: {verdict(None if r is None else r <= 1.2)}")
    row("certain ≤ 1.2× our plain forward", cells)
    cells = []
    for m in models:
        f = torch["models"].get(m, {}).get("functional", {}).get("median_us")
        r = ratio(f, med(m, "uncertain"))
        cells.append(f"{fmt(r, 1)}×: {verdict(None if r is None else r >= 50)}")
    row("≥ 50× faster than PyTorch's functional step (uncertain)", cells)
    cells = []
    for m in models:
        c = torch["models"].get(m, {}).get("clone", {}).get("median_us")
        cells.append(f"{fmt(ratio(c, med(m, 'uncertain')), 1)}×")
    row("(for reference) faster than PyTorch's clone-and-step", cells)

    lines += ["", f"Batched throughput, samples/s of the median call (predict(batch, N), IMPLICIT); against the fp32 "
              f"ceiling measured in this run ({fmt(None if fp32 is None else fp32 / 1e12, 1)} TFLOP/s, TF32 off), "
              f"counting {FLOP_PER_WEIGHT['uncertain']} FLOP per weight for an uncertain sample and "
              f"{FLOP_PER_WEIGHT['certain']} for a certain one:", "",
              "| model | N | uncertain samples/s | % of fp32 ceiling | certain samples/s | % of fp32 ceiling |",
              "|---|---|---|---|---|---|"]
    for m in models:
        for n in (1, 64, 1024):
            cells = []
            for kind in ("uncertain", "certain"):
                s = throughput.get((m, kind, n))
                share = None if s is None or fp32 is None else s * FLOP_PER_WEIGHT[kind] * params(DIMS[m]) / fp32 * 100
                cells += [fmt(s, 0), fmt(share, 2, " %")]
            lines.append(f"| {m} | {n} | " + " | ".join(cells) + " |")
    if agreement is not None:
        lines += ["", f"Java agreement with the CPU step (GpuCheck): {agreement[0]} checks, {agreement[1]} failed, "
                      f"{agreement[2]} samples excused as near-ties."]
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
