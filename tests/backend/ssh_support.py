"""SSH keys for the tests: fresh ed25519 key pairs in OpenSSH's formats."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def ssh_key_pair() -> tuple[str, str]:
    """A new (private key in OpenSSH PEM, public key line) pair."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, f"{public} test@freshline"


def ssh_public_key() -> str:
    """A fresh public key line nobody has registered."""
    return ssh_key_pair()[1]
