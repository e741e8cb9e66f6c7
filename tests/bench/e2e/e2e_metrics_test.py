#!/usr/bin/env python3
"""ctest bench.e2e_metrics_targets: the report's PASS/FAIL targets
(bench/e2e/e2e_metrics.targets) for issue 21's goals, on synthetic rows:
each goal passes on a row that meets it, fails on one that misses it, and
is absent where the run did not measure its scenario."""
import os
import sys
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "e2e"))

import e2e_metrics  # noqa: E402

KB10 = 10240
MB1 = 1048576


def row(scenario, key=None, size=KB10, mode="embedded", cpu_vs_raw=None, thr_vs_baseline=None,
        half_p99=None):
    return {"mode": mode, "key_type": key, "scenario": scenario, "size": size,
            "cpu_vs_raw": cpu_vs_raw, "cpu_s_per_1000": 1.0, "raw_crypto_s_per_msg": 0.001,
            "cpu_vs_baseline": 0.5, "baseline_cpu_s_per_1000": 2.0, "msgs_per_s": 100.0,
            "baseline_msgs_per_s": 50.0, "thr_vs_baseline": thr_vs_baseline,
            "half_peak_p99_ms": half_p99, "half_peak_rate": 50.0}


def by_name(targets, needle, where=None):
    return [t for t in targets if needle in t["target"] and (where is None or where in t["where"])]


class Issue21Targets(unittest.TestCase):
    def test_cpu_against_raw_per_scenario_and_key(self):
        rows = [row("sign_encrypt", "rsa2048", cpu_vs_raw=1.24),
                row("sign_encrypt", "p256", cpu_vs_raw=2.1),
                row("decrypt_verify", "rsa2048", cpu_vs_raw=1.31),
                row("decrypt_verify", "p256", cpu_vs_raw=2.4)]
        t = e2e_metrics.targets(rows, KB10)
        se_rsa, = by_name(t, "sign+encrypt CPU <= 1.25x", "rsa2048")
        se_p256, = by_name(t, "sign+encrypt CPU <= 2x", "p256")
        dv_rsa, = by_name(t, "decrypt+verify CPU <= 1.3x", "rsa2048")
        dv_p256, = by_name(t, "decrypt+verify CPU <= 2.5x", "p256")
        self.assertEqual([se_rsa["pass"], se_p256["pass"], dv_rsa["pass"], dv_p256["pass"]],
                         [True, False, False, True])
        self.assertEqual(se_p256["value"], 2.1)

    def test_unmeasured_cpu_is_not_a_pass(self):
        t = e2e_metrics.targets([row("decrypt_verify", "p256", cpu_vs_raw=None)], KB10)
        dv, = by_name(t, "decrypt+verify CPU <= 2.5x")
        self.assertIsNone(dv["pass"])

    def test_relay_one_megabyte_embedded_against_postfix(self):
        rows = [row("relay", size=MB1, thr_vs_baseline=1.6),
                row("relay", size=MB1, mode="kafka", thr_vs_baseline=0.5),
                row("relay", size=KB10, thr_vs_baseline=0.5)]
        t = by_name(e2e_metrics.targets(rows, KB10), "relay 1 MB msgs/s >= 1.5x Postfix")
        self.assertEqual(len(t), 1, "only the embedded 1 MB row is held to it")
        self.assertTrue(t[0]["pass"])
        t = by_name(e2e_metrics.targets([row("relay", size=MB1, thr_vs_baseline=1.4)], KB10),
                    "relay 1 MB msgs/s >= 1.5x Postfix")
        self.assertFalse(t[0]["pass"])

    def test_half_peak_p99_under_fifty_for_relay_and_sign_encrypt(self):
        rows = [row("relay", half_p99=49.0), row("sign_encrypt", "rsa2048", half_p99=51.0),
                row("sign", "rsa2048", half_p99=500.0)]
        t = by_name(e2e_metrics.targets(rows, KB10), "p99 < 50 ms")
        self.assertEqual(sorted((x["where"].split(", ")[-1], x["pass"]) for x in t),
                         [("relay", True), ("sign_encrypt", False)])

    def test_earlier_targets_stay(self):
        t = e2e_metrics.targets([row("sign_encrypt", "rsa2048", cpu_vs_raw=1.3,
                                     thr_vs_baseline=6.0, half_p99=80.0)], KB10)
        self.assertTrue(by_name(t, "sign+encrypt CPU <= 1.4x")[0]["pass"])
        self.assertFalse(by_name(t, "sign+encrypt CPU <= 1.25x")[0]["pass"])
        self.assertTrue(by_name(t, "p99 < 100 ms")[0]["pass"])
        self.assertFalse(by_name(t, "p99 < 50 ms")[0]["pass"])


if __name__ == "__main__":
    unittest.main()
