#!/usr/bin/env bash
# The install tree, the systemd unit and the Debian package (issue 24):
#   1. every shared library package dpkg-shlibdeps finds in the built
#      binaries is in scripts/setup-deps.sh --runtime --list (the .deb's
#      Depends and the image's packages cannot miss one);
#   2. `cmake --install` puts the binaries, the configuration, the unit and
#      the docs in place; the installed smimegate answers --version and
#      accepts the shipped configuration (check-config);
#   3. the unit asks for CAP_NET_BIND_SERVICE exactly when the shipped
#      configuration has a port below 1024;
#   4. `systemd-analyze verify` reports nothing, and the offline exposure
#      score (`systemd-analyze security --offline`) stays at most 2.5
#      (skipped, with a message, without systemd-analyze);
#   5. `cpack -G DEB` builds the package: its Depends are the run-time list,
#      it holds those files, the configuration is a conffile.
# Usage: package_test.sh <build dir>
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "$1" && pwd)"
work="$(mktemp -d /tmp/smimegate-package-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
runtime="$("$repo/scripts/setup-deps.sh" --runtime --list)"

# 1. dpkg-shlibdeps against the run-time list.
command -v dpkg-shlibdeps >/dev/null || { echo "SKIP: dpkg-shlibdeps (dpkg-dev) missing"; exit 77; }
mkdir -p "$work/shlibs/debian"
printf 'Source: smimegate\n\nPackage: smimegate\nArchitecture: any\n' > "$work/shlibs/debian/control"
shlibs="$(cd "$work/shlibs" && dpkg-shlibdeps -O "$build/cmd/smimegate/smimegate" \
            "$build/cmd/smimegatectl/smimegatectl" 2>/dev/null)"
needed="$(echo "${shlibs#shlibs:Depends=}" | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/ //g' | grep -v '^$')"
[ -n "$needed" ] || fail "dpkg-shlibdeps found no library (output: $shlibs)"
for p in $needed; do
  grep -qx "$p" <<<"$runtime" || fail "$p (a library of the binaries) is not in scripts/setup-deps.sh RUNTIME_PACKAGES"
done
echo "runtime list covers the $(wc -w <<<"$needed") library packages of the binaries"

# 2. The install tree.
DESTDIR="$work/root" cmake --install "$build" --prefix /usr >"$work/install.log"
for f in usr/bin/smimegate usr/bin/smimegatectl etc/smimegate/smimegate.yaml \
         usr/lib/systemd/system/smimegate.service usr/share/doc/smimegate/operations.md \
         usr/share/doc/smimegate/configuration.md; do
  [ -e "$work/root/$f" ] || fail "cmake --install did not install /$f"
done
"$work/root/usr/bin/smimegate" --version | grep -q '^smimegate ' || fail "installed smimegate --version"
"$work/root/usr/bin/smimegatectl" --version | grep -q '^smimegatectl ' || fail "installed smimegatectl --version"
config="$work/root/etc/smimegate/smimegate.yaml"
unit="$work/root/usr/lib/systemd/system/smimegate.service"
overrides=()
if [ "$(id -u)" -ne 0 ]; then  # not allowed to bind below 1024 here: check the rest
  overrides=(SMIMEGATE__INGRESS__LISTENERS__0__PORT=2525 SMIMEGATE__INGRESS__LISTENERS__1__PORT=2587)
fi
env "${overrides[@]}" "$work/root/usr/bin/smimegate" check-config --config "$config" \
  || fail "the shipped configuration fails check-config"

# 3. The capability only for a port below 1024.
low="$(/usr/bin/python3 -c 'import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
ports = [l.get("port", 25) for l in c.get("ingress", {}).get("listeners", [])]
ports.append(c.get("portal", {}).get("port", 8443) if c.get("portal", {}).get("enabled") else 9999)
print(sum(1 for p in ports if 0 < int(p) < 1024))' "$config")"
caps="$(grep -c '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' "$unit" || true)"
if [ "$low" -gt 0 ] && [ "$caps" = 0 ]; then fail "ports below 1024 configured but the unit lacks CAP_NET_BIND_SERVICE"; fi
if [ "$low" = 0 ] && [ "$caps" != 0 ]; then fail "the unit grants CAP_NET_BIND_SERVICE without a port below 1024"; fi
grep -q '^DynamicUser=yes$' "$unit" && grep -q '^ProtectSystem=strict$' "$unit" \
  && grep -q '^StateDirectory=smimegate$' "$unit" && grep -q '^ExecReload=' "$unit" \
  || fail "the unit lost DynamicUser, ProtectSystem=strict, StateDirectory or ExecReload"

# 4. systemd-analyze on the installed unit (paths into the install tree;
# /bin/kill is procps', not always present in a build container).
if command -v systemd-analyze >/dev/null; then
  kill_cmd=/bin/kill; [ -x /bin/kill ] || kill_cmd="/usr/bin/env kill"
  sed -e "s#/usr/bin/smimegate#$work/root/usr/bin/smimegate#g; s#/bin/kill#$kill_cmd#" "$unit" \
    > "$work/smimegate.service"
  out="$(systemd-analyze verify "$work/smimegate.service" 2>&1)" || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify reports: $out"
  score="$(systemd-analyze security --offline=true "$work/smimegate.service" 2>&1 \
           | sed -n 's/.*Overall exposure level for smimegate.service: \([0-9.]*\).*/\1/p')"
  [ -n "$score" ] || fail "systemd-analyze security printed no exposure level"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "exposure level $score > 2.5"
  echo "systemd-analyze verify: clean; exposure level $score"
else
  echo "systemd-analyze not found: the unit is not verified (install systemd)"
fi

# 5. The Debian package.
(cd "$work" && cpack -G DEB -B "$work/deb" --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1) \
  || { tail -20 "$work/cpack.log"; fail "cpack -G DEB"; }
deb="$(ls "$work"/deb/smimegate_*.deb)"
depends="$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/ //g')"
[ "$depends" = "$runtime" ] || fail "Depends of the .deb differ from the run-time list: $depends"
contents="$(dpkg-deb -c "$deb")"
for f in ./usr/bin/smimegate ./usr/bin/smimegatectl ./etc/smimegate/smimegate.yaml \
         ./usr/lib/systemd/system/smimegate.service; do
  grep -q " $f\$" <<<"$contents" || fail "$f is not in the .deb"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/smimegate/smimegate.yaml \
  || fail "/etc/smimegate/smimegate.yaml is not a conffile"
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KB, $(wc -l <<<"$depends") Depends"
