#!/usr/bin/python3
"""End-to-end benchmark of one deltaport worker (bench/e2e.sh runs this).

Prepares a topic in the embedded Kafka with `deltaport produce` (about
300-byte events, 15 skewed names), starts the Databricks emulator, then runs
side by side:

  A  kcat draining the topic, pinned to one core;
  B  one `deltaport run` worker pinned to one core, from its start to the
     commit of the last offset (its whole process: poll and loader threads);
  C  the reference Python worker (bench/ref_worker.py) on a prefix of the
     topic, pinned to one core;
  D  two workers in one group, one per core.

The broker, the emulator and this script run on the other core (core 0);
the measured processes on core 1. CPU seconds are user + system time of the
whole process (all threads) from /proc or wait4(), which a shared machine
disturbs much less than wall-clock time; every wall-clock figure comes with
the load average. Prints a table, writes e2e.json and, when gnuplot is
installed, e2e.png into --out.

Targets (checked unless --no-targets): B's events per CPU second >= 0.6 x
kcat's events per second; B's peak RSS <= flush.memory_budget_bytes + 64 MiB;
with --soak S, no RSS growth over the soak (after a warm-up).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer, TopicPartition

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


CORES = sorted(os.sched_getaffinity(0))


def core(n):
    """Core n as taskset wants it; with fewer cores than two, everything
    shares the first one (the figures then mean less, the harness still runs)."""
    return str(CORES[n] if n < len(CORES) else CORES[0])


def log(msg):
    print("e2e: " + msg, file=sys.stderr, flush=True)


def loadavg():
    return round(os.getloadavg()[0], 2)


def proc_cpu_s(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_minflt(pid):
    """Minor page faults of every thread of pid: fresh memory touched."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def proc_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_measured(argv, cpu, env=None, stdout=subprocess.DEVNULL):
    """Runs argv pinned to `cpu`; returns wall s, CPU s, peak RSS KiB, exit
    status and its stdout (when captured)."""
    t0 = time.monotonic()
    p = subprocess.Popen(["taskset", "-c", core(cpu)] + argv, env=env, stdout=stdout,
                         stderr=subprocess.PIPE)
    out = p.stdout.read() if p.stdout else b""
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-4000:])
        raise SystemExit("e2e: %s exited %d" % (argv[0], p.returncode))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out


class Env:
    """The embedded Kafka and the Databricks emulator, on core 0."""

    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="deltaport-e2e.")
        self.procs = []
        self.bin = a.bin
        mock = os.path.join(a.bin, "tools/kafka-mock/deltaport-kafka-mock")
        emu = os.path.join(a.bin, "tools/dbx-emulator/deltaport-dbx-emulator")
        self.mock = mock
        self.kafka_log = open(os.path.join(self.work, "kafka.log"), "wb")
        self.procs.append(subprocess.Popen(
            ["taskset", "-c", core(0), mock, "--brokers", "1", "--topic",
             "events:%d" % a.partitions, "--bootstrap-file", os.path.join(self.work, "bs"),
             "--control", os.path.join(self.work, "ctl")],
            stdout=subprocess.DEVNULL, stderr=self.kafka_log))
        self.emu_out = open(os.path.join(self.work, "emulator.out"), "wb+")
        self.procs.append(subprocess.Popen(
            ["taskset", "-c", core(0), emu, "--port", "0", "--state-dir",
             os.path.join(self.work, "databricks"), "--client", "bench:bench-secret"],
            stdout=self.emu_out, stderr=open(os.path.join(self.work, "emulator.log"), "wb")))
        self.bootstrap = self.host = None
        for _ in range(200):
            bs = os.path.join(self.work, "bs")
            if os.path.exists(bs) and os.path.getsize(bs) > 0:
                self.bootstrap = open(bs).read().strip()
            with open(os.path.join(self.work, "emulator.out")) as f:
                m = re.search(r"^LISTENING (\S+)", f.read(), re.M)
                if m:
                    self.host = m.group(1)
            if self.bootstrap and self.host:
                break
            time.sleep(0.1)
        if not (self.bootstrap and self.host):
            raise SystemExit("e2e: the embedded Kafka or the emulator did not start (%s)" % self.work)

    def ctl(self, *args):
        return subprocess.run([self.mock, "ctl", os.path.join(self.work, "ctl")] + list(args),
                              check=True, capture_output=True, text=True).stdout

    def watermarks(self):
        """(sum of low, sum of high) watermarks of the topic."""
        out = self.ctl("watermarks", "events").split()
        lo = hi = 0
        for pm in out[1:]:
            l, h = pm.split("=", 1)[1].split(":")
            lo += int(l)
            hi += int(h)
        return lo, hi

    def config(self, name, workers_budget=None):
        a = self.a
        cfg = {
            "kafka": {"bootstrap_servers": self.bootstrap, "topics": ["events"],
                      "group_id": "bench-" + name, "initial_position": "earliest",
                      "properties": dict({"session.timeout.ms": 10000,
                                          "heartbeat.interval.ms": 1000},
                                         **json.loads(os.environ.get("E2E_KAFKA_PROPS", "{}")))},
            "schemas": {"dir": os.path.join(ROOT, "schemas")},
            "routing": {"mode": "threshold", "threshold": 2000, "stats_refresh_s": 60},
            "flush": {"max_events": a.max_events, "max_bytes": a.max_bytes,
                      "max_age_ms": 2000, "memory_budget_bytes": a.budget},
            "databricks": {"host": self.host, "allow_insecure_http": True,
                           "warehouse_id": "emulator-wh", "catalog": "main",
                           "schema": "bench_" + name, "volume": "staging",
                           "create_schema": True, "auth": "oauth", "client_id": "bench",
                           "statement_wait_timeout_s": 10},
            "http": {"listen": "127.0.0.1:0"},
            "log": {"level": os.environ.get("E2E_LOG_LEVEL", "info")},
            "worker": {"shutdown_timeout_ms": 20000},
        }
        if name == "soak":
            # The emulator runs a backfill's DELETE on its one SQLite file, and
            # every other statement waits for it (minutes once the file holds
            # two million rows; a warehouse runs them side by side): the load
            # stalls and the flushes fill to max_bytes. The soak measures the
            # worker's memory at a steady rate, so it leaves backfill out.
            cfg["routing"]["backfill_on_promotion"] = False
        path = os.path.join(self.work, "config-%s.json" % name)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        return path

    def worker_env(self, wid):
        env = dict(os.environ)
        env["DELTAPORT_DATABRICKS_CLIENT_SECRET"] = "bench-secret"
        env["DELTAPORT_WORKER_ID"] = wid
        return env

    def query(self, config, sql):
        out = subprocess.run([os.path.join(self.bin, "src/deltaport"), "query", "--config",
                              config, "--tsv", sql], env=self.worker_env("bench-query"),
                             check=True, capture_output=True, text=True).stdout
        return out.splitlines()[1:]

    def close(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.a.keep:
            log("work directory kept: " + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def committed_total(c, partitions):
    """Sum of the group's committed offsets (c: a consumer of that group that
    never joins it)."""
    parts = c.committed([TopicPartition("events", p) for p in range(partitions)], timeout=10)
    return sum(tp.offset for tp in parts if tp.offset >= 0)


def run_workers(env, name, cpus, expected, wrap=None, perf=None):
    """Starts one worker per cpu in group bench-<name>; returns when the group
    has committed `expected` offsets. CPU and peak RSS are read from /proc at
    that moment; then the workers get SIGTERM. On any failure the workers are
    killed."""
    procs = []
    try:
        return measure_workers(env, name, cpus, expected, wrap, perf, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


def measure_workers(env, name, cpus, expected, wrap, perf, procs):
    a = env.a
    cfg = env.config(name)
    logs = []
    t0 = time.monotonic()
    la0 = loadavg()
    for i, cpu in enumerate(cpus):
        lf = open(os.path.join(env.work, "worker-%s-%d.log" % (name, i)), "wb")
        logs.append(lf)
        procs.append(subprocess.Popen(
            ["taskset", "-c", core(cpu)] + (wrap.split() if wrap else []) +
            [os.path.join(env.bin, "src/deltaport"), "run", "--config", cfg],
            env=env.worker_env("bench-%s-%d" % (name, i)),
            stdout=subprocess.DEVNULL, stderr=lf))
    recorder = None
    if perf:
        # perf's software clock works where hardware counters do not (VMs).
        recorder = subprocess.Popen(["perf", "record", "-e", os.environ.get("E2E_PERF_EVENT", "cpu-clock"), "-F", "499", "--call-graph", os.environ.get("E2E_PERF_CG", "fp"),
                                     "-o", perf, "-p", str(procs[0].pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    done = 0
    deadline = t0 + a.timeout
    watch = Consumer({"bootstrap.servers": env.bootstrap, "group.id": "bench-" + name,
                      "enable.auto.commit": False})
    while True:
        time.sleep(0.25)
        for p in procs:
            if p.poll() is not None:
                raise SystemExit("e2e: worker of run %s exited %d (logs in %s)"
                                 % (name, p.returncode, env.work))
        done = committed_total(watch, a.partitions)
        samples.append((time.monotonic() - t0, sum(proc_rss_kib(p.pid) for p in procs)))
        if done >= expected:
            break
        if time.monotonic() > deadline:
            a.keep = True
            raise SystemExit("e2e: run %s committed %d of %d in %d s (logs in %s)"
                             % (name, done, expected, a.timeout, env.work))
    wall = time.monotonic() - t0
    cpu = sum(proc_cpu_s(p.pid) for p in procs)
    minflt = sum(proc_minflt(p.pid) for p in procs)
    hwm = [proc_hwm_kib(p.pid) for p in procs]
    la1 = loadavg()
    watch.close()
    if recorder:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(600 if wrap else 60)
    for lf in logs:
        lf.close()
    for p in procs:
        if p.returncode != 0:
            a.keep = True
            raise SystemExit("e2e: a worker of run %s exited %d after SIGTERM (logs in %s)"
                             % (name, p.returncode, env.work))
    loaded = int(env.query(cfg, "SELECT COALESCE(SUM(rows), 0) FROM sync_runs "
                           "WHERE status = 'LOADED'")[0])
    if loaded != expected:
        a.keep = True
        raise SystemExit("e2e: run %s loaded %d rows for %d events (logs in %s)"
                         % (name, loaded, expected, env.work))
    return {"events": expected, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "peak_rss_mib": round(max(hwm) / 1024, 1), "workers": len(procs),
            "page_faults_per_event": round(minflt / expected, 3),
            "load_avg": [la0, la1], "rss_samples": samples}


def derive(r):
    r["events_per_s"] = round(r["events"] / r["wall_s"])
    r["cpu_s_per_million"] = round(r["cpu_s"] * 1e6 / r["events"], 3)
    r["events_per_cpu_s"] = round(r["events"] / r["cpu_s"]) if r["cpu_s"] > 0 else None
    return r


def run_kcat(env, n):
    la0 = loadavg()
    wall, cpu, rss, _ = run_measured(["kcat", "-C", "-b", env.bootstrap, "-t", "events", "-e",
                                      "-q", "-o", "beginning"], 1)
    return derive({"events": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                   "peak_rss_mib": round(rss / 1024, 1), "load_avg": [la0, loadavg()]})


def run_python(env, n):
    la0 = loadavg()
    wall, cpu, rss, out = run_measured(
        [sys.executable, os.path.join(ROOT, "bench/ref_worker.py"), "--bootstrap", env.bootstrap,
         "--topic", "events", "--group", "bench-c", "--schemas", os.path.join(ROOT, "schemas"),
         "--count", str(n), "--out", os.path.join(env.work, "python-out"),
         "--batch", str(min(20000, n))], 1, stdout=subprocess.PIPE)
    info = json.loads(out.decode().strip().splitlines()[-1])
    if info["consumed"] != n:
        raise SystemExit("e2e: the Python worker consumed %d of %d" % (info["consumed"], n))
    return derive({"events": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                   "peak_rss_mib": round(rss / 1024, 1), "load_avg": [la0, loadavg()],
                   "rejected": info["rejected"]})


def scrape(logpath, port=[None]):
    """What the soak worker holds, from its /metrics: the open and loading
    flushes' bytes and the fetch lag (messages read by Kafka's client but not
    yet by the worker, plus those still at the broker), or None."""
    import urllib.request
    if port[0] is None:
        try:
            m = re.search(rb"serving /metrics.* \(port (\d+)\)", open(logpath, "rb").read())
        except OSError:
            m = None
        if not m:
            return None
        port[0] = int(m.group(1))
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port[0], timeout=2).read()
    except OSError:
        return None
    got = {"open": 0, "loading": 0, "fetch_lag": 0}
    for line in body.decode().splitlines():
        m = re.match(r'deltaport_buffer_bytes\{flush="(open|loading)"\} (\d+)', line)
        if m:
            got[m.group(1)] = int(m.group(2))
        elif line.startswith("deltaport_kafka_consumer_fetch_lag{"):
            got["fetch_lag"] += int(float(line.rsplit(" ", 1)[1]))
    return got


def soak(env, seconds, rate, burst=0):
    """One worker for `seconds` while events arrive at `rate`/s (in batches of
    up to a second per partition: the embedded broker finds a fetch's offset by
    walking a partition's batches, and at 5,000 one-event batches per second
    it stalled after about 330 s); RSS sampled
    every 5 s. Growth: the largest RSS of the last third minus the largest of
    the first third after a 60 s warm-up (or a sixth of the soak). With
    `burst`, that many more events arrive as fast as the producer can send
    them when the first third ends: the last third then shows whether the
    memory the burst needed was given back."""
    a = env.a
    cfg = env.config("soak")
    lf = open(os.path.join(env.work, "worker-soak.log"), "wb")
    w = subprocess.Popen(["taskset", "-c", core(1), os.path.join(env.bin, "src/deltaport"), "run",
                          "--config", cfg], env=env.worker_env("bench-soak"),
                         stdout=subprocess.DEVNULL, stderr=lf)
    prod = subprocess.Popen(["taskset", "-c", core(0), os.path.join(env.bin, "src/deltaport"),
                             "produce", "--bootstrap", env.bootstrap, "--topic", "events",
                             "--count", str(int(rate * seconds)), "--rate", str(rate),
                             "--seed", "11", "--quiet", "--property", "linger.ms=1000"],
                            stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    warm = min(60, seconds / 6)
    burst_at = warm + (seconds - warm) / 3
    bursting = None
    samples = []
    held = []
    try:
        while time.monotonic() - t0 < seconds:
            time.sleep(5)
            if burst and bursting is None and time.monotonic() - t0 >= burst_at:
                log("soak: a burst of %d events at %.0f s" % (burst, time.monotonic() - t0))
                bursting = subprocess.Popen(
                    ["taskset", "-c", core(0), os.path.join(env.bin, "src/deltaport"), "produce",
                     "--bootstrap", env.bootstrap, "--topic", "events", "--count", str(burst),
                     "--seed", "12", "--quiet"], stdout=subprocess.DEVNULL)
            if w.poll() is not None:
                raise SystemExit("e2e: the soak worker exited %d (log in %s)"
                                 % (w.returncode, env.work))
            samples.append((round(time.monotonic() - t0, 1), proc_rss_kib(w.pid)))
            held.append((samples[-1][0], scrape(lf.name)))
        for p in (prod, bursting):
            try:
                if p:
                    p.wait(120)
            except subprocess.TimeoutExpired:
                log("soak: a producer had not finished 120 s after the soak (a stalled broker)")
        cpu = proc_cpu_s(w.pid)
        w.send_signal(signal.SIGTERM)
        w.wait(60)
    finally:
        for p in (w, prod, bursting):
            if p and p.poll() is None:
                p.kill()
                p.wait(10)
        lf.close()
    body = [s for s in samples if s[0] >= warm]
    third = max(1, len(body) // 3)
    first = max(r for _, r in body[:third])
    last = max(r for _, r in body[-third:])
    return {"seconds": seconds, "rate": rate, "burst": burst, "cpu_s": round(cpu, 2),
            "cpu_s_per_million": round(cpu * 1e6 / (rate * seconds + burst), 2),
            "rss_first_third_mib": round(first / 1024, 1),
            "rss_last_third_mib": round(last / 1024, 1),
            "growth_mib": round((last - first) / 1024, 1), "samples": samples,
            "held": held}


def table(res):
    rows = [("A kcat (1 core)", res.get("A")), ("B deltaport (1 core)", res.get("B")),
            ("C Python reference", res.get("C")), ("D 2 deltaport workers", res.get("D"))]
    lines = ["%-24s %10s %9s %11s %9s %13s %14s %9s %11s" % (
        "run", "events", "wall s", "events/s", "CPU s", "CPU s/M ev", "events/CPU s",
        "RSS MiB", "load avg")]
    for name, r in rows:
        if not r:
            continue
        lines.append("%-24s %10d %9.2f %11d %9.2f %13.2f %14s %9.1f %11s" % (
            name, r["events"], r["wall_s"], r["events_per_s"], r["cpu_s"],
            r["cpu_s_per_million"], r["events_per_cpu_s"], r["peak_rss_mib"],
            "%.2f/%.2f" % tuple(r["load_avg"])))
    r = res.get("ratios", {})
    if "B/A" in r:
        lines.append("B/A (B's events per CPU s / kcat's events per s) = %.3f" % r["B/A"])
    if "B/C" in r:
        lines.append("B/C (events per CPU s) = %.1f" % r["B/C"])
    return "\n".join(lines)


def chart(res, out, baseline=None):
    """e2e.png: events per CPU second of every run (B from `baseline`, an
    earlier e2e.json, as "before" when given), with kcat's wall-clock rate
    (what the broker delivers to one consumer) and the 0.6 x target as lines."""
    if not shutil.which("gnuplot"):
        log("gnuplot not installed: no chart")
        return
    data = os.path.join(out, "e2e.dat")
    bars = [("kcat", res.get("A"))]
    if baseline and baseline.get("B"):
        bars.append(("deltaport before", baseline["B"]))
    bars += [("deltaport", res.get("B")), ("2 workers", res.get("D")),
             ("Python", res.get("C"))]
    bars = [(label, r) for label, r in bars if r and r.get("events_per_cpu_s")]
    if not bars:
        return
    with open(data, "w") as f:
        for label, r in bars:
            f.write('"%s" %d\n' % (label, r["events_per_cpu_s"]))
    lines = ""
    if res.get("A"):
        a = res["A"]["events_per_s"]
        lines = ("%d title \"kcat, events per wall-clock second (the broker's rate)\" "
                 "lw 2 dt 1, %d title \"0.6 x kcat (target)\" lw 2 dt 2" % (a, int(0.6 * a)))
    script = """
set terminal pngcairo size 900,500 noenhanced font ",11"
set output '%s'
set title "events per CPU second, one process (%d events, %s)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set logscale y
set yrange [1000:5000000]
set ylabel "events per CPU second (log scale)"
set key top right
set grid ytics
plot '%s' using 2:xtic(1) title "events per CPU second"%s
""" % (os.path.join(out, "e2e.png"), res["events"], res["when"], data,
       (", " + lines) if lines else "")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="build tree with src/deltaport and tools/ (required to run)")
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--partitions", type=int, default=128)
    ap.add_argument("--python-events", type=int, default=30000)
    ap.add_argument("--max-events", type=int, default=100000, help="flush.max_events")
    ap.add_argument("--max-bytes", default="64MiB", help="flush.max_bytes")
    ap.add_argument("--budget", default="256MiB", help="flush.memory_budget_bytes")
    ap.add_argument("--runs", default="ABCD", help="which runs, e.g. AB")
    ap.add_argument("--soak", type=int, default=0, help="seconds of RSS soak (0: none)")
    ap.add_argument("--soak-rate", type=int, default=5000)
    ap.add_argument("--soak-burst", type=int, default=0,
                    help="events sent at once when the soak's first third ends")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per worker run")
    ap.add_argument("--out", default=os.path.join(ROOT, "build/bench/e2e"))
    ap.add_argument("--no-targets", action="store_true", help="report only (the ctest form)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--perf", help="perf record -e cpu-clock of run B's worker into this file")
    ap.add_argument("--chart-from", help="only draw e2e.png from this e2e.json")
    ap.add_argument("--baseline", help="an earlier e2e.json whose B is drawn as 'before'")
    ap.add_argument("--wrap", help="command prefix for run B's worker, e.g. "
                    "'valgrind --tool=callgrind --callgrind-out-file=F' (profiles)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    baseline = json.load(open(a.baseline)) if a.baseline else None
    if a.chart_from:
        chart(json.load(open(a.chart_from)), a.out, baseline)
        return 0
    if not a.bin:
        ap.error("--bin is required")
    os.sched_setaffinity(0, {int(core(0))})
    res = {"events": a.events, "partitions": a.partitions,
           "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "config": {
               "max_events": a.max_events, "max_bytes": a.max_bytes, "budget": a.budget},
           "uptime_load_avg_start": list(os.getloadavg())}
    env = Env(a)
    try:
        log("Kafka at %s, emulator at %s; producing %d events into %d partitions"
            % (env.bootstrap, env.host, a.events, a.partitions))
        subprocess.run(["taskset", "-c", core(0), os.path.join(a.bin, "src/deltaport"), "produce",
                        "--bootstrap", env.bootstrap, "--topic", "events", "--count",
                        str(a.events), "--seed", "3", "--quiet"], check=True)
        lo, hi = env.watermarks()
        if lo != 0 or hi != a.events:
            raise SystemExit("e2e: the broker holds %d..%d of %d events: use more partitions"
                             % (lo, hi, a.events))
        if "A" in a.runs:
            res["A"] = run_kcat(env, a.events)
            log("A kcat: %d events/s" % res["A"]["events_per_s"])
        if "B" in a.runs:
            res["B"] = derive(run_workers(env, "b", [1], a.events, a.wrap, a.perf))
            log("B worker: %.2f CPU s per million events" % res["B"]["cpu_s_per_million"])
        if "C" in a.runs:
            res["C"] = run_python(env, min(a.python_events, a.events))
            log("C Python: %d events/s" % res["C"]["events_per_s"])
        if "D" in a.runs:
            res["D"] = derive(run_workers(env, "d", [0, 1], a.events))
            log("D two workers: %d events/s" % res["D"]["events_per_s"])
        if a.soak:
            res["soak"] = soak(env, a.soak, a.soak_rate, a.soak_burst)
            log("soak: RSS %.1f -> %.1f MiB" % (res["soak"]["rss_first_third_mib"],
                                                res["soak"]["rss_last_third_mib"]))
    finally:
        env.close()
    ratios = {}
    if "A" in res and "B" in res:
        ratios["B/A"] = round(res["B"]["events_per_cpu_s"] / res["A"]["events_per_s"], 3)
    if "C" in res and "B" in res:
        ratios["B/C"] = round(res["B"]["events_per_cpu_s"] / res["C"]["events_per_cpu_s"], 1)
    res["ratios"] = ratios
    failures = []
    if not a.no_targets:
        if "B/A" in ratios and ratios["B/A"] < 0.6:
            failures.append("B/A = %.3f < 0.6" % ratios["B/A"])
        budget = parse_bytes(a.budget)
        if "B" in res and res["B"]["peak_rss_mib"] * MIB > budget + 64 * MIB:
            failures.append("B peak RSS %.1f MiB > budget + 64 MiB" % res["B"]["peak_rss_mib"])
        if "soak" in res and res["soak"]["growth_mib"] > 8:
            failures.append("soak RSS grew %.1f MiB" % res["soak"]["growth_mib"])
    res["targets"] = "not checked" if a.no_targets else (failures or "met")
    res["uptime_load_avg_end"] = list(os.getloadavg())
    with open(os.path.join(a.out, "e2e.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(table(res))
    if "soak" in res:
        s = res["soak"]
        print("soak %d s at %d events/s: %.2f CPU s per million events; RSS max %.1f MiB in the "
              "first third, %.1f MiB in the last (growth %.1f MiB)"
              % (s["seconds"], s["rate"], s["cpu_s_per_million"], s["rss_first_third_mib"],
                 s["rss_last_third_mib"], s["growth_mib"]))
    print("targets: %s" % (res["targets"] if isinstance(res["targets"], str)
                           else "; ".join(res["targets"])))
    print("results: %s" % os.path.join(a.out, "e2e.json"))
    chart(res, a.out, baseline)
    return 1 if failures else 0


def parse_bytes(s):
    m = re.fullmatch(r"(\d+)\s*(KiB|MiB|GiB)?", s)
    return int(m.group(1)) * {None: 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB}[m.group(2)]


if __name__ == "__main__":
    sys.exit(main())
