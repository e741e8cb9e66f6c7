#!/usr/bin/env bash
# Installs the Debian packages smimegate needs. The one list of dependencies,
# in two parts: RUN_PACKAGES build and run the gateway (scripts/run.sh);
# TEST_PACKAGES are only for the tests, the fuzzers, the linters and the
# benchmarks (scripts/test.sh, bench/e2e/run.sh, scripts/kafka-demo.sh).
# Idempotent, quick when nothing is missing. Uses sudo only when not root.
#
#   scripts/setup-deps.sh         everything (build, run, tests, benchmarks)
#   scripts/setup-deps.sh --run   only what building and running need
#   ... --list                    print the package names instead of installing
#   scripts/setup-deps.sh --runtime --list   the packages the installed binaries
#                                 need at run time on Debian 12 (RUNTIME_PACKAGES:
#                                 the .deb's Depends, the container image)
set -euo pipefail

profile=all
list=0
for arg in "$@"; do
  case "$arg" in
    --run) profile=run ;;
    --list) list=1 ;;
    --runtime) profile=runtime ;;
    *) echo "usage: scripts/setup-deps.sh [--run|--runtime] [--list]" >&2; exit 2 ;;
  esac
done

RUN_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ccache
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
  # keyservice: Mozilla's email roots from NSS's libnssckbi.so, read through p11-kit
  libnss3 libp11-kit-dev
  # ingress: the LDAP recipient source (libldap)
  libldap-dev
  # workers: DKIM signing of outbound mail (docs/dkim.md)
  libopendkim-dev
  # common/dns: DNSSEC-aware queries and answers (SMIMEA discovery, DANE TLSA)
  libldns-dev
  # scripts/run.sh: waits for /readyz (curl); the demo's test message (swaks)
  openssl curl swaks
)

TEST_PACKAGES=(
  # linters and fuzzers (scripts/clang-tidy-changed.sh, scripts/fuzz.sh)
  clang clang-tidy libclang-rt-14-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  postfix gpgsm libnss3-tools prometheus
  python3 python3-aiosmtpd python3-cryptography python3-dnslib python3-matplotlib
  # tests/deploy: the alert rules and dashboards (PyYAML)
  python3-yaml
  # ingress: swaks needs it for --tls (STARTTLS) in the ingress real-client tests
  libnet-ssleay-perl
  # bench/e2e: `e2e_bench.py --perf` profiles the gateway with perf record
  linux-perf
  # ingress: the STARTTLS protocol/cipher check (tests/integration/mx_edge_test.sh)
  testssl.sh
  # portal: the real-browser test (tests/portal/browser/, playwright-core from npm)
  chromium
  # ingress: the test directory server of the LDAP recipient source
  slapd ldap-utils
  # workers: DKIM signatures verified by a second implementation (dkimpy; Ed25519 needs nacl)
  python3-dkim python3-nacl
  # packaging: the container image (scripts/image.sh) and the .deb's Depends check
  mmdebstrap buildah dpkg-dev
)

# What the built smimegate and smimegatectl load at run time (no compiler,
# no headers): the shared libraries dpkg-shlibdeps finds in them
# (tests/deploy/package_test.sh keeps this list complete), NSS's
# libnssckbi.so (Mozilla's email roots, loaded through p11-kit), cracklib's
# dictionary (portal passwords) and the CA store (egress TLS verification).
RUNTIME_PACKAGES=(
  libabsl20220623 libargon2-1 libbz2-1.0 libc-ares2 libc6 libcpp-httplib0.11 libcurl4
  libfmt9 libgcc-s1 libglib2.0-0 libgmime-3.0-0 libgrpc++1.51 libgrpc29 libgumbo1 libidn2-0
  libldap-2.5-0 libldns3 liblz4-1 libopendkim11 libp11-kit0 libprometheus-cpp-core1.0 libprotobuf32 libpwquality1
  libqrencode4 librdkafka1 libsnappy1v5 libspdlog1.10-fmt9 libssl3 libstdc++6 libuv1
  libyaml-cpp0.7 libzstd1 zlib1g
  libnss3 cracklib-runtime ca-certificates
)

PACKAGES=("${RUN_PACKAGES[@]}")
if [ "$profile" = runtime ]; then
  PACKAGES=("${RUNTIME_PACKAGES[@]}")
fi
if [ "$profile" = all ]; then
  PACKAGES+=("${TEST_PACKAGES[@]}")
fi
# ... and npm: Debian's, unless one is installed already (NodeSource's nodejs
# bundles npm and conflicts with Debian's npm package).
if [ "$profile" = all ] && ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi
# ... and kubectl for the manifest tests (tests/deploy/): Debian's
# kubernetes-client, unless a kubectl is installed already (another vendor's
# kubectl package owns the same file).
if [ "$profile" = all ] && ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES+=(kubernetes-client)
fi

if [ "$list" = 1 ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
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
