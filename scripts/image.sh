#!/usr/bin/env bash
# Builds the container image without a registry or a Dockerfile (issue 24):
#   1. `cmake --install` of the build tree (binaries stripped, the service's
#      configuration, docs) into <out>/install;
#   2. a Debian 12 root file system made by mmdebstrap from Debian's packages:
#      the essential set plus the run-time libraries only
#      (scripts/setup-deps.sh --runtime --list; no compiler, no headers, no
#      apt), docs/man pages/locales left out, a user smimegate (10001:10001)
#      and /var/lib/smimegate owned by it;
#   3. buildah: from scratch, that file system and the install tree, user
#      10001, entrypoint /usr/bin/smimegate (exec form: no shell is needed),
#      committed as an OCI archive <out>/smimegate-oci.tar (smimegate:latest);
#   4. the check: `smimegate --version` and `smimegatectl --version` inside
#      the image as user 10001 with the root file system read-only (podman run
#      --read-only when podman exists, else a read-only bind mount + chroot in
#      a private mount namespace).
# Prints the sizes (root file system, OCI archive).
#
#   scripts/image.sh [--check-only]
#   SMIMEGATE_BUILD_DIR (default build), SMIMEGATE_IMAGE_DIR (default
#   <build>/image), SMIMEGATE_DEBIAN_MIRROR (default http://deb.debian.org/debian)
#
# The root file system is cached in <out> by the hash of the package list and
# reused (delete <out>/rootfs-*.tar to fetch the packages again).
# Exit 77 with "SKIP: <reason>" when it cannot run here: mmdebstrap or buildah
# missing, neither root nor user namespaces, or the mirror unreachable.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$(cd "${SMIMEGATE_BUILD_DIR:-$repo/build}" && pwd)"
out="${SMIMEGATE_IMAGE_DIR:-$build_dir/image}"
mirror="${SMIMEGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
uid=10001
skip() { echo "SKIP: $*"; exit 77; }

for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup-deps.sh installs it)"
done
if [ "$(id -u)" -eq 0 ]; then
  mode=root
elif unshare --user --map-root-user true 2>/dev/null; then
  mode=unshare
else
  skip "neither root nor unprivileged user namespaces: mmdebstrap and buildah cannot run here"
fi
[ -x "$build_dir/cmd/smimegate/smimegate" ] || { echo "image.sh: build first (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# 1. The install tree.
rm -rf "$out/install"
DESTDIR="$out/install" cmake --install "$build_dir" --prefix /usr --strip >"$out/install.log"

# 2. The root file system (cached by package list).
packages="$("$repo/scripts/setup-deps.sh" --runtime --list | paste -sd, -)"
rootfs="$out/rootfs-$(echo "$packages $uid" | md5sum | cut -c1-12).tar"
if [ ! -f "$rootfs" ]; then
  curl -sfI --max-time 20 "$mirror/dists/bookworm/InRelease" >/dev/null \
    || skip "the Debian mirror $mirror is not reachable (set SMIMEGATE_DEBIAN_MIRROR)"
  echo "image.sh: mmdebstrap bookworm ($mode mode) with $(tr ',' '\n' <<<"$packages" | wc -l) run-time packages"
  nice mmdebstrap --mode="$mode" --variant=essential --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="echo 'smimegate:x:$uid:$uid:smimegate:/var/lib/smimegate:/usr/sbin/nologin' >> \"\$1/etc/passwd\"" \
    --customize-hook="echo 'smimegate:x:$uid:' >> \"\$1/etc/group\"" \
    --customize-hook="mkdir -p \"\$1/var/lib/smimegate\" && chown $uid:$uid \"\$1/var/lib/smimegate\" && chmod 700 \"\$1/var/lib/smimegate\"" \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
    bookworm "$rootfs.part.tar" "$mirror" >"$out/mmdebstrap.log" 2>&1 \
    || { tail -20 "$out/mmdebstrap.log"; echo "image.sh: mmdebstrap failed (log: $out/mmdebstrap.log)" >&2; exit 1; }
  mv "$rootfs.part.tar" "$rootfs"
fi

# 3. The image.
storage=(--root "$out/storage" --runroot "$out/run" --storage-driver vfs)
ctr="$(buildah "${storage[@]}" from scratch)"
cleanup() { buildah "${storage[@]}" rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
buildah "${storage[@]}" add "$ctr" "$rootfs" / >/dev/null
buildah "${storage[@]}" add "$ctr" "$out/install" / >/dev/null
version="$("$out/install/usr/bin/smimegate" --version | awk '{print $2}')"
buildah "${storage[@]}" config --user "$uid:$uid" --workingdir /var/lib/smimegate \
  --entrypoint '["/usr/bin/smimegate"]' --cmd '["run", "--config", "/etc/smimegate/smimegate.yaml"]' \
  --port 25/tcp --port 587/tcp --port 9464/tcp --env SMIMEGATE_HOSTNAME= \
  --label org.opencontainers.image.title=smimegate \
  --label "org.opencontainers.image.version=$version" "$ctr"
rm -f "$out/smimegate-oci.tar"
buildah "${storage[@]}" commit --quiet --format oci --rm "$ctr" \
  "oci-archive:$out/smimegate-oci.tar:smimegate:latest" >/dev/null
trap - EXIT
buildah "${storage[@]}" rmi --all >/dev/null 2>&1 || true

# 4. The binaries start inside it: user 10001, read-only root.
check="$out/check-root"
rm -rf "$check" && mkdir -p "$check"
tar -xf "$rootfs" -C "$check" && cp -a "$out/install/." "$check/"
if command -v podman >/dev/null; then
  run_in() { podman run --rm --read-only "oci-archive:$out/smimegate-oci.tar" "$@"; }
  how="podman run --read-only"
else
  run_in() {
    unshare --mount --propagation private sh -c \
      'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec chroot --userspec=10001:10001 "$@"' \
      sh "$check" "$check" "$@"
  }
  how="chroot as $uid:$uid on a read-only bind mount"
fi
v1="$(run_in /usr/bin/smimegate --version)" || { echo "image.sh: smimegate --version failed in the image" >&2; exit 1; }
v2="$(run_in /usr/bin/smimegatectl --version)" || { echo "image.sh: smimegatectl --version failed in the image" >&2; exit 1; }
echo "in the image ($how): $v1; $v2"
# The image's own configuration, read back from the OCI archive.
/usr/bin/python3 - "$out/smimegate-oci.tar" "$uid" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
blob = lambda d: json.load(t.extractfile("blobs/sha256/" + d.split(":", 1)[1]))
index = json.load(t.extractfile("index.json"))
manifest = blob(index["manifests"][0]["digest"])
config = blob(manifest["config"]["digest"])["config"]
want = {"User": f"{sys.argv[2]}:{sys.argv[2]}", "Entrypoint": ["/usr/bin/smimegate"]}
bad = {k: config.get(k) for k, v in want.items() if config.get(k) != v}
if bad:
    sys.exit(f"image.sh: the image's configuration differs: {bad}")
print(f"image config: user {config['User']}, entrypoint {config['Entrypoint']}, cmd {config.get('Cmd')}")
PY
rm -rf "$check"

root_mb=$(( $(tar -tvf "$rootfs" | awk '{s += $3} END {print s}') / 1048576 ))
inst_mb=$(( $(du -sb "$out/install" | cut -f1) / 1048576 ))
oci_mb=$(( $(stat -c %s "$out/smimegate-oci.tar") / 1048576 ))
echo "image smimegate:latest ($version): Debian 12 root $root_mb MB + install tree $inst_mb MB;" \
     "OCI archive $out/smimegate-oci.tar $oci_mb MB"
echo "load it: podman load -i $out/smimegate-oci.tar  (or skopeo copy oci-archive:... docker-daemon:smimegate:latest)"
