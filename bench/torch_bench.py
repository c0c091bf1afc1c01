#!/usr/bin/env python3
"""torch_bench.py — the five benchmark models of bench/*.vg in PyTorch.

bench/run.sh runs this (only when python3-torch is installed) beside vg, one
model per process, and reads its one line of output:

    time: MODEL: STEPS steps, X ms/step wall, Y ms/step cpu

Same networks, batch sizes, float32 and optimizers as the .vg files; inputs
N(0, 1) with random labels (the issue's reference set-up). One thread for
the intra- and inter-op pools. `--report` adds, before every step, what a vg
report does: a forward and backward pass on a fixed probe batch of the same
size as the training batch (the .vg files set `probe` to the batch), then
per layer the norms of the parameter gradients, the weights and the output
gradient, the output mean and standard deviation, the saturation of sigmoid
and tanh units and the dead relu units, and the update ratio. Like vg's
`--time`, the timing starts after warm-up steps and leaves start-up out.

    python3 bench/torch_bench.py MODEL STEPS [--report] [--threads N]
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Stack(nn.Module):
    """Dense layers, each followed by an activation; the last one linear."""

    def __init__(self, n_in, width, depth, n_out, act):
        super().__init__()
        dims = [n_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.out = nn.Linear(width, n_out)
        self.act = act

    def forward(self, x, keep):
        for lin in self.hidden:
            x = keep(self.act(lin(x)), self.act)
        return keep(self.out(x), None)


class ResMLP(nn.Module):
    """He et al. 2016 residual blocks: h = relu(h + W2·relu(W1·h))."""

    def __init__(self, n_in, width, depth, n_out):
        super().__init__()
        self.stem = nn.Linear(n_in, width)
        self.blocks = nn.ModuleList(
            nn.ModuleList([nn.Linear(width, width), nn.Linear(width, width)]) for _ in range(depth))
        self.out = nn.Linear(width, n_out)

    def forward(self, x, keep):
        h = keep(torch.relu(self.stem(x)), torch.relu)
        for a, b in self.blocks:
            h = keep(torch.relu(h + b(torch.relu(a(h)))), torch.relu)
        return keep(self.out(h), None)


class LSTMLast(nn.Module):
    """lstm(2 → 128) over the sequence, its last state → dense 1."""

    def __init__(self, n_in, units):
        super().__init__()
        self.lstm = nn.LSTM(n_in, units)
        self.out = nn.Linear(units, 1)

    def forward(self, x, keep):
        seq, _ = self.lstm(x)            # x: [time, batch, features]
        h = keep(seq[-1], None)
        return keep(self.out(h), None)


def make(name):
    """(model, batch, make inputs, make targets, loss, optimizer factory)."""
    if name == "m1":
        net, batch, shape, classes = Stack(32, 256, 16, 10, torch.sigmoid), 128, (32,), 10
        opt = lambda p: torch.optim.SGD(p, lr=0.1)
    elif name == "m2":
        net, batch, shape, classes = ResMLP(32, 256, 16, 10), 128, (32,), 10
        opt = lambda p: torch.optim.SGD(p, lr=0.05)
    elif name == "m3":
        net, batch, shape, classes = LSTMLast(2, 128), 32, None, 0
        opt = lambda p: torch.optim.Adam(p, lr=1e-3)
    elif name == "m4":
        net, batch, shape, classes = Stack(1024, 1024, 4, 10, torch.relu), 256, (1024,), 10
        opt = lambda p: torch.optim.SGD(p, lr=0.01)
    elif name == "m5":
        net, batch, shape, classes = Stack(2, 16, 8, 2, torch.tanh), 32, (2,), 2
        opt = lambda p: torch.optim.SGD(p, lr=0.1)
    else:
        raise SystemExit(f"torch_bench.py: unknown model '{name}' (m1 … m5)")
    if shape is None:
        x = torch.randn(100, batch, 2)
        y = torch.randn(batch, 1)
        loss = F.mse_loss
    else:
        x = torch.randn(batch, *shape)
        y = torch.randint(0, classes, (batch,))
        loss = F.cross_entropy
    return net, x, y, loss, opt(net.parameters())


def layer_report(net, outputs, acts, before):
    """vg's per-layer metrics, read back as Python floats as a report would."""
    vals = []
    layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.LSTM))]
    for m in layers:
        g = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in m.parameters()))
        w = torch.sqrt(sum((p.detach() ** 2).sum() for p in m.parameters()))
        vals += [g.item(), w.item()]
    for i, (out, act) in enumerate(zip(outputs, acts)):
        o = out.detach()
        vals += [out.grad.norm().item(), o.mean().item(), o.std().item()]
        if act is torch.sigmoid:
            vals.append((o * (1 - o) < 0.0025).float().mean().item())
        elif act is torch.tanh:
            vals.append((1 - o * o < 0.01).float().mean().item())
        elif act is torch.relu:
            vals.append((o == 0).all(dim=0).float().mean().item())
    for p, old in zip(net.parameters(), before):
        vals.append(((p.detach() - old).norm() / p.detach().norm()).item())
    return vals


def step(net, x, y, loss, opt):
    opt.zero_grad(set_to_none=False)
    loss(net(x, lambda t, a: t), y).backward()
    opt.step()


def report_pass(net, px, py, loss, before):
    """A report's forward and backward pass on the probe rows: the loss,
    every layer's output (with its gradient kept) and the layer metrics."""
    outputs, acts = [], []

    def keep(t, act):
        t.retain_grad()
        outputs.append(t)
        acts.append(act)
        return t

    net.zero_grad(set_to_none=False)
    value = loss(net(px, keep), py)
    value.backward()
    return value, outputs, layer_report(net, outputs, acts, before)


def report(net, px, py, loss, before):
    return report_pass(net, px, py, loss, before)[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("steps", type=int)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    torch.manual_seed(1)
    net, x, y, loss, opt = make(a.model)
    px, py = x.clone(), y.clone()   # the fixed probe batch
    before = [p.detach().clone() for p in net.parameters()]
    for _ in range(5):              # warm-up: allocator and kernels
        step(net, x, y, loss, opt)
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        if a.report:
            report(net, px, py, loss, before)
            for b, p in zip(before, net.parameters()):
                b.copy_(p.detach())
        step(net, x, y, loss, opt)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"time: {a.model}: {a.steps} steps, {1e3 * wall / a.steps:.4f} ms/step wall, "
          f"{1e3 * cpu / a.steps:.4f} ms/step cpu, {rss} KB peak")


if __name__ == "__main__":
    main()
