"""A throw-away self-signed certificate for 127.0.0.1, made at run time.

Made with `cryptography` when it is installed (it is in .venv-bench), else with the `openssl`
command; `Skipped` when neither is there.
"""

from __future__ import annotations

import datetime
import importlib
import ipaddress
import os
import shutil
import subprocess
from typing import Any

from ._harness import Skipped

__all__ = ["make_certificate"]

LOOPBACK = "127.0.0.1"


def make_certificate(directory: str) -> tuple[str, str]:
    """Write ``cert.pem`` and ``key.pem`` for 127.0.0.1 and localhost into `directory`."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    try:
        _with_cryptography(cert, key)
    except ImportError:
        _with_openssl(cert, key)
    return cert, key


def _with_cryptography(cert_path: str, key_path: str) -> None:
    x509: Any = importlib.import_module("cryptography.x509")
    oid: Any = importlib.import_module("cryptography.x509.oid")
    hashes: Any = importlib.import_module("cryptography.hazmat.primitives.hashes")
    serialization: Any = importlib.import_module("cryptography.hazmat.primitives.serialization")
    ec: Any = importlib.import_module("cryptography.hazmat.primitives.asymmetric.ec")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(names),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with open(cert_path, "wb") as file:
        file.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _with_openssl(cert_path: str, key_path: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Skipped("neither the cryptography package nor the openssl command is installed")
    command = (
        f"{openssl} req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
    ).split()
    subprocess.run([*command, "-keyout", key_path, "-out", cert_path], check=True, capture_output=True)
