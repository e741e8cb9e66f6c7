#!/usr/bin/python3
"""The customer-side setup guides (docs/setup/*.md) match the code.

Every fenced block opened with ```yaml gateway-config is a complete gateway
configuration: it is written to a temp dir with data_dir pointing there,
listener addresses replaced by 127.0.0.1 and ports by 0 (the guides name
the customer's addresses and privileged ports; binding them is not what is
checked here), its certificate, key and CA files generated (one
self-signed certificate), and `smimegate check-config` must accept it.
A ```yaml gateway-fragment block (a few keys shown on their own) is checked
the same way on top of a minimal configuration (FRAGMENT_BASE).
Every block opened with ```conf postfix-main.cf is a main.cf fragment:
`postconf -c <dir> -n` must print each of its parameters and no warning
(Postfix warns about parameters it does not know). The guides named in
REQUIRED must have their blocks. A self-check renames a key in one
configuration and a parameter in main.cf and requires both checks to fail,
so the test cannot pass by checking nothing.

Usage: setup_guides_test.py <smimegate binary> <repo>
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

BLOCK_RE = re.compile(r"^```(\S+) (gateway-config|gateway-fragment|postfix-main\.cf)\n(.*?)^```",
                      re.M | re.S)
REQUIRED = {
    "microsoft-365.md": ["gateway-config"],
    "exchange-server.md": ["gateway-config"],
    "postfix.md": ["gateway-config", "postfix-main.cf"],
    "README.md": ["gateway-fragment"],
}
FILE_KEYS = ("cert", "key", "client_ca")
FRAGMENT_BASE = {"hosted_domains": ["example.com", "gw.example.net"],
                 "keyservice": {"kek_file": "kek", "kek_create": True}}


def blocks(repo):
    out = []
    for path in sorted(glob.glob(os.path.join(repo, "docs", "setup", "*.md"))):
        with open(path) as f:
            text = f.read()
        for m in BLOCK_RE.finditer(text):
            line = text[: m.start()].count("\n") + 1
            out.append((os.path.basename(path), line, m.group(2), m.group(3)))
    return out


def make_pki(work):
    crt, key = os.path.join(work, "pki.crt"), os.path.join(work, "pki.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "365", "-subj", "/CN=gw.example.net",
                    "-addext", "subjectAltName=DNS:gw.example.net",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    return crt, key


def file_values(node):
    """(key, value) of every certificate, key and CA file the config names."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in FILE_KEYS and isinstance(v, str):
                yield k, v
            else:
                yield from file_values(v)
    elif isinstance(node, list):
        for v in node:
            yield from file_values(v)


def localise(text, data_dir):
    text = re.sub(r"^data_dir: .*$", f"data_dir: {data_dir}", text, flags=re.M)
    if not re.search(r"^data_dir:", text, re.M):
        text = f"data_dir: {data_dir}\n" + text
    text = re.sub(r"\baddress: (\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)", "address: 127.0.0.1", text)
    return re.sub(r"\bport: \d+", "port: 0", text)


def check_gateway_config(smimegate, text, work, pki):
    data_dir = tempfile.mkdtemp(prefix="cfg-", dir=work)
    local = localise(text, data_dir)
    try:
        doc = yaml.safe_load(local)
    except yaml.YAMLError as e:
        return f"not YAML: {e}"
    for key, value in file_values(doc):
        path = value if os.path.isabs(value) else os.path.join(data_dir, value)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy(pki[1] if key == "key" else pki[0], path)
        os.chmod(path, 0o600)
    config = os.path.join(data_dir, "smimegate.yaml")
    with open(config, "w") as f:
        f.write(local)
    r = subprocess.run([smimegate, "check-config", "--config", config], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        return f"smimegate check-config exits {r.returncode}: {(r.stderr + r.stdout).strip()}"
    return None


def check_main_cf(postconf, text, work):
    conf_dir = tempfile.mkdtemp(prefix="postfix-", dir=work)
    with open(os.path.join(conf_dir, "main.cf"), "w") as f:
        f.write(text)
    # postconf reads master.cf to tell services' parameters from unknown ones.
    if os.path.exists("/etc/postfix/master.cf"):
        shutil.copy("/etc/postfix/master.cf", conf_dir)
    else:
        open(os.path.join(conf_dir, "master.cf"), "w").close()
    r = subprocess.run([postconf, "-c", conf_dir, "-n"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or "warning" in r.stderr:
        return f"postconf -n exits {r.returncode}: {r.stderr.strip()}"
    printed = {l.split(" = ")[0] for l in r.stdout.splitlines()}
    wanted = {l.split("=")[0].strip() for l in text.splitlines() if l.strip() and not l.startswith("#")}
    missing = sorted(wanted - printed)
    if missing:
        return f"postconf -n does not print {', '.join(missing)}"
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    smimegate, repo = os.path.abspath(sys.argv[1]), sys.argv[2]
    postconf = shutil.which("postconf") or ("/usr/sbin/postconf" if os.path.exists("/usr/sbin/postconf") else None)
    failures = []
    found = blocks(repo)
    for guide, kinds in REQUIRED.items():
        for kind in kinds:
            if not any(g == guide and k == kind for g, _, k, _ in found):
                failures.append(f"docs/setup/{guide}: no ```... {kind} block")
    if postconf is None:
        failures.append("postconf not found: scripts/setup-deps.sh installs Postfix for the tests")
    checked = 0
    with tempfile.TemporaryDirectory(prefix="sg-setup-guides-") as work:
        pki = make_pki(work)
        for guide, line, kind, text in found:
            where = f"docs/setup/{guide}:{line} ({kind})"
            if kind == "gateway-fragment":
                base = dict(FRAGMENT_BASE)
                base.update(yaml.safe_load(text))
                text = yaml.safe_dump(base)
            if kind.startswith("gateway-"):
                err = check_gateway_config(smimegate, text, work, pki)
            elif postconf:
                err = check_main_cf(postconf, text, work)
            else:
                continue
            checked += 1
            if err:
                failures.append(f"{where}: {err}")
        # Self-check: a renamed key and a misspelt parameter must be caught.
        gw = next((t for _, _, k, t in found if k == "gateway-config" and "hosted_domains:" in t), None)
        if gw is None or check_gateway_config(smimegate, gw.replace("hosted_domains:", "hosted_domain:"),
                                              work, pki) is None:
            failures.append("self-check: a configuration with hosted_domain (misspelt) passed")
        cf = next((t for _, _, k, t in found if k == "postfix-main.cf"), None)
        if postconf and (cf is None or check_main_cf(postconf, cf.replace("relayhost =", "relayhots ="),
                                                      work) is None):
            failures.append("self-check: a main.cf with relayhots (misspelt) passed")
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        return 1
    print(f"setup guides: {checked} blocks pass check-config / postconf; self-check catches typos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
