#!/usr/bin/env python3
"""The run-family figures of an HTML report against its JSON Lines.

Usage: check_family_figures.py r.jsonl r.html

Every tooltip of a family chart ("w = 2: median 0.542, min 0.527, max
0.557 over 2 runs") must give the median, min and max of the final loss
or of the first layer's step-0 ratio over the members with that value,
computed here from the JSON Lines; exits 1 on the first that does not.
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
        for var, text, med, lo, hi, n in re.findall(
                r"<title>(\w+) = ([^:]+): median (\S+), min (\S+), max (\S+) over (\d+) runs?<",
                svg):
            chosen = [m for m in members if str(m["axes"][var]) == text
                      or json.dumps(m["axes"][var]) == text]
            if what.startswith("loss at the end"):
                ys = [last[m["name"]]["loss"] for m in chosen]
            else:
                layer = re.match(r"ratio of (.*) at step 0", what).group(1)
                ys = [l["ratio"] for m in chosen for l in first[m["name"]]["layers"]
                      if l["layer"] == layer]
            if not ys:
                print(f"{family}: {what}: {var} = {text}: no such member in the JSON")
                return 1
            want = (statistics.median(ys), min(ys), max(ys), len(ys))
            got = (float(med), float(lo), float(hi), int(n))
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
