"""The command line and start-up: --version, --help, --check-config on good
and bad files (every problem printed with file:line:col and key), a bad file
refusing to start, a RustPBX example file loading, and the embedded default
(no --conf) answering on UDP 5060 with a first user that can register.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

import harness as h
from harness import check

SHARED = os.environ.get("CPPBX_SHARED_DIR", os.path.join(h.HERE, "..", "..", "..", "shared"))


def run(binary, *args, cwd=None, timeout=20):
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def version_and_help(binary):
    def case():
        out = run(binary, "--version")
        check(out.returncode == 0 and re.match(r"cppbx \d+\.\d+\.\d+", out.stdout),
              f"--version printed {out.stdout!r} rc={out.returncode}")
        out = run(binary, "--help")
        check(out.returncode == 0, f"--help rc={out.returncode}")
        for flag in ("--conf", "--check-config", "--version"):
            check(flag in out.stdout, f"--help does not mention {flag}:\n{out.stdout}")
    return case


def check_config_good(binary, workdir):
    def case():
        path = os.path.join(workdir, "good.toml")
        with open(path, "w") as handle:
            handle.write('[proxy]\nudp_port = 5090\n\n[[proxy.user_backends]]\ntype = "memory"\n'
                         'users = [{ username = "1001", password = "pw" }]\n')
        out = run(binary, "--conf", path, "--check-config")
        check(out.returncode == 0, f"good file refused: {out.stdout}{out.stderr}")
        check("configuration OK" in out.stdout, f"no OK line: {out.stdout}")
    return case


BAD = """log_level = "loud"
[proxy]
udp_port = "abc"
registrar_expires = -5
unknown_thing = 1

[[proxy.user_backends]]
type = "plain"
path = "does-not-exist.txt"
"""


def check_config_bad(binary, workdir):
    def case():
        path = os.path.join(workdir, "bad.toml")
        with open(path, "w") as handle:
            handle.write(BAD)
        out = run(binary, "--conf", path, "--check-config")
        check(out.returncode != 0, "a bad file passed --check-config")
        text = out.stderr
        expected = [(1, "log_level"), (3, "proxy.udp_port"), (4, "proxy.registrar_expires")]
        for line, key in expected:
            pattern = rf"{re.escape(path)}:{line}:\d+: error: {re.escape(key)}:"
            check(re.search(pattern, text), f"no error for {key} at line {line}:\n{text}")
        check(re.search(rf"{re.escape(path)}:5:\d+: warning: proxy.unknown_thing", text),
              f"no unknown-key warning:\n{text}")
    return case


def bad_file_refuses_to_start(binary, workdir):
    def case():
        path = os.path.join(workdir, "bad-start.toml")
        with open(path, "w") as handle:
            handle.write('[proxy]\nudp_port = 70000\n')
        out = run(binary, "--conf", path)
        check(out.returncode != 0, "cppbx started on udp_port = 70000")
        check(re.search(rf"{re.escape(path)}:2:\d+: error: proxy.udp_port", out.stderr),
              f"no positioned error:\n{out.stderr}")
    return case


def rustpbx_example_loads(binary, workdir):
    def case():
        example = os.path.join(SHARED, "reference", "rustpbx-config.toml.example")
        check(os.path.exists(example), f"missing fixture {example}")
        path = os.path.join(workdir, "rustpbx.toml")
        shutil.copy(example, path)
        out = run(binary, "--conf", path, "--check-config")
        check(out.returncode == 0, f"RustPBX example refused:\n{out.stderr}")
        check("not yet supported" in out.stderr, f"no not-yet-supported warnings:\n{out.stderr}")
    return case


def port_5060_free():
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        sock = socket.socket(socket.AF_INET, kind)
        try:
            sock.bind(("0.0.0.0", 5060))
        except OSError:
            return False
        finally:
            sock.close()
    return True


def embedded_default(binary, workdir):
    def case():
        check(port_5060_free(), "port 5060 is busy: the embedded default needs it")
        folder = os.path.join(workdir, "default")
        os.makedirs(folder)
        log = open(os.path.join(folder, "out.log"), "wb")
        process = subprocess.Popen([binary], stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        try:
            def text():
                return read_log(os.path.join(folder, "out.log"))
            found = h.poll(lambda: re.search(r"first user: username (\S+) password (\S+)", text()),
                           timeout=15, interval=0.2)
            check(found, f"no first user printed:\n{text()}")
            user, password = found.group(1), found.group(2)
            check(os.path.exists(os.path.join(folder, "cppbx.sqlite3")),
                  "no SQLite database in the working folder")
            client = h.UdpClient(5060)
            try:
                sip_user = h.SipUser(client, user, password, server_port=5060)
                response = sip_user.register(contacts=[sip_user.contact()], expires=60)
                check(response is not None and response.status == 200,
                      f"first user could not register: {h.describe(response)}")
            finally:
                client.close()
            admin = h.poll(lambda: re.search(r"administrator admin password (\S+)", text()),
                           timeout=10, interval=0.2)
            check(admin, f"no console administrator printed:\n{text()}")
            check(console_login(8080, "admin", admin.group(1)) == 200,
                  "the printed administrator cannot log in to the console")
            check(console_login(8080, "admin", admin.group(1) + "x") == 401,
                  "a wrong console password was not refused")
            process.send_signal(signal.SIGTERM)
            check(process.wait(timeout=10) == 0, "embedded default did not exit 0 on SIGTERM")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
        # Started again in the same folder: the administrator exists, so no
        # new one is made and no password is printed.
        with open(os.path.join(folder, "again.log"), "wb") as again_log:
            again = subprocess.Popen([binary], stdout=again_log, stderr=subprocess.STDOUT, cwd=folder)
            try:
                def again_text():
                    return read_log(os.path.join(folder, "again.log"))
                check(h.poll(lambda: "first user:" in again_text(), timeout=15, interval=0.2),
                      f"second start printed no first user:\n{again_text()}")
                check("administrator admin password" not in again_text(),
                      f"second start printed an administrator again:\n{again_text()}")
                again.send_signal(signal.SIGTERM)
                check(again.wait(timeout=10) == 0, "second start did not exit 0 on SIGTERM")
            finally:
                if again.poll() is None:
                    again.kill()
                    again.wait()
    return case


def read_log(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def console_login(port, username, password):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/login",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    binary = h.binary_from_argv()
    workdir = tempfile.mkdtemp(prefix="cppbx-cli-")
    failed = False
    try:
        for name, case in [("--version and --help", version_and_help(binary)),
                           ("--check-config accepts a good file", check_config_good(binary, workdir)),
                           ("--check-config lists every problem with file:line:col and key",
                            check_config_bad(binary, workdir)),
                           ("a bad file refuses to start", bad_file_refuses_to_start(binary, workdir)),
                           ("RustPBX's example config loads with warnings only",
                            rustpbx_example_loads(binary, workdir)),
                           ("embedded default: UDP 5060, SQLite file, first user registers, first admin logs in once",
                            embedded_default(binary, workdir))]:
            try:
                case()
                print(f"PASS {name}", flush=True)
            except (h.CheckFailed, subprocess.TimeoutExpired) as error:
                failed = True
                print(f"FAIL {name}: {error}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
