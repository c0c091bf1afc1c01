#!/usr/bin/env python3
"""torch_bench.py — the benchmark models of bench/*.vg in PyTorch.

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


class CNN(nn.Module):
    """Four 3×3 convolutions (padding "same") with relu, 2×2 max-pooling
    after the second and the fourth, then flatten → dense 10."""

    def __init__(self, channels=(1, 16, 16, 32, 32)):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, 3, padding=1) for a, b in zip(channels, channels[1:]))
        self.out = nn.Linear(channels[-1] * 7 * 7, 10)

    def forward(self, x, keep):
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
            x = keep(x, torch.relu)
        return keep(self.out(x.flatten(1)), None)


class Encoder(nn.Module):
    """A Pre-LN Transformer encoder over token ids: embedding + sinusoidal
    positions, blocks h = h + attention(layernorm(h)), h = h +
    ffn(layernorm(h)) with a relu FFN of 4·d, then layernorm → dense to the
    vocabulary at every position."""

    def __init__(self, vocab, length, d, heads, depth):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        t = torch.arange(length).unsqueeze(1)
        freq = torch.pow(10000.0, -torch.arange(0, d, 2) / d)
        pe = torch.zeros(length, d)
        pe[:, 0::2] = torch.sin(t * freq)
        pe[:, 1::2] = torch.cos(t * freq)
        self.register_buffer("pe", pe)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True,
                                       norm_first=True) for _ in range(depth))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, vocab)

    def layers(self):
        return [list(self.embed.parameters())] + [list(b.parameters()) for b in self.blocks] + \
            [list(self.norm.parameters()) + list(self.out.parameters())]

    def forward(self, x, keep):
        h = keep(self.embed(x) + self.pe, None)
        for b in self.blocks:
            h = keep(b(h), torch.relu)
        return keep(self.out(self.norm(h)), None).flatten(0, 1)


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
    elif name == "m6":
        net, batch, shape, classes = CNN(), 64, (1, 28, 28), 10
        opt = lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)
    elif name == "m7":
        net, batch, shape, classes = Encoder(16, 32, 64, 4, 2), 64, "tokens", 16
        opt = lambda p: torch.optim.Adam(p, lr=1e-3)
    else:
        raise SystemExit(f"torch_bench.py: unknown model '{name}' (m1 … m7)")
    if shape == "tokens":   # a class per position: the logits come flattened
        x = torch.randint(0, classes, (batch, 32))
        y = torch.randint(0, classes, (batch * 32,))
        loss = F.cross_entropy
    elif shape is None:
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
    if hasattr(net, "layers"):
        layers = net.layers()
    else:
        layers = [list(m.parameters()) for m in net.modules()
                  if isinstance(m, (nn.Linear, nn.LSTM, nn.Conv2d))]
    for ps in layers:
        g = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in ps))
        w = torch.sqrt(sum((p.detach() ** 2).sum() for p in ps))
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
