"""REGISTER-with-digest benchmark: cppbx against Kamailio 5.6, same run.

Design decisions:
- Both servers run side by side on loopback with the same users (N distinct
  users with plaintext passwords, in memory), the same digest (MD5, qop=auth:
  SIPp 3.6 computes nothing else), 2 UDP workers each, warnings-only logs.
  They are measured one after the other inside one run, and the rate steps
  alternate between them, so background load hits both alike.
- Phase 1, fixed rate: every user registers once (then again, --fixed-calls
  in total). CPU = utime+stime from /proc/<pid>/stat summed over the server's
  process tree (Kamailio forks workers, cppbx is one process with threads),
  read before and after, divided by successful registrations.
- CPU rounds: after the quiet memory readings, --cpu-rounds - 1 more runs of
  phase 1's load, cppbx and Kamailio alternating (phase 1 is round 1). CPU
  and faults per registration are medians over the rounds, the ratio the
  median of the per-round ratios: one pair of readings varies too much on a
  shared machine.
- Peak memory after phase 1 (all users registered): VmHWM summed over the
  tree, as asked. Then, once finished transactions are gone (cppbx keeps
  answered non-INVITE transactions for Timer J, 32 s; Kamailio here is
  stateless), RSS and Pss summed: Pss because Kamailio's workers share one
  shared-memory segment that RSS/VmHWM count once per process.
- Phase 2, the knee: SIPp steps its rate up; the knee is the highest rate
  with < 1 % failed calls that SIPp actually achieved (>= 90 % of target).
  The summary also gives the highest rate achieved with < 1 % failed, which
  the coarse rate steps would otherwise hide. One SIPp process tops out near
  8,500 registrations/s on a core of this machine with the server idle a
  third of the time, so phases 2 and 3 split the rate and the users between
  --sipp-processes SIPp processes (2 by default). On a 2-core machine SIPp
  still shares the CPU with the server (it spends about twice a server's
  CPU per registration), so the knee is that of server + load generator;
  both servers get the same handicap.
- Phase 3, CPU under load: --load-rounds runs at a rate near the knee
  (--load-rate, by default 75 % of the lower of the two knees), servers
  alternating. At 1000/s every datagram finds a server that slept since
  the last one, its code and data gone from the caches; near the knee they
  stay warm and the kernel wakes the server less often. The figures issue 2
  quotes for Kamailio (65-75 us) are of that kind; both are reported.
- Each round also prints its kernel share (stime), which Linux estimates by
  sampling at clock ticks: indicative for cppbx's one busy thread, too
  erratic for Kamailio's processes to enter the summary.
- Reuses the integration harness (free ports, SIPp runner, OPTIONS probe).
"""

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import harness as h  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KAMAILIO = "/usr/sbin/kamailio"
# Kamailio's memory manager (-x). TLSF, not the default "qm": Debian's
# package is built with DBG_SR_MEMORY (see `kamailio -v`), and with qm it
# spent 20-40 % more CPU per registration (qm_malloc alone was 29 % of its
# perf samples), which is not the Kamailio a careful operator runs.
# --kamailio-memory qm measures the default.
KAMAILIO_MEMORY_MANAGER = "tlsf"


def set_kamailio_memory_manager(name):
    global KAMAILIO_MEMORY_MANAGER
    KAMAILIO_MEMORY_MANAGER = name


# --------------------------------------------------------------------------
# /proc readings

def process_tree(root):
    """root and all its descendants (pids), from /proc/*/stat ppid fields."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def stat_sum(pids, indexes):
    """Sum of the given /proc/<pid>/stat fields (counted after the command
    name) over `pids`."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += sum(int(fields[i]) for i in indexes)
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    return stat_sum(pids, (11, 12)) / CLOCK_TICKS  # utime, stime


def kernel_cpu_seconds(pids):
    return stat_sum(pids, (12,)) / CLOCK_TICKS  # stime


def minor_faults(pids):
    """Minor page faults (first touches of fresh pages), summed."""
    return stat_sum(pids, (7,))  # minflt


def status_kib(pids, key):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


# --------------------------------------------------------------------------
# Servers

def make_users(count):
    return [(str(100000 + n), "pw" + secrets.token_hex(6)) for n in range(count)]


class Kamailio:
    """Kamailio in the foreground (-DD) with a generated config."""

    name = "kamailio"

    def __init__(self, users, config_template=None):
        self.users = users
        self.config_template = config_template or os.path.join(HERE, "kamailio.cfg.in")
        self.dir = None
        self.process = None
        self.port = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="kamailio-bench-")
        try:
            self.start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def start(self):
        self.port = h.free_port()
        dbtext = os.path.join(self.dir, "dbtext")
        os.makedirs(dbtext)
        with open(os.path.join(dbtext, "version"), "w") as handle:
            handle.write("table_name(str) table_version(int)\nusers:2\n")
        with open(os.path.join(dbtext, "users"), "w") as handle:
            # htable's table: key_type 0 = plain key, value_type 0 = string.
            handle.write("id(int,auto) key_name(str) key_type(int) value_type(int) "
                         "key_value(str) expires(int)\n")
            for row, (username, password) in enumerate(self.users, 1):
                handle.write(f"{row}:{username}:0:0:{password}:0\n")
        with open(self.config_template) as handle:
            config = handle.read()
        config = (config.replace("@PORT@", str(self.port))
                  .replace("@DBTEXT_DIR@", dbtext)
                  .replace("@SECRET@", secrets.token_hex(16)))
        config_path = os.path.join(self.dir, "kamailio.cfg")
        with open(config_path, "w") as handle:
            handle.write(config)
        self.log = open(os.path.join(self.dir, "kamailio.log"), "wb")
        self.process = subprocess.Popen(
            [KAMAILIO, "-f", config_path, "-DD", "-E", "-m", "256", "-M", "16",
             "-x", KAMAILIO_MEMORY_MANAGER,
             "-P", os.path.join(self.dir, "kamailio.pid"), "-Y", self.dir],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        wait_answering(self, timeout=30)

    def log_text(self):
        with open(os.path.join(self.dir, "kamailio.log"), errors="replace") as handle:
            return handle.read()

    def alive(self):
        return self.process.poll() is None

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                for pid in reversed(process_tree(self.process.pid)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


class Cppbx(h.CppbxServer):
    name = "cppbx"

    def __init__(self, binary, users, io_threads):
        # max_concurrency keeps its default: since fdaa127 it counts only
        # requests awaiting a final answer (before, transactions waiting out
        # Timer J counted too and capped a steady load near 78 REGISTER/s).
        super().__init__(binary, h.memory_backend_toml(users), log_level="warn",
                         proxy={"auth_algorithms": h.toml_list(["MD5"]),
                                "io_threads": str(io_threads),
                                "registrar_expires": "60",
                                "registrar_min_expires": "60",
                                "registrar_max_expires": "7200"})


class Floor:
    """floor_responder (floor_responder.cpp): answers the load without doing
    any registrar work, so its CPU per registration is what the kernel and a
    receive loop cost for the four datagrams on this machine."""

    name = "floor"

    def __init__(self, binary, threads):
        self.binary = binary
        self.threads = threads
        self.process = None
        self.port = None

    def __enter__(self):
        self.port = h.free_port()
        self.process = subprocess.Popen([self.binary, "--port", str(self.port),
                                         "--threads", str(self.threads)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_answering(self, timeout=10)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def log_text(self):
        return ""

    def alive(self):
        return self.process.poll() is None

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        return False


def floor_binary(requested, cppbx_binary):
    """--floor-responder, else bench/floor_responder in cppbx's build
    directory when it was built there, else None (no floor figures)."""
    if requested:
        return requested
    candidate = os.path.join(os.path.dirname(os.path.abspath(cppbx_binary)), "bench", "floor_responder")
    return candidate if os.access(candidate, os.X_OK) else None


def wait_answering(server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited during start-up:\n{server.log_text()[-3000:]}")
        if ping(server.port, 0.3):
            return
    raise RuntimeError(f"{server.name} did not answer OPTIONS within {timeout}s")


def ping(port, timeout):
    client = h.UdpClient(port)
    try:
        call_id = secrets.token_hex(8)
        client.send(h.build_request(
            "OPTIONS", f"sip:{h.LOOPBACK}:{port}", via_host=h.LOOPBACK, via_port=client.port,
            from_uri=f"sip:probe@{h.LOOPBACK}", to_uri=f"sip:{h.LOOPBACK}:{port}",
            call_id=call_id, cseq=1))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = client.recv(max(deadline - time.monotonic(), 0.01))
            if response and response.get("call-id") == call_id:
                return response.status == 200
        return False
    finally:
        client.close()


def settle(server):
    """Waits until the server answers promptly again (backlog drained)."""
    h.poll(lambda: ping(server.port, 0.5), timeout=30, interval=0.5)
    time.sleep(1.0)


# --------------------------------------------------------------------------
# Phases

REGISTER_XML = os.path.join(HERE, "register.xml")


def sipp_run(server, csv, workdir, calls, rate, seconds_hint):
    """One SIPp run, or with a list of CSV files one SIPp per file, all at
    once, sharing `calls` and `rate`. The achieved rate uses wall-clock time
    (SIPp's own elapsed counter has 1 s resolution), response time SIPp's ms
    average (weighted by each process's successful calls)."""
    lanes = [csv] if isinstance(csv, str) else list(csv)
    shares = [(calls // len(lanes) + (i < calls % len(lanes)),
               rate // len(lanes) + (i < rate % len(lanes))) for i in range(len(lanes))]

    def one(lane, share):
        lane_calls, lane_rate = share
        return h.run_sipp(server.port, REGISTER_XML, lane, lane_calls, workdir,
                          rate=lane_rate, timeout=int(seconds_hint * 3) + 30, recv_timeout_ms=5000,
                          extra=["-l", str(max(lane_rate * 4, 100))])

    started = time.monotonic()
    with ThreadPoolExecutor(len(lanes)) as pool:
        results = list(pool.map(one, lanes, shares))
    elapsed = time.monotonic() - started
    successful = sum(max(r.successful, 0) for r in results)
    failed = sum(max(r.failed, 0) for r in results)
    if any(r.successful < 0 for r in results):
        successful = -1  # a SIPp left no statistics: the step counts as failed
    weighted = sum(h.sipp_duration_seconds(r.stats.get("ResponseTime1(C)", "")) * max(r.successful, 0)
                   for r in results)
    return {
        "successful": successful,
        "failed": failed,
        "achieved": successful / elapsed if elapsed > 0 and successful > 0 else 0.0,
        "response_ms": 1000.0 * weighted / successful if successful > 0 else 0.0,
        "result": results[0],
    }


def fixed_rate_phase(server, csv, workdir, calls, rate):
    pids = process_tree(server.process.pid)
    start_rss, start_pss = status_kib(pids, "VmRSS"), pss_kib(pids)
    before, faults_before = cpu_seconds(pids), minor_faults(pids)
    kernel_before = kernel_cpu_seconds(pids)
    run = sipp_run(server, csv, workdir, calls, rate, calls / rate)
    pids = process_tree(server.process.pid)
    after, faults_after = cpu_seconds(pids), minor_faults(pids)
    kernel_after = kernel_cpu_seconds(pids)
    if run["successful"] <= 0:
        raise RuntimeError(f"{server.name}: no successful registration\n{run['result'].describe()}")
    return {
        "calls": calls, "rate": rate,
        "successful": run["successful"], "failed": run["failed"],
        "cpu_us_per_reg": (after - before) * 1e6 / run["successful"],
        "cpu_seconds": after - before,
        "kernel_us_per_reg": (kernel_after - kernel_before) * 1e6 / run["successful"],
        "faults_per_reg": (faults_after - faults_before) / run["successful"],
        "response_ms": run["response_ms"],
        "start_rss_kib": start_rss,
        "start_pss_kib": start_pss,
        "vm_hwm_kib": status_kib(pids, "VmHWM"),
        "processes": len(pids),
        "ended": time.monotonic(),
    }


def quiet_memory(server, phase, quiet_seconds):
    """RSS and Pss once finished transactions are gone (Timer J is 32 s),
    all users still registered."""
    remaining = phase["ended"] + quiet_seconds - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    pids = process_tree(server.process.pid)
    phase["vm_rss_kib"] = status_kib(pids, "VmRSS")
    phase["pss_kib"] = pss_kib(pids)


ROUND_KEYS = ("successful", "failed", "cpu_us_per_reg", "cpu_seconds", "kernel_us_per_reg",
              "faults_per_reg",
              "response_ms")


def cpu_rounds(servers, fixed, csv, workdir, args):
    """Phase 1 (`fixed`) as round 1, then `args.cpu_rounds - 1` more rounds of
    the same load, the servers alternating (the floor, when it runs, from
    round 2 on). Returns one {name: phase} per round."""
    rounds = [fixed]
    for number in range(2, args.cpu_rounds + 1):
        rounds.append(one_round(servers, csv, workdir, args.fixed_calls, args.fixed_rate,
                                f"CPU round {number}/{args.cpu_rounds}"))
    return rounds


def one_round(servers, csv, workdir, calls, rate, label):
    """The same load on each server in turn: {name: the phase's ROUND_KEYS}."""
    figures = {}
    for server in servers:
        settle(server)
        print(f"{label}: {server.name} {calls} registrations at {rate}/s", flush=True)
        phase = fixed_rate_phase(server, csv, workdir, calls, rate)
        figures[server.name] = {key: phase[key] for key in ROUND_KEYS}
        print(f"  {figures[server.name]}", flush=True)
    return figures


def load_rate(knees, requested):
    """--load-rate, else 75 % of the lower knee in steps of 500/s (None when
    a server has no knee)."""
    if requested:
        return requested
    lower = min(knees.values())
    return max(500, int(lower * 0.75) // 500 * 500) if lower > 0 else None


def load_rounds(servers, csv, workdir, rate, args):
    calls = rate * args.load_seconds
    return [one_round(servers, csv, workdir, calls, rate, f"load round {number}/{args.load_rounds}")
            for number in range(1, args.load_rounds + 1)]


def user_lanes(users, count, workdir):
    """`count` CSV files, each with every `count`-th user: one per SIPp
    process, so that no two processes register the same user."""
    lanes = []
    for index in range(count):
        path = os.path.join(workdir, f"users-lane{index}.csv")
        h.write_users_csv(path, [[name, h.auth_field(name, password)]
                                 for name, password in users[index::count]])
        lanes.append(path)
    return lanes


def peak_rates(steps):
    """Per server, the highest rate SIPp achieved in a step with < 1 % failed
    (the 90 % rule aside): the throughput where the knee rule's coarse rate
    steps would hide a difference."""
    return {name: max([run["achieved"] for run in runs if run["successful"] > 0
                       and run["failed_pct"] < 1.0] or [0.0])
            for name, runs in steps.items()}


def knee_phase(servers, csv, workdir, rates, step_seconds, run_step=None, max_response_ms=None):
    """Rate steps alternating between the servers. `run_step(server, rate)`
    runs one step and returns sipp_run's dict (default: `rate * step_seconds`
    registrations); with `max_response_ms` a step whose average response time
    exceeds it is over the knee too."""
    if run_step is None:
        def run_step(server, rate):
            return sipp_run(server, csv, workdir, rate * step_seconds, rate, step_seconds)
    steps = {server.name: [] for server in servers}
    beyond = {server.name: 0 for server in servers}
    for rate in rates:
        for server in servers:
            if beyond[server.name] >= 2:
                continue  # two failed steps in a row: past the knee
            settle(server)
            run = run_step(server, rate)
            attempted = max(run["successful"] + run["failed"], 1)
            run["failed_pct"] = 100.0 * max(run["failed"], 0) / attempted
            run["ok"] = (run["failed_pct"] < 1.0 and run["successful"] > 0
                         and run["achieved"] >= 0.9 * rate
                         and (max_response_ms is None or run["response_ms"] <= max_response_ms))
            beyond[server.name] = 0 if run["ok"] else beyond[server.name] + 1
            run["rate"] = rate
            steps[server.name].append(run)
            print(f"  {server.name:9s} rate {rate:6d}/s: ok {run['successful']:7d} failed "
                  f"{run['failed']:6d} ({run['failed_pct']:5.2f} %) achieved "
                  f"{run['achieved']:8.1f}/s  avg {run['response_ms']:7.2f} ms"
                  f"  {'ok' if run['ok'] else 'OVER'}", flush=True)
        if all(count >= 2 for count in beyond.values()):
            break
    knees = {}
    for name, runs in steps.items():
        good = [run["rate"] for run in runs if run["ok"]]
        knees[name] = max(good) if good else 0
    return steps, knees


# --------------------------------------------------------------------------
# Report

def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def round_ratios(rounds, key):
    """cppbx / kamailio for each round (None where Kamailio's figure is 0)."""
    return [r["cppbx"][key] / r["kamailio"][key] if r["kamailio"][key] else None
            for r in rounds]


def medians(rounds, name):
    return {key: statistics.median(r[name][key] for r in rounds if name in r)
            for key in ("cpu_us_per_reg", "faults_per_reg")}


def floor_line(rounds, title):
    """The floor's median CPU per registration beside Kamailio's, or []
    when the floor did not run."""
    if not any("floor" in r for r in rounds):
        return []
    floor = medians(rounds, "floor")["cpu_us_per_reg"]
    kamailio = medians(rounds, "kamailio")["cpu_us_per_reg"]
    return [f"{'  ' + title:36s}{floor:>11.1f} us{'':14s}{ratio(floor, kamailio):>16s}"]


def median_ratio(rounds, key):
    ratios = round_ratios(rounds, key)
    return "n/a" if None in ratios else f"{statistics.median(ratios):.2f}"


def cpu_lines(rounds, title):
    """Median CPU per registration and each round's ratio. (The kernel's
    share is printed per round only: Linux splits a process's CPU time into
    utime and stime by sampling at clock ticks, and for Kamailio's six
    processes that split swung from 0.5 to 142 us per registration between
    two rounds of one run.)"""
    cm, km = medians(rounds, "cppbx"), medians(rounds, "kamailio")
    each = " ".join("n/a" if q is None else f"{q:.2f}" for q in round_ratios(rounds, "cpu_us_per_reg"))
    return [
        f"{title:36s}{cm['cpu_us_per_reg']:>11.1f} us{km['cpu_us_per_reg']:>11.1f} us"
        f"{median_ratio(rounds, 'cpu_us_per_reg'):>16s}",
        f"{'  each round':36s}{each:>44s}",
    ]


def report(fixed, rounds, knees, peaks, loaded, args):
    c, k = fixed["cppbx"], fixed["kamailio"]
    cm, km = medians(rounds, "cppbx"), medians(rounds, "kamailio")
    lines = [
        f"REGISTER with MD5 digest (401 + 200 per registration), {args.users} distinct users, "
        f"UDP on loopback, {os.cpu_count()} cores shared with SIPp, "
        f"Kamailio memory manager {KAMAILIO_MEMORY_MANAGER}",
        "",
        f"{'':36s}{'cppbx':>14s}{'kamailio':>14s}{'cppbx/kamailio':>16s}",
        f"{'knee (highest rate, <1% failed)':36s}{knees['cppbx']:>12d}/s{knees['kamailio']:>12d}/s"
        f"{ratio(knees['cppbx'], knees['kamailio']):>16s}",
        f"{'highest achieved rate, <1% failed':36s}{peaks['cppbx']:>12.0f}/s{peaks['kamailio']:>12.0f}/s"
        f"{ratio(peaks['cppbx'], peaks['kamailio']):>16s}",
        *cpu_lines(rounds, f"CPU per registration at {args.fixed_rate}/s"),
        *floor_line(rounds, "floor (does no registrar work)"),
        *(cpu_lines(loaded["rounds"], f"CPU per registration at {loaded['rate']}/s")
          if loaded else []),
        *(floor_line(loaded["rounds"], "floor (does no registrar work)") if loaded else []),
        f"{'page faults per registration':36s}{cm['faults_per_reg']:>14.2f}{km['faults_per_reg']:>14.2f}"
        f"{median_ratio(rounds, 'faults_per_reg'):>16s}",
        f"{'RSS summed at start, none registered':36s}{c['start_rss_kib'] / 1024:>11.1f} MB{k['start_rss_kib'] / 1024:>11.1f} MB"
        f"{ratio(c['start_rss_kib'], k['start_rss_kib']):>16s}",
        f"{'Pss summed at start, none registered':36s}{c['start_pss_kib'] / 1024:>11.1f} MB{k['start_pss_kib'] / 1024:>11.1f} MB"
        f"{ratio(c['start_pss_kib'], k['start_pss_kib']):>16s}",
        f"{'peak RSS (VmHWM summed), phase 1':36s}{c['vm_hwm_kib'] / 1024:>11.1f} MB{k['vm_hwm_kib'] / 1024:>11.1f} MB"
        f"{ratio(c['vm_hwm_kib'], k['vm_hwm_kib']):>16s}",
        f"{'RSS summed, quiet, users registered':36s}{c['vm_rss_kib'] / 1024:>11.1f} MB{k['vm_rss_kib'] / 1024:>11.1f} MB"
        f"{ratio(c['vm_rss_kib'], k['vm_rss_kib']):>16s}",
        f"{'Pss summed, quiet, users registered':36s}{c['pss_kib'] / 1024:>11.1f} MB{k['pss_kib'] / 1024:>11.1f} MB"
        f"{ratio(c['pss_kib'], k['pss_kib']):>16s}",
        f"{'avg response time, fixed rate':36s}{c['response_ms']:>11.2f} ms{k['response_ms']:>11.2f} ms"
        f"{ratio(c['response_ms'], k['response_ms']):>16s}",
        f"{'processes':36s}{c['processes']:>14d}{k['processes']:>14d}",
        "",
        f"fixed-rate phase: {args.fixed_calls} registrations at {args.fixed_rate}/s; "
        f"cppbx ok {c['successful']} failed {c['failed']}, kamailio ok {k['successful']} failed {k['failed']}",
    ]
    lines.append(f"phases 2 and 3: {args.sipp_processes} SIPp process"
                 f"{'es' if args.sipp_processes != 1 else ''} sharing the rate and the users; "
                 f"phase 1: one SIPp")
    if any("floor" in r for r in rounds):
        lines.append("floor: bench/registrar/floor_responder.cpp answers 401 then 200 by echoing "
                     "five header lines, with cppbx's receive loop; its ratio is floor/kamailio")
    if loaded:
        failed = {name: sum(r[name]["failed"] for r in loaded["rounds"]) for name in ("cppbx", "kamailio")}
        rounds_text = f"{args.load_rounds} round{'s' if args.load_rounds != 1 else ''}"
        lines.append(f"load phase: {rounds_text} of {loaded['rate'] * args.load_seconds} "
                     f"registrations at {loaded['rate']}/s; failed: cppbx {failed['cppbx']}, "
                     f"kamailio {failed['kamailio']}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cppbx", help="path to the cppbx binary (a Release build is fairest)")
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--fixed-rate", type=int, default=1000)
    parser.add_argument("--fixed-calls", type=int, default=20000)
    parser.add_argument("--rates", default="500,1000,2000,3000,4000,5000,6000,8000,10000,12000,16000")
    parser.add_argument("--step-seconds", type=int, default=5)
    parser.add_argument("--io-threads", type=int, default=2)
    parser.add_argument("--quiet-seconds", type=int, default=35,
                        help="wait after phase 1 before reading RSS/Pss (Timer J is 32 s)")
    parser.add_argument("--cpu-rounds", type=int, default=5,
                        help="rounds of the fixed load for CPU per registration, phase 1 "
                             "included; the report gives medians")
    parser.add_argument("--load-rate", type=int, default=0,
                        help="rate of phase 3 (CPU under load); 0: 75 %% of the lower knee")
    parser.add_argument("--load-seconds", type=int, default=10)
    parser.add_argument("--load-rounds", type=int, default=3, help="0 skips phase 3")
    parser.add_argument("--sipp-processes", type=int, default=2,
                        help="SIPp processes sharing the load of phases 2 and 3, each with its "
                             "own share of the users (one SIPp tops out near 8,500/s on a core)")
    parser.add_argument("--floor-responder", default="",
                        help="floor_responder binary, measured in the CPU rounds beside both "
                             "servers (default: bench/floor_responder next to cppbx, if built)")
    parser.add_argument("--kamailio-memory", default=KAMAILIO_MEMORY_MANAGER, choices=["tlsf", "qm", "fm"],
                        help="Kamailio's memory manager (-x); qm is its default")
    parser.add_argument("--out", help="also write the summary to this file")
    args = parser.parse_args()
    if args.cpu_rounds < 1:
        parser.error("--cpu-rounds must be at least 1")
    if not 1 <= args.sipp_processes <= args.users:
        parser.error("--sipp-processes must be between 1 and --users")

    set_kamailio_memory_manager(args.kamailio_memory)
    users = make_users(args.users)
    workdir = tempfile.mkdtemp(prefix="bench-registrar-")
    try:
        csv = os.path.join(workdir, "users.csv")
        h.write_users_csv(csv, [[name, h.auth_field(name, password)] for name, password in users])
        lanes = user_lanes(users, args.sipp_processes, workdir)
        floor_path = floor_binary(args.floor_responder, args.cppbx)
        with Cppbx(args.cppbx, users, args.io_threads) as cppbx, Kamailio(users) as kamailio, \
                (Floor(floor_path, args.io_threads) if floor_path else contextlib.nullcontext()) as floor:
            servers = [cppbx, kamailio]
            measured = servers + ([floor] if floor else [])
            fixed = {}
            for server in servers:
                settle(server)
                print(f"phase 1: {server.name} {args.fixed_calls} registrations at {args.fixed_rate}/s",
                      flush=True)
                fixed[server.name] = fixed_rate_phase(server, csv, workdir, args.fixed_calls,
                                                      args.fixed_rate)
                print(f"  {fixed[server.name]}", flush=True)
            print(f"waiting {args.quiet_seconds}s for finished transactions to go", flush=True)
            for server in servers:
                quiet_memory(server, fixed[server.name], args.quiet_seconds)
            rounds = cpu_rounds(measured, fixed, csv, workdir, args)
            print("phase 2: rate steps", flush=True)
            steps, knees = knee_phase(servers, lanes, workdir,
                                      [int(r) for r in args.rates.split(",")], args.step_seconds)
            loaded = None
            rate = load_rate(knees, args.load_rate) if args.load_rounds > 0 else None
            if rate:
                print(f"phase 3: CPU at {rate}/s", flush=True)
                loaded = {"rate": rate, "rounds": load_rounds(measured, lanes, workdir, rate, args)}
            summary = report(fixed, rounds, knees, peak_rates(steps), loaded, args)
            print("\n" + summary)
            if args.out:
                with open(args.out, "w") as handle:
                    handle.write(summary + "\n")
            cppbx.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
