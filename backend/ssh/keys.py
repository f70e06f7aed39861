"""OpenSSH public keys read and fingerprinted as `ssh-keygen -l` does (SHA256:<base64>)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from backend.errors import Unprocessable

MIN_RSA_BITS = 2048
"""Shorter RSA keys are refused (OpenSSH refuses below 1024; 2048 is today's floor)."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_type: str
    blob: str
    """The base64 of the key as OpenSSH writes it (the comment left out)."""

    @property
    def openssh(self) -> str:
        return f"{self.key_type} {self.blob}"

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(base64.b64decode(self.blob))


def fingerprint_of(blob: bytes) -> str:
    """OpenSSH's SHA-256 fingerprint of a key's wire blob."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def read_public_key(line: str) -> PublicKey:
    """One line of an OpenSSH `.pub` file, checked; Unprocessable (422) saying why if not."""
    parts = line.strip().split()
    if len(parts) < 2:
        raise Unprocessable("public_key: expected one line like `ssh-ed25519 AAAA... comment`")
    key_type, blob = parts[0], parts[1]
    try:
        decoded = base64.b64decode(blob, validate=True)
        key = load_ssh_public_key(f"{key_type} {blob}".encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise Unprocessable(
            "public_key: not an OpenSSH public key (ed25519, ECDSA or RSA); give the .pub "
            "file's line, never the private key"
        ) from None
    # The type named in front must be the type inside the blob.
    inner = decoded[4 : 4 + int.from_bytes(decoded[:4], "big")].decode(errors="replace")
    if inner != key_type:
        raise Unprocessable(f"public_key: the line says {key_type} but the key is {inner}")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise Unprocessable(
            f"public_key: an RSA key of {key.key_size} bits is too weak "
            f"({MIN_RSA_BITS} at least; ed25519 is better)"
        )
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise Unprocessable(f"public_key: {key_type} keys are not taken")
    return PublicKey(key_type, blob)
