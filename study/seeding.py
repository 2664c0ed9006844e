"""Derived seeds: one study seed fans out into independent, reproducible streams."""

import hashlib


def derive_seed(seed: int, *labels: object) -> int:
    """A positive 31-bit seed for the stream named by ``labels`` under study seed ``seed``.

    Hashing instead of ``seed + offset`` keeps streams of neighbouring seeds unrelated, and
    it never returns 0 because several libraries (Keras Tuner's oracles) read 0 as "random".
    """
    text = repr((int(seed), *labels)).encode()
    value = int.from_bytes(hashlib.sha256(text).digest()[:8], "big") % (2**31 - 2)
    return value + 1
