#!/usr/bin/env python3
"""Checks that each folder of src/ includes only folders of lower layers (or its own).

The layers are the table of docs/architecture.md, "Source layout" (rows "| N | `src/X/` | ..."),
so that the document and the check cannot drift apart. A public header (`#include
<provium/X.h>`) counts as the folder the document's "Public headers" table gives it (rows "|
`<provium/X.h>` | `src/F/` | ..."), and the agent's `"wire.h"` as protocol/'s. Prints each include
that runs upward or sideways, and each public header missing from the table, and exits 1; exits
0 when there is none.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
table = (root / "docs/architecture.md").read_text()
layers = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\| (\d+) \| `src/(\w+)/`", table, re.M)}
if not layers:
    sys.exit("docs/architecture.md has no layer table")
public = {m.group(1): m.group(2) for m in re.finditer(r"^\| `<provium/(\w+)\.h>` \| `src/(\w+)/`", table, re.M)}

problems = []
for header in sorted((root / "include/provium").glob("*.h")):
    if header.stem not in public:
        problems.append(f"{header.relative_to(root)}: not in the public headers table of docs/architecture.md")


def included_folder(line):
    """The folder an #include line reaches, or None for a system or third-party header."""
    m = re.match(r'#include [<"]provium/(\w+)\.h[>"]', line)
    if m:
        return public.get(m.group(1), "an unknown public header")
    if re.match(r'#include "wire\.h"', line):
        return "protocol"
    m = re.match(r'#include "(\w+)/', line)
    return m.group(1) if m else None


for source in sorted((root / "src").glob("*/*")):
    folder = source.parent.name
    if source.suffix not in (".h", ".cpp") or source.is_dir():
        continue
    if folder not in layers:
        problems.append(f"{source.relative_to(root)}: folder {folder}/ is not in the layer table")
        continue
    for number, line in enumerate(source.read_text().splitlines(), 1):
        target = included_folder(line)
        if not target or target == folder:
            continue
        if target not in layers:
            if target == "an unknown public header":
                problems.append(f"{source.relative_to(root)}:{number}: includes {target}")
            continue
        if layers[target] >= layers[folder]:
            problems.append(f"{source.relative_to(root)}:{number}: {folder}/ (layer {layers[folder]}) includes "
                            f"{target}/ (layer {layers[target]})")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
