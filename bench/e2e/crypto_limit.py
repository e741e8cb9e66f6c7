"""The crypto limit: raw cryptographic CPU cost per message (issue #8, Part B).

This is the FLOOR, not an implementation: the numbers come from
smimegate-bench-crypto-limit (bench/e2e/crypto_limit.cc), which times the
OpenSSL EVP primitives alone on one thread: the private/public-key operations
and SHA-256 / AES-256-CBC throughput. No MIME parsing or canonicalisation, no
CMS/ASN.1 encoding, no base64, no certificate-chain checks, no I/O. A real
gateway necessarily spends more; the report's "efficiency" is this floor
divided by what the gateway spends.

Raw crypto CPU seconds per message of `size` bytes:
    relay          = 0
    sign           = sign + sha256(size)
    sign_encrypt   = sign + sha256(size) + key_transport_encrypt + aes(size)
    decrypt_verify = key_transport_decrypt + aes_decrypt(size) + verify + sha256(size)
where sha256(size) = size / sha256_bytes_per_s, aes(size) = size /
aes256cbc_bytes_per_s (encryption), and aes_decrypt uses
aes256cbc_decrypt_bytes_per_s when present (CBC decryption parallelises and
is several times faster; falls back to the encryption rate). The crypto
limit in messages/s is cores / raw seconds per message (cores =
os.cpu_count() unless given). One recipient per message.

Python API:
    limit = run(binary, "rsa2048", seconds=1.0)   # or load(path)
    raw_seconds_per_message(limit, "sign_encrypt", 10240)  -> float
    crypto_limit_msgs_per_s(limit, "sign", 10240, cores=None) -> float | None
    SCENARIOS

CLI:
    /usr/bin/python3 bench/e2e/crypto_limit.py --binary PATH --key rsa2048|p256
        [--seconds 1] [--json OUT] [--sizes 2048,10240,102400,1048576] [--cores N]
    /usr/bin/python3 bench/e2e/crypto_limit.py --from-json FILE [--sizes ...]
prints a table of raw seconds per message and the limit per scenario and size.
"""

import argparse
import json
import os
import subprocess
import sys

SCENARIOS = ("relay", "sign", "sign_encrypt", "decrypt_verify")
FIELDS = ("sign", "verify", "key_transport_encrypt", "key_transport_decrypt",
          "sha256_bytes_per_s", "aes256cbc_bytes_per_s")


def run(binary, key, seconds=1.0, timeout=None):
    """Runs smimegate-bench-crypto-limit and returns its JSON as a dict."""
    if timeout is None:
        timeout = 60 + 10 * seconds
    out = subprocess.run([binary, "--key", key, "--seconds", str(seconds)],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{binary} --key {key} failed (rc {out.returncode}): "
                           f"{out.stderr.strip()}")
    return validate(json.loads(out.stdout))


def load(path):
    with open(path) as f:
        return validate(json.load(f))


def validate(limit):
    missing = [f for f in FIELDS if not isinstance(limit.get(f), (int, float))
               or limit[f] <= 0]
    if missing:
        raise ValueError(f"crypto-limit JSON lacks positive fields: {missing}")
    return limit


def raw_seconds_per_message(limit, scenario, size):
    """Raw crypto CPU seconds for one message of `size` bytes."""
    size = float(size)
    sha = size / limit["sha256_bytes_per_s"]
    aes_enc = size / limit["aes256cbc_bytes_per_s"]
    aes_dec = size / limit.get("aes256cbc_decrypt_bytes_per_s",
                               limit["aes256cbc_bytes_per_s"])
    if scenario == "relay":
        return 0.0
    if scenario == "sign":
        return limit["sign"] + sha
    if scenario == "sign_encrypt":
        return limit["sign"] + sha + limit["key_transport_encrypt"] + aes_enc
    if scenario == "decrypt_verify":
        return limit["key_transport_decrypt"] + aes_dec + limit["verify"] + sha
    raise ValueError(f"unknown scenario {scenario!r}; expected one of {SCENARIOS}")


def crypto_limit_msgs_per_s(limit, scenario, size, cores=None):
    """cores / raw seconds per message; None when there is no crypto (relay)."""
    raw = raw_seconds_per_message(limit, scenario, size)
    if raw <= 0:
        return None
    return (cores or os.cpu_count() or 1) / raw


def _main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--binary", help="path to smimegate-bench-crypto-limit")
    src.add_argument("--from-json", help="a JSON file written by the binary")
    ap.add_argument("--key", choices=["rsa2048", "p256"], default="rsa2048")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--json", help="also write the binary's JSON here")
    ap.add_argument("--sizes", default="2048,10240,102400,1048576")
    ap.add_argument("--cores", type=int, default=None)
    a = ap.parse_args(argv)
    limit = run(a.binary, a.key, a.seconds) if a.binary else load(a.from_json)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(limit, f, indent=2)
    cores = a.cores or os.cpu_count() or 1
    print(f"key {limit['key']}  cores {cores}  (floor: EVP primitives only, "
          f"no MIME/CMS encoding)")
    for op in ("sign", "verify", "key_transport_encrypt", "key_transport_decrypt"):
        print(f"  {op:22s} {limit[op] * 1e6:10.1f} us/op  {1 / limit[op]:10.0f} ops/s")
    for f in ("sha256_bytes_per_s", "aes256cbc_bytes_per_s", "aes256cbc_decrypt_bytes_per_s"):
        if f in limit:
            print(f"  {f:30s} {limit[f] / 1e6:10.0f} MB/s")
    print(f"{'scenario':16s} {'size':>8s} {'raw ms/msg':>11s} {'limit msgs/s':>13s}")
    for scen in SCENARIOS:
        for size in (int(s) for s in a.sizes.split(",")):
            raw = raw_seconds_per_message(limit, scen, size)
            lim = crypto_limit_msgs_per_s(limit, scen, size, cores)
            print(f"{scen:16s} {size:8d} {raw * 1e3:11.3f} "
                  f"{'-' if lim is None else f'{lim:.0f}':>13s}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
