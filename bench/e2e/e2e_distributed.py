"""smimegate in the distributed mode for the scaling benchmark: one process
per stage, as the Kafka-mode manifests run them (deploy/k8s/distributed,
tests/deploy/manifests_run_test.py), over the Kafka test broker.

    broker (smimegate-test-broker)   keyservice   ingress   egress
                                     worker-1 .. worker-N  (each in its own
                                     CPU cgroup when given one, e2e_cgroup)

Each process has its own data_dir, config file, log and metrics port; the
workers reach the keyservice over mutual TLS with credentials issued by
`smimegatectl credentials issue --role worker`. Ingress, egress, keyservice
and the broker run outside the workers' cgroups: their CPU is measured and
reported apart (DistributedGateway.cpu_by_process) so that a run whose
bottleneck is not the workers can be told apart.

The users, the partner certificate, the load and the sink are those of
e2e_gateway.Gateway (this class is one, for e2e_check and the runner).
"""
import os
import signal
import subprocess

import e2e_gateway as gwm
import proc_stats
from e2e_gateway import HOSTED, KEY_TYPES, free_port, wait_port

READY_S = 60.0


class Stage:
    """One smimegate process: `smimegate <stage> --config <file>`."""

    def __init__(self, name, binary, home, config_text, cgroup=None):
        self.name, self.binary, self.cgroup = name, binary, cgroup
        self.dir = os.path.join(home, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "smimegate.yaml")
        self.log_path = os.path.join(self.dir, "smimegate.log")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.proc = None
        self._log = None

    def start(self, stage):
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [self.binary, stage, "--config", self.config], cwd=self.dir, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=self.cgroup.preexec if self.cgroup else None)

    def wait_ready(self, timeout=READY_S):
        gwm.wait_log_ready(self.proc, self.log_path, self.name, timeout, tail_chars=3000)

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def threads(self):
        """The number of threads of the running process (/proc/PID/task)."""
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/task"))
        except (OSError, AttributeError):
            return None

    def log_tail(self, n=3000):
        return gwm.read_tail(self.log_path, n)


class DistributedGateway(gwm.Gateway):
    """Broker, keyservice, ingress and egress; workers come and go
    (set_workers). `config` (for smimegatectl) is the keyservice's."""

    def __init__(self, binaries, workdir, key_type, sink_port, log_level="warn",
                 kafka_properties=None):
        super().__init__(binaries, workdir, "kafka", key_type, sink_port, log_level=log_level,
                         kafka_properties=kafka_properties)
        self.home = os.path.join(workdir, f"gw-distributed-{key_type}")
        os.makedirs(self.home, exist_ok=True)
        self.ks_port = free_port()
        self.stages = {}
        self.workers = []
        self.worker_credentials = os.path.join(self.home, "credentials-worker")
        self._metrics = {}

    # ---- configuration
    def _common(self, name, extra, log_level=None):
        port = self._metrics[name] = free_port()
        props = ", ".join(f'"{k}": "{v}"' for k, v in self.kafka_properties.items())
        return f"""# {name} of the scaling benchmark (bench/e2e/e2e_distributed.py)
data_dir: {os.path.join(self.home, name)}
hosted_domains: [{HOSTED}]
log: {{format: text, level: {log_level or self.log_level}}}
metrics: {{address: 127.0.0.1, port: {port}}}
queue:
  type: kafka
  partitions: {self.partitions}
  kafka:
    brokers: "{self.bootstrap}"
    create_topics: false
    session_timeout: 6s
    properties: {{{props}}}
""" + extra

    def _keyservice_yaml(self):
        return self._common("keyservice", f"""keyservice:
  listen: 127.0.0.1:{self.ks_port}
  endpoint: 127.0.0.1:{self.ks_port}
  kek_file: kek
  kek_create: true
  key_type: {KEY_TYPES[self.key_type]}
""")

    def _ingress_yaml(self):
        return self._common("ingress", f"""keyservice: {{endpoint: "127.0.0.1:{self.ks_port}"}}
ingress:
  hostname: gw.{HOSTED}
  max_connections_per_ip: 1000
  listeners:
    - {{name: mx, address: 127.0.0.1, port: {self.mx_port}, role: mx}}
    - {{name: relay, address: 127.0.0.1, port: {self.relay_port}, role: relay, trusted_networks: [127.0.0.0/8]}}
""")

    def _egress_yaml(self):
        sink = f'["127.0.0.1:{self.sink_port}"]'
        return self._common("egress", f"""keyservice: {{endpoint: "127.0.0.1:{self.ks_port}"}}
egress:
  helo_name: gw.{HOSTED}
  inbound: {{transport: smtp, hosts: {sink}, tls: {{mode: none}}, max_connections: 32,
             allowed_networks: [127.0.0.0/8]}}
  outbound: {{transport: smtp, hosts: {sink}, tls: {{mode: none}}, max_connections: 32,
             allowed_networks: [127.0.0.0/8]}}
  smtp: {{connect_timeout: 5s}}
  retry: {{initial: 2s, max_interval: 10s}}
""")

    def _worker_yaml(self, name):
        return self._common(name, f"""keyservice:
  endpoint: "127.0.0.1:{self.ks_port}"
  client_credentials: {self.worker_credentials}
workers:
  policy:
    dsn: {{reporting_mta: gw.{HOSTED}}}
""", log_level="info")  # the thread count ("workers: N threads"); no info line per message

    # ---- lifecycle
    def start(self, timeout=READY_S):
        self._start_broker()
        ks = self._stage("keyservice", self._keyservice_yaml())
        self.config = ks.config  # smimegatectl talks to the keyservice as its local admin
        ks.start("keyservice")
        ks.wait_ready(timeout)
        self.ctl("credentials", "issue", "--role", "worker", "--out", self.worker_credentials)
        for name, text in (("ingress", self._ingress_yaml()), ("egress", self._egress_yaml())):
            self._stage(name, text).start(name)
        for name in ("ingress", "egress"):
            self.stages[name].wait_ready(timeout)
        wait_port(self.relay_port, 10, self.stages["ingress"].proc)
        wait_port(self.mx_port, 10, self.stages["ingress"].proc)

    def _stage(self, name, text, cgroup=None):
        s = Stage(name, self.bin.smimegate, self.home, text, cgroup)
        self.stages[name] = s
        return s

    def set_workers(self, cgroups, generation):
        """Stops the running workers and starts one per entry of `cgroups`
        (a CpuCgroup, or None for no limit); returns when all are ready."""
        self.stop_workers()
        for i, cg in enumerate(cgroups):
            name = f"worker-{generation}-{i + 1}"
            self.workers.append(self._stage(name, self._worker_yaml(name), cg))
            self.workers[-1].start("worker")
        for w in self.workers:
            w.wait_ready()

    def stop_workers(self):
        for w in self.workers:
            w.stop()
            self.stages.pop(w.name, None)
            self._metrics.pop(w.name, None)
        self.workers = []

    def stop(self):
        self.stop_workers()
        for name in ("ingress", "egress", "keyservice"):
            if name in self.stages:
                self.stages[name].stop()
        self.proc = None
        super().stop()  # the broker

    # ---- accounting
    def processes(self):
        """name -> pid of every running stage and the broker."""
        out = {n: s.proc.pid for n, s in self.stages.items() if s.proc and s.proc.poll() is None}
        if self.broker is not None and self.broker.poll() is None:
            out["broker"] = self.broker.pid
        return out

    def cpu_by_process(self):
        """name -> CPU seconds so far (utime + stime of the process tree)."""
        return {n: proc_stats.ProcTree([p]).cpu_seconds() for n, p in self.processes().items()}

    def root_pids(self):
        return [w.proc.pid for w in self.workers if w.proc]

    def metrics_ports(self):
        return list(self._metrics.values())

    def log_tail(self, n=4000):
        parts = [f"--- {name}\n{s.log_tail(n // 4)}" for name, s in self.stages.items()]
        return "\n".join(parts)
