#!/usr/bin/env python3
"""An independent implementation of the Sealed Secrets hybrid encryption, for tests.

Written from the format description (reference section 2.1), with pyca/cryptography, so that the
Rust code is checked against a second implementation rather than against itself:

    u16 big-endian L || RSA-OAEP(SHA-256, MGF1-SHA-256, label)(32-byte session key)  (L bytes)
                     || AES-256-GCM(session key, 12 zero bytes, no AAD)(plaintext) || 16-byte tag

Command line (used by tests/crypto_python.rs):
    hybrid.py encrypt --cert CERT.pem --label LABEL   < plaintext  > base64 ciphertext
    hybrid.py decrypt --key KEY.pem   --label LABEL   < base64     > plaintext
A failed decryption exits with status 1 and the reason on stderr.
"""

import argparse
import base64
import os
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SESSION_KEY_LEN = 32
NONCE = bytes(12)
TAG_LEN = 16


class DecryptError(Exception):
    """A ciphertext that must be rejected."""


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(),
        label=label or None,
    )


def encrypt(public_key: rsa.RSAPublicKey, plaintext: bytes, label: bytes, session_key: bytes | None = None) -> bytes:
    """Hybrid-encrypts plaintext; session_key may be forced for crafting test vectors."""
    if session_key is None:
        session_key = os.urandom(SESSION_KEY_LEN)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    sealed = AESGCM(session_key).encrypt(NONCE, plaintext, None)
    return struct.pack(">H", len(wrapped)) + wrapped + sealed


def decrypt(private_key: rsa.RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    """Hybrid-decrypts, raising DecryptError for any malformed or unauthentic input."""
    if len(ciphertext) < 2:
        raise DecryptError("too short")
    (rsa_len,) = struct.unpack(">H", ciphertext[:2])
    rest = ciphertext[2:]
    if rsa_len > len(rest):
        raise DecryptError("length prefix past the end")
    if rsa_len != private_key.key_size // 8 + (1 if private_key.key_size % 8 else 0):
        raise DecryptError("rsa ciphertext size is not the modulus size")
    wrapped, sealed = rest[:rsa_len], rest[rsa_len:]
    if len(sealed) < TAG_LEN:
        raise DecryptError("aes ciphertext shorter than the tag")
    try:
        session_key = private_key.decrypt(wrapped, _oaep(label))
    except ValueError as e:
        raise DecryptError("rsa-oaep decryption failed") from e
    if len(session_key) != SESSION_KEY_LEN:
        raise DecryptError("session key is not 32 bytes")
    try:
        return AESGCM(session_key).decrypt(NONCE, sealed, None)
    except Exception as e:  # cryptography.exceptions.InvalidTag
        raise DecryptError("aes-gcm authentication failed") from e


def load_private_key(path: str) -> rsa.RSAPrivateKey:
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{path}: not an RSA private key")
    return key


def load_cert_public_key(path: str) -> rsa.RSAPublicKey:
    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SystemExit(f"{path}: not an RSA certificate")
    return key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    enc = sub.add_parser("encrypt")
    enc.add_argument("--cert", required=True)
    enc.add_argument("--label", required=True)
    dec = sub.add_parser("decrypt")
    dec.add_argument("--key", required=True)
    dec.add_argument("--label", required=True)
    args = parser.parse_args()
    label = args.label.encode()
    data = sys.stdin.buffer.read()
    if args.cmd == "encrypt":
        out = encrypt(load_cert_public_key(args.cert), data, label)
        sys.stdout.write(base64.b64encode(out).decode() + "\n")
        return 0
    try:
        plaintext = decrypt(load_private_key(args.key), base64.b64decode(data, validate=False), label)
    except DecryptError as e:
        print(f"hybrid.py: {e}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(plaintext)
    return 0


if __name__ == "__main__":
    sys.exit(main())
