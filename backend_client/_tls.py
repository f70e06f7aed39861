"""How a client checks the server over TLS: certificates always verified, TLS 1.2 at least.

`ca_file` names the PEM bundle of the CA(s) to trust instead of the public ones (a company's
own CA, or a test's); without it, `FRESHLINE_CA_FILE`; without that, the public CAs (certifi's
bundle, as httpx's default) and the system's store.
"""

from __future__ import annotations

import os
import ssl

import certifi

CA_FILE_ENV = "FRESHLINE_CA_FILE"


def ca_file_in_force(ca_file: str | None) -> str | None:
    """`ca_file`, else `FRESHLINE_CA_FILE` (unset or empty: the public CAs)."""
    return ca_file or os.environ.get(CA_FILE_ENV) or None


def client_tls(ca_file: str | None = None) -> ssl.SSLContext:
    """A context that verifies the server's certificate and name, against `ca_file` when
    given (else the public CAs), refusing anything older than TLS 1.2."""
    context = ssl.create_default_context(cafile=ca_file)
    if ca_file is None:
        context.load_verify_locations(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
