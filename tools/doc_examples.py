#!/usr/bin/env python3
"""Takes every fenced code block out of README.md and docs/*.md, so that tests check them all.

usage: doc_examples.py SOURCE_ROOT OUT_CPP OUT_JSON PAGE...

PAGE: README.md and docs/*.md, as the build lists them when meson configures (so that a page
changed is a page extracted again); the test says when a page is missing from that list.

OUT_CPP: the ```cpp blocks as one C++ source that the build compiles (tests/docs/meson.build).
Each document gets a namespace, each block a #line directive, so a compiler error names the
document and the line of the example. A block with a fixture or a test in it stands at namespace
scope (a test may use a fixture of an earlier block of the same document); any other block is a
fragment of a test body and is compiled inside a function of its own that has a
`provium::Vm& vm`. Its #include lines move to the top of the source.

OUT_JSON: {"pages": the documents read, "blocks": every block as {"file", "line", "lang", "text"}}, for the test program that compiles
the Lua blocks, parses the TOML blocks, checks the commands of the sh blocks and of the CI
workflows (yaml), configures the meson blocks and runs the Lua examples that are whole files
(tests/docs).

A block without a language is sample output, not an example; any other language is refused, so
that no example slips past the checks unnoticed.

A table's code spans that use Provium's macros (`PROVIUM_FIXTURE(name, "profile") { ... }`) are
C++ usage forms: they are compiled too, each in a namespace of its own, with `...` (elided
code) left out. The other spans of tables are signatures (`vm:exec(cmd, opts?)`), not code.
"""
import json
import pathlib
import re
import sys

CHECKED = {"cpp", "lua", "toml", "sh", "meson", "yaml"}
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
# What a namespace-scope block has at the start of a line (a fragment of a test body has none).
TOP_LEVEL = re.compile(r"^(PROVIUM_FIXTURE\w*|TEST_F|TEST)\(", re.M)

# A table row's code span that is a usage form of a macro.
TABLE_ROW = re.compile(r"^\s*\|")
MACRO_SPAN = re.compile(r"`((?:PROVIUM_[A-Z_]+|TEST_F|TEST)\([^`]*)`")
ELIDED = re.compile(r"(,\s*)?\.\.\.")

# Names that the examples use for what a user brings: their device's descriptor and their
# driver's ioctl number.
PRELUDE = """\
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <provium/gtest.h>
#include <provium/provium.h>

namespace doc_examples_user {
[[maybe_unused]] inline int fd = 3;
[[maybe_unused]] inline constexpr unsigned long KACS_BAD = 0x4b01;
}  // namespace doc_examples_user
using namespace doc_examples_user;
"""


def blocks(root, pages):
    for document in pages:
        name = str(document.relative_to(root))
        lines = document.read_text().splitlines()
        index = 0
        while index < len(lines):
            opening = FENCE.match(lines[index])
            if not opening:
                index += 1
                continue
            indent, lang = opening.group(1), opening.group(2)
            end = index + 1
            while end < len(lines) and not FENCE.match(lines[end]):
                end += 1
            if end == len(lines):
                sys.exit(f"{name}:{index + 1}: a code block that never ends")
            if lang and lang not in CHECKED:
                sys.exit(f"{name}:{index + 1}: code block language '{lang}' has no check; "
                         f"use one of {', '.join(sorted(CHECKED))}, or none for sample output")
            text = "\n".join(line[len(indent):] if line.startswith(indent) else line
                             for line in lines[index + 1:end])
            yield {"file": name, "line": index + 2, "lang": lang, "text": text + "\n"}
            index = end + 1


def table_forms(root, pages):
    """The macro usage forms in tables, as cpp examples at namespace scope (elided code removed)."""
    for document in pages:
        name = str(document.relative_to(root))
        for number, line in enumerate(document.read_text().splitlines(), start=1):
            if TABLE_ROW.match(line):
                for span in MACRO_SPAN.findall(line):
                    yield {"file": name, "line": number, "lang": "cpp", "table": True,
                           "text": ELIDED.sub("", span) + "\n"}


def cpp_source(root, examples):
    includes, bodies = [], []
    for number, example in enumerate(examples):
        body = []
        for line in example["text"].splitlines():
            if line.startswith("#include"):
                includes.append(line)
                body.append("")  # keeps the #line numbering true
            else:
                body.append(line)
        text = "\n".join(body)
        where = f'#line {example["line"]} "{root / example["file"]}"'
        # A document's examples build on each other, as its reader reads them: a test in one
        # uses the fixture of an earlier one.
        namespace = "doc_" + re.sub(r"\W", "_", example["file"])
        if example.get("table"):
            # Each form on its own: a table shows the same name in several forms.
            bodies.append(f"namespace {namespace}_table_{number} {{\n{where}\n{text}\n}}\n")
        elif TOP_LEVEL.search(text):
            bodies.append(f"namespace {namespace} {{\n{where}\n{text}\n}}\n")
        else:
            bodies.append(f"namespace {namespace} {{\n[[maybe_unused]] void example_{number}("
                          f"[[maybe_unused]] provium::Vm& vm) {{\n{where}\n{text}\n}}\n}}\n")
    return "".join(line + "\n" for line in sorted(set(includes))) + PRELUDE + "\n" + "\n".join(bodies)


def main():
    root, out_cpp, out_json = pathlib.Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3]
    pages = [pathlib.Path(page).resolve() for page in sys.argv[4:]]
    every = list(blocks(root, pages))
    cpp = [b for b in every if b["lang"] == "cpp"] + list(table_forms(root, pages))
    pathlib.Path(out_cpp).write_text(cpp_source(root, cpp))
    read = [str(page.relative_to(root)) for page in pages]
    pathlib.Path(out_json).write_text(json.dumps({"pages": read, "blocks": every}, indent=1) + "\n")


main()
