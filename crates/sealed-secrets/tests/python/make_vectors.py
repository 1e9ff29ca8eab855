#!/usr/bin/env python3
"""Regenerates the known-answer vectors of tests/vectors/ with the independent Python implementation.

    python3 tests/python/make_vectors.py

Ciphertexts are randomized, so every run rewrites the files with new bytes; the expected outcomes do
not change. Vectors from other producers (e.g. Bitnami's kubeseal) are never touched: this script only
writes the files it lists below.
"""

import base64
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import hybrid
from vectors import KEYS, VECTORS, write

PRODUCER = "tests/python/make_vectors.py (pyca/cryptography)"


def key(name):
    return hybrid.load_private_key(str(KEYS / name))


def ok(name, key_name, scope, label, plaintext=None, plaintext_b64=None, comment=""):
    headers = {"expect": "success", "key": key_name, "scope": scope, "label": label}
    if plaintext_b64 is not None:
        headers["plaintext-base64"] = plaintext_b64
        data = base64.b64decode(plaintext_b64)
    else:
        headers["plaintext"] = plaintext
        data = plaintext.encode()
    headers["producer"] = PRODUCER
    if comment:
        headers["comment"] = comment
    ct = hybrid.encrypt(key(key_name).public_key(), data, label.encode())
    write(VECTORS / f"ok_{name}.txt", headers, ct)


def fail(name, key_name, label, error, ciphertext, comment):
    headers = {
        "expect": "failure",
        "error": error,
        "key": key_name,
        "label": label,
        "producer": PRODUCER,
        "comment": comment,
    }
    write(VECTORS / f"fail_{name}.txt", headers, ciphertext)


def flip(data, index, mask=0x01):
    b = bytearray(data)
    b[index] ^= mask
    return bytes(b)


def main():
    k2048 = "test-only-rsa2048.pem"
    k2048_other = "test-only-rsa2048-other.pem"
    k4096 = "test-only-rsa4096.pem"
    scopes = [("strict", "default/db-creds"), ("namespace-wide", "default"), ("cluster-wide", "")]
    for key_name, bits in [(k2048, 2048), (k4096, 4096)]:
        for scope, label in scopes:
            ok(f"rsa{bits}_{scope}", key_name, scope, label, plaintext="hunter2")
    ok("rsa2048_empty-plaintext", k2048, "strict", "default/empty", plaintext="",
       comment="the AES part is the 16-byte tag alone")
    ok("rsa2048_utf8-plaintext", k2048, "namespace-wide", "prod", plaintext="pässwörd ✓")
    ok("rsa4096_binary-plaintext", k4096, "strict", "kube-system/blob",
       plaintext_b64=base64.b64encode(bytes(range(256)) * 8).decode(), comment="2048 bytes 00..ff repeated")

    label = "default/db-creds"
    pub = key(k2048).public_key()
    good = hybrid.encrypt(pub, b"hunter2", label.encode())
    n = 256
    fail("empty", k2048, label, "too-short", b"", "no bytes at all")
    fail("one-byte", k2048, label, "too-short", b"\x01", "half a length prefix")
    fail("prefix-only", k2048, label, "length-prefix-past-end", good[:2], "length prefix and nothing else")
    fail("truncated-rsa", k2048, label, "length-prefix-past-end", good[:100], "cut inside the RSA ciphertext")
    fail("prefix-ffff", k2048, label, "length-prefix-past-end", b"\xff\xff" + good[2:],
         "length prefix 65535, far past the end")
    fail("prefix-too-small", k2048, label, "rsa-ciphertext-size", struct.pack(">H", n - 1) + good[2:],
         "length prefix 255 for a 256-byte modulus")
    fail("rsa4096-ciphertext-rsa2048-key", k2048, label, "rsa-ciphertext-size",
         hybrid.encrypt(key(k4096).public_key(), b"hunter2", label.encode()),
         "sealed for the 4096-bit key, opened with the 2048-bit one")
    fail("no-tag", k2048, label, "aes-ciphertext-too-short", good[: 2 + n + 10],
         "AES part shorter than the 16-byte tag")
    fail("truncated-tag", k2048, label, "aes-open", good[:-1], "last tag byte missing")
    fail("appended-byte", k2048, label, "aes-open", good + b"\x00", "one byte after the tag")
    fail("bit-flipped-tag", k2048, label, "aes-open", flip(good, len(good) - 1), "last tag bit flipped")
    fail("bit-flipped-aes", k2048, label, "aes-open", flip(good, 2 + n, 0x80), "first AES ciphertext bit flipped")
    fail("bit-flipped-rsa", k2048, label, "rsa-decrypt", flip(good, 2 + n // 2), "a bit of the RSA ciphertext flipped")
    fail("wrong-label", k2048, label, "rsa-decrypt",
         hybrid.encrypt(pub, b"hunter2", b"default/other-name"), "sealed for default/other-name")
    fail("scope-changed", k2048, "default", "rsa-decrypt", good,
         "sealed strict (default/db-creds), opened as namespace-wide (default)")
    fail("cluster-wide-as-strict", k2048, label, "rsa-decrypt", hybrid.encrypt(pub, b"hunter2", b""),
         "sealed cluster-wide (empty label), opened as strict")
    fail("wrong-key", k2048, label, "rsa-decrypt",
         hybrid.encrypt(key(k2048_other).public_key(), b"hunter2", label.encode()),
         "sealed for another 2048-bit key")
    short_key = bytes(range(16))
    wrapped = pub.encrypt(short_key, hybrid._oaep(label.encode()))
    fail("session-key-16-bytes", k2048, label, "session-key-size",
         struct.pack(">H", len(wrapped)) + wrapped + AESGCM(short_key).encrypt(bytes(12), b"hunter2", None),
         "AES-128 session key; upstream Go would accept it, this implementation requires 32 bytes")


if __name__ == "__main__":
    main()
