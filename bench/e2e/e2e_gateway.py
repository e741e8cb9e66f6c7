"""smimegate under test: configuration, start/stop, users and certificates.

One Gateway = one `smimegate run` process (every stage in one process) with
the embedded queue, or with queue.type kafka against a
`smimegate-test-broker` that this class starts too (its CPU is reported
separately: it stands in for a Kafka cluster, which is not the gateway).

All egress (inbound route, outbound default route) goes by plain SMTP
(transport smtp, TLS off) to one fixed sink port: the load generator listens
there during each measurement, the form checker (e2e_check) in between.
"""
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
from sgtest import free_port, wait_port  # noqa: E402

def read_tail(path, n):
    """The last n characters of a log file ("" when it cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def wait_log_ready(proc, log_path, name, timeout, tail_chars=4000):
    """Waits until a smimegate process has logged "smimegate ready"; raises
    RuntimeError with the log's tail when it exits or the time runs out."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                               f"{read_tail(log_path, tail_chars)}")
        with open(log_path, errors="replace") as f:
            if "smimegate ready" in f.read():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} not ready within {timeout} s:\n{read_tail(log_path, tail_chars)}")


HOSTED = "example.com"
SENDER = "alice@example.com"        # participating: outbound mail is signed
PLAIN_SENDER = "carol@example.com"  # not participating: relayed unchanged
PARTNER = "partner@example.org"     # certificate imported: sign+encrypt
NOCERT = "nocert@example.org"       # no certificate anywhere: sign only
RELAY_RCPT = "someone@example.net"  # the relay scenario's recipient

# Pause before each run. The sink (the load generator) goes away after each
# run; egress drops a cached session whose peer closed it (the egress fix of
# issue 8), so no pause is needed beyond letting the last QUITs finish.
SETTLE_S = 0.2

# The Kafka test broker (librdkafka 2.0's mock cluster) keeps at most 5 MiB
# per partition and deletes older records, consumed or not: a backlog beyond
# that is lost (the consumer's offset reset skips it). Many partitions and a
# cap on the closed-loop backlog (max_backlog_messages) keep runs within it.
KAFKA_PARTITIONS = 32
# The mock cluster holds a Fetch that finds no data for the consumer's full
# fetch.wait.max.ms (500 ms by default) even when data arrives meanwhile
# (rdkafka_mock.c: "we should cut the wait short ... too much of a hassle");
# a real broker answers at once. Without this, Kafka-mode latency and
# throughput measure that wait (p99 ~1 s, ~25x fewer msgs/s at 2 KB), not
# the gateway. --kafka-property fetch.wait.max.ms=500 shows it.
KAFKA_DEFAULT_PROPERTIES = {"fetch.wait.max.ms": "10"}
MOCK_PARTITION_BYTES = 5 << 20

KEY_TYPES = {"rsa2048": "rsa-2048", "p256": "ecdsa-p256"}


class Binaries:
    """Paths of the gateway binaries in a build directory."""

    def __init__(self, build_dir):
        self.build_dir = os.path.abspath(build_dir)
        self.smimegate = os.path.join(self.build_dir, "cmd/smimegate/smimegate")
        self.ctl = os.path.join(self.build_dir, "cmd/smimegatectl/smimegatectl")
        self.broker = os.path.join(self.build_dir, "tests/support/smimegate-test-broker")

    def missing(self, kafka):
        need = [self.smimegate, self.ctl] + ([self.broker] if kafka else [])
        return [p for p in need if not os.access(p, os.X_OK)]


STAGE_PREFIX = "smimegate_stage_latency_seconds"


def stage_key(line):
    """'stage:<hop>:<le or count or sum>' for a sample line of the per-hop
    histogram (common/stage_latency.h), None for anything else."""
    name = line.split("{", 1)[0]
    hop = line.split('hop="', 1)[1].split('"', 1)[0] if 'hop="' in line else None
    if hop is None:
        return None
    if name.endswith("_bucket") and 'le="' in line:
        le = line.split('le="', 1)[1].split('"', 1)[0]
        return f"stage:{hop}:{le}"
    if name.endswith("_count"):
        return f"stage:{hop}:count"
    if name.endswith("_sum"):
        return f"stage:{hop}:sum"
    return None


class Gateway:
    def __init__(self, binaries, workdir, mode, key_type, sink_port, log_level="warn",
                 partitions=None, queue_sync=True, kafka_properties=None, share_bodies=True,
                 egress_wake=True, body_fetch_threads=None):
        assert mode in ("embedded", "kafka") and key_type in KEY_TYPES
        self.bin = binaries
        self.mode, self.key_type = mode, key_type
        self.home = os.path.join(workdir, f"gw-{mode}-{key_type}")
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.home)
        self.sink_port = sink_port
        self.relay_port, self.mx_port = free_port(), free_port()
        self.metrics_port = free_port()
        self.config = os.path.join(self.home, "smimegate.yaml")
        self.log_path = os.path.join(self.home, "smimegate.log")
        self.log_level, self.queue_sync = log_level, queue_sync
        self.share_bodies = share_bodies
        self.egress_wake = egress_wake
        self.body_fetch_threads = body_fetch_threads  # None: the gateway's default
        self.kafka_properties = dict(KAFKA_DEFAULT_PROPERTIES)
        self.kafka_properties.update(kafka_properties or {})
        # embedded: the default (8); kafka: more, see max_backlog_messages.
        self.partitions = partitions or (KAFKA_PARTITIONS if mode == "kafka" else 8)
        self.proc = None
        self.broker = None
        self.bootstrap = ""

    # ---- lifecycle
    def start(self, timeout=60.0):
        if self.mode == "kafka":
            self._start_broker()
        self._write_config()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.bin.smimegate, "run", "--config", self.config],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_log_ready(self.proc, self.log_path, "smimegate", timeout)
        wait_port(self.relay_port, 10, self.proc)
        wait_port(self.mx_port, 10, self.proc)

    def stop(self):
        """Ingress first (SIGTERM = graceful), then the broker. Idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.broker is not None and self.broker.poll() is None:
            self.broker.send_signal(signal.SIGTERM)
            try:
                self.broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def max_backlog_messages(self, size):
        """The most messages of `size` one closed-loop run may queue up
        (None: no limit). Kafka mode: 40 % of the test broker's capacity per
        topic, counting encrypted forms as 1.4x the size."""
        if self.mode != "kafka":
            return None
        return max(20, int(self.partitions * MOCK_PARTITION_BYTES * 0.4 / (size * 1.4)))

    def root_pids(self):
        return [self.proc.pid] if self.proc else []

    def metrics_ports(self):
        """The /metrics ports of every process of the gateway (counters sums them)."""
        return [self.metrics_port]

    def broker_pids(self):
        return [self.broker.pid] if self.broker else []

    def log_tail(self, n=4000):
        return read_tail(self.log_path, n)

    def version(self):
        r = subprocess.run([self.bin.smimegate, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        return r.stdout.strip()

    def counters(self):
        """Counters from /metrics whose change over a run must be zero (or
        is worth reporting): egress retries, worker retries, ingress refusals."""
        want = {"smimegate_egress_retries_scheduled_total": "egress_retries",
                "smimegate_ingress_messages_rejected_total": "ingress_rejected",
                "smimegate_egress_dsn_total": "dsn"}
        out = {v: 0.0 for v in want.values()}
        out["worker_retried"] = 0.0
        out["bodies_shared"] = 0.0
        out["body_refs_unresolved"] = 0.0
        text = ""
        for port in self.metrics_ports():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text += r.read().decode() + "\n"
            except OSError:
                continue
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            try:
                value = float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
            if name in want:
                out[want[name]] += value
            elif name.startswith(STAGE_PREFIX):
                # smimegate_stage_latency_seconds{hop}: cumulative, so the
                # runner's before/after difference is the run's histogram.
                key = stage_key(line)
                if key:
                    out[key] = out.get(key, 0.0) + value
            elif name == "smimegate_worker_records_total" and 'result="retried"' in line:
                out["worker_retried"] += value
            elif name == "smimegate_worker_bodies_shared_total":
                out["bodies_shared"] += value
            elif name == "smimegate_egress_body_refs_total" and 'result="unresolved"' in line:
                # Issue 21: a reference whose record went (the mock broker's
                # 5 MiB per partition) is a dead letter: must stay 0.
                out["body_refs_unresolved"] += value
        return out

    # ---- administration (smimegatectl)
    def ctl(self, *args):
        r = subprocess.run([self.bin.ctl, "--config", self.config, "--timeout", "30", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"smimegatectl {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def setup_users(self, partner_pem, partner_ca_pem):
        """alice participates, carol does not; the partner's CA is trusted and
        its personal certificate imported (so mail to it is encrypted)."""
        self.ctl("user", "add", SENDER)
        self.ctl("user", "add", PLAIN_SENDER, "--no-participate")
        self.ctl("trust", "add", partner_ca_pem)
        self.ctl("cert", "import", partner_pem, "--address", PARTNER)

    def export_user_cert(self, address, out_path):
        self.ctl("cert", "export", address, "--out", out_path)
        return out_path

    # ---- internals
    def _start_broker(self):
        args = [self.bin.broker]
        for t in ("inbound", "outbound", "deliver", "retry"):
            args += ["--topic", f"smimegate.{t}:{self.partitions}"]
        args += ["--topic", "smimegate.deadletter:1"]
        self._broker_log = open(os.path.join(self.home, "broker.log"), "w")
        self.broker = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=self._broker_log, text=True, start_new_session=True)
        line = self.broker.stdout.readline().strip()
        if not line.startswith("bootstrap="):
            raise RuntimeError(f"test broker did not start: {line!r}")
        self.bootstrap = line.split("=", 1)[1]

    def _write_config(self):
        sink = f'["127.0.0.1:{self.sink_port}"]'
        fetch_threads = ("" if self.body_fetch_threads is None
                         else f"  body_fetch_threads: {self.body_fetch_threads}\n")
        with open(self.config, "w") as f:
            f.write(f"""# smimegate under benchmark (bench/e2e/e2e_gateway.py)
hosted_domains: [{HOSTED}]
log: {{format: text, level: {self.log_level}}}
metrics: {{address: 127.0.0.1, port: {self.metrics_port}}}
queue:
  type: {self.mode}
  partitions: {self.partitions}
  embedded: {{sync: {"true" if self.queue_sync else "false"}}}
  kafka:
    brokers: "{self.bootstrap}"
    create_topics: false
    session_timeout: 6s
    # The mock broker does not answer DescribeConfigs: body references
    # (issue 21) need the retention stated. It really keeps 5 MiB per
    # partition (MOCK_PARTITION_BYTES); a reference whose record went is
    # counted in body_refs_unresolved (counters()), which must stay 0.
    assume_retention: 30d
    properties: {{{", ".join(f'"{k}": "{v}"' for k, v in self.kafka_properties.items())}}}
keyservice:
  kek_file: kek
  kek_create: true
  key_type: {KEY_TYPES[self.key_type]}
ingress:
  hostname: gw.{HOSTED}
  max_connections_per_ip: 1000
  listeners:
    - {{name: mx, address: 127.0.0.1, port: {self.mx_port}, role: mx}}
    - {{name: relay, address: 127.0.0.1, port: {self.relay_port}, role: relay, trusted_networks: [127.0.0.0/8]}}
workers:
  share_bodies: {str(self.share_bodies).lower()}
  policy:
    dsn: {{reporting_mta: gw.{HOSTED}}}
egress:
  helo_name: gw.{HOSTED}
  wake_on_data: {str(self.egress_wake).lower()}
{fetch_threads}  inbound: {{transport: smtp, hosts: {sink}, tls: {{mode: none}}, max_connections: 32,
             allowed_networks: [127.0.0.0/8]}}
  outbound: {{transport: smtp, hosts: {sink}, tls: {{mode: none}}, max_connections: 32,
             allowed_networks: [127.0.0.0/8]}}
  smtp: {{connect_timeout: 5s}}
  retry: {{initial: 2s, max_interval: 10s}}
""")
