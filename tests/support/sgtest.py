"""Shared helpers of the Python tests and harnesses: free ports and waiting.

Import with
    sys.path.insert(0, os.path.join(<repo>, "tests", "support"))
    import sgtest

Every wait has a deadline and says what it waited for when it gives up, so a
hung peer fails a test with a reason instead of a ctest timeout; a process
passed as `proc` that exits early fails at once with its exit code.
"""
import socket
import time
import urllib.error
import urllib.request


def free_port(host="127.0.0.1"):
    """A TCP port free on `host` right now (the kernel's choice for port 0).

    Another process may take it before it is used: prefer letting the server
    bind port 0 and report its port where the server supports it.
    """
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_alive(proc, what):
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"process exited ({proc.returncode}) while waiting for {what}")


def wait_until(predicate, timeout=30.0, interval=0.05, what="a condition", proc=None):
    """Calls predicate() until it returns a true value (which is returned)."""
    deadline = time.monotonic() + timeout
    while True:
        _check_alive(proc, what)
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def poll_until(predicate, timeout=30.0, interval=0.1):
    """Like wait_until, but gives up quietly: returns predicate()'s last value
    (false) after `timeout`, for tests that record a failure and go on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def wait_port(port, timeout=30.0, proc=None, host="127.0.0.1"):
    """Waits until a TCP connection to host:port succeeds."""
    def accepts():
        try:
            socket.create_connection((host, port), 0.5).close()
            return True
        except OSError:
            return False
    wait_until(accepts, timeout, what=f"port {host}:{port} to accept connections", proc=proc)


def http_get(url, timeout=5.0):
    """(status, body text) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def wait_http(url, status=200, timeout=30.0, proc=None):
    """Waits until GET url answers `status`; returns the body."""
    def answers():
        try:
            code, body = http_get(url, timeout=2.0)
        except OSError:
            return None
        return body if code == status else None
    return wait_until(answers, timeout, what=f"{url} to answer {status}", proc=proc)
