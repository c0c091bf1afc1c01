#!/usr/bin/env python3
"""Validates the files of `vg run --json F --csv F --html F`.

    check_outputs.py --schema docs/report.md --json r.jsonl --csv r.csv --html r.html
                     [--runs N] [--expects N]
    check_outputs.py --extract-overview r.html out.svg

JSON Lines: every line parses and validates (python3-jsonschema, draft
2020-12) against the JSON Schema that docs/report.md holds (read from the
fenced block after its "vg-report-schema" marker, so the document and the
test cannot drift), the lines come in order (the header; each run's steps
and reports, then its end; the expects), reports name the header's runs
and layers, steps increase, and the steps lines cover steps 1, 2, ... with
no gap, each before the report that follows it. CSV: loads with the csv
module under the header run,step,layer,metric,value, every value parses as
a number, and the rows are exactly the JSON's non-null numbers. HTML: the
page is well-formed XML, fetches nothing, has no script, and every <svg> is
checked on its own with `xmllint --noout`. Exits 1 with one line per
problem.
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

try:
    import jsonschema
except ImportError:
    raise SystemExit("check_outputs.py: needs python3-jsonschema (Debian)")

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def schema_errors(validator, v):
    """The ways v fails the schema, as 'path: reason' strings."""
    out = []
    kinds = [alt.get("properties", {}).get("type", {}).get("const")
             for alt in validator.schema.get("oneOf", [])]
    for e in validator.iter_errors(v):
        # a failed oneOf: the errors of the alternative for the line's type
        own = [c for c in e.context if isinstance(v, dict) and v.get("type") in kinds
               and c.relative_schema_path[0] == kinds.index(v.get("type"))]
        for c in own or [e]:
            out.append(f"$.{'.'.join(str(p) for p in c.absolute_path)}: {c.message[:160]}")
    return out


def load_schema(doc):
    text = open(doc, encoding="utf-8").read()
    m = re.search(r"vg-report-schema.*?\n```json\n(.*?)\n```", text, re.S)
    if not m:
        raise SystemExit(f"check_outputs.py: no schema block in {doc}")
    return json.loads(m.group(1))


# ---- JSON Lines ----

STEP_ARRAYS = {"loss": "step_loss", "global_norm": "step_global_norm",
               "clipped": "step_clipped", "lr": "step_lr"}


def check_json(path, schema, want_runs, want_expects):
    """Returns {(run, step, layer, metric): value} of every number in the reports."""
    validator = jsonschema.Draft202012Validator(schema)
    numbers = {}
    runs, last_step, logged = {}, {}, {}
    nexpects, ends = 0, set()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines[-1] != "":
        problem(path, "the last line does not end in a newline")
    for n, line in enumerate(lines[:-1], 1):
        where = f"{path}:{n}"
        try:
            obj = json.loads(line, parse_constant=lambda c: problem(where, f"non-JSON constant {c}"))
        except ValueError as e:
            problem(where, f"not JSON: {e}")
            continue
        for e in schema_errors(validator, obj):
            problem(where, e)
        kind = obj.get("type") if isinstance(obj, dict) else None
        if (kind == "header") != (n == 1):
            problem(where, f"a {kind} line out of order")
        if kind == "header":
            runs = {r["name"]: r["layers"] for r in obj.get("runs", []) if isinstance(r, dict)}
            for r in obj.get("runs", []):
                if isinstance(r, dict) and isinstance(r.get("baseline"), (int, float)):
                    numbers[(r["name"], 0, "-", "baseline")] = float(r["baseline"])
            continue
        if kind == "expect":
            nexpects += 1
            continue
        if nexpects:
            problem(where, f"a {kind} line after the expects")
        run = obj.get("run")
        if run not in runs:
            problem(where, f"{kind} of a run not in the header: {run!r}")
            continue
        if run in ends:
            problem(where, f"a {kind} line after the run's end")
        if kind == "steps":
            first = obj.get("first")
            if first != logged.get(run, 0) + 1:
                problem(where, f"steps from {first}, after step {logged.get(run, 0)}")
            lens = {len(obj.get(k, [])) for k in STEP_ARRAYS}
            if len(lens) != 1:
                problem(where, "step arrays of different lengths")
            for k, metric in STEP_ARRAYS.items():
                for i, v in enumerate(obj.get(k, [])):
                    if isinstance(v, (int, float)):
                        numbers[(run, first + i, "-", metric)] = float(v)
            logged[run] = first - 1 + max(lens)
        elif kind == "report":
            names = [x.get("layer") for x in obj.get("layers", [])]
            if names != runs[run]:
                problem(where, f"layers {names} differ from the header's {runs[run]}")
            step = obj.get("step")
            if step is not None and run in last_step and step <= last_step[run]:
                problem(where, f"step {step} does not follow {last_step[run]}")
            if step is not None and logged.get(run, 0) != step:
                problem(where, f"report at step {step} after steps up to {logged.get(run, 0)}")
            last_step[run] = step
            for k in ("loss", "accuracy", "test_accuracy", "global_norm", "clipped"):
                if isinstance(obj.get(k), (int, float)):
                    numbers[(run, step, "-", k)] = float(obj[k])
            for x in obj.get("layers", []):
                for k, v in x.items():
                    if k == "bptt" and isinstance(v, list):
                        for t, b in enumerate(v, 1):
                            if b is not None:
                                numbers[(run, step, x["layer"], f"bptt[{t}]")] = float(b)
                    elif k not in ("layer", "verdict") and isinstance(v, (int, float)):
                        numbers[(run, step, x["layer"], k)] = float(v)
        elif kind == "end":
            ends.add(run)
            steps = obj.get("steps")
            # the steps lines hold every step done, and a diverged run's last one
            want = (steps or 0) + (1 if obj.get("diverged") else 0)
            if logged.get(run, 0) != want:
                problem(where, f"steps lines up to step {logged.get(run, 0)}, expected {want}")
            numbers[(run, steps, "-", "diverged")] = float(obj.get("diverged") is True)
            if obj.get("diverged_at") is not None:
                numbers[(run, steps, "-", "diverged_at")] = float(obj["diverged_at"])
    if ends != set(runs):
        problem(path, f"runs {sorted(set(runs) - ends)} have no end line")
    if want_runs is not None and len(runs) != want_runs:
        problem(path, f"{len(runs)} runs in the header, expected {want_runs}")
    if want_expects is not None and nexpects != want_expects:
        problem(path, f"{nexpects} expect lines, expected {want_expects}")
    return numbers


# ---- CSV ----

def check_csv(path, numbers):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    if not rows or rows[0] != ["run", "step", "layer", "metric", "value"]:
        problem(path, f"header {rows[0] if rows else None}")
        return
    seen = {}
    for n, row in enumerate(rows[1:], 2):
        if len(row) != 5:
            problem(f"{path}:{n}", f"{len(row)} fields")
            continue
        try:
            key = (row[0], int(row[1]), row[2], row[3])
            value = float(row[4])
        except ValueError as e:
            problem(f"{path}:{n}", str(e))
            continue
        if math.isnan(value):
            problem(f"{path}:{n}", "nan: absent values have no row")
        if key in seen:
            problem(f"{path}:{n}", f"a second row for {key}")
        seen[key] = value
    if numbers is None:
        return
    for key in sorted(set(numbers) | set(seen), key=str):
        if key not in seen:
            problem(path, f"no row for the JSON's {key}")
        elif key not in numbers:
            if not math.isinf(seen[key]):  # JSON writes overflowed values as null
                problem(path, f"row {key} is not in the JSON")
        elif seen[key] != numbers[key]:
            problem(path, f"{key}: {seen[key]} here, {numbers[key]} in the JSON")


# ---- HTML ----

def svgs_of(text):
    return re.findall(r"<svg\b.*?</svg>", text, re.S)


def check_html(path, want_runs):
    text = open(path, encoding="utf-8").read()
    if not text.startswith("<!DOCTYPE html>"):
        problem(path, "does not start with <!DOCTYPE html>")
    try:
        page = ET.fromstring(text[text.index("<html"):])
    except (ValueError, ET.ParseError) as e:
        problem(path, f"not well-formed: {e}")
        page = ET.Element("html")
    for el in page.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in ("script", "link", "iframe", "img", "object", "embed"):
            problem(path, f"<{tag}>: the page must need nothing else")
        for k, v in el.attrib.items():
            if k in ("src", "href") or "url(" in v:
                problem(path, f"<{tag} {k}={v!r}>: nothing may be fetched")
    if re.search(r"@import|url\(", text):
        problem(path, "the CSS fetches something")
    svgs = svgs_of(text)
    heads = len(re.findall(r'class="cell run-head"', text))
    if want_runs is not None and heads != want_runs:
        problem(path, f"{heads} run columns, expected {want_runs}")
    if len(svgs) < 1 + 3 * heads:
        problem(path, f"{len(svgs)} charts, expected at least {1 + 3 * heads}")
    xmllint = shutil.which("xmllint")
    if not xmllint:
        print("check_outputs.py: xmllint not found; SVGs checked by Python's parser only")
    with tempfile.TemporaryDirectory() as tmp:
        for i, svg in enumerate(svgs):
            if 'xmlns="http://www.w3.org/2000/svg"' not in svg:
                problem(f"{path}: svg {i + 1}", "no xmlns")
            if "<text" not in svg:
                problem(f"{path}: svg {i + 1}", "no labels")
            f = os.path.join(tmp, f"{i}.svg")
            with open(f, "w", encoding="utf-8") as out:
                out.write(svg)
            if xmllint:
                r = subprocess.run([xmllint, "--noout", f], capture_output=True, text=True)
                if r.returncode:
                    problem(f"{path}: svg {i + 1}", r.stderr.strip())
            else:
                try:
                    ET.fromstring(svg)
                except ET.ParseError as e:
                    problem(f"{path}: svg {i + 1}", str(e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", default="docs/report.md")
    ap.add_argument("--json")
    ap.add_argument("--csv")
    ap.add_argument("--html")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--expects", type=int)
    ap.add_argument("--extract-overview", nargs=2, metavar=("HTML", "SVG"))
    a = ap.parse_args()
    if a.extract_overview:
        text = open(a.extract_overview[0], encoding="utf-8").read()
        svg = [s for s in svgs_of(text) if 'id="overview"' in s]
        if len(svg) != 1:
            raise SystemExit("check_outputs.py: no overview chart")
        with open(a.extract_overview[1], "w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n' + svg[0] + "\n")
        return 0
    for f in (a.json, a.csv, a.html):
        if f and not os.path.isfile(f):
            print(f"{f}: missing")
            return 1
    numbers = check_json(a.json, load_schema(a.schema), a.runs, a.expects) if a.json else None
    if a.csv:
        check_csv(a.csv, numbers)
    if a.html:
        check_html(a.html, a.runs)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
