#!/usr/bin/env python3
"""The numbers the README and the example headers quote, from `vg run --json`.

Each paper example in examples/ states its claims over run families (10
seeds or more); the README's table and a block in each example's header
comment quote what those runs measure as the median over the seeds with
their range. This script computes every quoted number from the examples'
JSON Lines reports, so that no number is typed by hand:

    examples_table.py --write BUILD/vg     run every example (its CPU time
                                           is the table's time column) and
                                           rewrite README.md and the headers
    examples_table.py --check DIR          compare README.md and the headers
                                           with the reports DIR/NAME.jsonl
                                           (tests/run.sh writes them); exit 1
                                           and show the difference if they
                                           disagree

A quoted value is a selector: `FAMILY[i, *].initial.LAYER.METRIC`,
`FAMILY[*].final.loss` (any value of a report), `FAMILY[*].baseline`, or
`FAMILY[*].diverged`
(quoted as "k of n"). `*` ranges over an axis, a value picks a member, as
in an `expect`; a run that is not a family member is named alone.
"""
import difflib
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One row of the README's table per paper example, in table order: the
# file, the paper, the claim, and what vg measures, with {selector}
# placeholders for the numbers.
TABLE = [
    ("glorot2010", "Glorot & Bengio 2010",
     "standard init: gradients shrink toward the input; normalized init: level",
     "10 tanh layers: first-layer `ratio` {tanh_standard[*].initial.fc[1].ratio} (standard) vs "
     "{tanh_normalized[*].initial.fc[1].ratio} (normalized); final loss "
     "{tanh_standard[*].final.loss} vs {tanh_normalized[*].final.loss}. Sigmoid vanishes with "
     "either init ({sigmoid_normalized[*].initial.fc[1].ratio})"),
    ("glorot2010_depth", "Glorot & Bengio 2010 (figure)",
     "the first layer's gradient against depth: it decays geometrically with the standard init, "
     "stays level with the normalized one",
     "tanh nets at step 0, first-layer `ratio` at 2 and 32 layers: standard "
     "{standard[2, *].initial.fc[1].ratio} and {standard[32, *].initial.fc[1].ratio}; normalized "
     "{normalized[2, *].initial.fc[1].ratio} and {normalized[32, *].initial.fc[1].ratio}"),
    ("he2015", "He et al. 2015",
     "30 ReLU layers: Xavier init vanishes and does not train, He init does",
     "first-layer `ratio` {xavier[*].initial.fc[1].ratio} (Xavier) vs "
     "{he[*].initial.fc[1].ratio} (He); final loss {xavier[*].final.loss} vs {he[*].final.loss}"),
    ("he2015_cnn", "He et al. 2015 (conv)",
     "the same on ReLU conv nets, where the fan-in is channels × kernel area",
     "30 conv layers of 8 channels at step 0: first-layer `ratio` "
     "{xavier30[*].initial.conv[1].ratio} (Xavier) vs {he30[*].initial.conv[1].ratio} (He), "
     "last conv layer's `act_std` {xavier30[*].initial.conv[30].act_std} vs "
     "{he30[*].initial.conv[30].act_std}; 16 layers on Fashion-MNIST, final loss "
     "{xavier[*].final.loss} vs {he[*].final.loss} (`baseline` {he[*].baseline})"),
    ("resnet2016", "He et al. 2016",
     "identity shortcuts keep early gradients; the residual net trains further",
     "20-layer CNN on Fashion-MNIST: stem `ratio` {plain[*].initial.stem.ratio} (plain) vs "
     "{residual[*].initial.stem.ratio} (residual); final loss {plain[*].final.loss} vs "
     "{residual[*].final.loss}, test accuracy {plain[*].final.test_accuracy} vs "
     "{residual[*].final.test_accuracy}"),
    ("batchnorm2015", "Ioffe & Szegedy 2015",
     "batchnorm lets a deep sigmoid net train",
     "10 sigmoid layers, first-layer `ratio` at step 0: {plain[*].initial.fc[1].ratio} (plain) "
     "vs {normalized[*].initial.fc[1].ratio} (batchnorm); final loss {plain[*].final.loss} vs "
     "{normalized[*].final.loss}"),
    ("lstm1997", "Bengio et al. 1994; Hochreiter & Schmidhuber 1997",
     "an RNN does not learn the adding problem; LSTM and GRU do",
     "`adding(length = 50)`, final mse: rnn {rnn_net[*].final.loss}, lstm "
     "{lstm_net[*].final.loss}, gru {gru_net[*].final.loss}; predicting the mean "
     "(`baseline`) {rnn_net[*].baseline}"),
    ("cec1997", "Hochreiter & Schmidhuber 1997; Gers et al. 2000",
     "the constant error carousel carries the gradient over 100 steps; an RNN's fades",
     "`adding(length = 100)` at step 0, `bptt_ratio` (bptt[1]/bptt[100]): rnn "
     "{rnn_net[*].initial.rec.bptt_ratio}, lstm with forget bias 1 "
     "{lstm_net[*].initial.rec.bptt_ratio}, forget bias 5 {cec_net[*].initial.rec.bptt_ratio}"),
    ("pascanu2013", "Pascanu et al. 2013",
     "large recurrent weights explode; clipping the global norm trains",
     "recurrent gain 8: {unclipped[*].diverged} runs diverge unclipped; with "
     "`clip = norm(0.5)`, {clipped[*].diverged}: it clips {clipped[*].final.clipped} of the "
     "steps and reaches mse {clipped[*].final.loss}. Gain 1, unclipped: "
     "{small_init[*].diverged} diverge"),
    ("saxe2014", "Saxe et al. 2014",
     "orthogonal init keeps every layer's gradient norm in a deep linear net",
     "64 linear layers: first-layer `ratio` {orthogonal_init[*].initial.fc[1].ratio} "
     "(orthogonal) vs {gaussian_init[*].initial.fc[1].ratio} (scaled Gaussian); final loss "
     "{orthogonal_init[*].final.loss} vs {gaussian_init[*].final.loss}"),
    ("saxe2014_depth", "Saxe et al. 2014 (figure)",
     "learning time against depth: independent of depth with orthogonal init, growing with "
     "Gaussian init",
     "linear nets, lr = 0.016/depth, loss after 100 steps at 4, 16, 64 layers: orthogonal "
     "{orthogonal_init[4, *].final.loss}, {orthogonal_init[16, *].final.loss}, "
     "{orthogonal_init[64, *].final.loss}; scaled Gaussian {gaussian_init[4, *].final.loss}, "
     "{gaussian_init[16, *].final.loss}, {gaussian_init[64, *].final.loss}"),
    ("schoenholz2017", "Schoenholz et al. 2017",
     "ordered / critical / chaotic tanh nets: gradients vanish / stay level / explode",
     "30 layers, σw² = 0.5, 1, 4: first-layer `ratio` {ordered[*].initial.fc[1].ratio}, "
     "{critical[*].initial.fc[1].ratio}, {chaotic[*].initial.fc[1].ratio} (`predicted` "
     "{ordered[*].initial.fc[1].predicted}, {critical[*].initial.fc[1].predicted}, "
     "{chaotic[*].initial.fc[1].predicted}); final loss {ordered[*].final.loss}, "
     "{critical[*].final.loss}, {chaotic[*].final.loss}"),
    ("schoenholz2017_phase", "Schoenholz et al. 2017 (figure)",
     "the phase diagram: at depth only nets near σw² = 1 keep their gradient and train",
     "depth 5–20 × σw² 0.25–4; at depth 20, first-layer `ratio` "
     "{grid[20, 0.5, *].initial.fc[1].ratio} (σw² 0.5), {grid[20, 1, *].initial.fc[1].ratio} "
     "(1), {grid[20, 4, *].initial.fc[1].ratio} (4); final loss {grid[20, 0.5, *].final.loss}, "
     "{grid[20, 1, *].final.loss}, {grid[20, 2, *].final.loss} (2), {grid[20, 4, *].final.loss}; "
     "σw² 4 at depth 5: {grid[5, 4, *].final.loss}"),
    ("xiong2020", "Xiong et al. 2020",
     "Post-LN Transformers' gradient grows toward the top and needs warm-up; Pre-LN's does not",
     "12 blocks at step 0, `grad_norm` of the lowest and the top block: Post-LN "
     "{init_post[*].initial.blk[1].grad_norm} and {init_post[*].initial.blk[12].grad_norm}, "
     "Pre-LN {init_pre[*].initial.blk[1].grad_norm} and "
     "{init_pre[*].initial.blk[12].grad_norm}; 6 blocks, Adam lr 0.01 on "
     "`sort_tokens`, final loss {post[*].final.loss} (Post-LN), {pre[*].final.loss} (Pre-LN), "
     "{post_warmup[*].final.loss} (Post-LN with warm-up); `baseline` {post[*].baseline}"),
    ("pretraining2007", "Hinton et al. 2006; Bengio et al. 2007",
     "greedy layer-wise pre-training helps a deep sigmoid net",
     "Fashion-MNIST, 3 layers, without vs with pre-training: step-0 `ratio` "
     "{supervised[*].initial.fc[1].ratio} vs {pretrained[*].initial.fc[1].ratio}, layer-2 "
     "`act_std` {supervised[*].initial.fc[2].act_std} vs {pretrained[*].initial.fc[2].act_std}; "
     "final loss {supervised[*].final.loss} vs {pretrained[*].final.loss}, test accuracy "
     "{supervised[*].final.test_accuracy} vs {pretrained[*].final.test_accuracy}"),
]

TABLE_BEGIN = "<!-- examples-table: written by tests/examples_table.py -->"
TABLE_END = "<!-- examples-table: end -->"
HEADER_BEGIN = "# Measured: written by tests/examples_table.py from `vg run --json`."
HEADER_NOTE = "# (the median over the seeds, then the range)"
HEADER_END = "# (end of measured)"
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
SELECTOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]*)\])?\.(.+)$")


class Reports:
    """The runs of one `vg run --json` file: header, reports, end lines."""

    def __init__(self, path):
        self.runs = []
        self.reports = {}
        self.ends = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                kind = rec["type"]
                if kind == "header":
                    self.runs = rec["runs"]
                elif kind == "report":
                    self.reports.setdefault(rec["run"], []).append(rec)
                elif kind == "end":
                    self.ends[rec["run"]] = rec

    def members(self, name, index):
        """The runs a selector's name and index pick, in file order."""
        picked = []
        for run in self.runs:
            if index is None:
                if run["name"] == name and run["family"] is None:
                    picked.append(run)
                continue
            if run["family"] != name:
                continue
            values = list(run["axes"].values())
            if len(values) != len(index):
                raise ValueError(f"{name} has {len(values)} axes, the selector {len(index)}")
            if all(i == "*" or same_value(i, v) for i, v in zip(index, values)):
                picked.append(run)
        if not picked:
            raise ValueError(f"no run matches {name}[{', '.join(index or [])}]")
        return picked

    def value(self, run, path):
        """One run's value at `initial.…`, `final.…` or `diverged`."""
        name = run["name"]
        if path == "baseline":
            return run["baseline"]
        if path == "diverged":
            return bool(self.ends[name]["diverged"])
        when, _, rest = path.partition(".")
        reports = self.reports[name]
        report = {"initial": reports[0], "final": reports[-1]}[when]
        if rest in report and rest != "layers":
            return report[rest]
        layer, _, metric = rest.rpartition(".")
        for entry in report["layers"]:
            if entry["layer"] == layer:
                return entry[metric]
        raise ValueError(f"run {name} has no layer {layer}")


def same_value(token, value):
    """An index token of a selector against a member's axis value."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(token) == float(value)
        except ValueError:
            return False
    return token == str(value)


def number(x):
    """Two significant digits: 0.0045, 1.4, 55, 140, 2.0e-8."""
    if x == 0:
        return "0"
    e = math.floor(math.log10(abs(x)))
    r = round(x, 1 - e)
    if math.floor(math.log10(abs(r))) > e:  # 99.7 rounds to 100
        e += 1
    if -3 <= e < 4:
        return f"{r:.{max(0, 1 - e)}f}"
    mantissa, exponent = f"{r:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def quote(reports, selector):
    """A selector's value as the README and the headers quote it."""
    m = SELECTOR.match(selector)
    if not m:
        raise ValueError(f"not a selector: {selector}")
    name, index, path = m.group(1), m.group(2), m.group(3)
    index = [t.strip() for t in index.split(",")] if index is not None else None
    values = [reports.value(run, path) for run in reports.members(name, index)]
    if path == "diverged":
        return f"{sum(values)} of {len(values)}"
    if any(v is None for v in values):
        raise ValueError(f"{selector}: a run has no value")
    if len(values) == 1:
        return number(values[0])
    return f"{number(median(values))} ({number(min(values))}–{number(max(values))})"


def render(template, reports):
    return PLACEHOLDER.sub(lambda m: quote(reports, m.group(1)), template)


def header_block(template, reports):
    lines = [HEADER_BEGIN, HEADER_NOTE]
    for sel in PLACEHOLDER.findall(template):
        lines.append(f"#   {sel}: {quote(reports, sel)}")
    lines.append(HEADER_END)
    return lines


def with_header(text, block, path):
    lines = text.split("\n")
    try:
        begin = lines.index(HEADER_BEGIN)
        end = lines.index(HEADER_END, begin)
    except ValueError:
        raise ValueError(f"{path}: no '{HEADER_BEGIN}' … '{HEADER_END}' block in the header")
    return "\n".join(lines[:begin] + block + lines[end + 1:])


def table(rows):
    out = [TABLE_BEGIN,
           "| file | paper | claim | vg measures: median over the seeds (range) | time |",
           "| --- | --- | --- | --- | --- |"]
    for name, paper, claim, measures, seconds in rows:
        out.append(f"| [{name}.vg](examples/{name}.vg) | {paper} | {claim} | {measures} "
                   f"| {seconds} |")
    out.append(TABLE_END)
    return out


def with_table(text, lines):
    old = text.split("\n")
    try:
        begin = old.index(TABLE_BEGIN)
        end = old.index(TABLE_END, begin)
    except ValueError:
        raise ValueError(f"README.md: no '{TABLE_BEGIN}' … '{TABLE_END}' lines")
    return "\n".join(old[:begin] + lines + old[end + 1:])


def times_in(readme):
    """The time column as the README has it, by file."""
    times = {}
    for line in readme.split("\n"):
        m = re.match(r"^\| \[([a-z0-9_]+)\.vg\]\(.*\| ([^|]*) \|$", line)
        if m:
            times[m.group(1)] = m.group(2)
    return times


def expected(report_dir, times):
    """Every file's text as the reports say it should be: {path: text}."""
    out = {}
    rows = []
    for name, paper, claim, template in TABLE:
        reports = Reports(os.path.join(report_dir, name + ".jsonl"))
        path = os.path.join(ROOT, "examples", name + ".vg")
        with open(path, encoding="utf-8") as f:
            out[path] = with_header(f.read(), header_block(template, reports), path)
        rows.append((name, paper, claim, render(template, reports), times.get(name, "?")))
    readme = os.path.join(ROOT, "README.md")
    with open(readme, encoding="utf-8") as f:
        out[readme] = with_table(f.read(), table(rows))
    return out


def run_examples(vg, report_dir):
    """Runs every example with --json; returns its CPU seconds by name."""
    times = {}
    for name, *_ in TABLE:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        # exit 1 (an expect failed) still quotes what the runs measured
        done = subprocess.run([vg, "run", "--quiet", os.path.join("examples", name + ".vg"),
                               "--json", os.path.join(report_dir, name + ".jsonl")],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode not in (0, 1):
            raise OSError(f"examples/{name}.vg: vg exited with {done.returncode}\n{done.stderr}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        times[name] = f"{cpu:.1f} s"
    return times


def main(argv):
    if len(argv) != 3 or argv[1] not in ("--check", "--write"):
        sys.stderr.write("usage: examples_table.py --check REPORT_DIR | --write VG\n")
        return 2
    readme = os.path.join(ROOT, "README.md")
    with open(readme, encoding="utf-8") as f:
        times = times_in(f.read())
    if argv[1] == "--write":
        with tempfile.TemporaryDirectory() as report_dir:
            times = run_examples(os.path.abspath(argv[2]), report_dir)
            texts = expected(report_dir, times)
        for path, text in texts.items():
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return 0
    stale = 0
    for path, text in expected(argv[2], times).items():
        with open(path, encoding="utf-8") as f:
            now = f.read()
        if now != text:
            stale += 1
            rel = os.path.relpath(path, ROOT)
            sys.stdout.writelines(difflib.unified_diff(
                now.splitlines(True), text.splitlines(True), rel, rel + " (from the reports)"))
    if stale:
        print(f"examples_table: {stale} file(s) disagree with the examples' reports; "
              "`python3 tests/examples_table.py --write build/vg` rewrites them")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write(f"examples_table: {e}\n")
        sys.exit(2)
