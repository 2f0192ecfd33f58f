"""A real softphone, baresip (Debian baresip-core 1.0.0 on libre 1.1.0),
registers against cppbx with its default configuration, and unregisters
when it quits.

baresip runs headless: a private config dir with no audio driver and no UI
module, only the account module and one codec, SIP trace (-s) to a log file.
Registration is verified on cppbx's side with a REGISTER query.

libre 1.1.0 aborts with ENOSYS ("Register: Function not implemented") when a
401 carries a challenge for any algorithm other than MD5, in any position,
instead of answering the one it supports (RFC 8760 section 2.4). cppbx
therefore narrows its offer to MD5 for the user agents in
proxy.auth_md5_only_user_agents (default includes "baresip<3.11"). The first
server checks that default path end to end; the second empties the list and
checks the offer is then SHA-256 then MD5 and that this baresip indeed cannot
register, which is why the list exists.
"""

import os
import re
import shutil
import signal
import subprocess

import harness as h
from harness import check

USER, PASSWORD = "1001", "baresip-pass-1"


class Baresip:
    def __init__(self, server):
        self.server = server
        self.dir = server.path("baresip")
        os.makedirs(self.dir, exist_ok=True)
        self.port = h.free_port()
        with open(os.path.join(self.dir, "config"), "w") as handle:
            handle.write("poll_method\tepoll\n"
                         f"sip_listen\t{h.LOOPBACK}:{self.port}\n"
                         "module_path\t/usr/lib/baresip/modules\n"
                         "module\t\tg711.so\n"
                         "module_app\taccount.so\n")
        with open(os.path.join(self.dir, "accounts"), "w") as handle:
            handle.write(f"<sip:{USER}@{h.LOOPBACK}:{server.port};transport=udp>"
                         f";auth_pass={PASSWORD};regint=60\n")
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["baresip", "-f", self.dir, "-s"],
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    def output(self):
        with open(self.log_path, "rb") as handle:
            return re.sub(r"\x1b\[[0-9;]*m", "", handle.read().decode("utf-8", "replace"))

    def quit(self, timeout=10):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def baresip_bindings(server):
    client = h.UdpClient(server.port)
    try:
        contacts = h.SipUser(client, USER, PASSWORD).query()
    finally:
        client.close()
    return [c for c in contacts if f"{h.LOOPBACK}:" in c and c.find(f"sip:{USER}-") >= 0]


def register_cycle(server):
    def case():
        phone = Baresip(server)
        try:
            bound = h.poll(lambda: baresip_bindings(server), timeout=15, interval=0.3)
            check(bound, "no binding from baresip after 15 s; baresip said:\n" + phone.output()[-3000:])
            check(any(f":{phone.port}" in c for c in bound), f"binding {bound} is not baresip's port {phone.port}")
            check("200 OK" in phone.output(), "baresip never saw a 200 OK")
        finally:
            phone.quit()
        gone = h.poll(lambda: not baresip_bindings(server), timeout=10, interval=0.3)
        check(gone, "baresip's binding still there after it quit (unregister failed):\n"
              + phone.output()[-3000:])
    return case


def offered_algorithms(text):
    """Algorithms of the first 401 in baresip's SIP trace, in order."""
    challenge = text[text.index("401 Unauthorized"):].split("\n\n", 1)[0]
    return [a.upper() for a in
            re.findall(r"WWW-Authenticate:.*algorithm=\"?([A-Za-z0-9-]+)", challenge)]


def offer_narrowed_to_md5(server):
    def case():
        register_cycle(server)()
        # The phone's own trace shows what it was offered.
        with open(os.path.join(server.path("baresip"), "baresip.log"), "rb") as handle:
            text = re.sub(r"\x1b\[[0-9;]*m", "", handle.read().decode("utf-8", "replace"))
        check(offered_algorithms(text) == ["MD5"],
              f"401 to baresip offers {offered_algorithms(text)}, wanted MD5 only")
    return case


def full_offer_defeats_libre(server):
    def case():
        phone = Baresip(server)
        try:
            seen = h.poll(lambda: "401 Unauthorized" in phone.output() and
                          ("Register:" in phone.output() or "200 OK" in phone.output()),
                          timeout=15, interval=0.3)
            text = phone.output()
        finally:
            phone.quit()
        check(seen, "baresip got no 401 or no outcome:\n" + text[-3000:])
        check(offered_algorithms(text) == ["SHA-256", "MD5"],
              f"401 to baresip offers {offered_algorithms(text)}, wanted SHA-256 then MD5")
        check("Function not implemented" in text and not baresip_bindings(server),
              "baresip registered despite a SHA-256 challenge: libre is fixed, "
              "auth_md5_only_user_agents may no longer need 'baresip<3.11'\n" + text[-3000:])
    return case


def main():
    binary = h.binary_from_argv()
    if shutil.which("baresip") is None:
        print("FAIL baresip is not installed (Debian package baresip-core)")
        raise SystemExit(1)
    backends = h.memory_backend_toml([(USER, PASSWORD)])
    failed = h.run_suite_no_exit(
        lambda: h.CppbxServer(binary, backends),
        lambda server: [("default config: baresip offered MD5 only, registers, unregisters",
                         offer_narrowed_to_md5(server)),
                        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no OPTIONS 200")),
                        ("SIGTERM exits 0", server.stop)])
    failed |= h.run_suite_no_exit(
        lambda: h.CppbxServer(binary, backends, proxy={"auth_md5_only_user_agents": "[]"}),
        lambda server: [("no UA narrowing: SHA-256 + MD5 offer, libre 1.1.0 gives up",
                         full_offer_defeats_libre(server)),
                        ("SIGTERM exits 0", server.stop)])
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
