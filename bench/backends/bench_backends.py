"""REGISTER throughput per user backend type, beside the memory backend.

Design decisions:
- One cppbx per backend type, each holding the same N users (random
  passwords) in that single backend, all started at once with the registrar
  benchmark's settings (bench/registrar/bench.py's Cppbx: MD5 only, 2 I/O
  threads, warnings-only log); only the [[proxy.user_backends]] differs. The
  memory backend is measured in the same run, so the ratios compare like with
  like on a shared machine.
- Load: bench/registrar/register.xml (REGISTER, 401, REGISTER with MD5
  credentials, 200), one distinct user per call in turn from the CSV.
  Phase 1, one backend after the other: --fixed-calls at --fixed-rate; CPU
  per registration = utime+stime of cppbx from /proc (bench.py's helpers),
  and separately of the process that answers lookups outside cppbx
  (PostgreSQL's process tree, the HTTP service); response times from SIPp's
  -trace_rtt file (every registration, 401 round trip included).
  Phase 2: bench.py's knee_phase, rate steps alternating between the
  backends, so background load hits them alike.
- Users reach each store the cheapest honest way: SQL inserts in one
  transaction (SQLite through Python's sqlite3, PostgreSQL through psql in
  batches). For `extension` the first user is added with `cppbx extension
  add`, which runs the schema migrations and proves the CLI and the bench
  write the same table; the rest are inserted with the same columns in one
  SQLite transaction, because the CLI opens the database and checks the
  schema per call (its time per call is printed), which for 10,000 users
  would cost minutes and measure nothing the benchmark is about.
- The HTTP service is bench/backends/user_service.py, a separate process so
  its CPU is measurable and it does not share the bench's GIL.
- Caches are part of what is measured: `http/60s` (cache_ttl = 60) and
  `extension` (ttl default 30) look each user up once per ttl; `http/0s`,
  `sqlite` and `postgres` look up on every registration.
"""

import argparse
import contextlib
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "registrar"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import bench  # noqa: E402  (bench/registrar/bench.py)
import db_servers  # noqa: E402
import harness as h  # noqa: E402

REGISTER_XML = os.path.join(ROOT, "bench", "registrar", "register.xml")
DEFAULT_BACKENDS = "memory,sqlite,postgres,http/0s,http/60s,extension"
OPTIONAL_BACKENDS = "mariadb,extension/0s"


def toml_string(text):
    return json.dumps(text)  # a JSON string of printable ASCII is a TOML basic string


# --------------------------------------------------------------------------
# Stores: each returns the [[proxy.user_backends]] text and the pid whose
# process tree answers lookups outside cppbx (None when there is none).

def sqlite_users_table(path, users):
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT NOT NULL)")
        db.executemany("INSERT INTO users (username, password) VALUES (?, ?)", users)


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def server_users_table(server, users, batch=500):
    """psql/mariadb -e: the rows go in batches to keep each argument small."""
    server.sql("CREATE TABLE users (username VARCHAR(64) PRIMARY KEY, "
               "password VARCHAR(128) NOT NULL)")
    for start in range(0, len(users), batch):
        rows = ",".join(f"({sql_literal(name)},{sql_literal(password)})"
                        for name, password in users[start:start + batch])
        server.sql(f"INSERT INTO users (username, password) VALUES {rows}")


def database_toml(url):
    return "\n".join(["[[proxy.user_backends]]", 'type = "database"',
                      f"url = {toml_string(url)}", 'table_name = "users"'])


def extension_store(binary, folder, users):
    """First user through the CLI (creates the schema), the rest by SQL."""
    first_name, first_password = users[0]
    started = time.monotonic()
    added = subprocess.run([binary, "extension", "add", first_name, "--password-stdin"],
                           input=first_password + "\n", cwd=folder, capture_output=True,
                           text=True, timeout=60)
    cli_seconds = time.monotonic() - started
    if added.returncode != 0:
        raise RuntimeError(f"cppbx extension add failed ({added.returncode}): {added.stderr}")
    path = os.path.join(folder, "cppbx.sqlite3")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executemany("INSERT INTO extensions (extension, sip_password, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?)", [(n, p, now, now) for n, p in users[1:]])
    listed = subprocess.run([binary, "extension", "list"], cwd=folder, capture_output=True,
                            text=True, timeout=60)
    if listed.returncode != 0 or users[-1][0] not in listed.stdout:
        raise RuntimeError(f"cppbx extension list does not show the inserted users: "
                           f"{listed.returncode} {listed.stderr[-500:]}")
    print(f"  extension: `cppbx extension add` took {cli_seconds * 1000:.0f} ms for one user; "
          f"{len(users) - 1} more inserted by SQL", flush=True)
    return path


def start_user_service(stack, folder, users):
    users_file = os.path.join(folder, "http-users.tsv")
    with open(users_file, "w") as handle:
        handle.writelines(f"{name}\t{password}\n" for name, password in users)
    port = h.free_port()
    log = stack.enter_context(open(os.path.join(folder, "http-service.log"), "wb"))
    process = subprocess.Popen([sys.executable, "-B", os.path.join(HERE, "user_service.py"),
                                "--port", str(port), "--users", users_file],
                               stdout=log, stderr=subprocess.STDOUT)
    stack.callback(stop_process, process)
    url = f"http://{h.LOOPBACK}:{port}/users"
    probe = f"{url}?username={users[0][0]}&realm={h.LOOPBACK}"

    def answers():
        try:
            with urllib.request.urlopen(probe, timeout=1) as response:
                return response.status == 200
        except OSError:
            return process.poll() is not None  # exited: stop polling, checked below

    h.poll(answers, timeout=15, interval=0.1)
    if process.poll() is not None:
        raise RuntimeError("the HTTP user service exited during start-up")
    return url, process.pid


def stop_process(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Stores:
    """Builds each backend's store once; shared servers are started lazily."""

    def __init__(self, stack, binary, folder, users):
        self.stack, self.binary, self.folder, self.users = stack, binary, folder, users
        self.http = None

    def backend(self, label):
        """(toml, helper pid or None) for one backend label."""
        if label == "memory":
            return h.memory_backend_toml(self.users), None
        if label == "sqlite":
            path = os.path.join(self.folder, "users.sqlite3")
            sqlite_users_table(path, self.users)
            return database_toml(f"sqlite://{path}"), None
        if label in ("postgres", "mariadb"):
            kind = db_servers.PostgresServer if label == "postgres" else db_servers.MariaDbServer
            if not kind.available():
                raise RuntimeError(kind.missing_message())
            server = self.stack.enter_context(kind())
            server_users_table(server, self.users)
            return database_toml(server.url), server.process.pid
        if label.startswith("http/"):
            if self.http is None:
                self.http = start_user_service(self.stack, self.folder, self.users)
            url, pid = self.http
            ttl = int(label.split("/")[1].rstrip("s"))
            return "\n".join(["[[proxy.user_backends]]", 'type = "http"',
                              f"url = {toml_string(url)}", f"cache_ttl = {ttl}"]), pid
        if label.startswith("extension"):
            folder = os.path.join(self.folder, label.replace("/", "-"))
            os.makedirs(folder)
            path = extension_store(self.binary, folder, self.users)
            lines = ["[[proxy.user_backends]]", 'type = "extension"',
                     f"database_url = {toml_string('sqlite://' + path)}"]
            if label == "extension/0s":
                lines.append("ttl = 0")
            return "\n".join(lines), None
        raise ValueError(f"unknown backend {label!r}; choose from "
                         f"{DEFAULT_BACKENDS},{OPTIONAL_BACKENDS}")


def start_cppbx(stack, binary, label, toml, io_threads):
    server = bench.Cppbx(binary, [], io_threads)  # the registrar bench's [proxy] settings
    server.backends = toml
    server.name = label
    return stack.enter_context(server)


# --------------------------------------------------------------------------
# Phase 1: fixed rate, CPU and response times

def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def take_response_times(workdir):
    """Response times (ms) from SIPp's -trace_rtt files, which are then removed."""
    times = []
    for path in glob.glob(os.path.join(workdir, "register_*_rtt.csv")):
        with open(path) as handle:
            for line in handle:
                fields = line.strip().split(";")
                if len(fields) >= 2:
                    try:
                        times.append(float(fields[1]))
                    except ValueError:
                        pass  # the header line
        os.remove(path)
    return sorted(times)


def fixed_phase(server, helper_pid, csv, workdir, calls, rate):
    pids = bench.process_tree(server.process.pid)
    helper = bench.process_tree(helper_pid) if helper_pid else []
    before, helper_before = bench.cpu_seconds(pids), bench.cpu_seconds(helper)
    started = time.monotonic()
    result = h.run_sipp(server.port, REGISTER_XML, csv, calls, workdir, rate=rate,
                        timeout=int(calls / rate * 3) + 30, recv_timeout_ms=5000,
                        extra=["-l", str(max(rate * 4, 100)), "-trace_rtt", "-rtt_freq", "100"])
    elapsed = time.monotonic() - started
    pids = bench.process_tree(server.process.pid)
    helper = bench.process_tree(helper_pid) if helper_pid else []
    cpu = bench.cpu_seconds(pids) - before
    helper_cpu = bench.cpu_seconds(helper) - helper_before
    times = take_response_times(workdir)
    ok = max(result.successful, 0)
    return {
        "successful": result.successful, "failed": result.failed,
        "achieved": ok / elapsed if elapsed > 0 else 0.0,
        "cpu_us": cpu * 1e6 / ok if ok else float("nan"),
        "helper_us": helper_cpu * 1e6 / ok if ok and helper_pid else None,
        "p50_ms": percentile(times, 0.50), "p99_ms": percentile(times, 0.99),
        "max_ms": times[-1] if times else float("nan"),
        "mean_ms": sum(times) / len(times) if times else float("nan"),
        "vm_hwm_kib": bench.status_kib(pids, "VmHWM"),
        "sipp": result if ok == 0 else None,
    }


# --------------------------------------------------------------------------
# Report

def ratio(value, base):
    if value is None or base is None or base != base or value != value or base == 0:
        return "n/a"
    return f"{value / base:.2f}"


# cppbx's own pattern writes "... 09:37:05.234 warning [tid] ...", spdlog's
# default one (before the configuration is read) "[...] [warning] ...".
SEVERE_LINE = re.compile(r"[ \[](warning|error|critical)[ \]]")


def warning_summary(server):
    lines = [line for line in server.log_text().splitlines() if SEVERE_LINE.search(line)]
    if not lines:
        return "none"
    return f"{len(lines)} lines, first: {lines[0][:160]}"


def report(labels, fixed, knees, servers, args):
    base_fixed, base_knee = fixed.get("memory"), knees.get("memory")
    header = (f"{'backend':14s}{'knee/s':>8s}{'x mem':>7s}{'CPU us/reg':>12s}{'x mem':>7s}"
              f"{'+helper us':>11s}{'p50 ms':>8s}{'p99 ms':>8s}{'max ms':>8s}{'mean ms':>8s}"
              f"{'failed':>8s}{'VmHWM MB':>10s}")
    lines = [f"REGISTER with MD5 digest, {args.users} users in one backend each, "
             f"phase 1: {args.fixed_calls} at {args.fixed_rate}/s, knee steps of "
             f"{args.step_seconds} s, UDP on loopback, {os.cpu_count()} cores shared with SIPp",
             "", header]
    for label in labels:
        f, knee = fixed[label], knees.get(label, 0)
        helper = f"{f['helper_us']:.1f}" if f["helper_us"] is not None else "-"
        lines.append(
            f"{label:14s}{knee:>8d}{ratio(knee, base_knee):>7s}{f['cpu_us']:>12.1f}"
            f"{ratio(f['cpu_us'], base_fixed and base_fixed['cpu_us']):>7s}{helper:>11s}"
            f"{f['p50_ms']:>8.0f}{f['p99_ms']:>8.0f}{f['max_ms']:>8.0f}{f['mean_ms']:>8.2f}"
            f"{f['failed']:>8d}{f['vm_hwm_kib'] / 1024:>10.1f}")
    lines += ["", "x mem: ratio to the memory backend in this run. +helper us: CPU of the "
              "lookup server outside cppbx (PostgreSQL, HTTP service) per registration.",
              "p50/p99/mean: SIPp response time of a whole registration (both round trips) "
              "in phase 1;", "SIPp's clock advances in steps of about 4 ms, so single times are 0 or "
              "a multiple of a step and only the mean has finer resolution.",
              "", "cppbx log lines at warn level or above, per backend:"]
    lines += [f"  {label:14s}{warning_summary(servers[label])}" for label in labels]
    return "\n".join(lines)


def parse_arguments(description, kind, default_kinds, optional_kinds, fixed_rate, fixed_calls, rates):
    """The command line shared by this bench and bench/locators: `kind` names
    what is varied (--backends, --locators); the rest is the same."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("cppbx", help="path to the cppbx binary (a Release build)")
    parser.add_argument(f"--{kind}", default=default_kinds,
                        help=f"comma-separated, from {default_kinds},{optional_kinds}")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--fixed-rate", type=int, default=fixed_rate)
    parser.add_argument("--fixed-calls", type=int, default=fixed_calls)
    parser.add_argument("--rates", default=rates)
    parser.add_argument("--step-seconds", type=int, default=4)
    parser.add_argument("--io-threads", type=int, default=2)
    parser.add_argument("--out", help="also write the summary to this file")
    return parser.parse_args()


def main():
    args = parse_arguments(__doc__.split("\n")[0], "backends", DEFAULT_BACKENDS, OPTIONAL_BACKENDS,
                           1000, 10000, "500,1000,2000,4000,6000,8000,10000,12000")
    labels = [label.strip() for label in args.backends.split(",") if label.strip()]
    binary = os.path.abspath(args.cppbx)

    users = bench.make_users(args.users)
    workdir = tempfile.mkdtemp(prefix="bench-backends-")
    try:
        with contextlib.ExitStack() as stack:
            csv = os.path.join(workdir, "users.csv")
            h.write_users_csv(csv, [[name, h.auth_field(name, password)]
                                    for name, password in users])
            stores = Stores(stack, binary, workdir, users)
            servers, helpers = {}, {}
            for label in labels:
                print(f"starting {label}", flush=True)
                toml, helpers[label] = stores.backend(label)
                servers[label] = start_cppbx(stack, binary, label, toml, args.io_threads)
            fixed = {}
            for label in labels:
                bench.settle(servers[label])
                print(f"phase 1: {label} {args.fixed_calls} registrations at "
                      f"{args.fixed_rate}/s", flush=True)
                fixed[label] = fixed_phase(servers[label], helpers[label], csv, workdir,
                                           args.fixed_calls, args.fixed_rate)
                shown = {k: v for k, v in fixed[label].items() if k != "sipp"}
                print(f"  {shown}", flush=True)
                if fixed[label]["sipp"] is not None:
                    print(fixed[label]["sipp"].describe(), flush=True)
            print("phase 2: rate steps", flush=True)
            _, knees = bench.knee_phase([servers[label] for label in labels], csv, workdir,
                                        [int(r) for r in args.rates.split(",")],
                                        args.step_seconds)
            summary = report(labels, fixed, knees, servers, args)
            print("\n" + summary, flush=True)
            if args.out:
                with open(args.out, "w") as handle:
                    handle.write(summary + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
