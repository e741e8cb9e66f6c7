"""Where the gateway's CPU goes, by stage and by kind of work (issue 21).

Reads a perf.data recorded by `e2e_bench.py --perf` (perf record of the
`smimegate run` process, cpu-clock or cycles, any call-graph method) and
sums its samples two ways:

- by stage: the thread that spent them (the gateway names its threads:
  sg-ingress, sg-worker, sg-queue-write, sg-egress, ...; RocksDB's and
  librdkafka's own threads are grouped as such);
- by group of work: the leaf frame's library and symbol, sorted into
  crypto math (RSA/EC/SHA/AES inside libcrypto; Debian's libcrypto has no
  symbols for its internal functions, so without its debug symbols these
  show as "unnamed internals"), the rest of OpenSSL (its exported ASN.1,
  CMS, EVP, BIO, X509 functions), smimegate's own code by namespace
  (MIME/S/MIME engine, policy, queue, SMTP), RocksDB, librdkafka, protobuf,
  allocation (malloc/free, operator new/delete), libc copies and scans
  (memcpy, memchr, ...), other libc, and the kernel, whose samples are
  attributed to the system call they were taken in when the call chain
  shows one (perf's kernel call chains are complete even when user space
  has no frame pointers) and otherwise to interrupts/scheduling.

Only the leaf frame of user-space samples is used: Release builds and
Debian's libraries omit frame pointers, so their callers are unreliable.

With --cpu-per-msg-ms (the CPU per message of the measured run beside the
profile; the profile's own run is slowed by perf) each share is also shown
as milliseconds per message; with --raw-crypto-ms the raw crypto floor of
bench/e2e/crypto_limit.py is shown against the crypto-math group.

    /usr/bin/python3 bench/e2e/perf_groups.py perf.data [--cpu-per-msg-ms X]
        [--raw-crypto-ms Y] [--title T]

Prints Markdown tables. Needs `perf` (linux-perf).
"""

import argparse
import collections
import re
import subprocess
import sys

# Threads -> stage. First match wins.
STAGES = (
    ("ingress (SMTP in)", re.compile(r"^sg-ingress")),
    ("worker (policy, S/MIME)", re.compile(r"^sg-worker$")),
    ("queue writer (WAL, fsync)", re.compile(r"^sg-queue-write")),
    ("queue clean-up", re.compile(r"^sg-queue-clean")),
    ("egress (SMTP out)", re.compile(r"^sg-egress$")),
    ("egress helpers", re.compile(r"^sg-egress-")),
    ("RocksDB background", re.compile(r"^rocksdb:")),
    ("librdkafka threads", re.compile(r"^rdk:")),
    ("kafka poll", re.compile(r"^sg-kafka")),
    ("keyservice, key cache", re.compile(r"^sg-(ks|key)")),
    ("gRPC", re.compile(r"^(grpc|default-executo|resolver-execu|grpc_global_tim)")),
)

# libcrypto leaf symbols that are the arithmetic itself.
CRYPTO_MATH = re.compile(
    r"^(bn_|BN_|rsaz|RSAZ|ossl_rsaz|ecp_nistz256|ossl_ecp_nistz256|ec_GFp|ossl_ec_GFp|"
    r"ossl_ec_scalar|ec_scalar|ecp_|p256_|_?x25519|ossl_x25519|fe51_|fe_|sha256_|sha512_|"
    r"sha1_|SHA256|SHA512|ossl_sha|aesni_|_?aes_|AES_|vpaes_|gcm_|ossl_gcm|ghash|"
    r"ChaCha20|Poly1305|poly1305|__ecp|mont|ossl_bn|word_|bn_mul|__bn|ecdsa_sign_setup|"
    r"ossl_ecdsa|ossl_rsa_|rsa_ossl_|RSA_|ossl_ec_key|ec_key_|ossl_ec_wNAF|ec_wNAF|"
    r"ossl_ec_point|EC_POINT|ec_point|ossl_ecdh|ecdh_)")

ALLOC = re.compile(
    r"^(malloc|free|cfree|calloc|realloc|_int_malloc|_int_free|_int_realloc|"
    r"malloc_consolidate|unlink_chunk|tcache_|__libc_malloc|__libc_free|__libc_calloc|"
    r"__libc_realloc|operator new|operator delete|sysmalloc|__GI___libc_free|"
    r"__GI___libc_malloc|_int_memalign|__posix_memalign|aligned_alloc|"
    r"CRYPTO_malloc|CRYPTO_zalloc|CRYPTO_free|CRYPTO_realloc|CRYPTO_clear_free)")

COPIES = re.compile(r"^(__)?(mem|str|wmem|stp)[a-z_]*(_avx|_sse|_evex|_erms|_unaligned)?")

SMIMEGATE_NS = (
    ("MIME and S/MIME engine (own code)", re.compile(r"^(sg::smime|sg::mail|sg::crypto)")),
    ("policy, keys (own code)",
     re.compile(r"^(sg::workers|sg::keyservice|sg::dkim|sg::tenant)")),
    ("queue (own code)", re.compile(r"^(sg::queue|sg::mailqueue)")),
    ("SMTP ingress (own code)", re.compile(r"^sg::ingress")),
    ("SMTP egress (own code)", re.compile(r"^sg::egress")),
    ("metrics, logging (own code)", re.compile(r"^(sg::metrics|sg::log)")),
)


def stage_of(comm):
    for name, rx in STAGES:
        if rx.search(comm):
            return name
    return "other threads"


def kernel_group(chain):
    """A kernel sample: the system call it was taken in, if any."""
    for sym, _ in chain:
        m = re.match(r"^(__x64_sys_|__do_sys_|__se_sys_|ksys_)([a-z0-9_]+)", sym)
        if m:
            call = m.group(2)
            if call in ("fsync", "fdatasync", "sync_file_range"):
                return "kernel: fsync"
            if call in ("futex",):
                return "kernel: futex (thread hand-offs)"
            if call in ("write", "pwrite64", "writev", "pwritev", "pwritev2", "read", "pread64",
                        "readv", "preadv", "preadv2"):
                return "kernel: read/write (files, sockets)"
            if call in ("sendto", "recvfrom", "sendmsg", "recvmsg", "connect", "accept4",
                        "shutdown", "close"):
                return "kernel: network calls"
            if call in ("epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect6",
                        "epoll_ctl", "nanosleep", "clock_nanosleep"):
                return "kernel: polling, waits"
            if call in ("mmap", "munmap", "madvise", "brk", "mprotect", "mremap"):
                return "kernel: memory mapping"
            return "kernel: other system calls"
    for sym, _ in chain:
        if re.match(r"^(asm_exc_page_fault|exc_page_fault|do_user_addr_fault|handle_mm_fault)",
                    sym):
            return "kernel: page faults"
    return "kernel: interrupts, scheduling"


def group_of(chain):
    sym, dso = chain[0]
    base = dso.rsplit("/", 1)[-1]
    if base.startswith("[kernel") or dso.startswith("[kernel") or sym.startswith("[k]"):
        return kernel_group(chain)
    if base.startswith("libcrypto"):
        if ALLOC.search(sym):
            return "allocation"
        if CRYPTO_MATH.search(sym):
            return "crypto math (RSA/EC/SHA/AES)"
        if sym.startswith("[unknown]") or re.match(r"^0x[0-9a-f]+$", sym):
            # Debian's libcrypto names only its exported functions; the
            # assembly (bignum, P-256, SHA, AES) and static helpers are
            # bare addresses unless its debug symbols are installed.
            return "libcrypto, unnamed internals (mostly RSA/EC/SHA/AES math)"
        return "OpenSSL framework (ASN.1, CMS, EVP, BIO, X509)"
    if base.startswith("libssl"):
        return "TLS (libssl)"
    if base.startswith("librocksdb"):
        return "RocksDB"
    if base.startswith("librdkafka"):
        return "librdkafka"
    if base.startswith("libprotobuf"):
        return "protobuf"
    if base.startswith("libuv"):
        return "libuv event loop"
    if base.startswith(("libspdlog", "libfmt")):
        return "logging (spdlog, fmt)"
    if base.startswith(("libgrpc", "libgpr", "libabsl", "libupb", "libaddress_sorting")):
        return "gRPC"
    if ALLOC.search(sym):
        return "allocation"
    if base.startswith(("libc.so", "libc-", "libstdc++", "ld-linux", "libm.so")):
        if COPIES.search(sym):
            return "libc copies and scans (memcpy, memchr, ...)"
        if base.startswith("libstdc++"):
            return "libstdc++ (strings, containers)"
        return "libc other (locks, syscall stubs)"
    if base == "smimegate":
        # RocksDB is linked into the binary (the Debian build's static library).
        if sym.startswith(("rocksdb::", "XXH", "ZSTD", "LZ4")):
            return "RocksDB"
        if sym.startswith("google::protobuf"):
            return "protobuf"
        for name, rx in SMIMEGATE_NS:
            if rx.search(sym):
                return name
        if COPIES.search(sym):
            return "libc copies and scans (memcpy, memchr, ...)"
        if sym.startswith("sg::"):
            return "other own code"
        if sym.startswith(("std::", "__gnu_cxx::")):
            return "libstdc++ (strings, containers)"
        return "own code, other (unnamed, YAML, gRPC inlines)"
    if base.startswith("[unknown]") or sym == "[unknown]":
        return "unknown"
    return f"other library ({base})"


FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def _frame(m):
    return re.sub(r"\+0x[0-9a-f]+$", "", m.group(1)), m.group(2)


def parse_script(lines):
    """Yields (comm, [(sym, dso), ...] leaf first) for each sample of
    `perf script -F comm,ip,sym,dso` output: a line with the thread's name,
    then one indented line per frame (call chains), or everything on one
    line (no call chain); samples are separated by blank lines."""
    comm, chain = None, []
    for line in lines:
        if not line.strip():
            if comm is not None:
                yield comm, chain or [("[unknown]", "[unknown]")]
            comm, chain = None, []
            continue
        m = FRAME.match(line)
        if m and comm is not None:
            chain.append(_frame(m))
            continue
        if line[0] in " \t":
            continue  # a frame perf printed without a name: skipped
        if comm is not None:  # no blank line between single-line samples
            yield comm, chain or [("[unknown]", "[unknown]")]
            chain = []
        comm = line.split()[0]
        m2 = FRAME.match(" " + line.strip()[len(comm):])
        if m2:
            chain = [_frame(m2)]
    if comm is not None:
        yield comm, chain or [("[unknown]", "[unknown]")]


def samples(data):
    """The samples of a perf.data file (parse_script of `perf script`)."""
    proc = subprocess.Popen(["perf", "script", "-i", data, "-F", "comm,ip,sym,dso",
                             "--demangle"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, errors="replace")
    yield from parse_script(proc.stdout)
    proc.wait()


def summarise_samples(sample_iter):
    by_stage, by_group = collections.Counter(), collections.Counter()
    cross = collections.Counter()
    total = 0
    for comm, chain in sample_iter:
        st, gr = stage_of(comm), group_of(chain)
        by_stage[st] += 1
        by_group[gr] += 1
        cross[(st, gr)] += 1
        total += 1
    return total, by_stage, by_group, cross


def summarise(data):
    return summarise_samples(samples(data))


def table(title, counter, total, per_msg):
    head = f"| {title} | % of samples |" + (" ms per message |" if per_msg else "")
    lines = [head, "|---|---:|" + ("---:|" if per_msg else "")]
    for name, n in counter.most_common():
        share = n / total
        row = f"| {name} | {100 * share:.1f} |"
        if per_msg:
            row += f" {share * per_msg:.3f} |"
        lines.append(row)
    return lines


def _main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="perf.data of the gateway process")
    ap.add_argument("--cpu-per-msg-ms", type=float, default=None,
                    help="CPU per message of the measured run beside the profile (ms)")
    ap.add_argument("--raw-crypto-ms", type=float, default=None,
                    help="raw crypto CPU per message (bench/e2e/crypto_limit.py), ms")
    ap.add_argument("--title", default=None)
    ap.add_argument("--cross-min", type=float, default=1.0,
                    help="stage x group cells at least this %% of samples (default 1)")
    a = ap.parse_args(argv)
    total, by_stage, by_group, cross = summarise(a.data)
    if total == 0:
        print("perf_groups: no samples", file=sys.stderr)
        return 1
    out = [f"## {a.title or a.data}", "", f"{total} samples"]
    if a.cpu_per_msg_ms:
        out[-1] += f"; CPU per message (measured run) {a.cpu_per_msg_ms:.3f} ms"
    if a.raw_crypto_ms:
        out[-1] += f"; raw crypto floor {a.raw_crypto_ms:.3f} ms"
        if a.cpu_per_msg_ms:
            out[-1] += f" (ratio {a.cpu_per_msg_ms / a.raw_crypto_ms:.2f}x)"
    out += [""] + table("stage (thread)", by_stage, total, a.cpu_per_msg_ms) + [""]
    out += table("group (leaf frame)", by_group, total, a.cpu_per_msg_ms) + [""]
    out += [f"| stage | group | % of samples |", "|---|---|---:|"]
    for (st, gr), n in cross.most_common():
        if 100 * n / total >= a.cross_min:
            out.append(f"| {st} | {gr} | {100 * n / total:.1f} |")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
