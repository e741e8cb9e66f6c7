#!/usr/bin/python3
"""bench.crypto_limit: smimegate-bench-crypto-limit prints sane JSON for both
key types, and crypto_limit.py turns it into per-scenario raw cost.

Usage: crypto_limit_test.py PATH/TO/smimegate-bench-crypto-limit
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bench", "e2e"))
import crypto_limit  # noqa: E402

OPS = ("sign", "verify", "key_transport_encrypt", "key_transport_decrypt")


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)


def main():
    binary = sys.argv[1]
    results = {}
    for key in ("rsa2048", "p256"):
        out = subprocess.run([binary, "--key", key, "--seconds", "0.2"],
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, f"{key}: rc {out.returncode} {out.stderr}")
        j = json.loads(out.stdout)
        results[key] = j
        check(j["key"] == key, f"key field {j['key']}")
        for op in OPS:
            check(isinstance(j[op], float) and 0 < j[op] < 0.1,
                  f"{key} {op} seconds per op = {j[op]}")
            check(abs(j[op] * j[op + "_ops_per_s"] - 1) < 1e-6, f"{key} {op} ops/s")
            check(j["ops"][op]["iterations"] >= 3, f"{key} {op} iterations")
        for f in ("sha256_bytes_per_s", "aes256cbc_bytes_per_s",
                  "aes256cbc_decrypt_bytes_per_s"):
            # Any machine this runs on hashes/encrypts well above 10 MB/s.
            check(j[f] > 1e7, f"{key} {f} = {j[f]}")
        crypto_limit.validate(j)
    rsa, ec = results["rsa2048"], results["p256"]
    # RSA: the private-key operation is tens of times slower than the public one.
    check(rsa["sign"] > 3 * rsa["verify"], f"RSA sign {rsa['sign']} vs verify {rsa['verify']}")
    check(rsa["key_transport_decrypt"] > 3 * rsa["key_transport_encrypt"],
          "RSA decrypt slower than encrypt")
    # ECDSA P-256 signs faster than RSA-2048.
    check(ec["sign"] < rsa["sign"], "P-256 sign faster than RSA-2048 sign")

    # The per-scenario formula.
    size = 10240
    sha = size / rsa["sha256_bytes_per_s"]
    aes = size / rsa["aes256cbc_bytes_per_s"]
    raw = crypto_limit.raw_seconds_per_message
    check(raw(rsa, "relay", size) == 0, "relay costs no crypto")
    check(abs(raw(rsa, "sign", size) - (rsa["sign"] + sha)) < 1e-12, "sign formula")
    check(abs(raw(rsa, "sign_encrypt", size) -
              (rsa["sign"] + sha + rsa["key_transport_encrypt"] + aes)) < 1e-12,
          "sign_encrypt formula")
    check(raw(rsa, "decrypt_verify", size) > rsa["key_transport_decrypt"] + rsa["verify"],
          "decrypt_verify formula")
    check(raw(rsa, "sign", 1 << 20) > raw(rsa, "sign", 2048), "cost grows with size")
    check(crypto_limit.crypto_limit_msgs_per_s(rsa, "relay", size) is None, "relay limit")
    lim = crypto_limit.crypto_limit_msgs_per_s(rsa, "sign", size, cores=4)
    check(abs(lim - 4 / raw(rsa, "sign", size)) < 1e-6, "limit = cores / raw")
    try:
        raw(rsa, "bogus", size)
        check(False, "unknown scenario accepted")
    except ValueError:
        pass
    bad = subprocess.run([binary, "--key", "dsa"], capture_output=True, timeout=30)
    check(bad.returncode == 2, f"usage error exit code {bad.returncode}")
    print("PASS")


if __name__ == "__main__":
    main()
