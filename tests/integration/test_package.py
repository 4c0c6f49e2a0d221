#!/usr/bin/env python3
"""The Debian package, end to end: build, lint, install, upgrade, remove, purge.

    python3 tests/integration/test_package.py <path-to-built-tiercel-binary>

Runs as root on a Debian 12 machine (it installs and purges the tiercel package for real). It builds the .deb with
packaging/build-deb.sh, or takes an already built one from $TIERCEL_DEB, and checks:
  - lintian reports no errors;
  - apt-get installs it: the binary runs and reports the same version as the binary under test, the config is a
    conffile that passes `tiercel check-config`, /var/lib/tiercel is 0700 with a 0600 hex API token, the unit is
    enabled but not started without a running systemd, `systemd-analyze verify` accepts it, the man page renders and
    names every subcommand the binary lists (recursively), bash completion completes the subcommands;
  - an upgrade to a second package with a bumped version keeps an edited config, the token and other state;
  - `remove` keeps config and state; `purge` deletes /etc/tiercel and /var/lib/tiercel but keeps a pool key file
    and never touches data outside them (a marker directory standing in for pool disks survives).
Anything missing (tools, root) is a failure, never a skip. Everything installed is purged again at the end.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get("TIERCEL_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_SCRIPT = os.path.join(SOURCE_DIR, "packaging", "build-deb.sh")
GEN_DOCS = os.path.join(SOURCE_DIR, "packaging", "gen-cli-docs.py")
CONF_DIR = "/etc/tiercel"
CONF = "/etc/tiercel/tiercel.toml"
STATE_DIR = "/var/lib/tiercel"
TOKEN = "/var/lib/tiercel/api.token"
UNIT = "/lib/systemd/system/tiercel.service"
WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/tiercel.service"
MAN_PAGE = "/usr/share/man/man1/tiercel.1.gz"
COMPLETION = "/usr/share/bash-completion/completions/tiercel"
POOL_MARKER_DIR = "/srv/tiercel-test-pool"
UPGRADE_SUFFIX = "+test1"
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
APT_CONFFILE_OPTS = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]

STARTED = time.monotonic()


class Failure(Exception):
    pass


def log(message):
    print(f"[package {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


def run(argv, *, check_rc=True, env=None, timeout=900, capture=True, input_text=None):
    done = subprocess.run(argv, capture_output=capture, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL if input_text is None else None, input=input_text)
    if check_rc and done.returncode != 0:
        output = ((done.stdout or "") + (done.stderr or "")).strip()
        raise Failure(f"{' '.join(argv)} exited {done.returncode}:\n{output[-4000:]}")
    return done


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def package_status():
    done = run(["dpkg-query", "-W", "-f", "${Status}|${Version}", "tiercel"], check_rc=False)
    if done.returncode != 0:
        return "not-installed", ""
    status, _, version = done.stdout.partition("|")
    return status.split()[-1], version


def cmake_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(\s*tiercel\s[^)]*VERSION\s+([0-9][0-9A-Za-z.]*)", f.read())
    check(match, "cannot read project(tiercel VERSION ...) from CMakeLists.txt")
    return match.group(1)


# ------------------------------------------------------------------------------------------------------ steps --

def preflight():
    check(os.geteuid() == 0, "must run as root: it installs and purges the tiercel package")
    missing = [tool for tool in ("dpkg", "dpkg-deb", "dpkg-query", "apt-get", "lintian", "systemd-analyze", "man",
                                 "bash", "python3")
               if shutil.which(tool) is None]
    if not os.environ.get("TIERCEL_DEB"):
        missing += [tool for tool in ("dpkg-buildpackage", "dh") if shutil.which(tool) is None]
    check(not missing, "missing tools: " + " ".join(missing) +
          " (apt-get install dpkg-dev debhelper lintian systemd man-db)")
    status, version = package_status()
    check(status == "not-installed",
          f"the tiercel package is already on this machine ({status} {version}); this test installs and purges it, "
          "which would delete its configuration and state. Purge it first (apt-get purge tiercel).")
    for path in (CONF_DIR, STATE_DIR):
        check(not os.path.exists(path),
              f"{path} exists without the package; this test would delete it at purge. Move it away first.")


def build_deb(out_dir, suffix=""):
    argv = [BUILD_SCRIPT, "--out-dir", out_dir] + (["--version-suffix", suffix] if suffix else [])
    log(f"building: {' '.join(argv)}")
    began = time.monotonic()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=None, text=True, timeout=1500,
                          stdin=subprocess.DEVNULL)
    check(done.returncode == 0, f"{' '.join(argv)} failed (exit {done.returncode})")
    lines = done.stdout.strip().splitlines()
    check(lines and lines[-1].endswith(".deb") and os.path.isfile(lines[-1]),
          f"build-deb.sh did not print the path of a .deb: {done.stdout!r}")
    log(f"built {lines[-1]} in {time.monotonic() - began:.0f}s")
    return lines[-1]


def repack_with_version(deb, version, out_dir):
    """An upgrade package: the same payload with a bumped Version field."""
    tree = os.path.join(out_dir, "repack")
    run(["dpkg-deb", "-R", deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control, encoding="utf-8") as f:
        text = f.read()
    with open(control, "w", encoding="utf-8") as f:
        f.write(re.sub(r"^Version: .*$", f"Version: {version}", text, count=1, flags=re.M))
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    target = os.path.join(out_dir, f"tiercel_{version}_{arch}.deb")
    run(["dpkg-deb", "--root-owner-group", "-b", tree, target])
    log(f"repacked {deb} as {target}")
    return target


def deb_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


def lint(deb):
    log(f"lintian {os.path.basename(deb)}")
    done = run(["lintian", "--tag-display-limit", "0", deb], check_rc=False)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    for line in lines:
        print(f"    {line}")
    errors = [line for line in lines if line.startswith("E:")]
    check(not errors, "lintian reports errors:\n" + "\n".join(errors))
    check(done.returncode == 0, f"lintian exited {done.returncode}")
    log(f"lintian: 0 errors, {sum(1 for l in lines if l.startswith('W:'))} warnings")


def apt_install(deb):
    log(f"apt-get install {os.path.basename(deb)}")
    run(["apt-get", "install", "-y", "--no-install-recommends"] + APT_CONFFILE_OPTS + [os.path.abspath(deb)],
        env=APT_ENV)


def daemon_running():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe") == "/usr/bin/tiercel":
                return True
        except OSError:
            continue
    return False


def command_paths(binary):
    done = run([sys.executable, GEN_DOCS, "--binary", binary, "--list"])
    return [line for line in done.stdout.splitlines() if line.strip()]


def top_level_subcommands(binary):
    text = run([binary, "--help"]).stdout
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
        elif inside and line.startswith("  ") and not line.startswith("   "):
            names.append(line.split()[0])
        elif inside and line.strip() and not line.startswith(" "):
            inside = False
    return names


def check_installed(deb, deb_version, expected_binary_version, binary_under_test, source_has_homeassistant):
    status, version = package_status()
    check(status == "installed" and version == deb_version,
          f"dpkg says tiercel is {status} {version}, expected installed {deb_version}")

    out = run(["/usr/bin/tiercel", "--version"]).stdout.strip()
    check(out == f"tiercel {expected_binary_version}", f"tiercel --version printed {out!r}")
    theirs = run([binary_under_test, "--version"]).stdout.strip()
    check(out == theirs, f"packaged binary says {out!r}, the binary under test {theirs!r}")
    log(f"tiercel --version: {out}")

    conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", "tiercel"]).stdout
    check(CONF in conffiles, f"{CONF} is not a conffile: {conffiles!r}")
    run(["/usr/bin/tiercel", "check-config"])
    log(f"{CONF} is a conffile and passes tiercel check-config")

    check(os.path.isdir(STATE_DIR) and mode_of(STATE_DIR) == 0o700,
          f"{STATE_DIR} should be a 0700 directory, is {oct(mode_of(STATE_DIR)) if os.path.exists(STATE_DIR) else 'missing'}")
    check(os.path.isfile(TOKEN) and mode_of(TOKEN) == 0o600, f"{TOKEN} should be a 0600 file")
    with open(TOKEN, encoding="ascii") as f:
        token = f.read()
    check(re.fullmatch(r"[0-9a-f]{64}\n", token), f"{TOKEN} does not hold 64 hex digits and a newline")
    check(os.stat(TOKEN).st_uid == 0, f"{TOKEN} is not owned by root")
    log(f"{STATE_DIR} is 0700, {TOKEN} is 0600 with a 32-byte hex token")

    check(os.path.isfile(UNIT), f"{UNIT} is missing")
    done = run(["systemd-analyze", "verify", UNIT], check_rc=False)
    complaints = [l for l in (done.stdout + done.stderr).splitlines() if "tiercel" in l]
    check(done.returncode == 0 and not complaints,
          f"systemd-analyze verify {UNIT} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    check(os.path.islink(WANTS_LINK), f"tiercel.service is not enabled ({WANTS_LINK} missing)")
    if os.path.isdir("/run/systemd/system"):
        log("systemd is running here: the unit may have been started")
    else:
        check(not daemon_running(), "tiercel was started although systemd is not running")
    log("unit verified by systemd-analyze, enabled, not started without a running systemd")

    if not os.path.exists(MAN_PAGE):
        listing = run(["dpkg-deb", "-c", deb]).stdout
        check(False, f"{MAN_PAGE} is missing" + (
            " although the .deb has it: a path-exclude in /etc/dpkg/dpkg.cfg.d drops man pages on this machine"
            if "tiercel.1.gz" in listing else ""))
    env = dict(os.environ, LC_ALL="C", LANG="C", MANWIDTH="200", MAN_KEEP_FORMATTING="0")
    by_file = run(["man", "-l", MAN_PAGE], env=env).stdout
    by_name = run(["man", "tiercel"], env=env).stdout
    check(by_file.strip() and by_file == by_name, "`man tiercel` and `man -l` render differently or not at all")
    text = re.sub(r".\x08", "", by_file)
    top = top_level_subcommands("/usr/bin/tiercel")
    check(top, "tiercel --help lists no subcommands")
    paths = command_paths("/usr/bin/tiercel")
    missing = [name for name in top if not re.search(rf"(^|\s){re.escape(name)}(\s|$)", text, re.M)]
    missing += [p for p in paths if p and f"tiercel {p}" not in text]
    check(not missing, f"the man page does not mention: {', '.join(missing)}")
    log(f"man tiercel renders and covers all {len([p for p in paths if p])} commands: {', '.join(p for p in paths if p)}")

    check(os.path.isfile(COMPLETION), f"{COMPLETION} is missing")
    script = (f"source {COMPLETION}; COMP_WORDS=(tiercel ''); COMP_CWORD=1; _tiercel; "
              "printf '%s\\n' \"${COMPREPLY[@]}\"")
    offered = sorted(run(["bash", "-c", script]).stdout.split())
    check(offered == sorted(top), f"bash completion offers {offered}, tiercel --help lists {sorted(top)}")
    log(f"bash completion offers: {' '.join(offered)}")

    for doc in ("/usr/share/doc/tiercel/copyright", "/usr/share/doc/tiercel/changelog.gz"):
        check(os.path.isfile(doc), f"{doc} is missing")
    ha_dir = "/usr/share/doc/tiercel/examples/homeassistant"
    if source_has_homeassistant:
        check(os.path.isdir(ha_dir) and os.listdir(ha_dir),
              f"packaging/homeassistant exists but {ha_dir} is missing or empty")
        log(f"Home Assistant examples installed: {', '.join(sorted(os.listdir(ha_dir)))}")
    return token


def main():
    check(len(sys.argv) == 2, "usage: test_package.py <path-to-built-tiercel-binary>")
    binary = os.path.abspath(sys.argv[1])
    check(os.access(binary, os.X_OK), f"{binary} is not an executable")
    preflight()
    version = cmake_version()
    ha_src = os.path.join(SOURCE_DIR, "packaging", "homeassistant")
    has_ha = os.path.isdir(ha_src) and bool(os.listdir(ha_src))

    work = tempfile.mkdtemp(prefix="tiercel-package-test-")
    created_key = False
    created_marker_dir = False
    try:
        prebuilt = os.environ.get("TIERCEL_DEB")
        if prebuilt:
            check(os.path.isfile(prebuilt), f"TIERCEL_DEB={prebuilt} does not exist")
            deb1 = os.path.abspath(prebuilt)
            log(f"using prebuilt {deb1}")
        else:
            deb1 = build_deb(work)
        version1 = deb_field(deb1, "Version")
        check(deb_field(deb1, "Package") == "tiercel", f"{deb1} is not the tiercel package")
        check(version1.startswith(version), f"{deb1} has version {version1}, CMakeLists.txt says {version}")
        depends = deb_field(deb1, "Depends")
        check(re.search(r"\bfuse3\b", depends), f"Depends lacks fuse3: {depends}")
        lint(deb1)

        # A stand-in for pool disks and archives: user data outside /etc/tiercel and /var/lib/tiercel.
        check(not os.path.exists(POOL_MARKER_DIR), f"{POOL_MARKER_DIR} exists already; move it away")
        os.makedirs(POOL_MARKER_DIR)
        created_marker_dir = True
        marker = os.path.join(POOL_MARKER_DIR, "marker")
        with open(marker, "w", encoding="utf-8") as f:
            f.write("pool data that no package operation may touch\n")

        # ---- install
        apt_install(deb1)
        token = check_installed(deb1, version1, version, binary, has_ha and not prebuilt)

        # ---- upgrade: the edited conffile, the token and other state survive
        edit = f"# edited by test_package.py at {time.time():.0f}\n"
        with open(CONF, "a", encoding="utf-8") as f:
            f.write(edit)
        state_marker = os.path.join(STATE_DIR, "test-state-marker")
        with open(state_marker, "w", encoding="utf-8") as f:
            f.write("state\n")
        # The upgrade package is the first one repacked with a bumped Version: an upgrade exercises the maintainer
        # scripts and conffile handling, which are the same, and a second dpkg-buildpackage would be a whole second
        # compile of the project in CI (about 8 minutes on 2 cores).
        deb2 = repack_with_version(deb1, version1 + UPGRADE_SUFFIX, work)
        version2 = deb_field(deb2, "Version")
        check(version2 == version1 + UPGRADE_SUFFIX, f"upgrade package has version {version2}")
        apt_install(deb2)
        token2 = check_installed(deb2, version2, version, binary, has_ha and not prebuilt)
        with open(CONF, encoding="utf-8") as f:
            check(f.read().endswith(edit), f"the upgrade lost the edit to {CONF}")
        check(token2 == token, "the upgrade changed the API token")
        check(os.path.isfile(state_marker), "the upgrade lost state in /var/lib/tiercel")
        check(not os.path.exists(CONF + ".dpkg-new") and not os.path.exists(CONF + ".dpkg-dist"),
              "the upgrade left a .dpkg-new/.dpkg-dist config next to the edited one")
        log(f"upgrade {version1} -> {version2} kept the config edit, the token and the state")

        # ---- remove: configuration and state stay
        log("apt-get remove tiercel")
        run(["apt-get", "remove", "-y", "tiercel"], env=APT_ENV)
        status, _ = package_status()
        check(status == "config-files", f"after remove dpkg says {status}, expected config-files")
        check(not os.path.exists("/usr/bin/tiercel"), "remove left /usr/bin/tiercel")
        check(os.path.isfile(CONF) and os.path.isfile(TOKEN) and os.path.isfile(state_marker),
              "remove deleted configuration or state")
        log("remove kept /etc/tiercel and /var/lib/tiercel")

        # ---- purge with a pool key in /etc/tiercel: the key stays, everything else goes
        key = os.path.join(CONF_DIR, "pool.key")
        with open(key, "w", encoding="utf-8") as f:
            f.write("correct horse battery staple\n")
        os.chmod(key, 0o600)
        created_key = True
        log("apt-get purge tiercel (with /etc/tiercel/pool.key present)")
        run(["apt-get", "purge", "-y", "tiercel"], env=APT_ENV)
        check(package_status()[0] == "not-installed", "purge left the package known to dpkg")
        check(not os.path.exists(STATE_DIR), f"purge left {STATE_DIR}")
        check(os.path.isfile(key), "purge deleted the pool key file: an encrypted pool would be lost")
        check(sorted(os.listdir(CONF_DIR)) == ["pool.key"],
              f"purge left more than the key in {CONF_DIR}: {os.listdir(CONF_DIR)}")
        check(os.path.isfile(marker), f"purge touched {marker}")
        log("purge removed config and state, kept pool.key and the pool data marker")
        os.remove(key)
        os.rmdir(CONF_DIR)
        created_key = False

        # ---- install again and purge with nothing of the administrator's in /etc/tiercel
        apt_install(deb2)
        check(package_status()[0] == "installed", "reinstall failed")
        log("apt-get purge tiercel")
        run(["apt-get", "purge", "-y", "tiercel"], env=APT_ENV)
        check(package_status()[0] == "not-installed", "purge left the package known to dpkg")
        check(not os.path.exists(CONF_DIR), f"purge left {CONF_DIR}")
        check(not os.path.exists(STATE_DIR), f"purge left {STATE_DIR}")
        check(not os.path.lexists(WANTS_LINK), f"purge left {WANTS_LINK}")
        with open(marker, encoding="utf-8") as f:
            check(f.read().startswith("pool data"), f"purge changed {marker}")
        log(f"purge removed {CONF_DIR} and {STATE_DIR}; {marker} untouched")
        log("PASS")
        return 0
    except Failure as failure:
        log(f"FAIL: {failure}")
        return 1
    finally:
        if package_status()[0] != "not-installed":
            log("cleanup: purging tiercel")
            run(["dpkg", "--purge", "tiercel"], check_rc=False, env=APT_ENV)
        if created_key:
            shutil.rmtree(CONF_DIR, ignore_errors=True)
        if created_marker_dir:
            shutil.rmtree(POOL_MARKER_DIR, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
