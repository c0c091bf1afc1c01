#!/bin/sh
# The HTML pages at a laptop's width: each page is opened in headless
# Chromium at 1280 px with a script added that measures, from the DOM,
# that the page does not scroll sideways and that no table, chart or
# figure sticks out of its panel (nor a table cell out of its table).
# Usage: tests/report/layout.sh PAGE.html...
# Skipped (exit status 77) when Chromium is not installed (.ci/deps.sh
# installs it).
set -u
. "$(dirname "$0")/../lib.sh"
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || skip_suite "chromium not found"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
cat >"$tmp/probe.js" <<'JS'
<script>
(function () {
  var bad = [];
  var vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1)
    bad.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " px > " + vw);
  function name(el) {
    var h = el.closest(".cell, section");
    var t = h && h.querySelector("h2, h3, text");
    return el.tagName.toLowerCase() + " in '" + (t ? t.textContent.slice(0, 60) : "?") + "'";
  }
  document.querySelectorAll("div, section").forEach(function (el) {
    if (el.scrollWidth > el.clientWidth + 1)
      bad.push("a " + (el.className || el.tagName.toLowerCase()) + " scrolls sideways: " +
               el.scrollWidth + " px in " + el.clientWidth);
  });
  document.querySelectorAll("svg, table").forEach(function (el) {
    var panel = el.parentElement.closest(".cell, section");
    if (!panel)
      return;
    var p = panel.getBoundingClientRect(), r = el.getBoundingClientRect();
    if (r.right > p.right + 0.5 || r.left < p.left - 0.5)
      bad.push(name(el) + " is " + Math.round(r.width) + " px wide in a panel of " +
               Math.round(p.width));
    if (el.tagName == "TABLE") {
      if (el.scrollWidth > el.clientWidth + 1)
        bad.push(name(el) + " overflows itself");
      el.querySelectorAll("td, th").forEach(function (c) {
        var q = c.getBoundingClientRect();
        if (q.right > r.right + 0.5)
          bad.push(name(el) + ": a cell sticks out: " + c.textContent);
      });
    }
    if (r.width < 200 && el.tagName == "svg")
      bad.push(name(el) + " is only " + Math.round(r.width) + " px wide");
  });
  var out = document.createElement("pre");
  out.id = "layout-result";
  out.textContent = bad.length ? bad.join("\n") : "OK";
  document.body.appendChild(out);
})();
</script>
JS
for page in "$@"; do
    # the probe goes in just before </body>
    awk -v probe="$tmp/probe.js" '{
        i = index($0, "</body>")
        if (i == 0) { print; next }
        printf "%s", substr($0, 1, i - 1)
        while ((getline l < probe) > 0) print l
        print substr($0, i)
    }' "$page" >"$tmp/page.html"
    profile=$(mktemp -d)
    "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        --window-size=1280,900 --dump-dom "file://$tmp/page.html" >"$tmp/dom" 2>"$tmp/err"
    rm -rf "$profile"
    result=$(tr '\n' '\r' <"$tmp/dom" | grep -o '<pre id="layout-result">[^<]*</pre>' |
        sed 's/<pre id="layout-result">//; s|</pre>||' | tr '\r' '\n')
    if [ "$result" = OK ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "layout: FAIL: $page at 1280 px:"
        [ -n "$result" ] && echo "$result" | sed 's/^/  /' || { echo "  no result"; tail -3 "$tmp/err"; }
    fi
done
echo "layout: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
