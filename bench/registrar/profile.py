"""Profiling helper: cppbx alone under the benchmark's REGISTER load.

Design decisions:
- Same server set-up and SIPp scenario as bench.py (imported from there), but
  only cppbx, so a change can be checked in a minute without Kamailio.
- --wrap runs cppbx under a tool ("valgrind --tool=callgrind ..." or
  "perf record -g -o ..."), the way instruction counts and call graphs are
  taken; with callgrind, --zero-after-warmup resets the counters once the
  server answers so start-up is not counted.
- Prints CPU per registration, peak RSS and, after --quiet-seconds, RSS once
  the finished transactions have expired.

    python3 -B bench/registrar/profile.py build/cppbx --calls 20000 --rate 1000
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as b  # noqa: E402

h = b.h


class WrappedCppbx(b.Cppbx):
    def __init__(self, binary, users, io_threads, wrap):
        super().__init__(binary, users, io_threads)
        self.wrap = shlex.split(wrap) if wrap else []

    def start(self):
        self.port = h.free_port()
        self.write_file("cppbx.toml", self.config_text())
        self._log = open(self.path("cppbx.log"), "wb")
        self.process = subprocess.Popen(
            self.wrap + [self.binary, "--conf", self.path("cppbx.toml")],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.wait_ready(timeout=120)

    def __exit__(self, exc_type, exc, tb):
        # SIGTERM (not SIGKILL) so that profilers write their output.
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return super().__exit__(exc_type, exc, tb)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cppbx")
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--io-threads", type=int, default=2)
    parser.add_argument("--wrap", default="", help="command prefix, e.g. 'valgrind --tool=callgrind'")
    parser.add_argument("--zero-after-warmup", action="store_true",
                        help="callgrind_control --zero before the load")
    parser.add_argument("--quiet-seconds", type=int, default=0)
    parser.add_argument("--sipp-processes", type=int, default=1,
                        help="SIPp processes sharing the load, each with its own users "
                             "(as in bench.py's phases 2 and 3)")
    args = parser.parse_args()

    users = b.make_users(args.users)
    workdir = tempfile.mkdtemp(prefix="profile-registrar-")
    try:
        load = b.user_lanes(users, args.sipp_processes, workdir)
        with WrappedCppbx(args.cppbx, users, args.io_threads, args.wrap) as server:
            b.settle(server)
            if args.zero_after_warmup:
                subprocess.run(["callgrind_control", "--zero", str(server.process.pid)], check=False)
            phase = b.fixed_rate_phase(server, load, workdir, args.calls, args.rate)
            print(f"ok {phase['successful']} failed {phase['failed']} "
                  f"cpu {phase['cpu_us_per_reg']:.1f} us/reg ({phase['cpu_seconds']:.2f} s, "
                  f"kernel {phase['kernel_us_per_reg']:.1f} us/reg) "
                  f"page faults {phase['faults_per_reg']:.2f}/reg "
                  f"start rss {phase['start_rss_kib'] / 1024:.1f} MB "
                  f"peak rss {phase['vm_hwm_kib'] / 1024:.1f} MB "
                  f"resp {phase['response_ms']:.2f} ms", flush=True)
            if args.zero_after_warmup:
                subprocess.run(["callgrind_control", "--dump", str(server.process.pid)], check=False)
            if args.quiet_seconds:
                b.quiet_memory(server, phase, args.quiet_seconds)
                print(f"quiet rss {phase['vm_rss_kib'] / 1024:.1f} MB pss {phase['pss_kib'] / 1024:.1f} MB")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
