"""A second real softphone, linphonec (Debian linphone-cli 5.1, liblinphone on
belle-sip), registers against cppbx with the DEFAULT configuration and
unregisters on command.

belle-sip understands SHA-256 and takes the first challenge it supports, so
unlike baresip 1.0 it must keep getting the full offer and answer SHA-256:
this is the check that narrowing the offer for old softphones does not take
SHA-256 away from current ones.

linphonec runs headless: HOME and its config file in a private folder (no
sound card is needed to register; it logs that it found none), commands on
its standard input. Its config file's [sip] sip_port is not applied by
linphonec 5.1 (the port stays 0 and the REGISTER finds no listening point),
so the port is set with the `ports sip N` command before `register`. With
-d 6 it logs every SIP message, which is how the test sees the algorithm it
answered with.
"""

import os
import re
import shutil
import subprocess

import harness as h
from harness import check

USER, PASSWORD = "1002", "linphone-pass-1"


class Linphonec:
    def __init__(self, server):
        self.server = server
        self.dir = server.path("linphone")
        os.makedirs(self.dir, exist_ok=True)
        self.port = h.free_port()
        config = os.path.join(self.dir, "linphonerc")
        with open(config, "w") as handle:
            handle.write("[sip]\nregister_only_when_network_is_up=0\n")
        self.log_path = os.path.join(self.dir, "linphonec.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["linphonec", "-c", config, "-d", "6"],
                                        stdin=subprocess.PIPE, stdout=self.log,
                                        stderr=subprocess.STDOUT,
                                        env=dict(os.environ, HOME=self.dir))

    def command(self, text):
        self.process.stdin.write((text + "\n").encode())
        self.process.stdin.flush()

    def output(self):
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    def quit(self, timeout=10):
        if self.process.poll() is None:
            try:
                self.command("quit")
                self.process.wait(timeout=timeout)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log.close()


def bindings(server):
    client = h.UdpClient(server.port)
    try:
        contacts = h.SipUser(client, USER, PASSWORD).query()
    finally:
        client.close()
    return [c for c in contacts if f"sip:{USER}@{h.LOOPBACK}:" in c]


def registers_with_sha256(server):
    def case():
        phone = Linphonec(server)
        try:
            phone.command(f"ports sip {phone.port}")
            ready = h.poll(lambda: f"sip port = {phone.port}" in phone.output() or
                           f"Setting sip port to {phone.port}" in phone.output(), timeout=10)
            check(ready, "linphonec did not take the SIP port:\n" + phone.output()[-3000:])
            phone.command(f"register sip:{USER}@{h.LOOPBACK} sip:{h.LOOPBACK}:{server.port} {PASSWORD}")
            bound = h.poll(lambda: bindings(server), timeout=15, interval=0.3)
            check(bound, "no binding from linphonec after 15 s; it said:\n" + phone.output()[-4000:])
            check(any(f":{phone.port}" in c for c in bound), f"binding {bound} is not linphonec's port {phone.port}")
            text = phone.output()
            offers = re.findall(r"WWW-Authenticate: Digest[^\n]*algorithm=([A-Za-z0-9-]+)", text)
            check(offers[:2] == ["SHA-256", "MD5"], f"linphonec was offered {offers}, wanted SHA-256 then MD5")
            answers = re.findall(r"Authorization: +Digest[^\n]*algorithm=([A-Za-z0-9-]+)", text)
            check(answers and answers[0].upper() == "SHA-256", f"linphonec answered with {answers}")
            check("LinphoneRegistrationOk" in text, "linphonec did not report registration")
            phone.command("unregister")
            gone = h.poll(lambda: not bindings(server), timeout=10, interval=0.3)
            check(gone, "linphonec's binding still there after unregister:\n" + phone.output()[-3000:])
        finally:
            phone.quit()
        check("narrowed to MD5" not in server.log_text(), "cppbx narrowed the offer for linphonec")
    return case


def main():
    binary = h.binary_from_argv()
    if shutil.which("linphonec") is None:
        print("FAIL linphonec is not installed (Debian package linphone-cli)")
        raise SystemExit(1)
    backends = h.memory_backend_toml([(USER, PASSWORD)])
    h.run_suite(lambda: h.CppbxServer(binary, backends),
                lambda server: [("default config: linphonec registers with SHA-256 and unregisters",
                                 registers_with_sha256(server)),
                                ("SIGTERM exits 0", server.stop)])


if __name__ == "__main__":
    main()
