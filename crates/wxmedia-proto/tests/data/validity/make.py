#!/usr/bin/env python3
"""Regenerate the certificates and /v3/certificates listings of this folder.

The tests of platform-certificate validity (issue 21, item 3) need
certificates with chosen notBefore/notAfter and listings that hold them,
encrypted with the APIv3 key as WeChat Pay does. All certificates are
self-signed with ../v3_key.pem (so one signature verifies under any of
their serials); the listings use a fixed nonce (never reuse one outside
test data), so the output is the same on every run. Needs Python `cryptography`:

    python3 crates/wxmedia-proto/tests/data/validity/make.py

Certificates (serial, notBefore, notAfter, UTC):
  expired.pem      1E01  2020-01-01  2023-01-01  expired at 1 700 000 000 and today
  current.pem      2C02  2022-06-01  2024-01-01  valid at 1 700 000 000 (the tests' NOW)
  next.pem         3A03  2023-12-01  2028-12-01  not yet valid at NOW, valid at 1 705 000 000
  long.pem         4B04  2000-01-01  2099-12-31  valid at any time a test runs
  far_future.pem   5D05  2090-01-01  2099-01-01  not yet valid at any time a test runs

Listings (bodies only; the tests sign them when they serve them):
  listing_current.json          [current]
  listing_next.json             [next]
  listing_expired_next.json     [expired, next]      nothing valid at NOW
  listing_long_mixed.json       [long, expired, far_future]
  listing_expired_future.json   [expired, far_future] nothing valid today
"""

import base64
import datetime as dt
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
API_V3_KEY = b"wxmediaV3TestKey0123456789abcdef"
NONCE = "a1b2c3d4e5f6"
UTC = dt.timezone.utc
CST = dt.timezone(dt.timedelta(hours=8))

CERTS = {
    "expired": (0x1E01, dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2023, 1, 1, tzinfo=UTC)),
    "current": (0x2C02, dt.datetime(2022, 6, 1, tzinfo=UTC), dt.datetime(2024, 1, 1, tzinfo=UTC)),
    "next": (0x3A03, dt.datetime(2023, 12, 1, tzinfo=UTC), dt.datetime(2028, 12, 1, tzinfo=UTC)),
    "long": (0x4B04, dt.datetime(2000, 1, 1, tzinfo=UTC), dt.datetime(2099, 12, 31, tzinfo=UTC)),
    "far_future": (0x5D05, dt.datetime(2090, 1, 1, tzinfo=UTC), dt.datetime(2099, 1, 1, tzinfo=UTC)),
}

LISTINGS = {
    "listing_current.json": ["current"],
    "listing_next.json": ["next"],
    "listing_expired_next.json": ["expired", "next"],
    "listing_long_mixed.json": ["long", "expired", "far_future"],
    "listing_expired_future.json": ["expired", "far_future"],
}


def main():
    with open(os.path.join(HERE, "..", "v3_key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    pems = {}
    for name, (serial, not_before, not_after) in CERTS.items():
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wxmedia test platform"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .sign(key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pems[name] = pem
        with open(os.path.join(HERE, f"{name}.pem"), "w") as f:
            f.write(pem)
    aead = AESGCM(API_V3_KEY)
    for file, names in LISTINGS.items():
        data = []
        for name in names:
            serial, not_before, not_after = CERTS[name]
            sealed = aead.encrypt(NONCE.encode(), pems[name].encode(), b"certificate")
            data.append({
                "serial_no": f"{serial:X}",
                "effective_time": not_before.astimezone(CST).isoformat(),
                "expire_time": not_after.astimezone(CST).isoformat(),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": NONCE,
                    "associated_data": "certificate",
                    "ciphertext": base64.b64encode(sealed).decode(),
                },
            })
        with open(os.path.join(HERE, file), "w") as f:
            f.write(json.dumps({"data": data}, separators=(",", ":")))


if __name__ == "__main__":
    main()
