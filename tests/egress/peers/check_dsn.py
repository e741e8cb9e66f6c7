#!/usr/bin/python3
"""Parses a DSN with Python's email package and checks what a sender's
mail client would show. Exit 0 when every check passes; otherwise prints
what failed and exits 1.

  check_dsn.py FILE --to sender@x --rcpt bad@y --status 5.1.1 \
      [--orcpt "rfc822; bad@y"] [--envid ENV1] [--ret hdrs|full] [--orig-subject S]
"""
import argparse
import email
import email.policy
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--to", required=True)
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--orcpt")
    ap.add_argument("--envid")
    ap.add_argument("--ret", choices=["hdrs", "full"], default="hdrs")
    ap.add_argument("--orig-subject")
    a = ap.parse_args()
    errors = []

    with open(a.file, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if msg.get_content_type() != "multipart/report":
        errors.append("content type is %s" % msg.get_content_type())
    if msg.get_param("report-type") != "delivery-status":
        errors.append("report-type is %s" % msg.get_param("report-type"))
    if a.to not in str(msg["To"]):
        errors.append("To is %s" % msg["To"])
    if not msg["Message-ID"]:
        errors.append("no Message-ID")
    parts = list(msg.iter_parts())
    if len(parts) != 3:
        errors.append("%d parts, expected 3" % len(parts))
    else:
        if parts[0].get_content_type() != "text/plain":
            errors.append("part 1 is %s" % parts[0].get_content_type())
        if parts[1].get_content_type() != "message/delivery-status":
            errors.append("part 2 is %s" % parts[1].get_content_type())
        else:
            # message/delivery-status: a list of header blocks (per-message, per-recipient).
            blocks = parts[1].get_payload()
            per_msg = blocks[0]
            if not str(per_msg.get("Reporting-MTA", "")).startswith("dns;"):
                errors.append("Reporting-MTA is %s" % per_msg.get("Reporting-MTA"))
            if a.envid and per_msg.get("Original-Envelope-Id") != a.envid:
                errors.append("Original-Envelope-Id is %s" % per_msg.get("Original-Envelope-Id"))
            found = None
            for b in blocks[1:]:
                if a.rcpt in str(b.get("Final-Recipient", "")):
                    found = b
            if found is None:
                errors.append("no per-recipient block for %s" % a.rcpt)
            else:
                if found.get("Action") != "failed":
                    errors.append("Action is %s" % found.get("Action"))
                if found.get("Status") != a.status:
                    errors.append("Status is %s, expected %s" % (found.get("Status"), a.status))
                if not str(found.get("Diagnostic-Code", "")).startswith("smtp;"):
                    errors.append("Diagnostic-Code is %s" % found.get("Diagnostic-Code"))
                if a.orcpt and str(found.get("Original-Recipient")) != a.orcpt:
                    errors.append("Original-Recipient is %s" % found.get("Original-Recipient"))
        want = "text/rfc822-headers" if a.ret == "hdrs" else "message/rfc822"
        if parts[2].get_content_type() != want:
            errors.append("part 3 is %s, expected %s" % (parts[2].get_content_type(), want))
        if a.orig_subject:
            body = parts[2].get_payload() if a.ret == "full" else None
            text = parts[2].as_string()
            if a.orig_subject not in text:
                errors.append("original subject not returned")
            if a.ret == "hdrs" and "BODY-MARKER" in text:
                errors.append("RET=HDRS but the body was returned")
            if a.ret == "full" and "BODY-MARKER" not in text:
                errors.append("RET=FULL but the body is missing")
    if errors:
        print("DSN check failed:\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
