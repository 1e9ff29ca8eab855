"""Reads and writes the known-answer vector files of tests/vectors/ (format: tests/vectors/README.md)."""

import base64
import pathlib
from dataclasses import dataclass, field

VECTORS = pathlib.Path(__file__).resolve().parent.parent / "vectors"
KEYS = VECTORS / "keys"


@dataclass
class Vector:
    name: str
    headers: dict[str, str] = field(default_factory=dict)
    ciphertext: bytes = b""

    @property
    def expect_success(self) -> bool:
        return self.headers["expect"] == "success"

    @property
    def label(self) -> bytes:
        return self.headers["label"].encode()

    @property
    def plaintext(self) -> bytes:
        if "plaintext-base64" in self.headers:
            return base64.b64decode(self.headers["plaintext-base64"])
        return self.headers["plaintext"].encode()

    @property
    def key_path(self) -> pathlib.Path:
        return KEYS / self.headers["key"]


def parse(path: pathlib.Path) -> Vector:
    text = path.read_text()
    head, _, body = text.partition("\n\n")
    vector = Vector(name=path.name)
    for line in head.splitlines():
        key, sep, value = line.partition(":")
        assert sep, f"{path}: header line without ':': {line!r}"
        vector.headers[key] = value[1:] if value.startswith(" ") else value
    vector.ciphertext = base64.b64decode("".join(body.split()), validate=True)
    return vector


def write(path: pathlib.Path, headers: dict[str, str], ciphertext: bytes) -> None:
    lines = [f"{k}: {v}" if v else f"{k}:" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n\n" + base64.b64encode(ciphertext).decode() + "\n")


def all_vectors() -> list[Vector]:
    return [parse(p) for p in sorted(VECTORS.glob("*.txt"))]
