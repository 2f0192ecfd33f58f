"""REGISTER throughput per locator type (database on SQLite and PostgreSQL),
beside the memory locator.

Design decisions:
- Everything but the locator is bench/backends/bench_backends.py's set-up,
  imported rather than copied: one cppbx per locator, all started at once
  with the registrar benchmark's settings (bench/registrar/bench.py's Cppbx),
  the same N users in a memory user backend, so only [proxy.locator]
  differs; phase 1 (fixed rate: CPU per registration of cppbx and of the
  database server's process tree, response times) is bench_backends'
  fixed_phase, phase 2 (rate steps alternating between the servers) is
  bench.py's knee_phase. The memory locator runs in the same session, so the
  ratios compare like with like on a shared machine.
- Every registration writes: the database locator runs one transaction per
  REGISTER (read the AoR's rows, apply the rules, write the difference), so
  the SQLite file and PostgreSQL see one commit per registration. The SQLite
  file lives in the bench's temporary folder (tmpfs or disk, whatever /tmp is).
"""

import contextlib
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "backends"))
import bench_backends as bb  # noqa: E402  (also puts bench/registrar and the harness on sys.path)
from bench_backends import bench, db_servers, h  # noqa: E402

DEFAULT_LOCATORS = "memory,sqlite,postgres"
OPTIONAL_LOCATORS = "mariadb"


def locator_toml(stack, folder, label):
    """([proxy.locator] text, helper pid or None) for one locator label."""
    if label == "memory":
        return '[proxy.locator]\ntype = "memory"', None
    if label == "sqlite":
        url = "sqlite://" + os.path.join(folder, "locations.sqlite3")
        return f'[proxy.locator]\ntype = "database"\nurl = {bb.toml_string(url)}', None
    if label in ("postgres", "mariadb"):
        kind = db_servers.PostgresServer if label == "postgres" else db_servers.MariaDbServer
        if not kind.available():
            raise RuntimeError(kind.missing_message())
        server = stack.enter_context(kind())
        return (f'[proxy.locator]\ntype = "database"\nurl = {bb.toml_string(server.url)}',
                server.process.pid)
    raise ValueError(f"unknown locator {label!r}; choose from {DEFAULT_LOCATORS},{OPTIONAL_LOCATORS}")


def report(labels, fixed, knees, servers, args):
    base_fixed, base_knee = fixed.get("memory"), knees.get("memory")
    header = (f"{'locator':10s}{'knee/s':>8s}{'x mem':>7s}{'CPU us/reg':>12s}{'x mem':>7s}"
              f"{'+db us':>8s}{'p50 ms':>8s}{'p99 ms':>8s}{'mean ms':>9s}{'failed':>8s}")
    lines = [f"REGISTER with MD5 digest, {args.users} users (memory user backend), phase 1: "
             f"{args.fixed_calls} at {args.fixed_rate}/s, knee steps of {args.step_seconds} s, "
             f"UDP on loopback, {os.cpu_count()} cores shared with SIPp and the database",
             "", header]
    for label in labels:
        f, knee = fixed[label], knees.get(label, 0)
        helper = f"{f['helper_us']:.1f}" if f["helper_us"] is not None else "-"
        lines.append(
            f"{label:10s}{knee:>8d}{bb.ratio(knee, base_knee):>7s}{f['cpu_us']:>12.1f}"
            f"{bb.ratio(f['cpu_us'], base_fixed and base_fixed['cpu_us']):>7s}{helper:>8s}"
            f"{f['p50_ms']:>8.0f}{f['p99_ms']:>8.0f}{f['mean_ms']:>9.2f}{f['failed']:>8d}")
    lines += ["", "x mem: ratio to the memory locator in this run. CPU us/reg: cppbx's own CPU "
              "(SQLite runs inside cppbx); +db us: the PostgreSQL/MariaDB process tree's CPU "
              "per registration.", "", "cppbx log lines at warn level or above, per locator:"]
    lines += [f"  {label:10s}{bb.warning_summary(servers[label])}" for label in labels]
    return "\n".join(lines)


def main():
    args = bb.parse_arguments(__doc__.split("\n")[0], "locators", DEFAULT_LOCATORS, OPTIONAL_LOCATORS,
                              500, 5000, "250,500,1000,2000,4000,6000,8000")
    labels = [label.strip() for label in args.locators.split(",") if label.strip()]
    binary = os.path.abspath(args.cppbx)

    users = bench.make_users(args.users)
    workdir = tempfile.mkdtemp(prefix="bench-locators-")
    try:
        with contextlib.ExitStack() as stack:
            csv = os.path.join(workdir, "users.csv")
            h.write_users_csv(csv, [[name, h.auth_field(name, password)] for name, password in users])
            servers, helpers = {}, {}
            for label in labels:
                print(f"starting {label}", flush=True)
                locator, helpers[label] = locator_toml(stack, workdir, label)
                toml = h.memory_backend_toml(users) + "\n\n" + locator
                servers[label] = bb.start_cppbx(stack, binary, label, toml, args.io_threads)
            fixed = {}
            for label in labels:
                bench.settle(servers[label])
                print(f"phase 1: {label} {args.fixed_calls} registrations at {args.fixed_rate}/s",
                      flush=True)
                fixed[label] = bb.fixed_phase(servers[label], helpers[label], csv, workdir,
                                              args.fixed_calls, args.fixed_rate)
                print(f"  {({k: v for k, v in fixed[label].items() if k != 'sipp'})}", flush=True)
                if fixed[label]["sipp"] is not None:
                    print(fixed[label]["sipp"].describe(), flush=True)
            print("phase 2: rate steps", flush=True)
            _, knees = bench.knee_phase([servers[label] for label in labels], csv, workdir,
                                        [int(r) for r in args.rates.split(",")], args.step_seconds)
            summary = report(labels, fixed, knees, servers, args)
            print("\n" + summary, flush=True)
            if args.out:
                with open(args.out, "w") as handle:
                    handle.write(summary + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
