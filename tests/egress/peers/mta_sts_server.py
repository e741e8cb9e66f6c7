#!/usr/bin/python3
"""An MTA-STS policy server for tests: HTTPS on loopback, a free port.

    mta_sts_server.py --port-file F --cert C --key K --dir D

GET /.well-known/mta-sts.txt with Host mta-sts.<domain>[:port] answers the
file D/<domain> (read on every request, so a test may change it) as
text/plain, 404 when there is none. Each request is appended to D/requests
("<domain>" per line), so a test can count fetches.
"""
import argparse
import http.server
import os
import ssl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else ""
            with open(os.path.join(args.dir, "requests"), "a") as f:
                f.write(domain + "\n")
            path = os.path.join(args.dir, domain)
            if self.path != "/.well-known/mta-sts.txt" or not domain or not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer((args.host, 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
