#!/usr/bin/python3
"""Python smtplib as a real client of the smimegate ingress.

usage: ingress_smtplib_client.py PORT MODE
  MODE plain:    EHLO, send one message to a hosted domain (mx listener)
  MODE tlsauth:  EHLO, STARTTLS, EHLO, AUTH (LOGIN/PLAIN as smtplib picks),
                 send one outbound message (relay listener)
Prints the server's answer to the end of data and exits 0 on success.
"""
import smtplib
import ssl
import sys
from email.message import EmailMessage


def main() -> int:
    port, mode = int(sys.argv[1]), sys.argv[2]
    msg = EmailMessage()
    msg["Subject"] = "smtplib " + mode
    msg["Message-ID"] = "<smtplib-%s@client.example>" % mode
    msg.set_content("Hello from smtplib.\n.leading dot line\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.ehlo("client.example")
        if mode == "tlsauth":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.ehlo("client.example")
            s.login("alice", "s3cret")
            msg["From"], msg["To"] = "alice@example.org", "partner@external.example"
        else:
            msg["From"], msg["To"] = "sender@remote.example", "bob@example.org"
        refused = s.send_message(msg)
        if refused:
            print("refused:", refused)
            return 1
        print("sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
