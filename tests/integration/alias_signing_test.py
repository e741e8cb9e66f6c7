#!/usr/bin/python3
"""Issue 20: mail from a directory alias is signed with its user's certificate.

`smimegate run` with a Microsoft Graph directory source pointing at the fake
Graph (tests/keyservice/fake_graph_server.py, HTTPS with a test
certificate); `smimegatectl directory sync` imports alice with the proxy
address "smtp:al@example.com"; a message from al@example.com through the
relay listener is delivered signed, and the signer certificate is alice's
(its e-mail address is alice@example.com). Before the alias index, the
keyservice did not know al@example.com and the message left unsigned.

Usage: alias_signing_test.py <build dir>
"""
import json
import os
import re
import smtplib
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import sgtest  # noqa: E402

FAKE_GRAPH = os.path.join(HERE, "..", "keyservice", "fake_graph_server.py")
fail = sgtest.fail_with_log


# sgtest.run_config() with a Graph directory source in the keyservice block;
# {metrics}, {mx}, {relay}, {ks} are filled by SmimegateRun.
CONFIG = sgtest.run_config(keyservice_extra="""
    directory:
      sources:
        m365:
          type: graph
          domains: [example.com]
          token_url: GRAPH/tenant/oauth2/v2.0/token
          graph_url: GRAPH
          client_id: test-client
          client_secret_file: SECRET
          ca_file: CA
""")


def config(graph_port, secret, ca):
    return (CONFIG.replace("GRAPH", "https://127.0.0.1:%d" % graph_port)
            .replace("SECRET", secret).replace("CA", ca))


def signer_emails(path, work):
    signer = os.path.join(work, "signer.pem")
    r = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-in", path, "-signer", signer,
                        "-out", os.devnull], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    r = subprocess.run(["openssl", "x509", "-in", signer, "-noout", "-email"],
                       capture_output=True, text=True)
    return r.stdout.split(), r.stderr


def main():
    work = tempfile.mkdtemp(prefix="sg-alias-")
    cert, key = os.path.join(work, "graph.crt"), os.path.join(work, "graph.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    secret = os.path.join(work, "secret")
    with open(secret, "w") as f:
        f.write("graph-secret\n")
    with open(os.path.join(work, "directory.json"), "w") as f:
        json.dump({"users": [{"id": "a-1", "mail": "alice@example.com",
                              "proxyAddresses": ["SMTP:alice@example.com", "smtp:al@example.com"],
                              "accountEnabled": True, "userType": "Member"}]}, f)
    port_file = os.path.join(work, "port")
    graph = subprocess.Popen(["/usr/bin/python3", FAKE_GRAPH, "--cert", cert, "--key", key,
                              "--port-file", port_file, "--directory",
                              os.path.join(work, "directory.json"), "--client-secret", "graph-secret"])
    gw = None
    try:
        sgtest.wait_until(lambda: os.path.exists(port_file), 10, what="the fake Graph", proc=graph)
        with open(port_file) as f:
            port = int(f.read())
        gw = sgtest.SmimegateRun(sys.argv[1], config(port, secret, cert), prefix="sg-alias-run-")
        with gw:
            run(gw, work)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")
    finally:
        graph.terminate()
        graph.wait()


def run(gw, work):
    r = gw.ctl("directory", "sync", "--source", "m365")
    if r.returncode != 0:
        fail("directory sync: " + r.stdout + r.stderr, gw.log_path)
    if "alias" not in r.stdout:
        fail("directory sync did not record alice's alias: " + r.stdout, gw.log_path)
    smtp = smtplib.SMTP("127.0.0.1", gw.ports["relay"], timeout=30)
    smtp.sendmail("al@example.com", ["partner@remote.example"],
                  ("From: Alice <al@example.com>\r\nTo: partner@remote.example\r\n"
                   "Subject: from an alias\r\nMessage-ID: <alias-1@example.com>\r\n\r\nhello\r\n"))
    smtp.quit()
    new = os.path.join(gw.home, "mail", "outbound", "new")
    sgtest.wait_until(lambda: os.path.isdir(new) and os.listdir(new), 30, what="the delivery",
                      proc=gw.proc)
    path = os.path.join(new, sorted(os.listdir(new))[0])
    with open(path, "rb") as f:
        text = f.read()
    if b"application/pkcs7-signature" not in text and b"application/x-pkcs7-signature" not in text:
        fail("the message from the alias was not signed", gw.log_path)
    emails, err = signer_emails(path, work)
    if emails is None:
        fail("openssl smime -verify: " + err, gw.log_path)
    if emails != ["alice@example.com"]:
        fail("signed by %r, want alice@example.com" % emails, gw.log_path)
    print("ok: mail from al@example.com (alias) signed with alice@example.com's certificate")


if __name__ == "__main__":
    main()
