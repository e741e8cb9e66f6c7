#!/usr/bin/env bash
# Installs every Debian package smimegate needs to build, run and test.
# The one list of dependencies: idempotent, quick when nothing is missing.
# Uses sudo only when not root.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang clang-tidy libclang-rt-14-dev ccache
  # libraries
  libssl-dev libuv1-dev librocksdb-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc libc-ares-dev libgmime-3.0-dev
  librdkafka-dev libargon2-dev libcpp-httplib-dev libidn2-dev
  prometheus-cpp-dev
  # workers: OCSP and CRL fetches of revocation checking (libcurl)
  libcurl4-openssl-dev
  # portal: HTML5 parser, password strength (cracklib), TOTP QR codes, mustache templates
  libgumbo-dev libpwquality-dev cracklib-runtime libqrencode-dev libkainjow-mustache-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  openssl curl swaks postfix gpgsm libnss3-tools prometheus
  # keyservice: Mozilla's email roots from NSS's libnssckbi.so, read through p11-kit
  libnss3 libp11-kit-dev
  python3 python3-aiosmtpd python3-cryptography python3-dnslib python3-matplotlib
  # ingress: swaks needs it for --tls (STARTTLS) in the ingress real-client tests
  libnet-ssleay-perl
  # bench/e2e: `e2e_bench.py --perf` profiles the gateway with perf record
  linux-perf
  # ingress: the STARTTLS protocol/cipher check (tests/integration/mx_edge_test.sh)
  testssl.sh
  # portal: the real-browser test (tests/portal/browser/, playwright-core from npm)
  chromium
  # ingress: the LDAP recipient source (libldap) and its test directory server
  libldap-dev slapd ldap-utils
)
# ... and npm: Debian's, unless one is installed already (NodeSource's nodejs
# bundles npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix, slapd and Prometheus are only peers for tests and benchmarks: answer
# Postfix's questions and keep both from starting system daemons.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# slapd is only started by the tests, with their own configuration.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
policy_rc=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy_rc" >/dev/null
  $SUDO chmod +x "$policy_rc"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy_rc"; fi; }
trap cleanup EXIT

if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Never leave a Postfix or Prometheus daemon behind.
$SUDO postfix stop >/dev/null 2>&1 || true
$SUDO pkill -x prometheus >/dev/null 2>&1 || true
