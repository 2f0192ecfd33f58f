"""A real softphone, baresip (Debian baresip-core 1.0.0 on libre 1.1.0),
registers against cppbx with the DEFAULT configuration, and unregisters when
it quits.

baresip runs headless: a private config dir with no audio driver and no UI
module, only the account module and one codec, SIP trace (-s) on stdout.
Registration is verified on cppbx's side with a REGISTER query.

libre 1.1.0 aborts with ENOSYS ("Register: Function not implemented") when a
401 carries a challenge for any algorithm other than MD5, even next to an MD5
one. cppbx's default offer is SHA-256 then MD5, so baresip registers only
because cppbx narrows the offer for it:
- by User-Agent (proxy.auth_md5_only_user_agents, default has "baresip<3.11"):
  the first 401 it sees offers MD5 alone;
- with that list emptied, by the adaptive fallback (proxy.auth_md5_fallback):
  baresip fails once, retries with the same Call-ID after libre's failure
  wait (30 to 60 s), is challenged with MD5 alone and registers.
Other clients keep SHA-256 first then MD5.
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


def challenges_seen(text):
    """The algorithms of each 401 in baresip's SIP trace, in order."""
    offers = []
    for block in text.split("SIP/2.0 401 Unauthorized")[1:]:
        head = block.split("\n\n", 1)[0]
        offers.append([a.upper() for a in
                       re.findall(r"WWW-Authenticate:.*algorithm=\"?([A-Za-z0-9-]+)", head)])
    return offers


def register_cycle(server, timeout=15):
    """baresip registers (binding visible to a REGISTER query) and its binding
    goes away when it quits. Returns baresip's output."""
    phone = Baresip(server)
    try:
        bound = h.poll(lambda: baresip_bindings(server), timeout=timeout, interval=0.3)
        check(bound, f"no binding from baresip after {timeout} s; baresip said:\n"
              + phone.output()[-3000:])
        check(any(f":{phone.port}" in c for c in bound), f"binding {bound} is not baresip's port {phone.port}")
        check("200 OK" in phone.output(), "baresip never saw a 200 OK")
    finally:
        phone.quit()
    gone = h.poll(lambda: not baresip_bindings(server), timeout=10, interval=0.3)
    check(gone, "baresip's binding still there after it quit (unregister failed):\n"
          + phone.output()[-3000:])
    return phone.output()


def registers_with_default_offer(server):
    def case():
        text = register_cycle(server)
        check("Function not implemented" not in text, "baresip hit ENOSYS:\n" + text[-3000:])
        offers = challenges_seen(text)
        check(offers and all(offer == ["MD5"] for offer in offers),
              f"401s to baresip should offer MD5 alone, offered {offers}")
        check("narrowed to MD5" in server.log_text() and "user agent matches 'baresip<3.11'"
              in server.log_text(), "cppbx did not log why it narrowed the offer")
    return case


def other_clients_get_sha256_first(server):
    def case():
        client = h.UdpClient(server.port)
        try:
            for agent in ("Linphone/5.1.2 (belle-sip/5.1.0)", "baresip v3.11.0 (x86_64/Linux)"):
                someone = h.SipUser(client, USER, PASSWORD)
                response = someone.send_request("REGISTER", [("User-Agent", agent)])
                check(response is not None and response.status == 401,
                      f"expected 401, got {h.describe(response)}")
                algorithms = [c.get("algorithm", "MD5").upper() for c in h.challenges_of(response)]
                check(algorithms == ["SHA-256", "MD5"], f"{agent} offered {algorithms}")
                # Answer that challenge with SHA-256, as a capable client does.
                auth = h.authorization_header(h.pick_challenge(response, "SHA-256"), USER, PASSWORD,
                                              "REGISTER", f"sip:{someone.domain}")
                answer = someone.send_request("REGISTER", [("User-Agent", agent), ("Authorization", auth)])
                check(answer is not None and answer.status == 200, f"got {h.describe(answer)}")
        finally:
            client.close()
    return case


def md5_only_server_cycle(server):
    def case():
        register_cycle(server)
    return case


def registers_through_adaptive_fallback(server):
    def case():
        text = register_cycle(server, timeout=100)
        offers = challenges_seen(text)
        check(offers and offers[0] == ["SHA-256", "MD5"],
              f"first 401 should be the full offer (no User-Agent list), got {offers}")
        check("Function not implemented" in text, "baresip 1.0 was expected to fail the full offer first")
        check(["MD5"] in offers[1:], f"no MD5-only 401 after the failure: {offers}")
        check("client did not answer the previous challenge" in server.log_text(),
              "cppbx did not log the adaptive narrowing")
    return case


def main():
    binary = h.binary_from_argv()
    if shutil.which("baresip") is None:
        print("FAIL baresip is not installed (Debian package baresip-core)")
        raise SystemExit(1)
    backends = h.memory_backend_toml([(USER, PASSWORD)])
    failed = h.run_suite_no_exit(
        lambda: h.CppbxServer(binary, backends),
        lambda server: [
            ("default config: baresip registers (MD5 alone) and unregisters on quit",
             registers_with_default_offer(server)),
            ("default config: other clients get SHA-256 then MD5", other_clients_get_sha256_first(server)),
            ("SIGTERM exits 0", server.stop)])
    failed |= h.run_suite_no_exit(
        lambda: h.CppbxServer(binary, backends, proxy={"auth_md5_only_user_agents": h.toml_list([])}),
        lambda server: [
            ("no User-Agent list: baresip registers after one failure (adaptive fallback)",
             registers_through_adaptive_fallback(server)),
            ("SIGTERM exits 0", server.stop)])
    failed |= h.run_suite_no_exit(
        lambda: h.CppbxServer(binary, backends, proxy={"auth_algorithms": h.toml_list(["MD5"])}),
        lambda server: [("MD5-only server: baresip registers and unregisters",
                         md5_only_server_cycle(server)),
                        ("server still answers OPTIONS", lambda: check(server.options_ping(), "no OPTIONS 200")),
                        ("SIGTERM exits 0", server.stop)])
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
