"""Shared helpers for Tiercel's integration tests (stdlib only).

Each test gets its own temporary directory, a config naming a free port, and a daemon that is always killed at the
end (libfuse's test habit: no leaked daemon survives a failing test). Every wait has a wall-clock limit.
"""
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

BINARY = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.environ.get("TIERCEL_BINARY", "build/tiercel")
SOURCE_DIR = os.environ.get("TIERCEL_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))

_failures = []
_passes = 0


def check(condition, message):
    """Record a failed expectation without stopping the test, so one run reports every problem."""
    global _passes
    if condition:
        _passes += 1
    else:
        _failures.append(message)
        print(f"FAIL: {message}", flush=True)


def finish():
    """Print the closing line and exit non-zero when anything failed."""
    print(f"{_passes} passed, {len(_failures)} failed", flush=True)
    sys.exit(1 if _failures else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, config=None, timeout=60, env=None, input_bytes=None):
    command = [BINARY] + (["-c", config] if config else []) + list(args)
    return subprocess.run(command, capture_output=True, timeout=timeout, env=env, input=input_bytes)


class Daemon:
    """A `tiercel serve` process on a temporary state dir. Use as a context manager."""

    def __init__(self, top_config="", http_config="", sections="", port=None, env=None, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="tiercel-it-")
        self.port = port or free_port()
        self.state_dir = os.path.join(self.workdir, "state")
        self.config_path = os.path.join(self.workdir, "tiercel.toml")
        self.log_path = os.path.join(self.workdir, "daemon.log")
        self.write_config(top_config, http_config, sections)
        self.env = env
        self.process = None

    def write_config(self, top_config="", http_config="", sections=""):
        """Top-level keys, extra [http] keys, and whole extra sections ([pool] ...)."""
        with open(self.config_path, "w") as f:
            f.write(f'state_dir = "{self.state_dir}"\nshutdown_timeout = "4s"\n' + textwrap.dedent(top_config) +
                    f'\n[http]\nlisten = "127.0.0.1:{self.port}"\n' + textwrap.dedent(http_config) + "\n" +
                    textwrap.dedent(sections))

    def start(self, wait=True):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([BINARY, "-c", self.config_path, "serve"], stdout=self.log,
                                        stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_healthy(timeout=10)
        return self

    def wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode}:\n{self.read_log()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _, _ = self.request("GET", "/api/v1/health", timeout=1)
                if status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"daemon not healthy after {timeout}s:\n{self.read_log()}")

    def token(self):
        with open(os.path.join(self.state_dir, "api.token")) as f:
            return f.read().strip()

    def request(self, method, path, body=None, token=None, timeout=10, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), data

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def read_log(self):
        with contextlib.suppress(OSError):
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return False


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket, as the CLI talks to the daemon."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)
