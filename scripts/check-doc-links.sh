#!/usr/bin/env bash
# Checks every relative Markdown link in README.md and docs/*.md: the file it names
# must exist, and a #fragment must match a heading of that file (GitHub's anchors).
# Links to http(s) and mailto are not followed. Exits non-zero listing the bad links.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - README.md docs/*.md <<'PY'
import os, re, sys

def anchors(path):
    slugs, fence = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"#{1,6} (.*)", line)
        if m:
            s = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            n, base = 1, s
            while s in slugs:
                s, n = f"{base}-{n}", n + 1
            slugs.add(s)
    return slugs

bad = 0
for md in sys.argv[1:]:
    text = re.sub(r"```.*?```", "", open(md, encoding="utf-8").read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, frag = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(md), path)) if path else md
        if not os.path.exists(full):
            print(f"{md}: {target}: no such file"); bad += 1
        elif frag and full.endswith(".md") and frag not in anchors(full):
            print(f"{md}: {target}: no such heading"); bad += 1
print(f"doc links: {bad} bad" if bad else "doc links: ok")
sys.exit(1 if bad else 0)
PY
