#!/usr/bin/env python3
"""Fails when the modules of a crate depend on each other in a cycle.

For every crate under crates/, each source file belongs to a module path (src/keys/watch.rs is
keys::watch). A reference to another module (`crate::a::b`, `super::x`, `self::y`) makes the
referring module depend on it. At each level of the tree (the crate's top-level modules, then
the submodules of each module) the dependencies between sibling modules must form no cycle; a
submodule using its parent's items is not a cycle (the parent declares it). Test modules are
ignored. Prints each cycle found; exits 1 if there is one.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def strip_tests(text):
    # Drop `#[cfg(test)] mod tests { ... }` blocks and `#[cfg(test)]` items (by brace matching).
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\(crate\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def references(module, text):
    text = strip_tests(text)
    text = re.sub(r"//[^\n]*", "", text)
    refs = set()
    for m in re.finditer(r"\bcrate((?:::\w+)+)", text):
        refs.add(tuple(p for p in m.group(1).split("::") if p))
    for m in re.finditer(r"\b((?:super::)+)((?:\w+::)*\w+)", text):
        ups = m.group(1).count("super::")
        base = module[: max(len(module) - ups, 0)]
        refs.add(base + tuple(m.group(2).split("::")))
    for m in re.finditer(r"\bself::((?:\w+::)*\w+)", text):
        refs.add(module + tuple(m.group(1).split("::")))
    return refs


def cycles(graph):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def check_crate(crate_dir):
    src = os.path.join(crate_dir, "src")
    modules = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs") and f != "tests.rs" and not dirpath.endswith(os.sep + "bin"):
                path = os.path.join(dirpath, f)
                if os.path.basename(os.path.dirname(path)) == "bin":
                    continue
                modules[module_of(src, path)] = open(path, encoding="utf-8").read()
    known = set(modules)
    edges = {}
    for module, text in modules.items():
        for ref in references(module, text):
            # The longest known module the reference names.
            target = max((ref[:k] for k in range(len(ref), 0, -1) if ref[:k] in known), key=len, default=None)
            if target is None or target == module:
                continue
            # Compare at the level where the two paths part: siblings under a common parent.
            common = 0
            while common < min(len(module), len(target)) and module[common] == target[common]:
                common += 1
            if common == len(target) or common == len(module):
                continue  # parent and descendant
            a, b = module[: common + 1], target[: common + 1]
            edges.setdefault(a, set()).add(b)
    return cycles(edges)


def main():
    crates = sorted(os.listdir(os.path.join(ROOT, "crates")))
    bad = 0
    for crate in crates:
        for cycle in check_crate(os.path.join(ROOT, "crates", crate)):
            bad += 1
            print(f"module cycle in crates/{crate}: " + " <-> ".join("::".join(m) for m in cycle))
    if bad:
        sys.exit(1)
    print(f"no module cycles in {', '.join(crates)}")


if __name__ == "__main__":
    main()
