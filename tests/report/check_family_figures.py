#!/usr/bin/env python3
"""The run-family figures of an HTML report against its JSON Lines.

Usage: check_family_figures.py r.jsonl r.html

Every tooltip of a family chart ("w = 2: median 0.542, min 0.527, max
0.557 over 2 runs") must give the median, min and max of the final loss,
or of the first layer's step-0 ratio (or, "predicted, w = 2: …", its
prediction) over the members with that value, and every heatmap cell
("d = 2, w = 0.5: median 0.664 over 3 runs") the median over the members
with both values, computed here from the JSON Lines; exits 1 on the
first that does not.
"""
import json
import re
import statistics
import sys


def main(jsonl, html):
    runs, first, last = {}, {}, {}
    for line in open(jsonl, encoding="utf-8"):
        rec = json.loads(line)
        if rec["type"] == "header":
            for r in rec["runs"]:
                runs[r["name"]] = r
        elif rec["type"] == "report":
            first.setdefault(rec["run"], rec)
            last[rec["run"]] = rec
    page = open(html, encoding="utf-8").read()
    section = page[page.index('<section class="families">'):]
    section = section[:section.index("</section>")]
    checked = 0
    for svg in re.findall(r"<svg.*?</svg>", section, re.S):
        what, family = re.search(r'font-weight="600">(.*?) — (.*?)</text>', svg).groups()
        members = [r for r in runs.values() if r["family"] == family and r["name"] in last]
        titles = re.findall(r"<title>(.*?)</title>", svg)
        tips = re.findall(
                r"<title>(predicted, )?(\w+) = ([^:]+): median (\S+), min (\S+), max (\S+) "
                r"over (\d+) runs?<", svg)
        cells = re.findall(
                r"<title>(\w+) = ([^,:]+), (\w+) = ([^:]+): median (\S+) over (\d+) runs?<", svg)
        if len(tips) + len(cells) != len(titles):
            print(f"{family}: {what}: a tooltip is not 'VAR = VALUE: median …': {titles}")
            return 1
        tips += [("", (va, vb), (ta, tb), med, None, None, n) for va, ta, vb, tb, med, n in cells]
        for pred, var, text, med, lo, hi, n in tips:
            pairs = list(zip(var, text)) if isinstance(var, tuple) else [(var, text)]
            chosen = [m for m in members if all(str(m["axes"][v]) == t
                                                or json.dumps(m["axes"][v]) == t
                                                for v, t in pairs)]
            if what.startswith("loss at the end"):
                ys = [last[m["name"]]["loss"] for m in chosen]
            else:
                layer = re.match(r"ratio of (.*) at step 0", what).group(1)
                metric = "predicted" if pred else "ratio"
                ys = [l[metric] for m in chosen for l in first[m["name"]]["layers"]
                      if l["layer"] == layer and l[metric] is not None and l[metric] > 0]
            if not ys:
                print(f"{family}: {what}: {var} = {text}: no such member in the JSON")
                return 1
            want = (statistics.median(ys), min(ys), max(ys), len(ys))
            got = (float(med), float(lo) if lo else want[1], float(hi) if hi else want[2], int(n))
            ok = got[3] == want[3] and all(
                abs(g - w) <= 5e-3 * abs(w) + 1e-12 for g, w in zip(got[:3], want[:3]))
            if not ok:
                print(f"{family}: {what}: {var} = {text}: page says {got}, the JSON {want}")
                return 1
            checked += 1
    if checked == 0:
        print("no family chart tooltip found")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
