#!/usr/bin/env python3
"""sweep_torch.py — bench/sweep.vg's grid of tanh nets in PyTorch.

bench/run.sh starts one of these per core, each with --part K --of N: it
trains the members K, K+N, K+2N … of the grid (8 depths × 8 σw² × 3 seeds,
in the order of vg's run family) in one loop, so Python and torch start
once per process, not once per net. Each member is what vg trains: a tanh
net of 16 units per layer, weights N(0, σw²/fan_in) and zero biases, an
output layer N(0, 1/fan_in); two rings of 1024 points (noise 0.1); plain
SGD (lr 0.02), batch 32 in shuffled epochs, 200 steps; and vg's reports at
the first and last step: a forward and backward pass on a probe batch of
256 training rows and every per-layer metric torch_bench.py's report
computes (the norms of the parameter gradients, the weights and the output
gradient, the output's mean and standard deviation, the saturation and the
update ratio). One thread for the intra- and inter-op pools.

    python3 bench/sweep_torch.py --part K --of N

prints one line per member (its name, initial and final loss and the first
layer's `ratio`, as vg defines it) and, last,

    time: part K of N: M runs, X s wall, Y s cpu
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_bench import Stack, report_pass

DEPTHS = [2, 4, 6, 8, 12, 16, 24, 32]
SW2S = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4]
SEEDS = [1, 2, 3]
WIDTH, POINTS, NOISE, LR, BATCH, STEPS, PROBE = 16, 1024, 0.1, 0.02, 32, 200, 256


def circles(g):
    """Two concentric rings (radius 1 and 0.5), labels by ring."""
    y = torch.arange(POINTS) % 2
    radius = 1.0 - 0.5 * y.float()
    a = 2 * math.pi * torch.rand(POINTS, generator=g)
    x = torch.stack([radius * torch.cos(a), radius * torch.sin(a)], 1)
    return x + NOISE * torch.randn(POINTS, 2, generator=g), y


def member(depth, sw2, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = circles(g)
    net = Stack(2, WIDTH, depth, 2, torch.tanh)
    with torch.no_grad():
        for lin in net.hidden:
            lin.weight.normal_(0, math.sqrt(sw2 / lin.in_features), generator=g)
            lin.bias.zero_()
        net.out.weight.normal_(0, math.sqrt(1 / net.out.in_features), generator=g)
        net.out.bias.zero_()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    probe = torch.randperm(POINTS, generator=g)[:PROBE]
    px, py = x[probe], y[probe]
    before = [p.detach().clone() for p in net.parameters()]

    def report():
        loss, outputs, vals = report_pass(net, px, py, F.cross_entropy, before)
        # vg's `ratio`: the first layer's output gradient over the last's
        ratio = (outputs[0].grad.norm() / outputs[-1].grad.norm()).item()
        return loss.item(), ratio, vals

    initial = report()
    order, at = torch.randperm(POINTS, generator=g), 0
    plain = lambda t, a: t
    for step in range(STEPS):
        if at + BATCH > POINTS:
            order, at = torch.randperm(POINTS, generator=g), 0
        rows = order[at:at + BATCH]
        at += BATCH
        if step == STEPS - 1:
            for b, p in zip(before, net.parameters()):
                b.copy_(p.detach())
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(net(x[rows], plain), y[rows]).backward()
        opt.step()
    final = report()
    return initial, final


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", type=int, default=0)
    ap.add_argument("--of", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    grid = [(d, w, s) for d in DEPTHS for w in SW2S for s in SEEDS]
    mine = grid[a.part::a.of]
    w0, c0 = time.perf_counter(), time.process_time()
    for d, w, s in mine:
        initial, final = member(d, w, s)
        print(f"grid[{d}, {w}, {s}]: loss {initial[0]:.3f} -> {final[0]:.3f}, "
              f"fc[1] ratio {initial[1]:.3g}", flush=True)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"time: part {a.part} of {a.of}: {len(mine)} runs, {wall:.3f} s wall, {cpu:.3f} s cpu")


if __name__ == "__main__":
    main()
