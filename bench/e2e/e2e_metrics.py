"""Figures per run, the rows of the report (a gateway run beside its
baselines, with ratios), and the issue 8 and issue 21 targets as PASS/FAIL."""
import json
import os
import subprocess

try:
    import crypto_limit  # Part B: raw crypto cost per message from the limit JSON
except ImportError:  # the harness still reports everything else
    crypto_limit = None

TARGET_CPU_VS_RAW = 1.4    # sign+encrypt at 10 KB: at most 1.4x the raw crypto CPU (70 %)
TARGET_THR_VS_DIY = 5.0    # sign+encrypt: at least 5x the do-it-yourself gateway
TARGET_HALF_PEAK_P99_MS = 100.0

# Issue 21 ("closer to the crypto limit"): CPU per message against the raw
# crypto CPU per scenario and key type at 10 KB, relay 1 MB on the embedded
# queue against Postfix, and p99 at half of peak for relay and sign+encrypt.
ISSUE21_CPU_VS_RAW = {
    ("sign_encrypt", "rsa2048"): 1.25,
    ("sign_encrypt", "p256"): 2.0,
    ("decrypt_verify", "rsa2048"): 1.3,
    ("decrypt_verify", "p256"): 2.5,
}
ISSUE21_RELAY_1MB_VS_POSTFIX = 1.5
ISSUE21_HALF_PEAK_P99_MS = 50.0


def stage_quantiles(counters, qs=(0.5, 0.99)):
    """Per hop, from the difference of the histogram over a run: count,
    mean and the upper bucket bound (ms) under which each quantile lies."""
    hops = {}
    for k, v in (counters or {}).items():
        if k.startswith("stage:"):
            _, hop, what = k.split(":", 2)
            hops.setdefault(hop, {})[what] = v
    out = {}
    for hop, h in hops.items():
        n = h.get("count") or 0
        if not n:
            continue
        bounds = sorted((float(b), c) for b, c in h.items()
                        if b not in ("count", "sum") and b != "+Inf")
        row = {"count": n, "mean_ms": h.get("sum", 0.0) / n * 1000}
        for q in qs:
            le = float("inf")
            for b, c in bounds:
                if c >= q * n:
                    le = b
                    break
            row[f"p{q * 100:g}_le_ms"] = le * 1000
        out[hop] = row
    return out


def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def summarize(m):
    """The figures of one measurement (see e2e_runner.Runner.run)."""
    lg = m["loadgen"]
    delivered = lg.get("delivered") or 0
    lat = lg.get("e2e_latency_ms") or {}
    sub = lg.get("submit_latency_ms") or {}
    cpu = m["cpu_s"]
    dur = lg.get("duration_s") or 0
    out = {
        "run_id": m["run_id"],
        "messages": lg.get("sent"), "accepted": lg.get("accepted"), "delivered": delivered,
        "lost": lg.get("lost"), "duplicates": lg.get("duplicates"),
        "rejected": (lg.get("rejected_4xx") or 0) + (lg.get("rejected_5xx") or 0),
        "connection_errors": lg.get("connection_errors"),
        "duration_s": dur,
        "msgs_per_s": lg.get("throughput_msgs_per_s") or 0.0,
        "p50_ms": lat.get("p50"), "p99_ms": lat.get("p99"), "p999_ms": lat.get("p999"),
        "max_ms": lat.get("max"),
        "submit_p50_ms": sub.get("p50"), "submit_p99_ms": sub.get("p99"),
        "cpu_s": cpu,
        "cpu_s_per_1000": cpu / delivered * 1000 if delivered else None,
        "cores_busy": cpu / dur if dur else None,
        "side_cpu_s": m.get("side_cpu_s"),
        "side_cpu_s_per_1000": (m.get("side_cpu_s") or 0) / delivered * 1000 if delivered else None,
        "peak_rss_mb": (m.get("peak_rss_bytes") or 0) / 1e6,
        "peak_pss_mb": (m.get("peak_pss_bytes") or 0) / 1e6 if m.get("peak_pss_bytes") is not None else None,
        "exit_code": m["exit_code"],
        "gateway_counters": {k: v for k, v in (m.get("counters") or {}).items()
                             if not k.startswith("stage:")},
        # Per hop between the stages (smimegate_stage_latency_seconds).
        "stage_latency": stage_quantiles(m.get("counters")),
        "wall_s": m["wall_s"],
        "loadgen_args": m["args"],
        "loadgen": lg,
    }
    if m.get("pilot"):
        out["pilot"] = m["pilot"]
        out["sizing"] = m.get("sizing")
    for k in ("p50_ms", "p99_ms", "p999_ms"):
        if out[k] is None:
            out[k] = float("nan")
    return out


def run_crypto_limit(binary, key, seconds):
    r = subprocess.run([binary, "--key", key, "--seconds", f"{seconds:g}"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{os.path.basename(binary)} exit {r.returncode}: {r.stderr[-500:]}")
    return json.loads(r.stdout)


def best_crypto_limit(runs):
    """Per field the best of several crypto-limit runs: the smallest seconds
    per operation, the largest bytes per second."""
    best = dict(runs[0])
    for r in runs[1:]:
        for k, v in r.items():
            if not isinstance(v, (int, float)) or not isinstance(best.get(k), (int, float)):
                continue
            if k.endswith("_per_s"):
                best[k] = max(best[k], v)
            elif k in ("sign", "verify", "key_transport_encrypt", "key_transport_decrypt"):
                best[k] = min(best[k], v)
    return best


def _op(limit, name):
    """Per-op seconds from the crypto-limit JSON (flat or under "ops")."""
    for d in (limit, limit.get("ops") or {}, limit.get("seconds_per_op") or {}):
        v = d.get(name)
        if isinstance(v, dict):
            v = v.get("seconds") or v.get("seconds_per_op")
        if isinstance(v, (int, float)):
            return float(v)
    raise KeyError(f"crypto limit JSON lacks {name}")


def raw_seconds(limit, scenario, size):
    """Raw crypto CPU seconds per message (E2E_SPEC Part B formulas)."""
    if scenario == "relay" or not limit:
        return None
    if crypto_limit is not None:
        for fn in ("raw_seconds_per_message", "raw_crypto_seconds", "raw_seconds"):
            f = getattr(crypto_limit, fn, None)
            if f:
                return f(limit, scenario, size)
    sha = size / _op(limit, "sha256_bytes_per_s")
    aes = size / _op(limit, "aes256cbc_bytes_per_s")
    if scenario == "sign":
        return _op(limit, "sign") + sha
    if scenario == "sign_encrypt":
        return _op(limit, "sign") + sha + _op(limit, "key_transport_encrypt") + aes
    if scenario == "decrypt_verify":
        return _op(limit, "key_transport_decrypt") + aes + _op(limit, "verify") + sha
    raise ValueError(scenario)


def derive(results, half_peak_size):
    """Adds results["rows"] and results["targets"]."""
    runs = results["runs"]
    cores = results["meta"]["machine"].get("cores_usable") or results["meta"]["machine"].get("cores") or 1

    def find(**kw):
        for r in runs:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    rows = []
    for r in runs:
        if r["system"] != "smimegate" or r["phase"] != "peak":
            continue
        sc, size, key = r["scenario"], r["size"], r["key_type"]
        limit = results["crypto_limit"].get(key)
        try:
            raw = raw_seconds(limit, sc, r.get("actual_size") or size)
        except (KeyError, ValueError, TypeError, ZeroDivisionError):
            raw = None
        if sc == "relay":
            base = find(system="postfix_relay", scenario="relay", size=size, phase="peak")
        elif sc in ("sign", "sign_encrypt"):
            base = find(system="diy", scenario=sc, size=size, key_type=key, phase="peak")
        else:
            base = None
        half = find(system="smimegate", mode=r["mode"], key_type=key, scenario=sc, size=size,
                    phase="half_peak")
        cpu_msg = r["cpu_s_per_1000"] / 1000 if r["cpu_s_per_1000"] is not None else None
        lim = cores / raw if raw else None
        rows.append({
            "mode": r["mode"], "key_type": key if sc != "relay" else None, "scenario": sc,
            "size": size, "actual_size": r.get("actual_size"),
            "msgs_per_s": r["msgs_per_s"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
            "p999_ms": r["p999_ms"], "cpu_s_per_1000": r["cpu_s_per_1000"],
            "broker_cpu_s_per_1000": r["side_cpu_s_per_1000"] if r["mode"] == "kafka" else None,
            "peak_rss_mb": r["peak_rss_mb"], "peak_pss_mb": r.get("peak_pss_mb"),
            "baseline_peak_rss_mb": base["peak_rss_mb"] if base else None,
            "baseline_peak_pss_mb": base.get("peak_pss_mb") if base else None,
            "raw_crypto_s_per_msg": raw, "crypto_limit_msgs_per_s": lim,
            "baseline": base["system"] if base else None,
            "baseline_msgs_per_s": base["msgs_per_s"] if base else None,
            "baseline_cpu_s_per_1000": base["cpu_s_per_1000"] if base else None,
            "baseline_p99_ms": base["p99_ms"] if base else None,
            "thr_vs_limit": _ratio(r["msgs_per_s"], lim),
            "thr_vs_baseline": _ratio(r["msgs_per_s"], base["msgs_per_s"]) if base else None,
            "cpu_vs_baseline": _ratio(r["cpu_s_per_1000"], base["cpu_s_per_1000"]) if base else None,
            "cpu_vs_raw": _ratio(cpu_msg, raw),
            "half_peak_rate": half.get("rate") if half else None,
            "half_peak_msgs_per_s": half["msgs_per_s"] if half else None,
            "half_peak_p99_ms": half["p99_ms"] if half else None,
        })
    results["rows"] = rows
    results["targets"] = targets(rows, half_peak_size)


def _size(n):
    return f"{n // 1048576} MB" if n >= 1048576 else f"{n // 1024} KB"


def _fmt(v, unit=""):
    return "n/a" if v is None else f"{v:.3g}{unit}"


def targets(rows, size):
    out = []

    def add(name, where, ok, value, limit, detail):
        out.append({"target": name, "where": where, "pass": ok, "value": value, "limit": limit,
                    "detail": detail})

    for r in rows:
        # The relay targets name no size: every size measured is held to them;
        # the others are "at 10 KB" (or the half-peak size of a narrowed run).
        if r["size"] != size and r["scenario"] != "relay":
            continue
        where = f"{r['mode']}" + (f"/{r['key_type']}" if r["key_type"] else "") + f", {_size(r['size'])}"
        if r["scenario"] == "relay":
            c, bc = r["cpu_s_per_1000"], r["baseline_cpu_s_per_1000"]
            add("relay CPU per message <= Postfix relay", where,
                None if c is None or bc is None else c <= bc, r["cpu_vs_baseline"], 1.0,
                f"smimegate {_fmt(c)} vs Postfix {_fmt(bc)} CPU s/1000 msgs")
            t, bt = r["msgs_per_s"], r["baseline_msgs_per_s"]
            add("relay msgs/s >= Postfix relay", where,
                None if bt is None else t >= bt, r["thr_vs_baseline"], 1.0,
                f"smimegate {_fmt(t)} vs Postfix {_fmt(bt)} msgs/s")
        if r["scenario"] == "sign_encrypt":
            cr = r["cpu_vs_raw"]
            add(f"sign+encrypt CPU <= {TARGET_CPU_VS_RAW}x raw crypto CPU", where,
                None if cr is None else cr <= TARGET_CPU_VS_RAW, cr, TARGET_CPU_VS_RAW,
                f"{_fmt(r['cpu_s_per_1000'])} CPU s/1000 msgs vs raw "
                f"{_fmt(r['raw_crypto_s_per_msg'] * 1000 if r['raw_crypto_s_per_msg'] else None)}"
                f" (efficiency {_fmt(100 / cr if cr else None, ' %')})")
            tr = r["thr_vs_baseline"]
            add(f"sign+encrypt msgs/s >= {TARGET_THR_VS_DIY:g}x DIY gateway", where,
                None if tr is None else tr >= TARGET_THR_VS_DIY, tr, TARGET_THR_VS_DIY,
                f"smimegate {_fmt(r['msgs_per_s'])} vs DIY {_fmt(r['baseline_msgs_per_s'])} msgs/s")
        if r["size"] != size:
            continue
        _issue21_targets(r, where, add)
        p = r["half_peak_p99_ms"]
        add(f"p99 < {TARGET_HALF_PEAK_P99_MS:g} ms at half peak", f"{where}, {r['scenario']}",
            None if p is None or p != p else p < TARGET_HALF_PEAK_P99_MS, p, TARGET_HALF_PEAK_P99_MS,
            f"p99 {_fmt(p, ' ms')} at {_fmt(r['half_peak_rate'])} msgs/s "
            f"(peak {_fmt(r['msgs_per_s'])})")
    for r in rows:
        if r["scenario"] == "relay" and r["mode"] == "embedded" and r["size"] == 1048576:
            t = r["thr_vs_baseline"]
            add(f"relay 1 MB msgs/s >= {ISSUE21_RELAY_1MB_VS_POSTFIX:g}x Postfix (issue 21)",
                f"{r['mode']}, {_size(r['size'])}",
                None if t is None else t >= ISSUE21_RELAY_1MB_VS_POSTFIX, t,
                ISSUE21_RELAY_1MB_VS_POSTFIX,
                f"smimegate {_fmt(r['msgs_per_s'])} vs Postfix {_fmt(r['baseline_msgs_per_s'])} msgs/s")
    return out


def _issue21_targets(r, where, add):
    """Issue 21's rows for one row at the half-peak size (10 KB in a full run)."""
    limit = ISSUE21_CPU_VS_RAW.get((r["scenario"], r["key_type"]))
    if limit is not None:
        cr = r["cpu_vs_raw"]
        name = r["scenario"].replace("_", "+")
        add(f"{name} CPU <= {limit:g}x raw crypto CPU (issue 21)", where,
            None if cr is None else cr <= limit, cr, limit,
            f"{_fmt(r['cpu_s_per_1000'])} CPU s/1000 msgs vs raw "
            f"{_fmt(r['raw_crypto_s_per_msg'] * 1000 if r['raw_crypto_s_per_msg'] else None)}")
    if r["scenario"] in ("relay", "sign_encrypt"):
        p = r["half_peak_p99_ms"]
        add(f"p99 < {ISSUE21_HALF_PEAK_P99_MS:g} ms at half peak (issue 21)", f"{where}, {r['scenario']}",
            None if p is None or p != p else p < ISSUE21_HALF_PEAK_P99_MS, p,
            ISSUE21_HALF_PEAK_P99_MS, f"p99 {_fmt(p, ' ms')} at {_fmt(r['half_peak_rate'])} msgs/s")
