#!/usr/bin/env python3
"""check.py — vg's report metrics against PyTorch's, on vg's own weights.

    python3 tests/torch/check.py path/to/vg        (T=PATTERN: those models)

For each model of tests/torch/NAME.vg (CASES below): write its data set
beside a copy of the file, train it with vg (`--save` the parameters,
`--json` the report), then rebuild the network in PyTorch, functionally,
from the saved parameters, run the probe batch forward and backward in
float64 and recompute the final report's metrics, which vg measured on
exactly those parameters. Each .vg sets `probe = all` and no test split,
so the probe batch is every row of the data set, and every metric compared
is invariant to the order vg drew the rows in. The data: a CSV written
here from a fixed seed (`csv(…, shape = …)` for images), or for sequences
vg's own `adding` and `reverse_tokens` generators, rebuilt here from their
definitions (Rng, adding and reverse_tokens below mirror src/rng.c and
src/data.c).

Compared, per layer, wherever vg's report defines them (a metric PyTorch
finds undefined must be null in vg's JSON, and the other way round):
grad_norm, weight_norm, act_grad_norm, act_mean, act_std, ratio,
predicted, saturation, dead (per feature of a sequence, per channel of a
convolution), bptt
(every step), bptt_ratio, the lstm's and gru's gate means and
saturations, cell_saturation, attention_entropy; per run, loss and
accuracy; not the verdict, a function of these. update_ratio needs the
parameters before the last step, which vg does not save, so a second test
trains each model for one step of sgd on every row from its initial
parameters (a `--save` at `steps = 0`), and checks the parameters after
it against θ − lr·∇L from PyTorch's gradient, and update_ratio against
them.
The recurrent cells are written out here step by step (bptt needs every
h_t's total gradient) and checked against torch.nn.LSTM, GRU and RNN;
convolutions, pooling, normalisation, attention and embeddings are
PyTorch's own functions.

Tolerances (vg computes in float32, the reference in float64): values
agree to a relative RTOL = 2e-5 (act_mean to RTOL·(|mean| + std), as a
mean near 0 has no relative precision); fractions (saturation, dead,
accuracy) to one entry, since a float32 value next to a threshold may fall
on either side of it. The differences measured on these models stay below
3e-6 (the worst is printed per model); act_std computed with n − 1 in
place of n, 1e-4 off, fails every model. Every model is then checked a
second time with each metric vg reported moved by 3× its tolerance, one
at a time, and every one of those must be caught: the comparison can
fail.
"""
import fnmatch
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
RTOL = 2e-5
FRACTIONS = {"saturation", "dead", "input_gate_saturation", "forget_gate_saturation",
             "output_gate_saturation", "cell_saturation", "update_gate_saturation",
             "reset_gate_saturation"}
VALUES = ["grad_norm", "weight_norm", "act_grad_norm", "act_mean", "act_std", "ratio",
          "predicted", "bptt_ratio", "input_gate", "forget_gate", "output_gate", "update_gate",
          "reset_gate", "attention_entropy"] + sorted(FRACTIONS)


# ---- vg's files ----

def read_safetensors(path):
    """name → float64 tensor, in the file's order (docs/language.md)."""
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        s, e = t["data_offsets"]
        v = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=torch.float32)
        out[name] = v.reshape(t["shape"]).double()
    return out


def trainable_params(vg, path):
    """The parameters `vg ir` lists, name → trainable."""
    text = subprocess.run([vg, "ir", path], check=True, capture_output=True, text=True).stdout
    params = text.split("\nparameters:\n", 1)[1]
    return {line.split()[0]: not line.endswith("(not trained)")
            for line in params.splitlines() if line.strip()}


def final_report(path):
    """The run's header entry and its last report from `vg run --json`."""
    header, last = None, None
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "header":
                header = rec["runs"][0]
            elif rec["type"] == "report":
                last = rec
    return header, last


# ---- the data sets ----

def write_csv(path, x, y):
    """Rows of x (flattened per example) and the target column `y`; repr
    of a float32's double is exact, so vg reads the same float32."""
    x = x.reshape(x.shape[0], -1).float()
    with open(path, "w") as f:
        f.write(",".join([f"x{i}" for i in range(x.shape[1])] + ["y"]) + "\n")
        for row, t in zip(x.tolist(), y.tolist()):
            f.write(",".join(repr(v) for v in row) + "," + repr(t) + "\n")


def classes(rows, features, k, scale=1.0):
    """rows × features N(0, scale²) inputs with labels from a random linear
    rule, so training has something to learn."""
    g = torch.Generator().manual_seed(7)
    x = (scale * torch.randn(rows, features, generator=g)).float()
    w = torch.randn(features, k, generator=g)
    return x, (x.double() @ w).argmax(1)


def regression(rows, features):
    g = torch.Generator().manual_seed(8)
    x = torch.randn(rows, features, generator=g).float()
    y = torch.sin(x.double() @ torch.randn(features, generator=g)).float()
    return x, y


class Rng:
    """vg's generator (src/rng.c): xoshiro256** seeded by splitmix64."""
    M = (1 << 64) - 1

    def __init__(self, seed, stream):
        x = seed ^ ((stream * 0xd1b54a32d192ed03) & self.M)
        x, s = self.splitmix(x)
        self.s = []
        for _ in range(4):
            s, v = self.splitmix(s)
            self.s.append(v)

    @classmethod
    def splitmix(cls, x):
        x = (x + 0x9e3779b97f4a7c15) & cls.M
        z = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & cls.M
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & cls.M
        return x, z ^ (z >> 31)

    def next(self):
        s, M = self.s, self.M
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def below(self, n):
        limit = self.M - self.M % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


def reverse_tokens(length, vocab, points, seed):
    """vg's reverse_tokens(length, vocab, points) data set: uniform ids, and
    as the class at position t the input's token at length − 1 − t."""
    r = Rng(seed, 1)
    x = torch.tensor([[r.below(vocab) for _ in range(length)] for _ in range(points)])
    return x.double(), x.flip(1)


def adding(length, points, seed):
    """vg's adding(length, points) data set (src/data.c, stream RNG_DATA = 1)."""
    r = Rng(seed, 1)
    x = torch.zeros(points, length, 2, dtype=torch.float32)
    y = torch.zeros(points, 1, dtype=torch.float32)
    half = length // 2
    for i in range(points):
        for t in range(length):
            x[i, t, 0] = r.uniform()
        a = r.below(half)
        b = half + r.below(length - half)
        x[i, a, 1] = x[i, b, 1] = 1
        y[i, 0] = x[i, a, 0] + x[i, b, 0]       # a float32 sum, as vg's
    return x, y


# ---- the reference: vg's metrics, computed with PyTorch ----

def fraction(count, total):
    return {"count": count, "total": total}


class Probe:
    """What the forward pass of a model records for the report: each
    layer's output, its activations' entries, its recurrent parts, and
    whether it is a link of the dense chain `predicted` describes."""

    def __init__(self, params):
        self.P = params
        self.layers = {}

    def layer(self, name):
        return self.layers.setdefault(name, {"sat": [], "relu": [], "parts": {}, "chain": None,
                                             "conv": False})

    def out(self, name, h):
        h.retain_grad()
        self.layer(name)["out"] = h
        return h

    def dense(self, name, x, k=""):
        return x @ self.P[f"{name}.W{k}"] + self.P[f"{name}.b{k}"]

    def act(self, name, fn, z):
        """An activation of docs/language.md's table: saturation counts
        entries whose φ′ is below 1% of sup φ′, dead the units (entries of
        one example) that are 0 for every example."""
        y = fn(z)
        d = y.detach()
        if fn is torch.sigmoid:
            self.layer(name)["sat"].append(d * (1 - d) < 0.01 * 0.25)
        elif fn is torch.tanh:
            self.layer(name)["sat"].append(1 - d * d < 0.01)
        elif fn is torch.relu:
            self.layer(name)["relu"].append(d)
        return y

    def chain(self, name, z, fn=None):
        """The layer is one dense (weights W [F, units]) of the previous
        layer's output, then fn: its factor σw²·E[φ′(z)²], σw² =
        fan_in·Var(W). (A convolution's layer cannot be reached by the
        chain here: a dense reads no [C, H, W] and no flatten is a link.)"""
        W = self.P[f"{name}.W"]
        sw2 = W.shape[0] * W.var(unbiased=False).item()
        ephi = 1.0
        if fn is not None:
            zz = z.detach().clone().requires_grad_(True)
            (g,) = torch.autograd.grad(fn(zz).sum(), zz)
            ephi = (g * g).mean().item()
        self.layer(name)["chain"] = sw2 * ephi

    def conv2d(self, name, x, k, stride=1, padding="same"):
        """vg's conv2d on [B, C, H, W]: W [C', C·k·k] is PyTorch's
        [C', C, k, k]; "same" puts ⌊(k − 1)/2⌋ of its k − 1 zeros first."""
        self.layer(name)["conv"] = True
        W = self.P[f"{name}.W"]
        before, after = pads(k, padding)
        x = F.pad(x, (before, after, before, after))
        return F.conv2d(x, W.reshape(W.shape[0], x.shape[1], k, k), self.P[f"{name}.b"], stride)

    def conv1d(self, name, x, k, stride=1, padding="same"):
        """vg's conv1d on [B, T, F]: W [C', k·F] in (step, feature) order
        is PyTorch's Conv1d weight W.view(C', k, F).transpose(1, 2)."""
        self.layer(name)["conv"] = True
        W = self.P[f"{name}.W"]
        before, after = pads(k, padding)
        x = F.pad(x.transpose(1, 2), (before, after))
        w = W.reshape(W.shape[0], k, x.shape[1]).transpose(1, 2)
        return F.conv1d(x, w, self.P[f"{name}.b"], stride).transpose(1, 2)

    def attention(self, name, x, heads, causal=False):
        """vg's attention on [B, T, d] through PyTorch's multi-head
        attention (its projections x·W + b are Linear's with weight Wᵀ);
        the weights' entropy −Σ p ln p per (example, head, query) row."""
        P = self.P
        T, d = x.shape[1], x.shape[2]
        mask = torch.triu(torch.full((T, T), float("-inf")), 1) if causal else None
        xs = x.transpose(0, 1)
        y, w = F.multi_head_attention_forward(
            xs, xs, xs, d, heads,
            torch.cat([P[f"{name}.W_{p}"].T for p in "qkv"]),
            torch.cat([P[f"{name}.b_{p}"] for p in "qkv"]), None, None, False, 0.0,
            P[f"{name}.W_o"].T, P[f"{name}.b_o"], training=True, need_weights=True,
            attn_mask=mask, average_attn_weights=False)
        self.parts(name, "attention_entropy", torch.special.entr(w).sum(-1))
        return y.transpose(0, 1)

    def parts(self, name, part, value):
        self.layer(name)["parts"].setdefault(part, []).append(value.detach())

    def recurrent(self, kind, name, x, units):
        """vg's rnn (tanh), lstm or gru on [B, T, F] (docs/language.md), step
        by step so that each h_t's total gradient (bptt) is kept; checked
        against torch.nn.RNN, LSTM or GRU given the same weights."""
        P = self.P
        W_ih, W_hh = P[f"{name}.W_ih"], P[f"{name}.W_hh"]
        if kind == "rnn":
            b = P[f"{name}.b"]
        else:
            b = torch.cat([P[f"{name}.b_{g}"] for g in ("ifgo" if kind == "lstm" else "rzn")])
        h = c = x.new_zeros(x.shape[0], units)
        hs = []
        for t in range(x.shape[1]):
            xw, hw = x[:, t] @ W_ih + b, h @ W_hh
            if kind == "rnn":
                h = self.act(name, torch.tanh, xw + hw)
            elif kind == "lstm":
                i, f, g, o = (xw + hw).split(units, dim=1)
                i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
                c = f * c + i * g
                tc = torch.tanh(c)
                h = o * tc
                for part, v in (("input_gate", i), ("forget_gate", f), ("output_gate", o),
                                ("cell", tc)):
                    self.parts(name, part, v)
            else:
                (xr, xz, xn), (hr, hz, hn) = xw.split(units, dim=1), hw.split(units, dim=1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * (hn + P[f"{name}.b_hn"]))
                h = (1 - z) * n + z * h
                self.parts(name, "reset_gate", r)
                self.parts(name, "update_gate", z)
            h.retain_grad()
            hs.append(h)
        seq = torch.stack(hs, 1)
        ref = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
            x.shape[2], units, batch_first=True)
        with torch.no_grad():
            ref.weight_ih_l0.copy_(W_ih.T)
            ref.weight_hh_l0.copy_(W_hh.T)
            ref.bias_ih_l0.copy_(b)
            ref.bias_hh_l0.zero_()
            if kind == "gru":
                ref.bias_hh_l0[2 * units:] = P[f"{name}.b_hn"]
            theirs = ref(x.detach())[0]
        if not torch.allclose(seq.detach(), theirs, rtol=1e-10, atol=1e-12):
            raise AssertionError(f"{name}: the cell here differs from torch.nn.{type(ref).__name__}")
        self.layer(name)["bptt"] = hs
        return seq


def pads(k, padding):
    """The zeros before and after an axis (docs/language.md, Convolutions)."""
    if padding == "same":
        return (k - 1) // 2, k - 1 - (k - 1) // 2
    if padding == "valid":
        return 0, 0
    return padding, padding


def max_pool(x, k):
    """vg's max_pool: 2-D on [B, C, H, W], 1-D over time on [B, T, F]."""
    if x.dim() == 4:
        return F.max_pool2d(x, k)
    return F.max_pool1d(x.transpose(1, 2), k).transpose(1, 2)


def avg_pool(x, k):
    if x.dim() == 4:
        return F.avg_pool2d(x, k)
    return F.avg_pool1d(x.transpose(1, 2), k).transpose(1, 2)


def dead_units(a, conv):
    """(dead, units) of a relu's output a [B, …]: a unit is a feature of a
    sequence [B, T, F] over every step (docs/report.md), a channel of a
    convolution's map [B, C, H, W] over every position, and elsewhere an
    entry of an example."""
    if a.dim() == 3:
        a = a.reshape(-1, a.shape[2])
    elif conv and a.dim() == 4:
        a = a.transpose(0, 1).reshape(a.shape[1], -1).T
    else:
        a = a.reshape(a.shape[0], -1)
    return int((a == 0).all(0).sum()), a.shape[1]


def saturated(name, v):
    """The saturation of a gate (σ′ below 1% of ¼) or of tanh(c)."""
    return (1 - v * v < 0.01) if name == "cell" else (v * (1 - v) < 0.0025)


def reference(case, params, trainable, layers, x, y):
    """The metrics of every layer and the run's loss and accuracy."""
    P = {k: v.clone().requires_grad_(trainable[k]) for k, v in params.items()}
    m = Probe(P)
    logits = case["forward"](m, x)
    if case["loss"] == "cross_entropy":     # a class per example, or per position
        logits, y = logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
        loss = F.cross_entropy(logits, y)
        acc = fraction(int((logits.argmax(1) == y).sum()), len(y))
    else:
        loss = F.mse_loss(logits, y)
        acc = None
    loss.backward()
    out = {"loss": loss.item(), "accuracy": acc, "layers": {}, "grads": {k: P[k].grad for k in P
                                                                       if trainable[k]}}
    top = m.layers[layers[-1]]["out"].grad.norm().item()
    prod, below_chain = 1.0, False
    for li in range(len(layers) - 1, -1, -1):
        name = layers[li]
        L = m.layers[name]
        h = L["out"]
        mine = [k for k in P if k.rsplit(".", 1)[0] == name and trainable[k]]
        r = {}
        r["grad_norm"] = math.sqrt(sum((P[k].grad ** 2).sum().item() for k in mine)) if mine else None
        r["weight_norm"] = math.sqrt(sum((P[k] ** 2).sum().item() for k in mine)) if mine else None
        hv = h.detach()
        r["act_mean"] = hv.mean().item()
        r["act_std"] = hv.std(unbiased=False).item()
        r["act_grad_norm"] = h.grad.norm().item()
        r["ratio"] = r["act_grad_norm"] / top if top else None
        r["predicted"] = None if below_chain else math.sqrt(prod)
        if li > 0:
            if L["chain"] is None:
                below_chain = True
            else:
                prod *= L["chain"]
        sat = L["sat"]
        total = sum(s.numel() for s in sat)
        r["saturation"] = fraction(int(sum(s.sum().item() for s in sat)), total) if total else None
        if L["relu"]:
            counts = [dead_units(a, L["conv"]) for a in L["relu"]]
            r["dead"] = fraction(sum(c[0] for c in counts), sum(c[1] for c in counts))
        else:
            r["dead"] = None
        ent = L["parts"].get("attention_entropy")
        r["attention_entropy"] = torch.cat([e.flatten() for e in ent]).mean().item() if ent else None
        for part in ("input_gate", "forget_gate", "output_gate", "update_gate", "reset_gate",
                     "cell"):
            vs = L["parts"].get(part)
            key = "cell_saturation" if part == "cell" else part + "_saturation"
            if part != "cell":
                r[part] = torch.cat([v.flatten() for v in vs]).mean().item() if vs else None
            r[key] = (fraction(int(sum(saturated(part, v).sum().item() for v in vs)),
                               sum(v.numel() for v in vs)) if vs else None)
        if "bptt" in L:
            r["bptt"] = [t.grad.norm().item() for t in L["bptt"]]
            r["bptt_ratio"] = r["bptt"][0] / r["bptt"][-1] if r["bptt"][-1] else None
        else:
            r["bptt"] = r["bptt_ratio"] = None
        out["layers"][name] = r
    return out


# ---- the comparison ----

def compare(vg_report, ref):
    """Mismatches as text, and the worst relative difference of a value."""
    bad, worst = [], (0.0, "-")

    def value(where, got, want, scale=None):
        nonlocal worst
        if want is None or got is None:
            if (want is None) != (got is None):
                bad.append(f"{where}: vg {got}, PyTorch {want}")
            return
        tol = RTOL * (scale if scale is not None else abs(want))
        diff = abs(got - want)
        rel = diff / (scale if scale is not None else abs(want)) if want or scale else diff
        if rel > worst[0]:
            worst = (rel, where)
        if not diff <= tol:
            bad.append(f"{where}: vg {got:.9g}, PyTorch {want:.9g} (difference {diff:.3g}, "
                       f"tolerance {tol:.3g})")

    def frac(where, got, want):
        if want is None or got is None:
            if (want is None) != (got is None):
                bad.append(f"{where}: vg {got}, PyTorch {want}")
            return
        w = want["count"] / want["total"]
        if not abs(got - w) <= 1 / want["total"] + 1e-12:
            bad.append(f"{where}: vg {got:.9g}, PyTorch {w:.9g} ({want['count']} of "
                       f"{want['total']}; tolerance one entry)")

    value("loss", vg_report["loss"], ref["loss"])
    frac("accuracy", vg_report["accuracy"], ref["accuracy"])
    for lm in vg_report["layers"]:
        name = lm["layer"]
        r = ref["layers"][name]
        for key in VALUES:
            where = f"{name}.{key}"
            if key in FRACTIONS:
                frac(where, lm.get(key), r[key])
            elif key == "act_mean":
                value(where, lm[key], r[key], abs(r[key]) + r["act_std"])
            else:
                value(where, lm.get(key), r[key])
        if (lm["bptt"] is None) != (r["bptt"] is None) or (
                r["bptt"] is not None and len(lm["bptt"]) != len(r["bptt"])):
            bad.append(f"{name}.bptt: vg {lm['bptt']}, PyTorch {r['bptt']}")
        elif r["bptt"] is not None:
            for t, (got, want) in enumerate(zip(lm["bptt"], r["bptt"])):
                value(f"{name}.bptt[{t + 1}]", got, want)
    return bad, worst


def perturbations(vg_report, ref):
    """Copies of the report, each with one compared value moved by 3× its
    tolerance: (what was moved, the copy)."""
    for i, lm in enumerate(vg_report["layers"]):
        r = ref["layers"][lm["layer"]]
        for key in VALUES + ["bptt"]:
            v, want = lm.get(key), r[key]
            if v is None:
                continue
            if key == "bptt":
                v, want = v[0], want[0]
            if key in FRACTIONS:
                step = 3 / want["total"]
                v = v + step if v + step <= 1 else v - step
            elif key == "act_mean":
                v += 3 * RTOL * (abs(want) + r["act_std"])
            else:
                v = v * (1 + 3 * RTOL) if v else 1e-3
            copy = json.loads(json.dumps(vg_report))
            if key == "bptt":
                copy["layers"][i][key][0] = v
            else:
                copy["layers"][i][key] = v
            yield f"{lm['layer']}.{key}", copy


# ---- the models (tests/torch/NAME.vg) ----

def dense_act(m, name, x, fn=None):
    """A link of the `predicted` chain: one dense of the previous layer's
    output, then the activation fn (or none)."""
    z = m.dense(name, x)
    m.chain(name, z, fn)
    return m.out(name, z if fn is None else m.act(name, fn, z))


def mlp_forward(m, x):
    h = dense_act(m, "fc[1]", x, torch.sigmoid)
    h = dense_act(m, "fc[2]", h, torch.relu)
    h = dense_act(m, "fc[3]", h, torch.tanh)
    return dense_act(m, "out", h)


def residual_forward(m, x):
    h = dense_act(m, "stem", x, torch.relu)
    inner = m.act("block", torch.relu, m.dense("block", h))
    h = m.out("block", m.act("block", torch.relu, h + m.dense("block", inner, "2")))
    P = m.P
    bn = F.batch_norm(m.dense("bn", h), None, None, P["bn.gamma"], P["bn.beta"], training=True,
                      eps=1e-5)
    h = m.out("bn", m.act("bn", torch.relu, bn))
    t = m.act("ln", torch.tanh, m.dense("ln", h))
    h = m.out("ln", F.layer_norm(t, (t.shape[-1],), P["ln.gamma"], P["ln.beta"], eps=1e-5))
    return dense_act(m, "out", h)


def recurrent_forward(m, x):
    h = m.out("lstm", m.recurrent("lstm", "lstm", x, 8))
    h = m.out("gru", m.recurrent("gru", "gru", h, 8))
    h = m.out("rnn", m.recurrent("rnn", "rnn", h, 8))
    return m.out("out", m.dense("out", h[:, -1]))


def attention_forward(m, x):
    h = m.out("embed", m.dense("embed", x))
    P = m.P
    a = m.attention("att[1]", F.layer_norm(h, (8,), P["att[1].gamma"], P["att[1].beta"]), 2)
    h = m.out("att[1]", h + a)
    z = m.act("ffn", torch.relu, m.dense("ffn", F.layer_norm(h, (8,), P["ffn.gamma"], P["ffn.beta"])))
    h = m.out("ffn", h + m.dense("ffn", z, "2"))
    h = h + m.attention("att[2]", h, 4, causal=True)
    h = m.out("att[2]", F.layer_norm(h, (8,), P["att[2].gamma"], P["att[2].beta"]))
    return m.out("out", m.dense("out", h[:, -1]))


def cnn_forward(m, x):
    h = m.out("conv[1]", m.act("conv[1]", torch.relu, m.conv2d("conv[1]", x, 3)))
    P = m.P
    z = F.batch_norm(m.conv2d("conv[2]", h, 3), None, None, P["conv[2].gamma"], P["conv[2].beta"],
                     training=True)
    h = m.out("conv[2]", max_pool(m.act("conv[2]", torch.relu, z), 2))
    z = m.conv2d("conv[3]", h, 3, stride=2, padding=1)
    h = m.out("conv[3]", m.act("conv[3]", torch.sigmoid, z))
    z = m.act("conv[4]", torch.relu, m.conv2d("conv[4]", h, 1))
    h = m.out("conv[4]", avg_pool(z, 2).flatten(1))
    return dense_act(m, "out", h)


def conv1d_forward(m, x):
    h = m.out("c[1]", m.act("c[1]", torch.relu, m.conv1d("c[1]", x, 3)))
    z = m.act("c[2]", torch.tanh, m.conv1d("c[2]", h, 3, stride=2, padding="valid"))
    h = m.out("c[2]", max_pool(z, 2))
    return m.out("out", m.dense("out", h.mean(1)))


def tokens_forward(m, x):
    P = m.P
    T, d = x.shape[1], P["embed.E"].shape[1]
    t = torch.arange(T).unsqueeze(1)
    i = torch.arange(0, d, 2)
    pe = torch.zeros(T, d)
    pe[:, 0::2] = torch.sin(t / 10000 ** (i / d))
    pe[:, 1::2] = torch.cos(t / 10000 ** (i / d))
    h = m.out("embed", F.embedding(x.long(), P["embed.E"]) + pe + P["embed.P"])
    a = m.attention("block", F.layer_norm(h, (d,), P["block.gamma"], P["block.beta"]), 2,
                    causal=True)
    h = m.out("block", h + a)
    return m.out("out", m.dense("out", F.layer_norm(h, (d,), P["out.gamma"], P["out.beta"])))


CASES = {
    "mlp": {"data": lambda: classes(96, 6, 3, scale=2.0), "loss": "cross_entropy",
            "forward": mlp_forward},
    "residual": {"data": lambda: regression(64, 6), "loss": "mse", "forward": residual_forward},
    "recurrent": {"adding": (10, 64, 3), "loss": "mse", "forward": recurrent_forward},
    "attention": {"adding": (10, 64, 4), "loss": "mse", "forward": attention_forward},
    "cnn": {"data": lambda: classes(96, 64, 3), "shape": (1, 8, 8), "loss": "cross_entropy",
            "forward": cnn_forward},
    "conv1d": {"adding": (12, 64, 6), "loss": "mse", "forward": conv1d_forward},
    "tokens": {"reverse_tokens": (8, 6, 64, 7), "loss": "cross_entropy",
               "forward": tokens_forward},
}


def vg_run(vg, src, *args):
    """Runs `vg run SRC ARGS…` on one thread: None, or the failure as lines."""
    done = subprocess.run([vg, "run", src, "--quiet", "--threads", "1", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode == 0:
        return None
    return ([f"vg run exited with {done.returncode}:"] +
            ["    " + line for line in done.stderr.rstrip().splitlines()])


def run_case(vg, name, case, tmp):
    """The model trained: its final report against PyTorch's (problems,
    worst difference, perturbations not caught), then one step of
    full-batch SGD from its initial parameters (problems)."""
    src = os.path.join(tmp, name + ".vg")
    shutil.copy(os.path.join(HERE, name + ".vg"), src)
    if "adding" in case:
        x, y = adding(*case["adding"])
    elif "reverse_tokens" in case:
        x, y = reverse_tokens(*case["reverse_tokens"])
    else:
        x, y = case["data"]()
        write_csv(os.path.join(tmp, name + ".csv"), x, y)
        x = x.reshape(len(x), *case.get("shape", x.shape[1:]))
    if case["loss"] == "mse":
        y = y.reshape(len(y), -1)
    x, y = x.double(), y.double() if case["loss"] == "mse" else y
    trainable = trainable_params(vg, src)
    save, js = os.path.join(tmp, name + ".safetensors"), os.path.join(tmp, name + ".jsonl")
    failure = vg_run(vg, src, "--save", save, "--json", js)
    if failure:
        return failure, None, [], []
    header, rep = final_report(js)
    if header["probe_rows"] != len(x):
        return [f"the probe has {header['probe_rows']} rows, the data {len(x)}"], None, [], []
    ref = reference(case, read_safetensors(save), trainable, header["layers"], x, y)
    bad, worst = compare(rep, ref)
    missed = [what for what, copy in perturbations(rep, ref) if not compare(copy, ref)[0]]
    return bad, worst, missed, sgd_step(vg, src, case, trainable, x, y, tmp)


def sgd_step(vg, src, case, trainable, x, y, tmp):
    """One step of sgd(lr = 1) on every row (so the batch is the probe):
    vg's parameters after it must be θ − lr·∇L(θ) from PyTorch's gradient
    at vg's initial θ, to float32 rounding plus RTOL of the layer's largest
    update (a gradient that is 0 in exact arithmetic, as a bias before
    batchnorm or attention's b_k has, is a rounding error in float32), and
    each layer's update_ratio must be ‖θ′ − θ‖ / ‖θ′‖ of the parameters vg
    saved (the step as stored in float32, as vg measures it)."""
    lr = 1.0
    init, after, js = (os.path.join(tmp, f) for f in ("init.safetensors", "after.safetensors",
                                                      "step.jsonl"))
    common = ["--set", f"batch={len(x)}", "--set", f"optimizer=sgd(lr = {lr})"]
    failure = (vg_run(vg, src, *common, "--set", "steps=0", "--save", init) or
               vg_run(vg, src, *common, "--set", "steps=1", "--save", after, "--json", js))
    if failure:
        return failure
    header, rep = final_report(js)
    theta0, theta1 = read_safetensors(init), read_safetensors(after)
    grads = reference(case, theta0, trainable, header["layers"], x, y)["grads"]
    bad, update_sq, largest = [], {}, {}
    for k, g in grads.items():
        layer = k.rsplit(".", 1)[0]
        update_sq[layer] = update_sq.get(layer, 0.0) + ((theta1[k] - theta0[k]) ** 2).sum().item()
        largest[layer] = max(largest.get(layer, 0.0), (lr * g).abs().max().item())
    for k, g in grads.items():
        want = theta0[k] - lr * g
        err = (theta1[k] - want).abs() - 2.0 ** -23 * want.abs() - RTOL * largest[k.rsplit(".", 1)[0]]
        if err.max() > 0:
            bad.append(f"{k} after the step: off by up to {err.max().item():.3g} beyond "
                       f"float32 rounding and RTOL of the layer's largest update")
    for lm in rep["layers"]:
        name = lm["layer"]
        if name not in update_sq:
            continue
        w = math.sqrt(sum((theta1[k] ** 2).sum().item() for k in grads
                          if k.rsplit(".", 1)[0] == name))
        want = math.sqrt(update_sq[name]) / w
        if not abs(lm["update_ratio"] - want) <= RTOL * want:
            bad.append(f"{name}.update_ratio: vg {lm['update_ratio']:.9g}, PyTorch {want:.9g}")
    return bad


def main():
    vg = os.path.abspath(sys.argv[1])
    pattern = os.environ.get("T") or "*"
    counts = {"passed": 0, "failed": 0}

    def tally(name, problems, what):
        """Counts one check; a failing one prints what and its problems."""
        counts["failed" if problems else "passed"] += 1
        if problems:
            print(f"torch: FAIL: {name}: {what}")
            for line in problems:
                print("    " + line)
        return not problems

    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            bad, worst, missed, step = run_case(vg, name, case, tmp)
            if tally(name, bad, "vg and PyTorch disagree"):
                print(f"torch: {name}: the metrics agree with PyTorch's; worst relative "
                      f"difference {worst[0]:.1e} ({worst[1]})")
            if worst is None:
                continue
            tally(name, missed and [", ".join(missed)],
                  "a value moved by 3× its tolerance passes:")
            tally(name, step, "one sgd step on every row differs from PyTorch's")
    print(f"torch: {counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0

if __name__ == "__main__":
    sys.exit(main())
