"""`tiercel serve` over real sockets: health, metrics, auth, malformed and oversized requests, the Unix socket,
systemd readiness, SIGHUP reload and SIGTERM shutdown. Also the CLI's exit codes and config errors."""
import os
import re
import signal
import socket
import stat
import tempfile
import time

from api_testlib import raw_exchange
from tiercel_testlib import Daemon, UnixHTTPConnection, check, finish, run_cli

PROMETHEUS_LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
                             r'[-+]?([0-9.eE+-]+|NaN|Inf)$')


def test_cli_basics():
    result = run_cli("--version")
    check(result.returncode == 0 and result.stdout.startswith(b"tiercel "), f"--version: {result}")
    for command in ([], ["serve"], ["check-config"]):
        result = run_cli(*command, "--help")
        check(result.returncode == 0 and b"Usage" in result.stdout, f"{command} --help: {result}")
    result = run_cli("no-such-command")
    check(result.returncode == 2, f"unknown command exits 2, got {result.returncode}")
    result = run_cli("serve", "--bogus-flag")
    check(result.returncode == 2, f"unknown flag exits 2, got {result.returncode}")


def test_config_errors():
    workdir = tempfile.mkdtemp(prefix="tiercel-it-")
    path = os.path.join(workdir, "bad.toml")
    with open(path, "w") as f:
        f.write('state_dir = "/tmp/x"\n[http]\nlisten = "127.0.0.1:1"\nlisen_typo = "oops"\n')
    for command in (["check-config"], ["serve"]):
        result = run_cli(*command, config=path)
        stderr = result.stderr.decode()
        check(result.returncode == 2, f"{command} with unknown key exits 2, got {result.returncode}")
        check("http.lisen_typo" in stderr and f"{path}:4:" in stderr, f"unknown key message: {stderr!r}")
    with open(path, "w") as f:
        f.write('state_dir = "/tmp/x"\n\n[http]\nlisten = 8080\n')
    result = run_cli("check-config", config=path)
    stderr = result.stderr.decode()
    check(result.returncode == 2, f"wrong type exits 2, got {result.returncode}")
    check("http.listen" in stderr and ":4:" in stderr and "must be a string" in stderr, f"type message: {stderr!r}")
    result = run_cli("check-config", config=os.path.join(workdir, "missing.toml"))
    check(result.returncode == 2 and b"missing.toml" in result.stderr, f"missing file: {result}")
    env = dict(os.environ, TIERCEL_CONFIG=path)
    result = run_cli("check-config", env=env)
    check(result.returncode == 2 and path.encode() in result.stderr, "TIERCEL_CONFIG is honoured")


def test_serving(daemon):
    started = time.monotonic()
    daemon.start()
    check(time.monotonic() - started < 2.0, f"healthy within 2 s (took {time.monotonic() - started:.2f}s)")
    status, headers, body = daemon.request("GET", "/api/v1/health")
    check(status == 200 and b'"status":"ok"' in body and b'"version"' in body, f"health: {status} {body!r}")

    status, headers, body = daemon.request("GET", "/metrics")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), "metrics type")
    text = body.decode()
    for name in ("tiercel_uptime_seconds", "tiercel_event_loop_lag_seconds", "tiercel_http_requests_total"):
        check(f"# TYPE {name} " in text, f"metrics has {name}")
    bad_lines = [l for l in text.splitlines() if l and not l.startswith("#") and not PROMETHEUS_LINE.match(l)]
    check(not bad_lines, f"every sample line is valid Prometheus text: {bad_lines[:3]}")

    token_path = os.path.join(daemon.state_dir, "api.token")
    check(stat.S_IMODE(os.stat(token_path).st_mode) == 0o600, "token file is 0600")
    status, _, body = daemon.request("POST", "/api/v1/config/reload")
    check(status == 401 and b'"unauthorized"' in body, f"mutation without token is 401: {status}")
    status, _, _ = daemon.request("POST", "/api/v1/config/reload", token="not-the-token-not-the-token-xx")
    check(status == 401, f"mutation with a wrong token is 401: {status}")
    status, _, body = daemon.request("POST", "/api/v1/config/reload", token=daemon.token())
    check(status == 200, f"mutation with the token: {status} {body!r}")

    status, _, body = daemon.request("GET", "/")
    check(status == 200 and b"<title>Tiercel</title>" in body, "dashboard shell served")


def test_hostile_requests(daemon):
    reply = raw_exchange(daemon.port, b"THIS IS NOT HTTP\r\n\r\n")
    check(reply.startswith(b"HTTP/1.1 400"), f"malformed request gets 400: {reply[:60]!r}")
    big = b"x" * (2 << 20)
    head = (f"POST /api/v1/config/reload HTTP/1.1\r\nHost: x\r\nContent-Length: {len(big)}\r\n\r\n").encode()
    reply = raw_exchange(daemon.port, head + big)
    check(reply.startswith(b"HTTP/1.1 413"), f"oversized body gets 413: {reply[:60]!r}")
    huge_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    reply = raw_exchange(daemon.port, huge_header)
    check(reply.startswith(b"HTTP/1.1 431"), f"oversized header gets 431: {reply[:60]!r}")
    reply = raw_exchange(daemon.port, b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
    check(reply.startswith(b"HTTP/1.1 400") and b"root:" not in reply, f"traversal refused: {reply[:60]!r}")
    # A client that never finishes its headers is cut off after request_timeout (1 s in this config).
    started = time.monotonic()
    raw_exchange(daemon.port, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=10)
    elapsed = time.monotonic() - started
    check(elapsed < 5, f"slow client dropped after the request timeout (took {elapsed:.1f}s)")
    status, _, _ = daemon.request("GET", "/api/v1/health")
    check(status == 200, "daemon still healthy after hostile requests")


def test_unix_socket(daemon):
    connection = UnixHTTPConnection(os.path.join(daemon.state_dir, "api.sock"))
    connection.request("POST", "/api/v1/config/reload")  # no token: a root peer on the socket is trusted
    response = connection.getresponse()
    check(response.status == 200, f"Unix-socket peer with our uid may mutate: {response.status}")
    response.read()
    check(stat.S_IMODE(os.stat(os.path.join(daemon.state_dir, "api.sock")).st_mode) == 0o600, "socket is 0600")


def test_io_uring_backend(daemon):
    fd_dir = f"/proc/{daemon.process.pid}/fd"
    targets = []
    for fd in os.listdir(fd_dir):
        try:
            targets.append(os.readlink(os.path.join(fd_dir, fd)))
        except FileNotFoundError:
            pass  # closed since the listing (the daemon's threads open and close files all the time)
    check(any("io_uring" in t for t in targets), f"the core loop uses an io_uring instance: {targets}")


def test_sighup_reload(daemon):
    daemon.write_config(top_config='log_level = "debug"\n', http_config='request_timeout = "1s"\n')
    daemon.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    check("configuration reloaded" in daemon.read_log(), "SIGHUP reloads a valid config")
    with open(daemon.config_path, "a") as f:
        f.write("not valid toml [[[\n")
    daemon.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    log = daemon.read_log()
    check("reload rejected" in log, "SIGHUP with a broken config is rejected and logged")
    status, _, _ = daemon.request("GET", "/api/v1/health")
    check(status == 200, "daemon keeps serving after a rejected reload")


def test_sigterm(daemon):
    started = time.monotonic()
    code = daemon.stop(signal.SIGTERM, timeout=10)
    elapsed = time.monotonic() - started
    check(code == 0, f"SIGTERM exits 0 (got {code})")
    check(elapsed < 5, f"SIGTERM exits within 5 s (took {elapsed:.2f}s)")
    check(not os.path.exists(os.path.join(daemon.state_dir, "api.sock")), "Unix socket removed on shutdown")


def test_sd_notify():
    workdir = tempfile.mkdtemp(prefix="tiercel-it-")
    notify_path = os.path.join(workdir, "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(10)
    with Daemon(env=dict(os.environ, NOTIFY_SOCKET=notify_path), workdir=workdir) as daemon:
        daemon.start(wait=False)
        messages = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(b"READY=1" in m for m in messages):
            try:
                messages.append(listener.recv(4096))
            except socket.timeout:
                break
        check(any(b"READY=1" in m for m in messages), f"READY=1 sent to NOTIFY_SOCKET: {messages}")
        daemon.stop()
        try:
            messages.append(listener.recv(4096))
        except socket.timeout:
            pass
        check(any(b"STOPPING=1" in m for m in messages), f"STOPPING=1 sent on shutdown: {messages}")
    listener.close()


def main():
    test_cli_basics()
    test_config_errors()
    # A short request timeout so the slow-client check is quick.
    with Daemon(http_config='request_timeout = "1s"\n') as daemon:
        test_serving(daemon)
        test_hostile_requests(daemon)
        test_unix_socket(daemon)
        test_io_uring_backend(daemon)
        test_sighup_reload(daemon)
        test_sigterm(daemon)
    test_sd_notify()
    finish()


if __name__ == "__main__":
    main()
