#!/usr/bin/env python3
"""Checks that each folder of src/ includes only folders of lower layers (or its own).

The layers are the table of docs/architecture.md, "Source layout" (rows "| N | `src/X/` | ..."),
so that the document and the check cannot drift apart. Prints each include that runs upward or
sideways and exits 1; exits 0 when there is none.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
table = (root / "docs/architecture.md").read_text()
layers = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\| (\d+) \| `src/(\w+)/`", table, re.M)}
if not layers:
    sys.exit("docs/architecture.md has no layer table")

problems = []
for source in sorted((root / "src").glob("*/*")):
    folder = source.parent.name
    if source.suffix not in (".h", ".cpp") or source.is_dir():
        continue
    if folder not in layers:
        problems.append(f"{source.relative_to(root)}: folder {folder}/ is not in the layer table")
        continue
    for number, line in enumerate(source.read_text().splitlines(), 1):
        m = re.match(r'#include "(\w+)/', line)
        if not m or m.group(1) == folder or m.group(1) not in layers:
            continue
        target = m.group(1)
        if layers[target] >= layers[folder]:
            problems.append(f"{source.relative_to(root)}:{number}: {folder}/ (layer {layers[folder]}) includes "
                            f"{target}/ (layer {layers[target]})")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
