"""report.md and the charts (matplotlib, Agg backend: no display needed)."""
import math
import os

SCEN_LABEL = {"relay": "relay", "sign": "sign", "sign_encrypt": "sign+encrypt",
              "decrypt_verify": "decrypt+verify"}
SCEN_COLOUR = {"relay": "tab:blue", "sign": "tab:orange", "sign_encrypt": "tab:green",
               "decrypt_verify": "tab:red"}
SYSTEM_LABEL = {"postfix_relay": "Postfix relay", "diy": "DIY (Postfix + openssl cms)"}


def _size(n):
    return f"{n // 1048576} MB" if n >= 1048576 else f"{n // 1024} KB"


def _f(v, digits=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _x(v):
    return "–" if v is None else f"{v:.2f}x"


def _pf(ok):
    return "PASS" if ok is True else "FAIL" if ok is False else "N/A"


def table_lines(results):
    """The main tables (one per mode/key), as Markdown lines."""
    lines = []
    groups = []
    for r in results.get("rows", []):
        g = (r["mode"], r["key_type"] or "any key")
        if g not in groups:
            groups.append(g)
    for mode, key in groups:
        lines += [f"### smimegate {mode}, {key}", "",
                  "| scenario | size | msgs/s | p50 ms | p99 ms | p999 ms | CPU s/1000 msgs | "
                  "peak RSS MB | vs crypto limit | vs baseline msgs/s | vs baseline CPU | "
                  "CPU vs raw crypto | p99 ms @ half peak |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results["rows"]:
            if (r["mode"], r["key_type"] or "any key") != (mode, key):
                continue
            base = ""
            if r["baseline"]:
                base = " (Postfix)" if r["baseline"] == "postfix_relay" else " (DIY)"
            cpu = _f(r["cpu_s_per_1000"])
            if r.get("broker_cpu_s_per_1000") is not None:
                cpu += f" (+{_f(r['broker_cpu_s_per_1000'])} broker)"
            lines.append(
                f"| {SCEN_LABEL[r['scenario']]} | {_size(r['size'])} | {_f(r['msgs_per_s'])} | "
                f"{_f(r['p50_ms'])} | {_f(r['p99_ms'])} | {_f(r['p999_ms'])} | {cpu} | "
                f"{_f(r['peak_rss_mb'])} | {_x(r['thr_vs_limit'])} | "
                f"{_x(r['thr_vs_baseline'])}{base if r['thr_vs_baseline'] is not None else ''} | "
                f"{_x(r['cpu_vs_baseline'])} | {_x(r['cpu_vs_raw'])} | {_f(r['half_peak_p99_ms'])} |")
        lines.append("")
    return lines


def baseline_lines(results):
    runs = [r for r in results["runs"] if r["system"] != "smimegate"]
    if not runs:
        return []
    lines = ["| baseline | key | scenario | size | msgs/s | p50 ms | p99 ms | p999 ms | "
             "CPU s/1000 msgs | peak RSS MB | peak PSS MB |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {SYSTEM_LABEL.get(r['system'], r['system'])} | {r['key_type'] or '–'} | "
                     f"{SCEN_LABEL[r['scenario']]} | {_size(r['size'])} | {_f(r['msgs_per_s'])} | "
                     f"{_f(r['p50_ms'])} | {_f(r['p99_ms'])} | {_f(r['p999_ms'])} | "
                     f"{_f(r['cpu_s_per_1000'])} | {_f(r['peak_rss_mb'])} | {_f(r.get('peak_pss_mb'))} |")
    return lines + [""]


def crypto_lines(results):
    lines = []
    cores = results["meta"]["machine"].get("cores_usable")
    for key, lim in results.get("crypto_limit", {}).items():
        ops = [f"{name} {lim[name] * 1e6:.1f} µs" for name in
               ("sign", "verify", "key_transport_encrypt", "key_transport_decrypt")
               if isinstance(lim.get(name), (int, float))]
        rates = [f"{label} {lim[name] / 1e6:.0f} MB/s" for name, label in
                 (("sha256_bytes_per_s", "SHA-256"), ("aes256cbc_bytes_per_s", "AES-256-CBC encrypt"),
                  ("aes256cbc_decrypt_bytes_per_s", "decrypt"))
                 if isinstance(lim.get(name), (int, float))]
        lines.append(f"- {key} ({lim.get('openssl_version', 'OpenSSL')}, one thread): "
                     + ", ".join(ops + rates))
    first_mode = results["rows"][0]["mode"] if results.get("rows") else None
    for r in results.get("rows", []):
        if r["raw_crypto_s_per_msg"] and r["mode"] == first_mode and r["size"] in (10240, 2048):
            lines.append(f"- raw crypto per message, {SCEN_LABEL[r['scenario']]} {r['key_type']} "
                         f"{_size(r['size'])}: {r['raw_crypto_s_per_msg'] * 1e3:.3f} ms CPU -> crypto limit "
                         f"{_f(r['crypto_limit_msgs_per_s'])} msgs/s on {cores} cores")
    return lines


def target_lines(results):
    lines = ["| | target | where | value | detail |", "|---|---|---|---:|---|"]
    for t in results.get("targets", []):
        lines.append(f"| **{_pf(t['pass'])}** | {t['target']} | {t['where']} | {_f(t['value'])} "
                     f"(limit {_f(t['limit'])}) | {t['detail']} |")
    return lines + [""]


def write_markdown(results, out):
    m = results["meta"]
    mach = m["machine"]
    lines = [f"# smimegate end-to-end benchmark ({m['profile']})", "",
             f"Run {m.get('started_utc')} – {m.get('finished_utc')} "
             f"({_f(m.get('duration_s'))} s), commit `{mach.get('smimegate_commit')}`.", "",
             "```", m["command"], "```", "",
             "## Machine", "",
             f"- CPU: {mach.get('cpu_model')}, {mach.get('cores')} cores "
             f"({mach.get('cores_usable')} usable), memory {mach.get('memory')}",
             f"- {mach.get('os')}, kernel {mach.get('kernel')}",
             f"- {mach.get('openssl')}; Postfix {mach.get('postfix')}; {mach.get('compiler')}; "
             f"Python {mach.get('python')}",
             f"- build: {mach.get('build_dir')} ({mach.get('build_type')})",
             f"- load average at start {mach.get('loadavg_start')}, at end {m.get('loadavg_end')} "
             "(other processes on the machine disturb every figure alike; compare ratios, "
             "which are measured side by side)", "",
             "The load generator (also the SMTP sink), the system under test and its queue share "
             "these cores. CPU = user+system seconds of the system's own processes (/proc, the "
             "whole process tree) over the measured run; the load generator and, in Kafka mode, "
             "the test broker are not counted (broker shown apart). Latency = submission (MAIL) "
             "to the sink receiving the message. See docs/benchmarks.md.", "",
             "## Targets (issue 8)", ""]
    lines += target_lines(results)
    lines += ["## Results", "",
              "Ratios: *vs crypto limit* = msgs/s ÷ (cores ÷ raw crypto CPU per message); "
              "*vs baseline* = against Postfix (relay) or the DIY gateway (sign, sign+encrypt) "
              "in the same run, msgs/s (higher is better) and CPU per message (lower is "
              "better); *CPU vs raw crypto* = CPU per message ÷ raw crypto CPU per message "
              "(1.0 = nothing but the unavoidable crypto). Decrypt+verify messages are at least "
              "~6 KB (signature, certificates, encryption): see results.json `actual_size`.", ""]
    lines += table_lines(results)
    lines += ["### Baselines", ""] + baseline_lines(results)
    lines += ["### Crypto limit (one core, OpenSSL)", ""] + crypto_lines(results) + [""]
    checks = results.get("checks", {})
    if checks:
        lines += ["## Delivered forms (checked before measuring)", ""]
        for k, v in checks.items():
            lines.append(f"- {k}: " + ", ".join(f"{sc} {res}" for sc, res in v.items()))
        lines.append("")
    lines += ["## Failures", ""]
    lines += [f"- {f.splitlines()[0]}" for f in results["failures"]] or ["none: every accepted "
                                                                          "message was delivered exactly once"]
    lines += ["", "Charts: throughput.png, ratios.png, latency.png. Every figure: results.json.", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))


def summary_text(results):
    return "\n".join(["", "Targets:"] + target_lines(results) + table_lines(results)
                     + ["Baselines:"] + baseline_lines(results)
                     + ([f"FAILURES: {len(results['failures'])}"] if results["failures"] else []))


# ---- charts
def _series_label(r):
    return f"{r['mode']}" + (f"/{r['key_type']}" if r["key_type"] else "")


def write_charts(results, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results.get("rows", [])
    sizes = sorted({r["size"] for r in rows}) or [0]
    scen = [s for s in SCEN_LABEL if any(r["scenario"] == s for r in rows)]

    # throughput.png: one panel per size; per scenario a group of bars, one per
    # smimegate mode/key (colour by series) and its baseline (grey).
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours = {}
    ncols = min(2, len(sizes))
    nrows = (len(sizes) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(8 * ncols, 6 * nrows), squeeze=False)
    for ax in axes.flat[len(sizes):]:
        ax.set_visible(False)
    for ax, size in zip(axes.flat, sizes):
        xs, ticks = 0, []
        for sc in scen:
            bars, bases = [], {}
            for r in rows:
                if r["scenario"] != sc or r["size"] != size:
                    continue
                bars.append((_series_label(r), r["msgs_per_s"], False))
                if r["baseline"]:
                    name = SYSTEM_LABEL.get(r["baseline"], r["baseline"]).split(" (")[0]
                    if r["baseline"] == "diy":
                        name += f"/{r['key_type']}"
                    bases[name] = r["baseline_msgs_per_s"]
            bars += [(k, v, True) for k, v in bases.items()]
            for i, (lab, v, is_base) in enumerate(bars):
                colour = "0.65" if is_base else colours.setdefault(lab, palette[len(colours) % len(palette)])
                ax.bar(xs + i, v or 0, color=colour, edgecolor="black", linewidth=0.4)
                if v:
                    ax.text(xs + i, v, f"{v:.0f}", ha="center", va="bottom", fontsize=6)
                ticks.append((xs + i, f"{SCEN_LABEL[sc]} · {lab}"))
            lims = [r["crypto_limit_msgs_per_s"] for r in rows
                    if r["scenario"] == sc and r["size"] == size and r["crypto_limit_msgs_per_s"]]
            if lims and bars:
                ax.hlines(sorted(set(lims)), xs - 0.4, xs + len(bars) - 0.6, colors="red",
                          linestyles="dashed", linewidth=1)
            xs += len(bars) + 1
        ax.set_xticks([p for p, _ in ticks])
        ax.set_xticklabels([l for _, l in ticks], rotation=75, fontsize=6)
        ax.set_yscale("log")
        ax.set_ylabel("messages / s (log)")
        ax.set_title(_size(size), fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("Throughput: smimegate (colour) and baselines (grey); red dashes = crypto limit",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "throughput.png"), dpi=110)
    plt.close(fig)

    # ratios.png: four panels, x = size, one line per scenario/mode/key.
    panels = [("thr_vs_limit", "msgs/s ÷ crypto limit (higher is better)", None),
              ("thr_vs_baseline", "msgs/s ÷ Postfix (relay) / DIY (sign*), log (higher is better)", 5.0),
              ("cpu_vs_baseline", "CPU per msg ÷ Postfix / DIY, log (lower is better)", 1.0),
              ("cpu_vs_raw", "CPU per msg ÷ raw crypto CPU, log (lower is better)", 1.4)]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (key, title, target) in zip(axes.flat, panels):
        keys = []
        for r in rows:
            k = (r["scenario"], _series_label(r))
            if k not in keys:
                keys.append(k)
        for sc, lab in keys:
            pts = [(r["size"], r[key]) for r in rows
                   if r["scenario"] == sc and _series_label(r) == lab and r[key] is not None]
            if pts:
                # colour = scenario, line = queue mode, marker = key type
                ax.plot([p[0] for p in pts], [p[1] for p in pts],
                        color=SCEN_COLOUR[sc], linestyle="--" if lab.startswith("kafka") else "-",
                        marker="s" if lab.endswith("p256") else "o",
                        label=f"{SCEN_LABEL[sc]} {lab}")
        if target:
            ax.axhline(target, color="red", linestyle="dashed", linewidth=1)
        if key in ("cpu_vs_raw", "thr_vs_baseline", "cpu_vs_baseline"):
            ax.set_yscale("log")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes)
        ax.set_xticklabels([_size(s) for s in sizes])
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    fig.suptitle("Ratios against the baselines of the same run (red dashes: issue 8 targets)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ratios.png"), dpi=110)
    plt.close(fig)

    # latency.png: percentiles at peak (per scenario/series at the half-peak size) + half-peak p99.
    hp_rows = [r for r in rows if r["half_peak_p99_ms"] is not None] or \
        [r for r in rows if r["size"] == sizes[0]]
    fig, axes = plt.subplots(2, 1, figsize=(max(9, 0.75 * len(hp_rows)), 10))
    one_size = len({r["size"] for r in hp_rows}) == 1
    names = [f"{SCEN_LABEL[r['scenario']]} · {_series_label(r)}"
             + ("" if one_size else f" · {_size(r['size'])}") for r in hp_rows]
    x = range(len(hp_rows))
    for off, (k, lab) in zip((-0.27, 0, 0.27), (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9"))):
        axes[0].bar([i + off for i in x], [r[k] if r[k] == r[k] else 0 for r in hp_rows], width=0.27, label=lab)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("ms (log), submission -> delivery")
    axes[0].set_title("Latency at peak (closed loop, includes queueing)"
                      + (f", {_size(hp_rows[0]['size'])}" if one_size and hp_rows else ""), fontsize=9)
    axes[1].bar(list(x), [r["half_peak_p99_ms"] or 0 for r in hp_rows], color="tab:green", label="p99")
    axes[1].axhline(100, color="red", linestyle="dashed", linewidth=1, label="target 100 ms")
    axes[1].set_ylabel("ms")
    axes[1].set_title("p99 at half of peak throughput (open loop)", fontsize=9)
    for ax in axes:
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, fontsize=7, rotation=60, ha="right")
        ax.legend(fontsize=7)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency.png"), dpi=110)
    plt.close(fig)


def write_all(results, out):
    write_markdown(results, out)
    write_charts(results, out)
