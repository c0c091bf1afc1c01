#!/usr/bin/env python3
"""check.py — vg's report metrics against PyTorch's, on vg's own weights.

    python3 tests/torch/check.py path/to/vg        (T=PATTERN: those models)

For each model of tests/torch/NAME.vg: write its data set (NAME.csv, from
a fixed seed) beside a copy of the file, train it with vg (`--save` the
parameters, `--json` the report), then rebuild the network in PyTorch,
functionally, from the saved parameters, run the probe batch forward and
backward in float64 and recompute the final report's metrics, which vg
measured on exactly those parameters. Each .vg sets `probe = all` and no
test split, so the probe batch is every row of the data set, and every
metric compared is invariant to the order vg drew the rows in.

Compared, per layer, wherever vg's report defines them (a metric PyTorch
finds undefined must be null in vg's JSON, and the other way round):
grad_norm, weight_norm, act_grad_norm, act_mean, act_std, ratio,
predicted, saturation, dead, bptt (every step), bptt_ratio, the lstm's and
gru's gate means and saturations, cell_saturation; per run, loss and
accuracy. Not compared: update_ratio (it needs the parameters before the
last step, which vg does not save) and verdict (a function of the above).

Tolerances (vg computes in float32, the reference in float64): values
agree to a relative RTOL = 2e-5 (act_mean to RTOL·(|mean| + std), as a
mean near 0 has no relative precision); fractions (saturation, dead,
accuracy) to one entry, since a float32 value next to a threshold may fall
on either side of it. The differences measured on these models stay below
1e-6 (the worst is printed per model); act_std computed with n − 1 in
place of n, 1e-4 off on these models, fails every one of them. Every model is then checked a
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
          "reset_gate"] + sorted(FRACTIONS)


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
        return self.layers.setdefault(name, {"sat": [], "relu": [], "parts": {}, "chain": None})

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
        """The layer is one dense (weights W) of the previous layer's
        output, then fn: its factor σw²·E[φ′(z)²], σw² = fan_in·Var(W)."""
        W = self.P[f"{name}.W"]
        sw2 = W.shape[0] * W.var(unbiased=False).item()
        ephi = 1.0
        if fn is not None:
            zz = z.detach().clone().requires_grad_(True)
            (g,) = torch.autograd.grad(fn(zz).sum(), zz)
            ephi = (g * g).mean().item()
        self.layer(name)["chain"] = sw2 * ephi

    def parts(self, name, part, value):
        self.layer(name)["parts"].setdefault(part, []).append(value.detach())

    def lstm(self, name, x, units):
        """The cell of docs/language.md, step by step so that each h_t's
        total gradient (bptt) is kept; checked against torch.nn.LSTM."""
        P = self.P
        W_ih, W_hh = P[f"{name}.W_ih"], P[f"{name}.W_hh"]
        b = torch.cat([P[f"{name}.b_{g}"] for g in "ifgo"])
        h = x.new_zeros(x.shape[0], units)
        c = h
        hs = []
        for t in range(x.shape[1]):
            i, f, g, o = (x[:, t] @ W_ih + h @ W_hh + b).split(units, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            tc = torch.tanh(c)
            h = o * tc
            h.retain_grad()
            hs.append(h)
            for part, v in (("input_gate", i), ("forget_gate", f), ("output_gate", o),
                            ("cell", tc)):
                self.parts(name, part, v)
        seq = torch.stack(hs, 1)
        ref = torch.nn.LSTM(x.shape[2], units, batch_first=True)
        with torch.no_grad():
            ref.weight_ih_l0.copy_(W_ih.T)
            ref.weight_hh_l0.copy_(W_hh.T)
            ref.bias_ih_l0.copy_(b)
            ref.bias_hh_l0.zero_()
            theirs = ref(x.detach())[0]
        if not torch.allclose(seq.detach(), theirs, rtol=1e-10, atol=1e-12):
            raise AssertionError(f"{name}: the cell here differs from torch.nn.LSTM")
        self.layer(name)["bptt"] = hs
        return seq


def saturated(name, v):
    """The saturation of a gate (σ′ below 1% of ¼) or of tanh(c)."""
    return (1 - v * v < 0.01) if name == "cell" else (v * (1 - v) < 0.0025)


def reference(case, params, trainable, layers, x, y):
    """The metrics of every layer and the run's loss and accuracy."""
    P = {k: v.clone().requires_grad_(trainable[k]) for k, v in params.items()}
    m = Probe(P)
    logits = case["forward"](m, x)
    if case["loss"] == "cross_entropy":
        loss = F.cross_entropy(logits, y)
        acc = fraction(int((logits.argmax(1) == y).sum()), len(y))
    else:
        loss = F.mse_loss(logits, y)
        acc = None
    loss.backward()
    out = {"loss": loss.item(), "accuracy": acc, "layers": {}}
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
            dead = sum(int((a.reshape(a.shape[0], -1) == 0).all(0).sum()) for a in L["relu"])
            r["dead"] = fraction(dead, sum(a[0].numel() for a in L["relu"]))
        else:
            r["dead"] = None
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
                frac(where, lm[key], r[key])
            elif key == "act_mean":
                value(where, lm[key], r[key], abs(r[key]) + r["act_std"])
            else:
                value(where, lm[key], r[key])
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
            v, want = lm[key], r[key]
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


def lstm_forward(m, x):
    h = m.out("lstm[1]", m.lstm("lstm[1]", x, 8))
    h = m.out("lstm[2]", m.lstm("lstm[2]", h, 8))
    return m.out("out", m.dense("out", h[:, -1]))


CASES = {
    "mlp": {"data": lambda: classes(96, 6, 3, scale=2.0), "loss": "cross_entropy",
            "forward": mlp_forward},
    "residual": {"data": lambda: regression(64, 6), "loss": "mse", "forward": residual_forward},
    "lstm": {"adding": (10, 64, 3), "loss": "mse", "forward": lstm_forward},
}


def run_case(vg, name, case, tmp):
    src = os.path.join(tmp, name + ".vg")
    shutil.copy(os.path.join(HERE, name + ".vg"), src)
    if "adding" in case:
        x, y = adding(*case["adding"])
    else:
        x, y = case["data"]()
        write_csv(os.path.join(tmp, name + ".csv"), x, y)
    save, js = os.path.join(tmp, name + ".safetensors"), os.path.join(tmp, name + ".jsonl")
    done = subprocess.run([vg, "run", src, "--quiet", "--threads", "1", "--save", save,
                           "--json", js], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode != 0:
        return [f"vg run exited with {done.returncode}: {done.stderr.strip()}"], None, []
    header, rep = final_report(js)
    if header["probe_rows"] != len(x):
        return [f"the probe has {header['probe_rows']} rows, the data {len(x)}"], None, []
    if case["loss"] == "mse":
        y = y.double().reshape(len(y), -1)
    ref = reference(case, read_safetensors(save), trainable_params(vg, src), header["layers"],
                    x.double(), y)
    bad, worst = compare(rep, ref)
    missed = [what for what, copy in perturbations(rep, ref) if not compare(copy, ref)[0]]
    return bad, worst, missed


def main():
    vg = os.path.abspath(sys.argv[1])
    pattern = os.environ.get("T") or "*"
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            bad, worst, missed = run_case(vg, name, case, tmp)
            if bad:
                failed += 1
                print(f"torch: FAIL: {name}: {len(bad)} metrics differ from PyTorch's")
                for line in bad:
                    print("    " + line)
            else:
                passed += 1
                print(f"torch: {name}: the metrics agree with PyTorch's; worst relative "
                      f"difference {worst[0]:.1e} ({worst[1]})")
            if missed:
                failed += 1
                print(f"torch: FAIL: {name}: a value moved by 3× its tolerance passes: "
                      + ", ".join(missed))
            elif worst is not None:
                passed += 1
    print(f"torch: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
