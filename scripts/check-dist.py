#!/usr/bin/env python3
"""Checks a release directory written by scripts/dist.sh: that SHA256SUMS, the SBOMs and the krew manifest match
the files beside them.

    check-dist.py DIR --version V [--krew PATH]

- the directory holds exactly the expected files;
- SHA256SUMS names every other file once, with its digest;
- each archive holds exactly its binary (static, mode 0755), LICENSE and README.md, and the binary prints
  `kubeseal version: vV` / `controller version: vV` (upstream's format);
- each SBOM is CycloneDX JSON describing its binary at version V, every component is a package of Cargo.lock at
  that version, and every crate the binary links (cargo tree, normal dependencies, this target) is listed;
  kubeseal's does not list the template engine (kubeseal does not link it);
- the krew manifest names the kubeseal archive's URL and sha256, its files exist in the archive, and (with
  --krew) the real krew installs the plugin from the manifest and the archive, and `kubectl-kubeseal --version`
  runs;
- the chart's Chart.yaml says appVersion V; the image archive's index names the tag V.
Prints each problem and exits 1 if there is any.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib

import yaml

TARGET = "x86_64-unknown-linux-gnu"
BINARIES = {"kubeseal": ("kubeseal", "kubeseal version: v{v}"),
            "sealed-secrets-controller": ("sealed-secrets-controller", "controller version: v{v}")}
problems = []


def problem(msg):
    problems.append(msg)
    print(f"check-dist: {msg}", file=sys.stderr)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_static(data):
    """True if the ELF image has no PT_INTERP program header (no dynamic loader)."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    for i in range(phnum):
        off = phoff + i * phentsize
        if int.from_bytes(data[off:off + 4], "little") == 3:  # PT_INTERP
            return False
    return True


def check_sums(d, files):
    path = os.path.join(d, "SHA256SUMS")
    listed = {}
    for n, line in enumerate(open(path), 1):
        m = re.fullmatch(r"([0-9a-f]{64})  (\S+)\n", line)
        if not m:
            problem(f"SHA256SUMS:{n}: not '<sha256>  <file>': {line.rstrip()!r}")
            continue
        if m[2] in listed:
            problem(f"SHA256SUMS:{n}: {m[2]} is listed twice")
        listed[m[2]] = m[1]
    for f in files:
        if f == "SHA256SUMS":
            continue
        if f not in listed:
            problem(f"SHA256SUMS does not list {f}")
        elif listed[f] != sha256(os.path.join(d, f)):
            problem(f"SHA256SUMS: the digest of {f} does not match the file")
    for f in listed:
        if f not in files:
            problem(f"SHA256SUMS lists {f}, which is not in the directory")


def check_archive(d, name, version):
    archive = f"{name}-{version}-linux-amd64.tar.gz"
    binary, expected = BINARIES[name]
    with tarfile.open(os.path.join(d, archive), "r:gz") as t:
        members = {m.name: m for m in t.getmembers()}
        if sorted(members) != sorted([binary, "LICENSE", "README.md"]):
            problem(f"{archive}: holds {sorted(members)}, expected {binary}, LICENSE, README.md")
            return
        for m in members.values():
            if m.uid != 0 or m.gid != 0:
                problem(f"{archive}: {m.name} is owned by {m.uid}:{m.gid}, expected 0:0")
        if members[binary].mode != 0o755:
            problem(f"{archive}: {binary} has mode {oct(members[binary].mode)}, expected 0o755")
        data = t.extractfile(binary).read()
    if not is_static(data):
        problem(f"{archive}: {binary} is not a static executable (it names a program interpreter)")
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, binary)
        with open(exe, "wb") as f:
            f.write(data)
        os.chmod(exe, 0o755)
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        want = expected.format(v=version)
        if out.returncode != 0 or out.stdout.strip() != want:
            problem(f"{archive}: `{binary} --version` printed {out.stdout.strip()!r} (exit {out.returncode}), "
                    f"expected {want!r}")


def cargo_lock_packages():
    lock = tomllib.load(open("Cargo.lock", "rb"))
    return {(p["name"], p["version"]) for p in lock["package"]}


def linked_crates(crate):
    out = subprocess.run(["cargo", "tree", "-q", "-p", crate, "--target", TARGET, "-e", "normal",
                          "--prefix", "none", "-f", "{p}"], capture_output=True, text=True, check=True).stdout
    crates = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v"):
            crates.add((parts[0], parts[1][1:]))
    return crates


def check_sbom(d, crate, version, lock):
    name = f"{crate}.cdx.json"
    try:
        bom = json.load(open(os.path.join(d, name)))
    except (OSError, ValueError) as e:
        problem(f"{name}: not JSON: {e}")
        return
    if bom.get("bomFormat") != "CycloneDX" or not str(bom.get("specVersion", "")).startswith("1."):
        problem(f"{name}: not a CycloneDX document (bomFormat {bom.get('bomFormat')!r}, "
                f"specVersion {bom.get('specVersion')!r})")
        return
    comp = bom.get("metadata", {}).get("component", {})
    described = {comp.get("name")} | {c.get("name") for c in comp.get("components", [])}
    if crate not in described or comp.get("version") != version:
        problem(f"{name}: describes {comp.get('name')!r} {comp.get('version')!r} (and {sorted(described - {None})}), "
                f"expected the {crate} binary at {version}")
    listed = set()
    for c in bom.get("components", []):
        key = (c.get("name"), c.get("version"))
        listed.add(key)
        if key not in lock:
            problem(f"{name}: component {key[0]} {key[1]} is not a package of Cargo.lock")
        purl = c.get("purl", "")
        if not purl.startswith(f"pkg:cargo/{key[0]}@{key[1]}"):
            problem(f"{name}: component {key[0]} {key[1]} has purl {purl!r}")
    missing = sorted({(n, v) for (n, v) in linked_crates(crate) if n != crate} - listed)
    if missing:
        problem(f"{name}: does not list {len(missing)} crate(s) the binary links, e.g. "
                + ", ".join(f"{n} {v}" for n, v in missing[:5]))
    if crate == "kubeseal" and any(n == "go-template" for n, _ in listed):
        problem(f"{name}: lists go-template, which kubeseal does not link")
    return len(listed)


def check_krew(d, version, krew):
    name = "kubeseal.krew.yaml"
    archive = f"kubeseal-{version}-linux-amd64.tar.gz"
    try:
        m = yaml.safe_load(open(os.path.join(d, name)))
    except (OSError, yaml.YAMLError) as e:
        problem(f"{name}: not YAML: {e}")
        return
    if m.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2" or m.get("kind") != "Plugin":
        problem(f"{name}: apiVersion/kind {m.get('apiVersion')!r}/{m.get('kind')!r} is not a krew Plugin")
    spec = m.get("spec", {})
    if spec.get("version") != f"v{version}":
        problem(f"{name}: spec.version {spec.get('version')!r}, expected v{version}")
    platforms = spec.get("platforms", [])
    if len(platforms) != 1:
        problem(f"{name}: {len(platforms)} platforms, expected one (linux/amd64)")
        return
    p = platforms[0]
    if p.get("selector", {}).get("matchLabels") != {"os": "linux", "arch": "amd64"}:
        problem(f"{name}: platform selector {p.get('selector')!r}, expected os=linux, arch=amd64")
    if not str(p.get("uri", "")).endswith("/" + archive):
        problem(f"{name}: uri {p.get('uri')!r} does not name {archive}")
    if p.get("sha256") != sha256(os.path.join(d, archive)):
        problem(f"{name}: sha256 {p.get('sha256')!r} is not the sha256 of {archive}")
    with tarfile.open(os.path.join(d, archive), "r:gz") as t:
        names = set(t.getnames())
    for f in p.get("files", []):
        if f.get("from") not in names:
            problem(f"{name}: files.from {f.get('from')!r} is not in {archive}")
    if p.get("bin") not in names:
        problem(f"{name}: bin {p.get('bin')!r} is not in {archive}")
    if krew and not problems:
        with tempfile.TemporaryDirectory() as root:
            env = dict(os.environ, KREW_ROOT=root, HOME=root, KREW_NO_UPGRADE_CHECK="1")
            r = subprocess.run([krew, "install", f"--manifest={os.path.join(d, name)}",
                                f"--archive={os.path.join(d, archive)}"], env=env, capture_output=True,
                               text=True, timeout=120)
            if r.returncode != 0:
                problem(f"{name}: krew install failed (exit {r.returncode}): {r.stderr.strip()[-600:]}")
                return
            plugin = os.path.join(root, "bin", "kubectl-kubeseal")
            out = subprocess.run([plugin, "--version"], capture_output=True, text=True, timeout=30)
            if out.stdout.strip() != f"kubeseal version: v{version}":
                problem(f"{name}: the plugin krew installed printed {out.stdout.strip()!r} for --version")


def check_chart(d, version):
    charts = [f for f in os.listdir(d) if re.fullmatch(r"sealed-secrets-.+\.tgz", f)]
    if len(charts) != 1:
        problem(f"expected one packaged chart sealed-secrets-<version>.tgz, found {charts}")
        return
    with tarfile.open(os.path.join(d, charts[0]), "r:gz") as t:
        try:
            chart = yaml.safe_load(t.extractfile("sealed-secrets/Chart.yaml"))
        except KeyError:
            problem(f"{charts[0]}: no sealed-secrets/Chart.yaml")
            return
    if str(chart.get("appVersion")) != version:
        problem(f"{charts[0]}: appVersion {chart.get('appVersion')!r}, expected {version}")
    if charts[0] != f"sealed-secrets-{chart.get('version')}.tgz":
        problem(f"{charts[0]}: its Chart.yaml says version {chart.get('version')!r}")


def check_image(d, version):
    name = f"sealed-secrets-controller-{version}.oci.tar"
    with tarfile.open(os.path.join(d, name)) as t:
        entry = next((m for m in t.getmembers() if m.name in ("index.json", "./index.json")), None)
        if entry is None:
            problem(f"{name}: no index.json: not an OCI image layout archive")
            return
        index = json.load(t.extractfile(entry))
    refs = [m.get("annotations", {}).get("org.opencontainers.image.ref.name", "") for m in index.get("manifests", [])]
    if not any(r.endswith(":" + version) or r == version for r in refs):
        problem(f"{name}: its index names {refs}, none with the tag {version}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--version", required=True)
    ap.add_argument("--krew", help="the krew binary: also install the plugin with it")
    a = ap.parse_args()
    d, v = a.dir, a.version
    files = sorted(f for f in os.listdir(d) if not f.startswith("."))
    charts = [f for f in files if re.fullmatch(r"sealed-secrets-.+\.tgz", f)]
    expected = sorted([f"kubeseal-{v}-linux-amd64.tar.gz", f"sealed-secrets-controller-{v}-linux-amd64.tar.gz",
                       f"sealed-secrets-controller-{v}.oci.tar", "kubeseal.cdx.json",
                       "sealed-secrets-controller.cdx.json", "kubeseal.krew.yaml", "SHA256SUMS"] + charts[:1])
    for f in sorted(set(expected) - set(files)):
        problem(f"{f} is missing")
    for f in sorted(set(files) - set(expected)):
        problem(f"{f} is not a release artifact")
    if problems:
        return 1
    check_sums(d, files)
    for name in BINARIES:
        check_archive(d, name, v)
    lock = cargo_lock_packages()
    counts = {c: check_sbom(d, c, v, lock) for c in BINARIES}
    check_chart(d, v)
    check_image(d, v)
    check_krew(d, v, a.krew)
    if problems:
        print(f"check-dist: {len(problems)} problem(s) in {d}", file=sys.stderr)
        return 1
    print(f"check-dist: {d}: {len(files)} files; SHA256SUMS matches; SBOM components: "
          + ", ".join(f"{c} {n}" for c, n in counts.items())
          + "; krew manifest matches the kubeseal archive" + (" and krew installs it" if a.krew else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
