#!/usr/bin/env python3
"""layers.py — swarm's layering, checked over the includes of every source file.

    python3 tests/tools/layers.py          check: one line per include of a layer above its own; exit 1
    python3 tests/tools/layers.py --graph  print the include graph between folders (edges with counts)

Each folder is a layer and may include only the folders listed for it below (and itself); system
headers (<...>) are not checked. The table is the one in core/README.md: change both together.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# folder -> folders it may include (besides itself). "plugins" is the plugin ABI header and the
# plugins' shared headers (plugins/swarm_plugin.h, plugins/common/, plugins/NAME/*.h).
ALLOWED = {
    "core/base": [],
    "cache": ["core/base"],
    "core/bundle": ["core/base", "cache"],
    "core/net": ["core/base", "cache", "core/bundle"],
    "core/host": ["core/base", "cache", "plugins"],
    "core/pipeline": ["core/base", "cache", "core/bundle", "core/net", "core/host", "plugins"],
    "lua": ["core/base", "cache", "core/bundle", "core/net", "core/host", "core/pipeline", "plugins"],
    "core/work": ["core/base", "cache", "core/bundle", "core/net", "core/host", "core/pipeline", "lua",
                  "plugins"],
    "core/cli": ["core/base", "cache", "core/bundle", "core/net", "core/host", "core/pipeline", "lua",
                 "core/work", "plugins"],
    "hip": ["plugins"],
    "plugins": [],
}
SOURCE = re.compile(r"\.(c|h|cpp|hpp)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    """The layer (a key of ALLOWED) a repository path belongs to, or None."""
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if path == layer or path.startswith(layer + "/"):
            return layer
    return None


def resolve(src, name):
    """Where #include "name" in src lands, as the compiler looks: beside src, then -Icore -I. -Iplugins
    (-Ihip for hip/). Returns a repository path or None (not one of swarm's headers)."""
    dirs = [os.path.dirname(src), "core", ".", "plugins"] + (["hip"] if src.startswith("hip/") else [])
    for d in dirs:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(ROOT, p)):
            return p
    return None


def edges():
    """Yields (source file, its layer, included header, the header's layer) for every include."""
    for top in ["core", "cache", "lua", "hip", "plugins"]:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if not SOURCE.search(f):
                    continue
                src = os.path.relpath(os.path.join(d, f), ROOT)
                with open(os.path.join(ROOT, src), encoding="utf-8") as fh:
                    text = fh.read()
                for name in INCLUDE.findall(text):
                    hdr = resolve(src, name)
                    if hdr:
                        yield src, layer_of(src), hdr, layer_of(hdr)


def main():
    if sys.argv[1:] == ["--graph"]:
        count = {}
        for _, a, _, b in edges():
            if a != b:
                count[(a, b)] = count.get((a, b), 0) + 1
        for (a, b), n in sorted(count.items()):
            print(f"{a} -> {b}  ({n})")
        return 0
    bad = [(s, h) for s, a, h, b in edges() if a != b and b not in ALLOWED.get(a, [])]
    for s, h in bad:
        print(f"layers: {s} includes {h}, a layer above its own ({layer_of(s)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
