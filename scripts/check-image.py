#!/usr/bin/env python3
"""Checks an image archive written by `make image` against the Dockerfile, so that the two builds cannot drift:

- the configuration (user, entrypoint, exposed ports, labels) is what the Dockerfile's final stage sets
  (scripts/image-config.py), with the workspace version, and the Dockerfile's default VERSION is that version;
- the Dockerfile's build stage lays out its root filesystem with scripts/image-rootfs.sh into the directory its
  final stage copies, as `make image` does;
- the one layer holds exactly the files scripts/image-rootfs.sh documents, owned by root, with the modes it sets:
  two static executables (no program interpreter), the `controller` link, the CA bundle, passwd and group naming
  uid 1001; no shell;
- the archive names the image for containerd and OCI tools.

    scripts/check-image.py target/image/sealed-secrets-controller-<version>.oci.tar
Prints what it checked; exits 1 with every mismatch.
"""
import gzip
import io
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
import tomllib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXPECTED_LAYER = {
    # path: (type, mode)
    "./": ("dir", 0o755),
    "etc/": ("dir", 0o755),
    "etc/group": ("file", 0o644),
    "etc/passwd": ("file", 0o644),
    "etc/ssl/": ("dir", 0o755),
    "etc/ssl/certs/": ("dir", 0o755),
    "etc/ssl/certs/ca-certificates.crt": ("file", 0o644),
    "tmp/": ("dir", 0o1777),
    "usr/": ("dir", 0o755),
    "usr/local/": ("dir", 0o755),
    "usr/local/bin/": ("dir", 0o755),
    "usr/local/bin/controller": ("symlink", None),
    "usr/local/bin/kubeseal": ("file", 0o755),
    "usr/local/bin/sealed-secrets-controller": ("file", 0o755),
}


def elf_interpreter(data):
    """The PT_INTERP of a 64-bit little-endian ELF, or None; raises for anything else."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    archive, problems, checked = sys.argv[1], [], []

    def expect(what, got, want):
        if got != want:
            problems.append(f"{what}: {got!r}, expected {want!r}")
        else:
            checked.append(what)

    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        version = tomllib.load(f)["workspace"]["package"]["version"]
    dockerfile = open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8").read()
    want = json.loads(subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts/image-config.py"), "--arg", f"VERSION={version}",
         os.path.join(ROOT, "Dockerfile")], capture_output=True, text=True, check=True).stdout)
    default_version = re.search(r"^ARG VERSION=(\S+)$", dockerfile, re.M)
    expect("Dockerfile default VERSION", default_version and default_version.group(1), version)
    expect("Dockerfile build stage runs scripts/image-rootfs.sh into the copied directory",
           bool(re.search(r"scripts/image-rootfs\.sh\s+" + re.escape(want["rootfs_from"]["path"].rstrip("/")) + r"\s",
                          dockerfile)), True)
    expect("Dockerfile final stage base", want["base"], "scratch")

    with tarfile.open(archive) as outer:
        blob = lambda digest: outer.extractfile("./blobs/" + digest.replace(":", "/")).read()
        index = json.loads(outer.extractfile("./index.json").read())
        names = sorted(m["annotations"]["io.containerd.image.name"] for m in index["manifests"])
        expect("image names", names, sorted([f"docker.io/sealed-secrets-rs/controller:{version}",
                                              "docker.io/sealed-secrets-rs/controller:latest"]))
        digests = {m["digest"] for m in index["manifests"]}
        expect("one manifest for all names", len(digests), 1)
        manifest = json.loads(blob(digests.pop()))
        config = json.loads(blob(manifest["config"]["digest"]))
        expect("os/architecture", (config["os"], config["architecture"]), ("linux", "amd64"))
        c = config["config"]
        expect("User", c.get("User"), want["user"])
        expect("Entrypoint", c.get("Entrypoint"), want["entrypoint"])
        expect("Cmd", c.get("Cmd"), None)
        expect("ExposedPorts", sorted(c.get("ExposedPorts", {})), sorted(want["exposed_ports"]))
        labels = {k: v for k, v in c.get("Labels", {}).items() if k != "org.opencontainers.image.revision"}
        want_labels = {k: v for k, v in want["labels"].items() if k != "org.opencontainers.image.revision"}
        expect("Labels (revision aside)", labels, want_labels)
        expect("version label", c.get("Labels", {}).get("org.opencontainers.image.version"), version)
        expect("layers", len(manifest["layers"]), 1)
        layer = tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(manifest["layers"][0]["digest"]))))
        members = {}
        for m in layer.getmembers():
            name = m.name[2:] if m.name.startswith("./") else m.name
            name = "./" if name in ("", ".") else (name + "/" if m.isdir() else name)
            members[name] = m
        expect("layer entries", sorted(members), sorted(EXPECTED_LAYER))
        for name, (kind, mode) in EXPECTED_LAYER.items():
            m = members.get(name)
            if m is None:
                continue
            got_kind = "dir" if m.isdir() else "symlink" if m.issym() else "file" if m.isfile() else "other"
            expect(f"{name} type", got_kind, kind)
            expect(f"{name} owner", (m.uid, m.gid), (0, 0))
            if mode is not None:
                expect(f"{name} mode", oct(m.mode & 0o7777), oct(mode))
        if "usr/local/bin/controller" in members:
            expect("controller link target", members["usr/local/bin/controller"].linkname, "sealed-secrets-controller")
        for b in ("usr/local/bin/sealed-secrets-controller", "usr/local/bin/kubeseal"):
            if b in members:
                try:
                    expect(f"{b} is static (no program interpreter)", elf_interpreter(layer.extractfile(members[b]).read()), None)
                except ValueError as e:
                    problems.append(f"{b}: {e}")
        if "etc/passwd" in members:
            passwd = layer.extractfile(members["etc/passwd"]).read().decode()
            uid = want["user"].split(":")[0]
            expect("etc/passwd names the image's user", any(l.split(":")[2] == uid for l in passwd.splitlines()), True)

    for c in checked:
        print(f"ok: {c}")
    for p in problems:
        print(f"MISMATCH: {p}")
    if problems:
        sys.exit(1)
    print(f"{archive}: {len(checked)} checks passed")


if __name__ == "__main__":
    main()
