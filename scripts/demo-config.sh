#!/usr/bin/env bash
# Writes the demo configuration into the data dir given as $1 (used by
# scripts/run.sh on first run; safe to call again: it never overwrites).
set -euo pipefail
home="$1"
mkdir -p "$home/mail/inbound" "$home/mail/outbound"
config="$home/smimegate.yaml"
if [ -f "$config" ]; then
  exit 0
fi
cat > "$config" <<'YAML'
# smimegate demo configuration (docs/configuration.md lists every key).
# The ports follow SMIMEGATE_MX_PORT, SMIMEGATE_RELAY_PORT,
# SMIMEGATE_METRICS_PORT and SMIMEGATE_PORTAL_PORT when they are set.
hosted_domains: [example.com]

log:
  format: text
  level: info

metrics:
  address: 127.0.0.1
  port: ${SMIMEGATE_METRICS_PORT:-9464}

queue:
  type: embedded

ingress:
  listeners:
    # What port 25 is in production: mail from the internet, for example.com only.
    # It offers STARTTLS with a self-signed certificate made at the first start
    # (ingress/selfsigned.pem); give it a `tls:` section for a real one.
    - name: mx
      address: 127.0.0.1
      port: ${SMIMEGATE_MX_PORT:-2525}
      role: mx
    # The organisation's mail server uses this as its smarthost: outbound mail.
    - name: relay
      address: 127.0.0.1
      port: ${SMIMEGATE_RELAY_PORT:-2587}
      role: relay
      trusted_networks: [127.0.0.0/8, "::1/128"]

keyservice:
  # The gRPC API that smimegatectl uses listens on the Unix socket
  # run/keyservice.sock (mode 0600) with mutual TLS; the local admin's
  # credentials are written to credentials/admin/ at first start.
  # The key-encryption key that seals every private key at rest. The demo
  # creates one; in production it comes from a secret (kek_env).
  kek_file: kek
  kek_create: true

workers:
  policy:
    # Mail that must be encrypted ([confidential] in the subject) to a
    # partner without a certificate goes to the web portal instead of
    # bouncing: the partner reads it over HTTPS (docs/portal.md).
    web_encryption: true

portal:
  # The web-encryption portal: https://localhost:8443 with a self-signed
  # certificate made at the first start (portal/tls/); its own
  # key-encryption key, created here as for the keyservice.
  enabled: true
  address: 127.0.0.1
  port: ${SMIMEGATE_PORTAL_PORT:-8443}
  hostname: localhost
  kek_file: portal/kek
  kek_create: true

egress:
  # The demo delivers into Maildirs instead of a mail server and the internet.
  inbound:
    transport: maildir
    path: mail/inbound
  outbound:
    transport: maildir
    path: mail/outbound
YAML
echo "demo configuration written to $config"
