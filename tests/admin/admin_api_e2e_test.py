#!/usr/bin/python3
"""The admin REST API end to end through `smimegate run` (issue 19).

smimegatectl makes tokens (printed once); with them, over HTTPS on
keyservice.admin_api (the self-signed certificate pinned): a super token
adds a reseller and a tenant, the tenant's token adds a domain, which the
MX listener accepts within 5 seconds, and removes it again (550 within 5
seconds); the tenant's token gets 404 for another tenant's domain; a revoked
token gets 401; the calls are in the audit log with the token's id and
scope, and counted in smimegate_admin_api_requests_total.

Usage: admin_api_e2e_test.py <build dir>
"""
import http.client
import json
import os
import re
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

DEADLINE = 5.0  # seconds: issue 19, "accepted by the MX listener within 5 seconds"

fail = sgtest.fail_with_log
ctl_ok = sgtest.ctl_ok


rcpt_code = sgtest.rcpt_code


def time_until(port, rcpt, want, log_path):
    return sgtest.seconds_until_rcpt(port, rcpt, want, log_path, DEADLINE)


class Api:
    """HTTPS to the admin API with its self-signed certificate pinned."""

    def __init__(self, port, cert_file):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=cert_file)
        self.ctx.check_hostname = False  # pinned: the certificate itself is the trust anchor

    def call(self, method, path, token, body=None):
        status, _, text = self.call_raw(method, path, token, body)
        return status, (json.loads(text) if text else None)

    def call_raw(self, method, path, token, body=None):
        """(status, Content-Type, body text)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
        headers = {"Authorization": "Bearer " + token} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        return resp.status, resp.getheader("Content-Type", ""), text



def expect(api, gw, method, path, token, want, body=None):
    status, answer = api.call(method, path, token, body)
    if status != want:
        fail(f"{method} {path}: {status} {answer} (want {want})", gw.log_path)
    return answer


def main():
    admin_port = sgtest.free_port()
    config = sgtest.run_config(
        keyservice_extra="admin_api: {enabled: true, address: 127.0.0.1, port: %d, "
        "hostname: localhost}" % admin_port)
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], config, prefix="sg-admin-api-")
        with gw:
            run(gw, admin_port)
    except (TimeoutError, RuntimeError, OSError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")


def run(gw, admin_port):
    mx, log_path = gw.ports["mx"], gw.log_path
    api = Api(admin_port, os.path.join(gw.home, "admin", "tls", "selfsigned.pem"))
    super_token = ctl_ok(gw, "token", "add", "--scope", "super", "--name", "provider").strip()
    if not re.fullmatch(r"sgt_[0-9a-f]{16}_[0-9a-f]{64}", super_token):
        fail(f"token add printed {super_token!r}", log_path)
    expect(api, gw, "GET", "/v1/tenants", "", 401)

    expect(api, gw, "POST", "/v1/resellers", super_token, 201, {"id": "sh1"})
    expect(api, gw, "POST", "/v1/tenants", super_token, 201,
           {"id": "acme", "name": "ACME", "reseller": "sh1"})
    past = gw.ctl("token", "add", "--scope", "tenant:acme", "--expires", "2001-01-01")
    if past.returncode == 0 or "not in the future" not in past.stderr:
        fail(f"token add --expires 2001-01-01: exit {past.returncode}: {past.stderr}", log_path)
    tenant_token = ctl_ok(gw, "token", "add", "--scope", "tenant:acme", "--expires", "30d").strip()
    tenant_id = tenant_token.split("_")[1]

    if rcpt_code(mx, "ann@acme.example") != 550:
        fail("acme.example is accepted before it was added", log_path)
    domain = expect(api, gw, "POST", "/v1/domains", tenant_token, 201, {"name": "acme.example"})
    if domain.get("tenant") != "acme":
        fail(f"POST /v1/domains: {domain}", log_path)
    added = time_until(mx, "ann@acme.example", 250, log_path)

    # The config file's domain belongs to the default tenant: hidden like a missing one.
    _, hidden = api.call("GET", "/v1/domains/example.com", tenant_token)
    _, missing = api.call("GET", "/v1/domains/nothing.example", tenant_token)
    if hidden != {"error": {"code": "not_found", "message": 'no domain "example.com"'}} or \
            missing["error"]["message"] != 'no domain "nothing.example"':
        fail(f"another tenant's domain: {hidden} / {missing}", log_path)
    expect(api, gw, "DELETE", "/v1/domains/example.com", tenant_token, 404)
    listed = expect(api, gw, "GET", "/v1/domains", tenant_token, 200)
    if [d["name"] for d in listed["domains"]] != ["acme.example"]:
        fail(f"GET /v1/domains as tenant: {listed}", log_path)

    # Usage (CSV), the tenant's own route, and bindings refused below super.
    month = time.strftime("%Y-%m", time.gmtime())
    status, ctype, csv = api.call_raw("GET", f"/v1/usage?month={month}&format=csv", tenant_token)
    if status != 200 or not ctype.startswith("text/csv") or not csv.startswith("kind,month,"):
        fail(f"GET /v1/usage csv: {status} {ctype} {csv[:200]!r}", log_path)
    route = expect(api, gw, "PUT", "/v1/tenants/acme/route", tenant_token, 200,
                   {"hosts": ["mx.acme.example:2525"], "tls": "required"})
    if route != {"tenant": "acme", "hosts": ["mx.acme.example:2525"], "tls": "required"}:
        fail(f"PUT /v1/tenants/acme/route: {route}", log_path)
    shown = ctl_ok(gw, "tenant", "route", "show", "acme", "--json")
    if json.loads(shown).get("hosts") != ["mx.acme.example:2525"]:
        fail(f"tenant route show after PUT: {shown}", log_path)
    expect(api, gw, "DELETE", "/v1/tenants/acme/route", tenant_token, 204)
    expect(api, gw, "POST", "/v1/tenants/acme/bindings", tenant_token, 403,
           {"kind": "network", "value": "127.0.0.1"})

    expect(api, gw, "DELETE", "/v1/domains/acme.example", tenant_token, 204)
    removed = time_until(mx, "ann@acme.example", 550, log_path)
    if rcpt_code(mx, "bob@example.com") != 250:
        fail("the config file's domain is refused", log_path)

    tokens = json.loads(ctl_ok(gw, "token", "list", "--json"))
    if sorted(t["scope"] for t in tokens) != ["super", "tenant:acme"] or \
            any("token" in t or "sha256" in t for t in tokens):
        fail(f"token list --json: {tokens}", log_path)
    expiry = {t["scope"]: t["expires_at"] for t in tokens}
    if expiry["super"] != 0 or abs(expiry["tenant:acme"] - (time.time() + 30 * 86400)) > 3600:
        fail(f"token list --json expiry: {tokens}", log_path)
    listed_text = ctl_ok(gw, "token", "list")
    if "expires never" not in listed_text or "expires 20" not in listed_text:
        fail(f"token list: {listed_text}", log_path)
    ctl_ok(gw, "token", "revoke", tenant_id)
    expect(api, gw, "GET", "/v1/whoami", tenant_token, 401)

    records = json.loads(ctl_ok(gw, "audit", "list", "--json"))
    mine = [r for r in records if r["method"] == "AdminApi/POST /v1/domains"]
    if not mine or mine[0]["role"] != "tenant:acme" or \
            not mine[0]["subject"].startswith("token:" + tenant_id):
        fail(f"no audit record of the domain added with the tenant token: {records[-10:]}",
             log_path)
    if not any(r["method"].endswith("AdminTokens/TokenAdd") for r in records):
        fail("no audit record of smimegatectl token add", log_path)
    if any(super_token in json.dumps(r) or tenant_token in json.dumps(r) for r in records):
        fail("a token is in the audit log", log_path)
    if super_token in gw.log_text() or tenant_token in gw.log_text():
        fail("a token is in the gateway's log", log_path)
    metrics = sgtest.wait_http(f"http://127.0.0.1:{gw.ports['metrics']}/metrics", proc=gw.proc)
    if not re.search(r'^smimegate_admin_api_requests_total\{code="unauthenticated"\} [1-9]',
                     metrics, re.M):
        fail("smimegate_admin_api_requests_total{code=\"unauthenticated\"} not counted", log_path)
    print(f"ok: domain added over the API accepted {added:.2f} s later, removed refused "
          f"{removed:.2f} s later (limit {DEADLINE:g} s); 404 for another tenant's domain; "
          f"revoked token 401; audit and metrics")


if __name__ == "__main__":
    main()
