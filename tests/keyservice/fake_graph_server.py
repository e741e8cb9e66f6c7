#!/usr/bin/python3
"""A fake Microsoft Graph for the directory source tests (standard library only).

Serves, over HTTPS on 127.0.0.1 (the test's certificate):
  POST /<tenant>/oauth2/v2.0/token     client credentials -> a bearer token
  GET  /v1.0/users                     paged listing ($skiptoken)
  GET  /v1.0/users/delta               delta rounds: no token = everything,
                                       $deltatoken=G = the changes since
                                       generation G (@removed for deleted users)
  GET  /v1.0/groups/<id>/transitiveMembers/microsoft.graph.user
  GET  /_test/stats                    request counters (JSON)

The directory is the JSON file --directory ({"users": [{"id", "mail",
"proxyAddresses", "accountEnabled", "userType", "groups": [...]}]}); the test
rewrites it between runs, every new content is a new generation.
Misbehaviour on request: --throttle-once (one 429 with Retry-After),
--expire-token-after N (the first token stops working after N requests),
--hostile foreign-next|bad-json|huge|bad-shape.
"""
import argparse
import json
import os
import ssl
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


class Directory:
    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.gens = []  # list of {id: user}
        self.rounds = {}

    def current(self):
        st = os.stat(self.path)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self.stamp:
            self.stamp = stamp
            with open(self.path, encoding="utf-8") as f:
                users = {u["id"]: u for u in json.load(f)["users"]}
            if not self.gens or users != self.gens[-1]:
                self.gens.append(users)
        return len(self.gens) - 1

    def delta(self, since, gen):
        key = (since, gen)
        if key not in self.rounds:
            old = self.gens[since] if since >= 0 else {}
            new = self.gens[gen]
            out = [public(u) for i, u in sorted(new.items()) if old.get(i) != u]
            out += [{"id": i, "@removed": {"reason": "changed"}} for i in sorted(old) if i not in new]
            self.rounds[key] = out
        return self.rounds[key]


def public(user):
    return {k: v for k, v in user.items() if k != "groups"}


class QuietServer(HTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that hangs up (the size-limit test) is expected


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        s = self.server
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        s.stats["token"] += 1
        if not self.path.endswith("/oauth2/v2.0/token"):
            return self.send_json(404, {"error": "not_found"})
        if (form.get("grant_type") != ["client_credentials"] or
                form.get("client_id") != [s.args.client_id] or
                form.get("client_secret") != [s.args.client_secret]):
            return self.send_json(401, {"error": "invalid_client",
                                        "error_description": "AADSTS7000215: Invalid client secret provided."})
        s.token_count += 1
        token = "tok-%d" % s.token_count
        s.tokens[token] = 0
        self.send_json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def authorised(self):
        s = self.server
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token not in s.tokens:
            self.send_json(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}})
            return False
        s.tokens[token] += 1
        if s.args.expire_token_after and token == "tok-1" and s.tokens[token] > s.args.expire_token_after:
            s.stats["expired"] += 1
            self.send_json(401, {"error": {"code": "InvalidAuthenticationToken",
                                           "message": "Lifetime validation failed, the token is expired."}})
            return False
        return True

    def page(self, entries, offset, link_for_next, final_link):
        s = self.server
        size = s.args.page_size
        chunk = entries[offset:offset + size]
        s.stats["entries"] += len(chunk)
        obj = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": chunk}
        if offset + size < len(entries):
            obj["@odata.nextLink"] = link_for_next(offset + size)
        elif final_link:
            obj["@odata.deltaLink"] = final_link
        h = s.args.hostile
        if h == "foreign-next":
            obj.pop("@odata.deltaLink", None)
            obj["@odata.nextLink"] = "https://graph.evil.example/v1.0/users?$skiptoken=x"
        if h == "bad-json":
            return self.send_json(200, None, raw=b'{"value": [ {"id": "u1", ')
        if h == "huge":
            return self.send_json(200, None, raw=b'{"value": [], "pad": "' + b"x" * (3 << 20) + b'"}')
        if h == "bad-shape":
            return self.send_json(200, {"value": [{"id": 17, "mail": ["x"]}]})
        self.send_json(200, obj)

    def do_GET(self):
        s = self.server
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/_test/stats":
            return self.send_json(200, s.stats)
        s.stats["graph"] += 1
        if not self.authorised():
            return
        if s.args.throttle_once and not s.throttled:
            s.throttled = True
            s.stats["throttled"] += 1
            return self.send_json(429, {"error": {"code": "TooManyRequests", "message": "Too many requests"}},
                                  headers={"Retry-After": "1"})
        base = "https://127.0.0.1:%d" % s.server_port
        gen = s.directory.current()
        if url.path == "/v1.0/users/delta":
            s.stats["delta"] += 1
            if "$skiptoken" in q:
                since, to, offset = (int(x) for x in q["$skiptoken"].split("."))
            else:
                since, to, offset = int(q.get("$deltatoken", "-1")), gen, 0
                if since >= len(s.directory.gens):
                    return self.send_json(410, {"error": {"code": "syncStateNotFound", "message": "gone"}})
                s.stats["delta_rounds_full" if since < 0 else "delta_rounds_incremental"] += 1
            entries = s.directory.delta(since, to)
            return self.page(entries, offset,
                             lambda o: "%s/v1.0/users/delta?$skiptoken=%d.%d.%d" % (base, since, to, o),
                             "%s/v1.0/users/delta?$deltatoken=%d" % (base, to))
        if url.path == "/v1.0/users":
            s.stats["users"] += 1
            g, offset = (int(x) for x in q.get("$skiptoken", "%d.0" % gen).split("."))
            entries = [public(u) for _, u in sorted(s.directory.gens[g].items())]
            return self.page(entries, offset,
                             lambda o: "%s/v1.0/users?$skiptoken=%d.%d" % (base, g, o), None)
        prefix = "/v1.0/groups/"
        suffix = "/transitiveMembers/microsoft.graph.user"
        if url.path.startswith(prefix) and url.path.endswith(suffix):
            s.stats["group"] += 1
            gid = url.path[len(prefix):-len(suffix)]
            offset = int(q.get("$skiptoken", "0"))
            members = [{"id": i} for i, u in sorted(s.directory.gens[gen].items()) if gid in u.get("groups", [])]
            chunk = members[offset:offset + s.args.page_size]
            obj = {"value": chunk}
            if offset + s.args.page_size < len(members):
                obj["@odata.nextLink"] = "%s%s?$skiptoken=%d" % (base, url.path, offset + s.args.page_size)
            return self.send_json(200, obj)
        self.send_json(404, {"error": {"code": "Request_ResourceNotFound", "message": self.path}})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--directory", required=True)
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--client-id", default="test-client")
    p.add_argument("--client-secret", default="test-secret")
    p.add_argument("--throttle-once", action="store_true")
    p.add_argument("--expire-token-after", type=int, default=0)
    p.add_argument("--hostile", default="")
    args = p.parse_args()
    server = QuietServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.args = args
    server.directory = Directory(args.directory)
    server.tokens = {}
    server.token_count = 0
    server.throttled = False
    server.stats = {k: 0 for k in ("token", "graph", "delta", "users", "group", "entries", "throttled",
                                   "expired", "delta_rounds_full", "delta_rounds_incremental")}
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_port))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
