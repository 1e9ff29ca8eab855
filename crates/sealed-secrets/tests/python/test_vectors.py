"""pytest: the independent Python implementation agrees with every committed vector and round-trips."""

import pytest

import hybrid
from vectors import KEYS, all_vectors

VECTORS = all_vectors()
SCOPE_LABELS = [b"default/db-creds", b"default", b""]


def test_there_are_vectors():
    assert sum(v.expect_success for v in VECTORS) >= 6
    assert sum(not v.expect_success for v in VECTORS) >= 10


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_vector(vector):
    assert vector.name.startswith("ok_" if vector.expect_success else "fail_")
    key = hybrid.load_private_key(str(vector.key_path))
    if vector.expect_success:
        assert hybrid.decrypt(key, vector.ciphertext, vector.label) == vector.plaintext
    else:
        with pytest.raises(hybrid.DecryptError):
            hybrid.decrypt(key, vector.ciphertext, vector.label)


@pytest.mark.parametrize("label", SCOPE_LABELS)
def test_round_trip(label):
    key = hybrid.load_private_key(str(KEYS / "test-only-rsa4096.pem"))
    ct = hybrid.encrypt(key.public_key(), b"value", label)
    assert ct[:2] == b"\x02\x00"
    assert hybrid.decrypt(key, ct, label) == b"value"
    with pytest.raises(hybrid.DecryptError):
        hybrid.decrypt(key, ct, label + b"x")
