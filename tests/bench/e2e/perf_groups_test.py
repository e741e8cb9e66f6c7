#!/usr/bin/env python3
"""ctest bench.e2e_perf_groups: bench/e2e/perf_groups.py sorts perf samples
into stages (threads) and groups of work (leaf frame), on synthetic `perf
script` output: no perf, no gateway."""
import os
import sys
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "e2e"))

import perf_groups  # noqa: E402

LIBCRYPTO = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
SMIMEGATE = "/work/build/cmd/smimegate/smimegate"
KERNEL = "[kernel.kallsyms]"

SCRIPT = f"""sg-worker 
\t          130a27 [unknown] ({LIBCRYPTO})
\t9d4ec10bc6c0d808 [unknown] ([unknown])

sg-worker 
\t           8c373 malloc ({LIBC})

sg-queue-write 
\tffffffff8230b789 jbd2_log_wait_commit ({KERNEL})
\tffffffff8164039b __x64_sys_fdatasync ({KERNEL})
\tffffffff822f6f71 do_syscall_64 ({KERNEL})
\t           20d07 fdatasync ({LIBC})

sg-egress 
\t          4be3a1 sg::egress::DotStuff[abi:cxx11]+0x21 ({SMIMEGATE})

rdk:broker1 
\tffffffff8230b789 _raw_spin_unlock_irqrestore ({KERNEL})
\tffffffff813c51b5 try_to_wake_up ({KERNEL})

sg-ingress 
\t          77a001 rocksdb::crc32c::ExtendImpl<&rocksdb::crc32c::Slow_CRC32> ({SMIMEGATE})
\t          11aa02 __memmove_avx_unaligned_erms ({LIBC})
"""


class PerfGroupsTest(unittest.TestCase):
    def summary(self, text=SCRIPT):
        return perf_groups.summarise_samples(perf_groups.parse_script(text.splitlines(True)))

    def test_every_sample_counted_once(self):
        total, by_stage, by_group, cross = self.summary()
        self.assertEqual(total, 6)
        self.assertEqual(sum(by_stage.values()), 6)
        self.assertEqual(sum(by_group.values()), 6)
        self.assertEqual(sum(cross.values()), 6)

    def test_stages_from_thread_names(self):
        _, by_stage, _, _ = self.summary()
        self.assertEqual(by_stage["worker (policy, S/MIME)"], 2)
        self.assertEqual(by_stage["queue writer (WAL, fsync)"], 1)
        self.assertEqual(by_stage["egress (SMTP out)"], 1)
        self.assertEqual(by_stage["librdkafka threads"], 1)
        self.assertEqual(by_stage["ingress (SMTP in)"], 1)
        self.assertEqual(perf_groups.stage_of("sg-egress-body"), "egress helpers")
        self.assertEqual(perf_groups.stage_of("rocksdb:low"), "RocksDB background")
        self.assertEqual(perf_groups.stage_of("python3"), "other threads")

    def test_groups_from_the_leaf_frame(self):
        _, _, by_group, cross = self.summary()
        self.assertEqual(by_group["libcrypto, unnamed internals (mostly RSA/EC/SHA/AES math)"], 1)
        self.assertEqual(by_group["allocation"], 1)
        self.assertEqual(by_group["kernel: fsync"], 1)
        self.assertEqual(by_group["SMTP egress (own code)"], 1)
        self.assertEqual(by_group["kernel: interrupts, scheduling"], 1)
        # The leaf, not its caller: RocksDB's CRC, not the memmove under it.
        self.assertEqual(by_group["RocksDB"], 1)
        self.assertEqual(cross[("queue writer (WAL, fsync)", "kernel: fsync")], 1)

    def test_library_rules(self):
        g = perf_groups.group_of
        self.assertEqual(g([("bn_mul_mont", LIBCRYPTO)]), "crypto math (RSA/EC/SHA/AES)")
        self.assertEqual(g([("ASN1_item_ex_d2i", LIBCRYPTO)]),
                         "OpenSSL framework (ASN.1, CMS, EVP, BIO, X509)")
        self.assertEqual(g([("CRYPTO_malloc", LIBCRYPTO)]), "allocation")
        self.assertEqual(g([("operator new(unsigned long)", "/usr/lib/libstdc++.so.6")]),
                         "allocation")
        self.assertEqual(g([("__memchr_avx2", LIBC)]),
                         "libc copies and scans (memcpy, memchr, ...)")
        self.assertEqual(g([("rd_kafka_q_pop", "/usr/lib/librdkafka.so.1")]), "librdkafka")
        self.assertEqual(g([("sg::smime::PreparedSigner::SignDetached", SMIMEGATE)]),
                         "MIME and S/MIME engine (own code)")
        self.assertEqual(g([("sg::queue::EmbeddedQueue::Poll", SMIMEGATE)]), "queue (own code)")

    def test_kernel_samples_by_system_call(self):
        k = perf_groups.kernel_group
        self.assertEqual(k([("copy_user", KERNEL), ("__x64_sys_write", KERNEL)]),
                         "kernel: read/write (files, sockets)")
        self.assertEqual(k([("futex_wait", KERNEL), ("__x64_sys_futex", KERNEL)]),
                         "kernel: futex (thread hand-offs)")
        self.assertEqual(k([("clear_page", KERNEL), ("exc_page_fault", KERNEL)]),
                         "kernel: page faults")

    def test_single_line_samples(self):
        text = f"sg-worker  130a27 [unknown] ({LIBCRYPTO})\nsg-egress  8c373 free ({LIBC})\n"
        total, by_stage, by_group, _ = self.summary(text)
        self.assertEqual(total, 2)
        self.assertEqual(by_group["allocation"], 1)
        self.assertEqual(by_stage["egress (SMTP out)"], 1)


if __name__ == "__main__":
    unittest.main()
