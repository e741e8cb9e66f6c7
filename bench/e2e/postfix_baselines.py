"""Postfix baselines for the end-to-end benchmark (issue #8, Part B).

Two baselines, each a private Postfix instance (Debian's Postfix 3.7) in its
own config/queue/data directories under a work directory, on loopback ports
chosen by the caller:

  PostfixRelay  smtpd -> queue -> smtp -> [127.0.0.1]:nexthop_port.
  DiyGateway    the same plus the after-queue "simple content filter" from
                Postfix's FILTER_README: content_filter = pipe(8) transport ->
                a shell script -> `openssl cms -sign` (and `openssl cms
                -encrypt` when the recipient has a certificate) -> re-injected
                with `sendmail -G -i` (pickup has content_filter unset).

How each instance runs, and why:
  * The master runs in the foreground (`master -c DIR -d -s`) as a direct child
    of this Python process, in its own session, so ProcTree([master]) sees
    every Postfix process and every filter script (their CPU lands in the
    master's cutime when they are reaped; see proc_stats.py).
  * Non-default config directory without touching /etc/postfix: the master
    and its daemons are root-started and take `-c DIR` / MAIL_CONFIG. The
    only set-gid program on the path is postdrop (DIY re-injection), which
    refuses a non-default MAIL_CONFIG from an untrusted caller unless it is
    listed in /etc/postfix/main.cf (which we may not edit; Debian's is even
    absent here). We run the filter as user nobody with group postdrop
    (pipe(8) `user=nobody:postdrop`): then postdrop's real and effective gid
    are equal, Postfix considers the environment safe, and it honours
    MAIL_CONFIG. pipe(8) refuses the gid named by setgid_group, so the DIY
    instance sets setgid_group = mail (nothing else we run uses it; the
    queue's maildrop/public directories keep group postdrop, as the set-gid
    bit of /usr/sbin/postdrop needs). The code path is the stock sendmail ->
    postdrop -> maildrop -> pickup one, at the same cost.
  * No chroot, no DNS (smtp_dns_support_level = disabled, bracketed
    relayhost, smtpd_peername_lookup = no), no local delivery, loopback only.
  * Durability as shipped: Postfix fsyncs queue files as it always does.
  * Tuning an administrator would use: default_process_limit 100, SMTP
    connection cache always on for the relayhost (scache), destination
    concurrency 20 (Postfix's default), in_flow_delay left at 1s (default).
  * Logging goes to WORKDIR/<kind>-<port>/maillog through postlogd
    (maillog_file), i.e. the logging cost an admin pays is inside the
    measured process tree.
  * DIY filter: pipe(8) process limit = FILTER_README's 10, or 2 x cores if
    larger (each run is CPU bound: sh, awk, two openssl processes at most,
    sendmail+postdrop); one recipient per filter run when any recipient
    has a certificate (filter_destination_recipient_limit = 1), because
    each gets its own encryption.
  * Cleanup: stop() SIGTERMs the master (which stops its process group),
    SIGKILLs its group and anything whose working directory is inside the
    instance (every Postfix daemon sits in its queue directory, the filter
    in its spool), and waits until none is left. An atexit hook calls it,
    and a watchdog (a `sh` reading a pipe from us) stops the instance if
    this process dies without stop() (SIGKILL, ctest timeout).

API (see E2E_SPEC.md):
    relay = PostfixRelay(workdir, listen_port, nexthop_port)
    relay.start()          # returns once 127.0.0.1:listen_port answers 220;
                           # raises PostfixError (with the log tail) if not
    ProcTree(relay.root_pids())   # master + current descendants
    relay.stop()           # idempotent; kills master, children, filters
    diy = DiyGateway(workdir, listen_port, nexthop_port, signer_cert,
                     signer_key, encrypt_to={"bob@x": "/path/bob.pem"})
Both are context managers and survive repeated start()/stop() (each start
writes a fresh instance under workdir/<kind>-<listen_port>/).
Optional keyword arguments: listen_host, nexthop_host ("127.0.0.1"),
destination_concurrency (20), process_limit (100), start_timeout (30 s),
check (False: also run the slow `postfix check`; relay only),
die_with_parent (True: the watchdog); DiyGateway also filter_process_limit.
Attributes: master_pid, maillog, base, config_dir, queue_dir; running().
workdir and its ancestors must be searchable by others (o+x): Postfix runs
as user postfix and the filter as nobody; workdir itself is opened up if it
is a 0700 mkdtemp, a closed ancestor raises PostfixError.

CLI (manual runs):  /usr/bin/python3 bench/e2e/postfix_baselines.py
    relay|diy --workdir DIR --listen PORT --nexthop PORT
    [--signer-cert PEM --signer-key PEM] [--encrypt-to ADDR=PEM ...]
starts the instance and keeps it up until Ctrl-C.
"""

import atexit
import os
import pwd
import grp
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proc_stats import ProcTree  # noqa: E402

POSTFIX = "/usr/sbin/postfix"
MASTER = "/usr/lib/postfix/sbin/master"
SENDMAIL = "/usr/sbin/sendmail"
OPENSSL = "/usr/bin/openssl"
FILTER_USER = "nobody"
FILTER_GROUP = "postdrop"
SETGID_GROUP_ALIAS = "mail"


class PostfixError(RuntimeError):
    pass


def _wait_banner(host, port, deadline, alive=lambda: True):
    """Waits until host:port answers with an SMTP 220 greeting."""
    last = None
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.settimeout(5)
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"220"):
                    try:
                        s.sendall(b"QUIT\r\n")
                        s.recv(512)
                    except OSError:
                        pass
                    return
                last = data
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise PostfixError(f"no SMTP 220 greeting on {host}:{port}: {last!r}")


def _cwd_under(pid, prefix):
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return cwd == prefix or cwd.startswith(prefix + "/")


def _processes_under(prefix):
    """Pids of processes whose working directory is inside prefix.

    Every Postfix daemon chdirs to its queue_directory and our filter script
    to its spool, so this finds an instance's processes even if they escaped
    the master's tree.
    """
    found = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me and _cwd_under(int(name), prefix):
            found.append(int(name))
    return found


class _PostfixInstance:
    """One private Postfix instance; subclasses add main.cf/master.cf lines."""

    kind = "postfix"
    setgid_group = "postdrop"

    def __init__(self, workdir, listen_port, nexthop_port, *,
                 listen_host="127.0.0.1", nexthop_host="127.0.0.1",
                 destination_concurrency=20, process_limit=100,
                 start_timeout=30.0, check=False, die_with_parent=True):
        self.workdir = os.path.abspath(workdir)
        self.listen_host = listen_host
        self.listen_port = int(listen_port)
        self.nexthop_host = nexthop_host
        self.nexthop_port = int(nexthop_port)
        self.destination_concurrency = int(destination_concurrency)
        self.process_limit = int(process_limit)
        self.start_timeout = float(start_timeout)
        self.check = bool(check)  # also run `postfix check` (slow) before start
        # A watchdog (sh reading a pipe from us) stops the instance when this
        # process dies without calling stop() (SIGKILL, ctest timeout), so a
        # killed harness leaves no Postfix behind. (PR_SET_PDEATHSIG cannot
        # do it: the master changes its effective uid, which clears it.)
        self.die_with_parent = bool(die_with_parent)
        self._watchdog = None
        self.base = os.path.join(self.workdir, f"{self.kind}-{self.listen_port}")
        self.config_dir = os.path.join(self.base, "etc")
        self.queue_dir = os.path.join(self.base, "spool")
        self.data_dir = os.path.join(self.base, "data")
        self.maillog = os.path.join(self.base, "maillog")
        self._proc = None
        self._atexit = False

    # ---- configuration -------------------------------------------------
    def _relayhost(self):
        return f"[{self.nexthop_host}]:{self.nexthop_port}"

    def _main_cf(self):
        return f"""# Generated by bench/e2e/postfix_baselines.py ({self.kind}).
compatibility_level = 3.6
config_directory = {self.config_dir}
queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
mail_owner = postfix
setgid_group = {self.setgid_group}
myhostname = {self.kind}.bench.localdomain
mydomain = bench.localdomain
myorigin = $myhostname
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
inet_interfaces = {self.listen_host}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
relayhost = {self._relayhost()}
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_connection_cache_on_demand = yes
smtp_connection_cache_destinations = {self._relayhost()}
default_process_limit = {self.process_limit}
default_destination_concurrency_limit = {self.destination_concurrency}
smtp_destination_concurrency_limit = {self.destination_concurrency}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.base}
"""

    def _master_cf(self):
        n = "n"
        return f"""# Generated by bench/e2e/postfix_baselines.py ({self.kind}); no chroot.
{self.listen_host}:{self.listen_port} inet n - {n} - - smtpd
pickup    unix  n       -       {n}     60      1       pickup{self._pickup_options()}
cleanup   unix  n       -       {n}     -       0       cleanup
qmgr      unix  n       -       {n}     300     1       qmgr
rewrite   unix  -       -       {n}     -       -       trivial-rewrite
bounce    unix  -       -       {n}     -       0       bounce
defer     unix  -       -       {n}     -       0       bounce
trace     unix  -       -       {n}     -       0       bounce
verify    unix  -       -       {n}     -       1       verify
flush     unix  n       -       {n}     1000?   0       flush
proxymap  unix  -       -       {n}     -       -       proxymap
proxywrite unix -       -       {n}     -       1       proxymap
smtp      unix  -       -       {n}     -       -       smtp
relay     unix  -       -       {n}     -       -       smtp
showq     unix  n       -       {n}     -       -       showq
error     unix  -       -       {n}     -       -       error
retry     unix  -       -       {n}     -       -       error
discard   unix  -       -       {n}     -       -       discard
anvil     unix  -       -       {n}     -       1       anvil
scache    unix  -       -       {n}     -       1       scache
postlog   unix-dgram n  -       {n}     -       1       postlogd
{self._extra_master_cf()}"""

    def _make_queue_dirs(self):
        """The queue directories with the owners and modes Postfix requires.

        Exactly what `postfix check` (postfix-files) would create; done here
        because `postfix check` takes seconds on a loaded machine.
        """
        uid = pwd.getpwnam("postfix").pw_uid
        postdrop = grp.getgrnam("postdrop").gr_gid
        for name in ("active", "bounce", "corrupt", "defer", "deferred", "flush",
                     "hold", "incoming", "private", "saved", "trace"):
            d = os.path.join(self.queue_dir, name)
            os.mkdir(d)
            os.chown(d, uid, 0)
            os.chmod(d, 0o700)
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            d = os.path.join(self.queue_dir, name)
            os.mkdir(d)
            os.chown(d, uid, postdrop)
            os.chmod(d, mode)
        os.mkdir(os.path.join(self.queue_dir, "pid"), 0o755)

    def _pickup_options(self):
        return ""

    def _extra_master_cf(self):
        return ""

    def _prepare_extra(self):
        """Hook for subclasses: files they need before the master starts."""

    # ---- lifecycle -----------------------------------------------------
    def start(self):
        """Writes a fresh instance, starts the master, waits for SMTP 220."""
        if self._proc is not None:
            raise PostfixError(f"{self.kind} on port {self.listen_port} already started")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        if os.path.exists(self.base):
            shutil.rmtree(self.base)
        # Postfix daemons run as user postfix (and our filter as nobody) and
        # open files under base: the path down to it must be searchable.
        os.makedirs(self.workdir, exist_ok=True)
        _check_traversable(self.workdir)
        for d in (self.config_dir, self.queue_dir, self.data_dir):
            os.makedirs(d, mode=0o755)
        os.chmod(self.base, 0o755)
        postfix_pw = pwd.getpwnam("postfix")
        os.chown(self.data_dir, postfix_pw.pw_uid, postfix_pw.pw_gid)
        os.chmod(self.data_dir, 0o700)
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write(self._main_cf())
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(self._master_cf())
        self._prepare_extra()
        # Postfix waits (in 0.3 s steps, ~2 s) for a main.cf modified "just
        # now" to settle before reading it; ours is complete, so backdate it.
        past = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(os.path.join(self.config_dir, name), (past, past))
        self._make_queue_dirs()
        env = dict(os.environ, MAIL_CONFIG=self.config_dir)
        if self.check:
            chk = subprocess.run([POSTFIX, "-c", self.config_dir, "check"], env=env,
                                 stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=60)
            if chk.returncode != 0:
                raise PostfixError(f"postfix -c {self.config_dir} check failed "
                                   f"(rc {chk.returncode}): {chk.stderr.strip()} "
                                   f"{self._log_tail()}")
        self._master_out = open(os.path.join(self.base, "master.out"), "wb")
        # Own session: the master signals its process group on shutdown, and
        # that group must not be ours.
        self._proc = subprocess.Popen(
            [MASTER, "-c", self.config_dir, "-d", "-s"], env=env, cwd=self.queue_dir,
            stdin=subprocess.DEVNULL, stdout=self._master_out,
            stderr=subprocess.STDOUT, start_new_session=True)
        if self.die_with_parent:
            self._start_watchdog(self._proc.pid)
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        deadline = time.monotonic() + self.start_timeout
        try:
            _wait_banner(self.listen_host, self.listen_port, deadline,
                         alive=lambda: self._proc.poll() is None)
        except PostfixError as e:
            rc = self._proc.poll()
            raise PostfixError(f"{self.kind} did not start (master rc {rc}): {e} "
                               f"{self._log_tail()}") from None
        if self._proc.poll() is not None:
            raise PostfixError(f"{self.kind} master exited: {self._log_tail()}")

    def _start_watchdog(self, pgid):
        """sh that kills the instance's process group when our pipe hits EOF
        without the word "done" (i.e. when this process died)."""
        script = (f'read x; [ "$x" = done ] && exit 0; kill -TERM -{pgid}; '
                  f'sleep 2; kill -KILL -{pgid}')
        self._watchdog = subprocess.Popen(
            ["/bin/sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)

    def _stop_watchdog(self):
        wd, self._watchdog = self._watchdog, None
        if wd is None:
            return
        try:
            wd.stdin.write(b"done\n")
            wd.stdin.close()
        except OSError:
            pass
        try:
            wd.wait(timeout=5)
        except subprocess.TimeoutExpired:
            wd.kill()
            wd.wait()

    def _log_tail(self, lines=15):
        out = []
        for path in (self.maillog, os.path.join(self.base, "master.out")):
            try:
                with open(path, errors="replace") as f:
                    out.extend(f.read().splitlines()[-lines:])
            except OSError:
                pass
        return ("log: " + " | ".join(out)) if out else ""

    @property
    def master_pid(self):
        return self._proc.pid if self._proc is not None else None

    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def root_pids(self):
        """The master and all its current descendants (for ProcTree)."""
        if not self.running():
            return []
        return ProcTree([self._proc.pid]).pids()

    def stop(self, timeout=10.0):
        """Stops the master, its children and filter scripts. Idempotent."""
        proc, self._proc = self._proc, None
        self._stop_watchdog()
        if proc is not None:
            tree = set(ProcTree([proc.pid]).pids()) if proc.poll() is None else set()
            if proc.poll() is None:
                try:
                    proc.terminate()  # master: SIGTERM to its process group
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
                except ProcessLookupError:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            self._kill_leftovers(tree)
            out = getattr(self, "_master_out", None)
            if out is not None:
                out.close()
                self._master_out = None
        else:
            self._kill_leftovers(set())
        self._cleanup_extra()

    def _kill_leftovers(self, pids):
        """SIGKILLs anything of this instance still alive, then waits for it."""
        deadline = time.monotonic() + 10
        while True:
            alive = set(_processes_under(self.base))
            alive |= {p for p in pids if os.path.exists(f"/proc/{p}")
                      and not _is_zombie(p)}
            alive = {p for p in alive if not _is_zombie(p)}
            if not alive:
                return
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if time.monotonic() > deadline:
                raise PostfixError(f"{self.kind}: processes {sorted(alive)} survive SIGKILL")
            time.sleep(0.05)

    def _cleanup_extra(self):
        """Hook for subclasses: remove secrets after stop."""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return True
    return data[data.rfind(b")") + 2:].split()[0] in (b"Z", b"X")


class PostfixRelay(_PostfixInstance):
    """Postfix as a plain relay: smtpd -> queue -> smtp -> nexthop."""

    kind = "postfix-relay"


# The filter, as FILTER_README's simple content filter example, with the
# "filter <in.$$" step filled in by openssl cms. Placeholders: @...@.
_FILTER_SCRIPT = r"""#!/bin/sh
# DIY S/MIME gateway: Postfix FILTER_README "simple content filter".
# Called by pipe(8) as: filter.sh -f sender -- recipient...
# Signs the message (S/MIME multipart/signed, detached, SHA-256, signer
# certificate included) and, when the recipient has a certificate, encrypts
# the signed entity to it (AES-256-CBC). Outer header fields (From, To,
# Subject, Date, Message-ID, X-Bench-Id, ...) stay outside; the original
# Content-* fields move into the signed entity. Re-injects with sendmail.
INSPECT_DIR=@INSPECT_DIR@
SENDMAIL="@SENDMAIL@ -G -i" # NEVER NEVER NEVER use "-t" here.
OPENSSL=@OPENSSL@
SIGNER_CERT=@SIGNER_CERT@
SIGNER_KEY=@SIGNER_KEY@
MAIL_CONFIG=@MAIL_CONFIG@
export MAIL_CONFIG

# Exit codes from <sysexits.h>
EX_TEMPFAIL=75
EX_UNAVAILABLE=69

# Clean up when done or when aborting.
trap "rm -f in.$$ hdr.$$ mime.$$ body.$$ entity.$$ signed.$$ out.$$" 0 1 2 3 15

# Start processing.
cd $INSPECT_DIR || { echo $INSPECT_DIR does not exist; exit $EX_TEMPFAIL; }
cat >in.$$ || { echo Cannot save mail to file; exit $EX_TEMPFAIL; }

# The recipient's certificate, if any (one recipient per delivery when
# encryption is configured: filter_destination_recipient_limit = 1).
rcpt=""
for a in "$@"; do rcpt="$a"; done
rcpt=$(printf '%s' "$rcpt" | tr 'A-Z' 'a-z')
CERT=""
case "$rcpt" in
@CERT_CASES@  *) CERT="" ;;
esac

# Split the header section: Content-*/MIME-Version fields (with their
# continuation lines) go into the signed entity, all others stay outside.
: >hdr.$$; : >mime.$$; : >body.$$
awk -v o=hdr.$$ -v m=mime.$$ -v b=body.$$ '
  BEGIN { h = 1; cur = o }
  h && /^\r?$/ { h = 0; next }
  h && /^[ \t]/ { if (cur != "") print > cur; next }
  h { l = tolower($0)
      if (l ~ /^mime-version:/) cur = ""
      else if (l ~ /^content-/) cur = m
      else cur = o
      if (cur != "") print > cur; next }
  { print > b }' in.$$ || exit $EX_TEMPFAIL
[ -s mime.$$ ] || echo 'Content-Type: text/plain; charset=us-ascii' >mime.$$
{ cat mime.$$; echo; cat body.$$; } >entity.$$ || exit $EX_TEMPFAIL

$OPENSSL cms -sign -md sha256 -signer $SIGNER_CERT -inkey $SIGNER_KEY \
    -in entity.$$ -out signed.$$ || { echo openssl cms -sign failed; exit $EX_TEMPFAIL; }
if [ -n "$CERT" ]; then
  $OPENSSL cms -encrypt -aes256 -in signed.$$ -out out.$$ "$CERT" \
    || { echo openssl cms -encrypt failed; exit $EX_TEMPFAIL; }
else
  mv signed.$$ out.$$
fi

{ cat hdr.$$; cat out.$$; } | $SENDMAIL "$@"
exit $?
"""


class DiyGateway(_PostfixInstance):
    """Postfix + FILTER_README simple content filter signing with openssl cms.

    signer_cert/signer_key: PEM files (key unencrypted) used for every
    message. encrypt_to: dict recipient address -> recipient certificate
    PEM path (or None): mail to those recipients is signed, then encrypted.

    Filter concurrency: the filter transport's process limit is
    FILTER_README's 10, raised to 2 x cores on bigger machines
    (filter_process_limit); each filter run is CPU bound (two openssl
    processes), so more than ~2 per core only adds latency.
    """

    kind = "diy-gateway"
    # pipe(8) refuses to run a command with the gid named by setgid_group,
    # and the filter must run with gid postdrop (see the module docstring).
    # So this instance names another group there; the only other users of
    # setgid_group are `postfix check`/set-permissions, which we do not run:
    # the queue directories keep group postdrop, matching the set-gid bit of
    # /usr/sbin/postdrop, so sendmail -> postdrop -> pickup works as usual.
    setgid_group = SETGID_GROUP_ALIAS

    def __init__(self, workdir, listen_port, nexthop_port, signer_cert, signer_key,
                 encrypt_to=None, *, filter_process_limit=None, **kwargs):
        if kwargs.get("check"):
            raise ValueError("DiyGateway: check=True would re-own the maildrop "
                             "directory to setgid_group; not supported")
        super().__init__(workdir, listen_port, nexthop_port, **kwargs)
        self.signer_cert = os.path.abspath(signer_cert)
        self.signer_key = os.path.abspath(signer_key)
        self.encrypt_to = {k.lower(): os.path.abspath(v)
                           for k, v in (encrypt_to or {}).items() if v}
        if filter_process_limit is None:
            filter_process_limit = max(10, 2 * (os.cpu_count() or 1))
        self.filter_process_limit = int(filter_process_limit)
        self.filter_dir = os.path.join(self.base, "filter")
        self.inspect_dir = os.path.join(self.filter_dir, "spool")

    def _main_cf(self):
        extra = """content_filter = filter:dummy
filter_destination_concurrency_limit = {lim}
""".format(lim=self.filter_process_limit)
        if self.encrypt_to:
            extra += "filter_destination_recipient_limit = 1\n"
        return super()._main_cf() + extra

    def _pickup_options(self):
        # Re-injected (already signed) mail must not be filtered again.
        return "\n  -o content_filter=\n  -o receive_override_options=no_header_body_checks"

    def _extra_master_cf(self):
        script = os.path.join(self.filter_dir, "filter.sh")
        return (f"filter    unix  -       n       n       -       "
                f"{self.filter_process_limit}      pipe\n"
                f"  flags=Rq user={FILTER_USER}:{FILTER_GROUP} null_sender=\n"
                f"  argv={script} -f ${{sender}} -- ${{recipient}}\n")

    def _prepare_extra(self):
        for path in [self.signer_cert, self.signer_key, *self.encrypt_to.values()]:
            if not os.path.isfile(path):
                raise PostfixError(f"diy-gateway: file {path} not found")
        nobody = pwd.getpwnam(FILTER_USER).pw_uid
        postdrop = grp.getgrnam(FILTER_GROUP).gr_gid
        os.makedirs(self.inspect_dir, mode=0o700)
        os.chmod(self.filter_dir, 0o755)
        os.chown(self.inspect_dir, nobody, postdrop)
        certs = os.path.join(self.filter_dir, "certs")
        os.makedirs(certs, mode=0o755)

        def install(src, name, mode):
            dst = os.path.join(self.filter_dir, name)
            shutil.copyfile(src, dst)
            os.chown(dst, nobody, postdrop)
            os.chmod(dst, mode)
            return dst

        cert = install(self.signer_cert, "signer.pem", 0o444)
        key = install(self.signer_key, "signer.key", 0o400)
        cases = []
        for i, (addr, path) in enumerate(sorted(self.encrypt_to.items())):
            dst = install(path, f"certs/rcpt{i}.pem", 0o444)
            quoted = addr.replace("'", "")
            cases.append(f"  '{quoted}') CERT={dst} ;;\n")
        text = (_FILTER_SCRIPT
                .replace("@INSPECT_DIR@", self.inspect_dir)
                .replace("@SENDMAIL@", SENDMAIL)
                .replace("@OPENSSL@", OPENSSL)
                .replace("@SIGNER_CERT@", cert)
                .replace("@SIGNER_KEY@", key)
                .replace("@MAIL_CONFIG@", self.config_dir)
                .replace("@CERT_CASES@", "".join(cases)))
        script = os.path.join(self.filter_dir, "filter.sh")
        with open(script, "w") as f:
            f.write(text)
        os.chmod(script, 0o755)

    def _cleanup_extra(self):
        try:
            os.unlink(os.path.join(self.filter_dir, "signer.key"))
        except OSError:
            pass


def _check_traversable(path):
    """Postfix (user postfix) and the filter (nobody) must reach path: o+x.

    The work directory itself is ours and is opened up if needed (e.g. a
    0700 mkdtemp); a closed ancestor is an error the caller must fix.
    """
    st = os.stat(path)
    if not st.st_mode & stat.S_IXOTH:
        os.chmod(path, stat.S_IMODE(st.st_mode) | 0o711)
    parent = os.path.dirname(path)
    while parent and parent != "/":
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            raise PostfixError(f"directory {parent} is not searchable by users postfix "
                               f"and {FILTER_USER} (needs o+x); use another workdir")
        parent = os.path.dirname(parent)


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="Run a Postfix baseline until Ctrl-C.")
    ap.add_argument("kind", choices=["relay", "diy"])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--nexthop", type=int, required=True)
    ap.add_argument("--signer-cert")
    ap.add_argument("--signer-key")
    ap.add_argument("--encrypt-to", action="append", default=[], metavar="ADDR=PEM")
    a = ap.parse_args(argv)
    if a.kind == "relay":
        inst = PostfixRelay(a.workdir, a.listen, a.nexthop)
    else:
        if not (a.signer_cert and a.signer_key):
            ap.error("diy needs --signer-cert and --signer-key")
        enc = dict(x.split("=", 1) for x in a.encrypt_to)
        inst = DiyGateway(a.workdir, a.listen, a.nexthop, a.signer_cert, a.signer_key, enc)
    os.makedirs(a.workdir, exist_ok=True)
    inst.start()
    print(f"{inst.kind} up on 127.0.0.1:{a.listen} -> 127.0.0.1:{a.nexthop}, "
          f"master pid {inst.master_pid}, log {inst.maillog}", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        inst.stop()
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(_main(sys.argv[1:]))
