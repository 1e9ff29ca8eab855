#!/usr/bin/env python3
"""Prints, as JSON, the image configuration the Dockerfile's final stage sets: user, exposed ports, entrypoint,
labels (ARG defaults substituted, overridden by --arg NAME=VALUE), and the directory it copies the root filesystem
from. `make image` (scripts/image.sh) applies exactly this to the image it writes, and scripts/check-image.py
compares a written image with it: the Dockerfile stays the one source of truth for both builds.

Understands the instructions the final stage uses (FROM, ARG, COPY, USER, EXPOSE, ENTRYPOINT, LABEL) with line
continuations; anything else in the final stage is an error, so the two builds cannot drift apart silently.
"""
import json
import re
import shlex
import sys


def stages(text):
    """The Dockerfile's instructions, grouped by stage: [[(INSTRUCTION, rest), ...], ...]."""
    logical, buf = [], ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        logical.append((buf + line).strip())
        buf = ""
    out = []
    for line in logical:
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            out.append([])
        out[-1].append((word.upper(), rest.strip()))
    return out


def final_stage(path, overrides):
    with open(path, encoding="utf-8") as f:
        stage = stages(f.read())[-1]
    args, config = dict(overrides), {"user": None, "exposed_ports": [], "entrypoint": None, "labels": {},
                                     "rootfs_from": None, "base": None}
    subst = lambda s: re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), s)
    for word, rest in stage:
        if word == "FROM":
            config["base"] = rest
        elif word == "ARG":
            name, _, default = rest.partition("=")
            args.setdefault(name, default)
        elif word == "COPY":
            m = re.fullmatch(r"--from=(\S+)\s+(\S+)\s+/", rest)
            if not m:
                sys.exit(f"image-config: unsupported COPY in the final stage: {rest}")
            config["rootfs_from"] = {"stage": m.group(1), "path": m.group(2)}
        elif word == "USER":
            config["user"] = subst(rest)
        elif word == "EXPOSE":
            config["exposed_ports"] = [p if "/" in p else f"{p}/tcp" for p in rest.split()]
        elif word == "ENTRYPOINT":
            config["entrypoint"] = json.loads(rest)
        elif word == "LABEL":
            for item in shlex.split(rest):
                k, _, v = item.partition("=")
                config["labels"][k] = subst(v)
        else:
            sys.exit(f"image-config: unsupported instruction in the final stage: {word}")
    return config


def main():
    argv, overrides, path = sys.argv[1:], {}, "Dockerfile"
    while argv:
        a = argv.pop(0)
        if a == "--arg":
            k, _, v = argv.pop(0).partition("=")
            overrides[k] = v
        else:
            path = a
    print(json.dumps(final_stage(path, overrides), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
