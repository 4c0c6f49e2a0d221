"""A daemon killed (SIGKILL) while a reader waits on a stub must not leave that reader with zeros: the guardian that
keeps the fanotify group answers the orphaned event with EIO. A reader that arrives while no daemon runs waits, and
gets the right bytes once the next daemon adopts the group; after the restart stubs recall again.
Real fanotify on a loop-mounted ext4 image. The recall is slowed by the test hook TIERCEL_HSM_TEST_RECALL_DELAY_MS
(a sleep before each range fill) so the kill lands while the reader is known to be waiting."""
import os
import signal
import socket
import subprocess
import sys
import time

from hsm_testlib import ext4_mount, hsm_sections, kill_guardian, sha256_of_pattern, write_pattern
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20
READER = """
import os, sys
try:
    with open(sys.argv[1], "rb") as f:
        data = f.read(65536)
    print("zeros" if data == bytes(len(data)) else "data", len(data), flush=True)
except OSError as e:
    print("errno", e.errno, flush=True)
"""


def start_reader(path):
    return subprocess.Popen([sys.executable, "-c", READER, path], stdout=subprocess.PIPE, text=True)


def wait_port_free(port, timeout=10):
    """After SIGKILL the daemon's io_uring is torn down asynchronously; its listening socket can linger briefly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.1)


def main():
    with ext4_mount("300M") as (workdir, mnt):
        archive_dir = os.path.join(workdir, "archive")
        os.mkdir(archive_dir)
        os.mkdir(os.path.join(workdir, "d"))
        env = dict(os.environ, TIERCEL_HSM_TEST_RECALL_DELAY_MS="2000")
        daemon = Daemon(sections=hsm_sections(mnt, archive_dir), workdir=os.path.join(workdir, "d"), env=env)
        try:
            paths = []
            for i in range(3):
                path = os.path.join(mnt, f"f{i}.bin")
                write_pattern(path, 8 * MiB, seed=20 + i)
                paths.append(path)
            daemon.start()
            result = run_cli("hsm", "archive", *paths, config=daemon.config_path)
            check(result.returncode == 0, f"archive: {result}")

            reader = start_reader(paths[0])
            time.sleep(0.7)  # the event is read and the recall sleeps in the test hook
            check(reader.poll() is None, "the reader is waiting for its recall")
            start = time.monotonic()
            daemon.process.send_signal(signal.SIGKILL)
            daemon.process.wait()
            out, _ = reader.communicate(timeout=20)
            elapsed = time.monotonic() - start
            check(not out.startswith("zeros"), f"the reader never sees zeros: {out!r}")
            check(out.startswith("errno 5"), f"the orphaned reader gets EIO from the guardian: {out!r}")
            print(f"orphaned reader answered {elapsed * 1000:.0f} ms after the kill: {out.strip()}")

            waiting = start_reader(paths[1])  # no daemon now: must wait, not read holes
            time.sleep(1.0)
            check(waiting.poll() is None, "with no daemon a reader of a stub waits")
            daemon.env = None
            wait_port_free(daemon.port)
            daemon.start()
            out, _ = waiting.communicate(timeout=30)
            check(out.startswith("data 65536"), f"the waiting reader gets data from the next daemon: {out!r}")
            log = daemon.read_log()
            check("adopted the fanotify group" in log, "the restarted daemon adopted the guarded group")

            import hashlib
            for i, path in enumerate(paths):
                digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
                check(digest == sha256_of_pattern(8 * MiB, seed=20 + i), f"{path} recalls after the restart")
        finally:
            daemon.stop()
            if daemon.process and daemon.process.poll() is None:
                daemon.process.kill()
            kill_guardian(daemon.state_dir)
            time.sleep(0.2)
    finish()


if __name__ == "__main__":
    main()
