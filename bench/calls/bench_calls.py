"""Call benchmark: calls per second through cppbx and Kamailio 5.6, same run.

Design decisions:
- The registrar bench's set-up, imported rather than copied
  (bench/registrar/bench.py: the Kamailio runner, cppbx's [proxy] settings,
  /proc readings, the OPTIONS probe, the alternating rate steps): loopback
  UDP, the same users with plaintext passwords in memory, MD5 digest, two UDP
  workers each, warnings-only logs. Kamailio gets its own config
  (bench/calls/kamailio.cfg.in: tm, rr, registrar, 407 for INVITEs).
- One call (uac.xml): INVITE, 407, ACK, INVITE with credentials, 100, 180,
  200, ACK, hold (-d), BYE, 200. The callee (uas.xml) rings --ring-ms
  between its 180 and its 200 (sent back to back, two proxy workers race
  them). Under load the 180 is optional (UDP provisionals may be lost, and
  a late one arriving during the hold is ignored); the probe call checks in
  SIPp's message trace that each server forwards it.
- Lanes: SIPp 3.6 puts one fixed digest uri in every request of a run
  (sip:remote_ip:port, or -auth_uri), so a run can only authenticate calls
  to one Request-URI: a server that checks the digest uri against the
  Request-URI (RFC 2617 3.2.2.5; cppbx does, Kamailio's pv_auth_check does
  not) refuses anything else with 400. So each callee user has a lane: one
  SIPp callee process on its own port and, per load run, one SIPp caller
  process calling that user (-s, -auth_uri set to its Request-URI) at
  rate / lanes, all lanes in parallel. The N callers take turns from a CSV.
- Every callee registers from its lane's port (register.xml from the
  registrar bench, run with -p), so its Contact and its source address both
  point at the callee process (a proxy may route a UDP call to either);
  then the callee processes start on those ports and answer for both
  servers. Callers register too (unregistered callers are refused).
- A probe call per server comes first: a server whose probe fails is left
  out of the phases, with SIPp's own words for the failing step, and the run
  exits non-zero after the report (cppbx answers 405 before its call module).
- Phases, alternating servers at each step so background load hits both:
  1. hold: --hold-calls calls ramped at --hold-rate and held long enough to
     read memory once every call is established and the set-up transactions
     are gone (--quiet-seconds); growth of summed RSS and Pss over the
     baseline (users registered, no call) divided by the calls established.
     Read again --quiet-seconds after the last BYE: memory that stays is
     the allocator's high-water mark, not state per call.
     Run first, before later load leaves freed pages with the allocator.
  2. CPU: --calls calls at --fixed-rate with --hold seconds each;
     utime+stime of the server's process tree before and after, divided by
     the successful calls.
  3. knee: rate steps of --step-seconds; a step is good with < 1 % failed
     calls, >= 90 % of the rate achieved (hold time excluded from the wall
     clock) and an average set-up time <= --max-response-ms.
"""

import argparse
import contextlib
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "registrar"))
sys.path.insert(0, os.path.join(HERE, "..", "backends"))
import bench  # noqa: E402  (bench/registrar/bench.py; puts the harness on sys.path)
import bench_backends  # noqa: E402  (its warning_summary reads cppbx's log)
from bench import h  # noqa: E402

UAC_XML = os.path.join(HERE, "uac.xml")
UAS_XML = os.path.join(HERE, "uas.xml")
KAMAILIO_CFG = os.path.join(HERE, "kamailio.cfg.in")
RECV_TIMEOUT_MS = 5000  # a caller gives a call up after waiting this long for an answer


# --------------------------------------------------------------------------
# Servers and callees

class Cppbx(bench.Cppbx):
    """The registrar bench's cppbx with the call module in the pipeline."""

    def __init__(self, binary, users, io_threads, log_level):
        super().__init__(binary, users, io_threads)
        self.log_level = log_level
        self.proxy["modules"] = h.toml_list(["acl", "auth", "registrar", "call"])


class Lane:
    """One callee user answered by one SIPp callee process on its own port."""

    def __init__(self, index, user, workdir):
        self.index = index
        self.user, self.password = user
        self.port = h.free_port()
        self.errors = os.path.join(workdir, f"uas-{index}-errors.log")
        self.process = None

    def start(self, workdir, ring_ms):
        self.process = subprocess.Popen(
            ["sipp", "-sf", UAS_XML, "-i", h.LOOPBACK, "-p", str(self.port), "-t", "u1",
             "-d", str(ring_ms), "-nostdin", "-trace_err", "-error_file", self.errors,
             "-max_recv_loops", "10000", "-max_sched_loops", "10000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)

    def error_tail(self, chars=1500):
        try:
            with open(self.errors, errors="replace") as handle:
                text = handle.read().strip()
        except OSError:
            return ""
        return f"callee {self.user}: ...{text[-chars:]}" if text else ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def lanes_of(callees, workdir):
    lanes = [Lane(index, user, workdir) for index, user in enumerate(callees)]
    try:
        yield lanes
    finally:
        for lane in lanes:
            lane.stop()


def start_callees(lanes, workdir, ring_ms):
    for lane in lanes:
        lane.start(workdir, ring_ms)
    time.sleep(0.5)
    for lane in lanes:
        if lane.process.poll() is not None:
            raise RuntimeError(f"the SIPp callee on port {lane.port} exited at start "
                               f"({lane.process.returncode}): {lane.error_tail()}")


# --------------------------------------------------------------------------
# Registration and calls

def register(server, rows, workdir, rate, local_port=None):
    """Registers every (name, password) in rows with the registrar bench's
    register.xml; from local_port when given (Contact and source point there)."""
    csv = os.path.join(workdir, f"register-{h.free_port()}.csv")
    h.write_users_csv(csv, [[name, h.auth_field(name, password)] for name, password in rows])
    extra = ["-l", str(max(rate * 4, 100))]
    if local_port is not None:
        extra += ["-p", str(local_port)]  # SIPp keeps the last -p given
    result = h.run_sipp(server.port, bench.REGISTER_XML, csv, len(rows), workdir, rate=rate,
                        timeout=int(len(rows) / rate * 3) + 30, recv_timeout_ms=5000,
                        extra=extra)
    if result.successful != len(rows):
        raise RuntimeError(f"{server.name}: registering {len(rows)} users failed:\n"
                           f"{result.describe()}")


def register_everyone(server, callers, lanes, workdir, rate):
    for lane in lanes:
        register(server, [(lane.user, lane.password)], workdir, rate, lane.port)
    register(server, callers, workdir, rate)


class CallRun:
    """The lanes' SIPp caller runs of one load step, added up."""

    def __init__(self, results, elapsed, hold_seconds):
        self.results = results
        self.successful = sum(max(r.successful, 0) for r in results)
        self.failed = sum(max(r.failed, 0) for r in results)
        self.errors = "\n".join(r.errors for r in results)
        self.code = max(r.code for r in results)
        setup = [(h.sipp_duration_seconds(r.stats.get("ResponseTime1(C)", "")), r.successful)
                 for r in results]
        weight = sum(max(count, 0) for _, count in setup)
        self.response_ms = (1000.0 * sum(s * max(c, 0) for s, c in setup) / weight
                            if weight else 0.0)
        # Time spent sending: the wall clock less the hold and, when a call
        # failed on a receive timeout, the timeout that run then waited out
        # (counted in the failures already, it would count twice in the rate).
        timed_out = any(int(r.stats.get("FailedTimeoutOnRecv(C)", 0) or 0) for r in results)
        sending = elapsed - hold_seconds - (RECV_TIMEOUT_MS / 1000 if timed_out else 0)
        self.achieved = self.successful / sending if sending > 0 else 0.0

    def as_step(self):
        """The dict bench.knee_phase reads."""
        return {"successful": self.successful, "failed": self.failed,
                "achieved": self.achieved, "response_ms": self.response_ms, "result": self}

    def describe(self):
        return "\n".join(r.describe() for r in self.results)


def split(total, parts):
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def calls(server, csv, workdir, lanes, count, rate, hold_seconds, limit=None, extra=()):
    """`count` calls at `rate`, shared out among the lanes, run in parallel."""
    results = [None] * len(lanes)
    counts = split(count, len(lanes))
    lane_rate = rate / len(lanes)

    def run(index, lane):
        if counts[index] == 0:
            results[index] = h.SippResult(0, {"SuccessfulCall(C)": 0, "FailedCall(C)": 0}, "", "")
            return
        lane_limit = limit or max(int(lane_rate * (hold_seconds + 2) * 2), 50)
        results[index] = h.run_sipp(
            server.port, UAC_XML, csv, counts[index], workdir, rate=f"{lane_rate:g}",
            timeout=int(counts[index] / lane_rate * 3 + hold_seconds) + 30,
            recv_timeout_ms=RECV_TIMEOUT_MS,
            extra=["-l", str(lane_limit), "-d", str(int(hold_seconds * 1000)),
                   "-s", lane.user, "-auth_uri", f"{lane.user}@{h.LOOPBACK}:{server.port}",
                   "-pause_msg_ign", *extra])

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(index, lane)) for index, lane in enumerate(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return CallRun(results, time.monotonic() - started, hold_seconds)


# SIPp's event line for a call it gave up: "... while expecting '180'
# (index 6), received 'SIP/2.0 200 OK" (or while pausing / sending).
EXPECTING = re.compile(r"while (expecting '[^']+'|pausing|sending [^(]*)\s*\(index (\d+)\), "
                       r"received '([^\r\n]*)")


CALL_ID = re.compile(r"(Call-Id|call) '?[^' ]*@[^' ]*'?", re.IGNORECASE)


def error_summary(run, limit=5):
    """SIPp's failed-call events grouped by kind, most frequent first.
    'Dead call' events (a message for a call already over, e.g. the answer
    to a retransmission) are not causes and are left out."""
    kinds = {}
    for line in run.errors.splitlines():
        if "Dead call" in line:
            continue
        match = EXPECTING.search(line)
        if match:
            key = f"{match[1]} (step {match[2]}), got {match[3][:60]}"
        elif re.search(r"abort|timeout|retrans|fail", line, re.IGNORECASE):
            key = CALL_ID.sub(r"\1 ...", line.split("\t")[-1].split(": ", 1)[-1])[:100]
        else:
            continue
        kinds[key] = kinds.get(key, 0) + 1
    ranked = sorted(kinds.items(), key=lambda item: -item[1])[:limit]
    counters = failure_counters(run)
    return "; ".join([counters] + [f"{key}: {count}" for key, count in ranked])


def failure_counters(run):
    """SIPp's own failure causes (the -stf Failed...(C) columns), summed over
    the lanes: 'FailedTimeoutOnRecv 12, FailedUnexpectedMessage 3'."""
    totals = {}
    for result in run.results:
        for column, value in result.stats.items():
            if column.startswith("Failed") and column != "FailedCall(C)" and column.endswith("(C)"):
                try:
                    totals[column[:-3]] = totals.get(column[:-3], 0) + int(value)
                except ValueError:
                    pass
    shown = [f"{name} {count}" for name, count in sorted(totals.items(), key=lambda i: -i[1])
             if count]
    return "causes: " + (", ".join(shown) if shown else "none counted")


def failing_step(run, server, lanes):
    """What went wrong in a failed probe call, in SIPp's and the server's words."""
    lines = [line for line in run.errors.splitlines() if line.strip()]
    parts = [f"SIPp caller: successful {run.successful}, failed {run.failed}, exit {run.code}"]
    if lines:
        parts.append("SIPp caller errors (last lines):\n    " + "\n    ".join(lines[-12:]))
    callee_errors = [text for text in (lane.error_tail() for lane in lanes) if text]
    if callee_errors:
        parts.append("SIPp callee errors:\n" + "\n".join(callee_errors))
    log = server.log_text().strip().splitlines()
    if log:
        parts.append(f"{server.name} log (last lines):\n    " + "\n    ".join(log[-8:]))
    return "\n".join(parts)


def probe_call(server, csv, workdir, lanes):
    """One call per lane, messages traced; None when every call succeeded
    and got its 180, else what failed."""
    folder = tempfile.mkdtemp(prefix=f"probe-{server.name}-", dir=workdir)
    run = calls(server, csv, folder, lanes, len(lanes), len(lanes), 0, extra=["-trace_msg"])
    if run.successful != len(lanes) or run.failed != 0:
        return failing_step(run, server, lanes)
    rings = 0
    for path in glob.glob(os.path.join(folder, "*_messages.log")):
        with open(path, errors="replace") as handle:
            rings += len(re.findall(r"^SIP/2\.0 180 ", handle.read(), re.MULTILINE))
    if rings < len(lanes):
        return (f"{len(lanes)} probe calls were set up but only {rings} 180 Ringing reached "
                f"the caller (the callee sends one per call)")
    return None


# --------------------------------------------------------------------------
# Phases

def memory_kib(server):
    pids = bench.process_tree(server.process.pid)
    return bench.status_kib(pids, "VmRSS"), bench.pss_kib(pids), len(pids)


def kamailio_shm_used_kib(server):
    """Kamailio's shared memory really in use (kamcmd core.shmmem 'used'),
    None for another server or when the control socket does not answer.
    RSS and Pss keep every shared-memory page ever touched, so they show
    Kamailio's high-water mark of transactions, not what it holds per call."""
    if server.name != "kamailio":
        return None
    try:
        answer = subprocess.run(["kamcmd", "-s", f"unix:{server.dir}/ctl.sock", "core.shmmem"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^\s*used:\s*(\d+)", answer.stdout, re.MULTILINE)
    return int(match[1]) / 1024 if match else None


def calls_up(folder):
    """Calls in progress now, summed over the lanes' SIPp statistics files."""
    total = 0
    for path in glob.glob(os.path.join(folder, "uac-*.csv")):
        try:
            total += int(h.read_sipp_stats(path).get("CurrentCall", 0))
        except (OSError, ValueError):
            pass
    return total


def hold_phase(server, csv, workdir, lanes, count, rate, quiet_seconds):
    """Ramps `count` calls at `rate` and holds them; memory once all are up."""
    ramp = count / rate
    hold = ramp + quiet_seconds + 10
    folder = tempfile.mkdtemp(prefix=f"hold-{server.name}-", dir=workdir)
    base_rss, base_pss, _ = memory_kib(server)
    base_shm = kamailio_shm_used_kib(server)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(
        run=calls(server, csv, folder, lanes, count, rate, hold,
                  limit=count // len(lanes) + 100)))
    started = time.monotonic()
    runner.start()
    time.sleep(max(ramp + quiet_seconds - (time.monotonic() - started), 0))
    established = calls_up(folder)
    rss, pss, processes = memory_kib(server)
    shm = kamailio_shm_used_kib(server)
    print(f"  {server.name}: {established} calls up after {time.monotonic() - started:.0f} s, "
          f"RSS {base_rss / 1024:.1f} -> {rss / 1024:.1f} MB, "
          f"Pss {base_pss / 1024:.1f} -> {pss / 1024:.1f} MB; hanging up", flush=True)
    runner.join()
    run = outcome.get("run")
    if run and run.failed:
        print(f"  {server.name}: {run.failed} failed: {error_summary(run)}", flush=True)
    time.sleep(quiet_seconds)  # the BYE transactions go too
    after_rss, after_pss, _ = memory_kib(server)
    after_shm = kamailio_shm_used_kib(server)
    print(f"  {server.name}: {quiet_seconds} s after the last BYE: RSS {after_rss / 1024:.1f} MB, "
          f"Pss {after_pss / 1024:.1f} MB", flush=True)
    return {
        "established": established,
        "successful": run.successful if run else -1,
        "failed": run.failed if run else -1,
        "base_rss_kib": base_rss, "base_pss_kib": base_pss,
        "rss_kib": rss, "pss_kib": pss, "processes": processes,
        "rss_per_call": (rss - base_rss) * 1024 / established if established else float("nan"),
        "pss_per_call": (pss - base_pss) * 1024 / established if established else float("nan"),
        "shm_per_call": ((shm - base_shm) * 1024 / established
                         if established and shm is not None and base_shm is not None
                         else float("nan")),
        "after_rss_kib": after_rss, "after_pss_kib": after_pss,
        "after_shm_per_call": ((after_shm - base_shm) * 1024 / established
                               if established and after_shm is not None
                               and base_shm is not None else float("nan")),
    }


def cpu_phase(server, csv, workdir, lanes, count, rate, hold_seconds):
    before = bench.cpu_seconds(bench.process_tree(server.process.pid))
    run = calls(server, csv, workdir, lanes, count, rate, hold_seconds)
    after = bench.cpu_seconds(bench.process_tree(server.process.pid))
    if run.failed:
        print(f"  {server.name}: {run.failed} failed: {error_summary(run)}", flush=True)
    return {
        "successful": run.successful, "failed": run.failed,
        "cpu_us_per_call": (after - before) * 1e6 / run.successful if run.successful
        else float("nan"),
        "response_ms": run.response_ms, "achieved": run.achieved,
    }


def knee_phase(servers, csv, workdir, lanes, args):
    def run_step(server, rate):
        step = calls(server, csv, workdir, lanes, rate * args.step_seconds, rate, args.hold)
        if step.failed:
            print(f"  {server.name} at {rate}/s: {step.failed} failed: {error_summary(step)}",
                  flush=True)
        return step.as_step()

    return bench.knee_phase(servers, csv, workdir, [int(r) for r in args.rates.split(",")],
                            args.step_seconds, run_step=run_step,
                            max_response_ms=args.max_response_ms)


# --------------------------------------------------------------------------
# Report

def cell(value, unit, digits=1):
    if value is None or value != value:
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def ratio_of(values):
    numbers = []
    for value in values:
        try:
            numbers.append(float(value.split()[0].removesuffix("/s")))
        except ValueError:
            return ""
    if len(numbers) != 2 or not numbers[1]:
        return ""
    return f"{numbers[0] / numbers[1]:.2f}"


def report(args, servers, broken, held, cpu, knees, steps):
    names = [server.name for server in servers]

    def row(label, values, ratio=True):
        return (f"{label:40s}" + "".join(f"{value:>14s}" for value in values)
                + (f"{ratio_of(values):>16s}" if ratio else ""))

    def of(table, key, unit, digits=1, scale=1.0):
        return [cell(table[n][key] * scale, unit, digits) if n in table else "n/a" for n in names]

    lines = [
        f"Calls with MD5 digest (INVITE, 407, ACK, INVITE, 100, 180, 200, ACK, BYE, 200), "
        f"{args.users} callers, {args.lanes} callee(s), ring {args.ring_ms} ms, "
        f"UDP on loopback, {os.cpu_count()} cores shared with SIPp",
        "",
        f"{'':40s}" + "".join(f"{name:>14s}" for name in names) + f"{'cppbx/kamailio':>16s}",
        row(f"knee (>=99% ok, set-up <= {args.max_response_ms:g} ms)",
            [f"{knees[n]}/s" if n in knees else "n/a" for n in names]),
        row("CPU per call", of(cpu, "cpu_us_per_call", " us")),
        row("avg set-up time, CPU phase", of(cpu, "response_ms", " ms", 2)),
        row("calls held at once", of(held, "established", "", 0), False),
        row("RSS growth per held call", of(held, "rss_per_call", " B", 0)),
        row("Pss growth per held call", of(held, "pss_per_call", " B", 0)),
        row("Kamailio shm in use, growth per call", of(held, "shm_per_call", " B", 0), False),
        row("RSS summed, calls held", of(held, "rss_kib", " MB", 1, 1 / 1024)),
        row("Pss summed, calls held", of(held, "pss_kib", " MB", 1, 1 / 1024)),
        row("RSS summed, after the hang-up", of(held, "after_rss_kib", " MB", 1, 1 / 1024)),
        row("Pss summed, after the hang-up", of(held, "after_pss_kib", " MB", 1, 1 / 1024)),
        row("processes", of(held, "processes", "", 0), False),
        "",
        f"CPU phase: {args.calls} calls at {args.fixed_rate}/s, hold {args.hold:g} s; "
        + ", ".join(f"{n} ok {cpu[n]['successful']} failed {cpu[n]['failed']}"
                    for n in names if n in cpu),
        f"hold phase: {args.hold_calls} calls at {args.hold_rate}/s; "
        + ", ".join(f"{n} ok {held[n]['successful']} failed {held[n]['failed']}"
                    for n in names if n in held),
    ]
    if steps:
        lines += ["", "rate steps (achieved rate, average set-up time, failed calls):",
                  f"{'rate/s':>8s}" + "".join(f"{name:>28s}" for name in names)]
        for rate in sorted({run["rate"] for runs in steps.values() for run in runs}):
            cells = []
            for name in names:
                run = next((r for r in steps.get(name, []) if r["rate"] == rate), None)
                cells.append("" if run is None else
                             f"{run['achieved']:.0f}/s {run['response_ms']:.0f} ms "
                             f"{run['failed_pct']:.1f}%{'' if run['ok'] else ' OVER'}")
            lines.append(f"{rate:>8d}" + "".join(f"{text:>28s}" for text in cells))
    for server in servers:
        if isinstance(server, h.CppbxServer):
            lines += ["", f"{server.name} log lines at warn level or above: "
                      f"{bench_backends.warning_summary(server)}"]
    for name, reason in broken.items():
        lines += ["", f"{name}: FAILED, left out of every phase. The probe call failed:", reason]
    return "\n".join(lines)


# --------------------------------------------------------------------------

def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cppbx", help="path to the cppbx binary (a Release build is fairest)")
    parser.add_argument("--users", type=int, default=1000, help="callers (taken in turn)")
    parser.add_argument("--lanes", type=int, default=2,
                        help="callee users, each with its own SIPp callee and caller process")
    parser.add_argument("--ring-ms", type=int, default=20,
                        help="callee's ring time between its 180 and its 200")
    parser.add_argument("--calls", type=int, default=20000, help="calls in the CPU phase")
    parser.add_argument("--fixed-rate", type=int, default=1000, help="call rate of the CPU phase")
    parser.add_argument("--hold", type=float, default=1.0,
                        help="seconds each call is held (CPU phase and rate steps)")
    parser.add_argument("--rates", default="250,500,1000,1500,2000,2500,3000,3500,4000,5000",
                        help="rate steps of the knee phase (empty: skip it)")
    parser.add_argument("--step-seconds", type=int, default=5)
    parser.add_argument("--max-response-ms", type=float, default=200.0,
                        help="a rate step with a longer average set-up time is over the knee")
    parser.add_argument("--hold-calls", type=int, default=10000,
                        help="concurrent calls of the memory phase (0: skip it)")
    parser.add_argument("--hold-rate", type=int, default=500)
    parser.add_argument("--quiet-seconds", type=int, default=35,
                        help="wait after the ramp before reading memory (transactions gone)")
    parser.add_argument("--register-rate", type=int, default=1000)
    parser.add_argument("--io-threads", type=int, default=2)
    parser.add_argument("--log-level", default="warn", help="cppbx log level (debug to diagnose)")
    parser.add_argument("--servers", default="cppbx,kamailio",
                        help="which servers to measure (comma-separated)")
    parser.add_argument("--out", help="also write the summary to this file")
    return parser.parse_args()


def run_phases(args, servers, csv, workdir, lanes):
    broken, held, cpu, knees, steps = {}, {}, {}, {}, {}
    for server in servers:
        print(f"registering {len(lanes)} callees and {args.users} callers at {server.name}",
              flush=True)
        register_everyone(server, args.callers, lanes, workdir, args.register_rate)
    start_callees(lanes, workdir, args.ring_ms)
    for server in servers:
        reason = probe_call(server, csv, workdir, lanes)
        if reason:
            broken[server.name] = reason
            print(f"{server.name}: the probe call FAILED; left out:\n{reason}", flush=True)
    live = [server for server in servers if server.name not in broken]
    if args.hold_calls > 0:
        for server in live:
            bench.settle(server)
            print(f"hold phase: {server.name} {args.hold_calls} calls at {args.hold_rate}/s",
                  flush=True)
            held[server.name] = hold_phase(server, csv, workdir, lanes, args.hold_calls,
                                           args.hold_rate, args.quiet_seconds)
    if args.calls > 0:
        for server in live:
            bench.settle(server)
            print(f"CPU phase: {server.name} {args.calls} calls at {args.fixed_rate}/s",
                  flush=True)
            cpu[server.name] = cpu_phase(server, csv, workdir, lanes, args.calls,
                                         args.fixed_rate, args.hold)
            print(f"  {cpu[server.name]}", flush=True)
    if live and args.rates:
        print("knee phase: rate steps", flush=True)
        steps, knees = knee_phase(live, csv, workdir, lanes, args)
    return broken, held, cpu, knees, steps


def main():
    args = parse_arguments()
    wanted = [name.strip() for name in args.servers.split(",") if name.strip()]
    users = bench.make_users(args.users + args.lanes)
    args.callers, callees = users[:args.users], users[args.users:]
    workdir = tempfile.mkdtemp(prefix="bench-calls-")
    try:
        csv = os.path.join(workdir, "callers.csv")
        h.write_users_csv(csv, [[name, h.auth_field(name, password)]
                                for name, password in args.callers])
        with lanes_of(callees, workdir) as lanes, contextlib.ExitStack() as stack:
            servers = []
            if "cppbx" in wanted:
                servers.append(stack.enter_context(
                    Cppbx(args.cppbx, users, args.io_threads, args.log_level)))
            if "kamailio" in wanted:
                servers.append(stack.enter_context(bench.Kamailio(users, KAMAILIO_CFG)))
            broken, held, cpu, knees, steps = run_phases(args, servers, csv, workdir, lanes)
            summary = report(args, servers, broken, held, cpu, knees, steps)
            print("\n" + summary, flush=True)
            if args.out:
                with open(args.out, "w") as handle:
                    handle.write(summary + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
