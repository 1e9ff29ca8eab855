#!/usr/bin/env python3
"""Fails when the repository's docs point at something that does not exist.

Checks every tracked file (git ls-files):
- no citation of documents outside the repository: section marks (`§4.3`), our issue tracker
  (`issue 2`; upstream's issues are written `#62` and are fine), or private notes by file name;
- every relative Markdown link ([text](path), [text](path#anchor), [text](#anchor)) in a .md file
  resolves to a tracked file, and the anchor to one of its headings (GitHub's rule: lower case,
  punctuation dropped, spaces to dashes);
- every `make <target>` written in a .md, script or Rust file names a target of the Makefile.
Prints each problem as FILE:LINE: message; exits 1 if there is one.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SELF = "scripts/check-docs.py"

FORBIDDEN = [
    (re.compile(r"§\s*\d"), "a section mark cites a document outside the repository"),
    (re.compile(r"\b(?:reference|design|conventions)\s+§"), "cites a document outside the repository"),
    (re.compile(r"\.\./shared|shared/reference|shared/design"), "path outside the repository"),
    (re.compile(r"\b(?:design|conventions|field-and-users|sealed-secrets-behavior|control-plane|real-node|gitops-agents)\.md\b"),
     "names a document that is not in the repository"),
    (re.compile(r"\b[Ii]ssues? \d+\b"), "cites an issue of a tracker readers cannot see (upstream issues: #N)"),
]

LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
# `make x` in backticks, or make followed by a hyphenated word (make test-e2e), is a target.
MAKE = re.compile(r"`make ([a-z][a-z0-9-]*)|\bmake ([a-z0-9]+(?:-[a-z0-9]+)+)")
TEXT_EXT = (".md", ".rs", ".sh", ".py", ".toml", ".yaml", ".yml", ".txt", ".json", "Makefile", ".go")


def tracked():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return sorted(p for p in out.splitlines() if os.path.isfile(os.path.join(ROOT, p)))


def anchors(path, cache={}):
    if path not in cache:
        found, in_code = set(), False
        counts = {}
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for line in f:
                if line.startswith("```"):
                    in_code = not in_code
                    continue
                m = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if not m:
                    continue
                text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda g: g.group(1) or "", m.group(1))
                slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
                n = counts.get(slug, 0)
                counts[slug] = n + 1
                found.add(slug if n == 0 else f"{slug}-{n}")
        cache[path] = found
    return cache[path]


def make_targets():
    targets = set()
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([a-z][a-z0-9 -]*):(?!=)", line)
            if m:
                targets.update(m.group(1).split())
    return targets


def main():
    files = tracked()
    present = set(files)
    targets = make_targets()
    problems = []
    for path in files:
        if path == SELF or not path.endswith(TEXT_EXT):
            continue
        try:
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except UnicodeDecodeError:
            continue
        for no, line in enumerate(lines, 1):
            for pattern, why in FORBIDDEN:
                if pattern.search(line):
                    problems.append(f"{path}:{no}: {why}: {line.strip()[:100]}")
            for target in (a or b for a, b in MAKE.findall(line)):
                if target not in targets:
                    problems.append(f"{path}:{no}: `make {target}`: no such target in the Makefile")
            if not path.endswith(".md"):
                continue
            for link in LINK.findall(line):
                if re.match(r"[a-z]+:", link):
                    continue
                file_part, _, anchor = link.partition("#")
                target = path if not file_part else os.path.normpath(
                    os.path.join(os.path.dirname(path), file_part))
                if target not in present and not any(p.startswith(target + "/") for p in files):
                    problems.append(f"{path}:{no}: link to {link}: no such file")
                elif anchor and target.endswith(".md") and anchor not in anchors(target):
                    problems.append(f"{path}:{no}: link to {link}: no heading #{anchor} in {target}")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in the docs", file=sys.stderr)
        return 1
    print(f"docs: {len(files)} files checked, links, anchors and make targets resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
