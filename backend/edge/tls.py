"""The server's TLS: TLS 1.2 at the least (1.3 whenever the client has it: OpenSSL picks the
newest both speak), forward-secret AEAD ciphers only for 1.2, HTTP/1.1 by ALPN."""

from __future__ import annotations

import ssl

TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""TLS 1.2's suites: ephemeral keys and authenticated encryption only (1.3's are all such)."""


def server_tls(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server context for `certfile` (a PEM chain, the key inside it unless `keyfile`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(certfile, keyfile)
    return context
