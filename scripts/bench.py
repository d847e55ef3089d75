#!/usr/bin/env python3
"""make bench: cairn against restic and borg (and kopia when on PATH) on the
dataset of ../shared/bench/mkdata.sh, side by side in one run.

Steps per tool: initial backup, unchanged re-backup, backup after
`mkdata.sh mutate`, full restore (verified byte-identical), check reading all
data, peak RSS of the initial backup, repository size. Medians of BENCH_RUNS
runs (default 3). Prints a table of medians and ratios to restic and writes
docs/benchmarks.md.

Environment: BENCH_DIR (dataset cache, default /var/tmp/cairn-bench),
BENCH_RUNS, BENCH_TOOLS (comma list, default cairn,restic,borg,kopia),
CAIRN_BIN (default bin/cairn).
"""
import json, os, platform, resource, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
MKDATA = os.path.join(SHARED, "bench", "mkdata.sh")
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp/cairn-bench")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CAIRN = os.environ.get("CAIRN_BIN", os.path.join(ROOT, "bin", "cairn"))
PASSWORD = "bench-password-not-secret"


def sh(*args, env=None, check=True, quiet=True):
    return subprocess.run(args, env=env, check=check,
                          stdout=subprocess.DEVNULL if quiet else None,
                          stderr=subprocess.PIPE if quiet else None)


def timed(args, env):
    """Run a command; return (seconds, peak RSS MiB, CPU utilisation %).

    Dirty pages left by earlier steps are written out first: otherwise a
    step (above all a restore of 3 GiB) is throttled by the kernel writing
    back the previous step's data, and measures the disk, not the tool."""
    os.sync()
    t0 = time.perf_counter()
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    el = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited {code}: {err[-2000:]}")
    cpu = (ru.ru_utime + ru.ru_stime) / el * 100 if el > 0 else 0
    return el, ru.ru_maxrss / 1024, cpu


def ensure_tools():
    missing = [pkg for cmd, pkg in (("restic", "restic"), ("borg", "borgbackup")) if not shutil.which(cmd)]
    if missing and os.geteuid() == 0:
        sh("apt-get", "update", "-qq", check=False)
        sh("apt-get", "install", "-y", "-qq", *missing, check=False)


def ensure_data():
    data = os.path.join(BENCH_DIR, "data")
    marker = os.path.join(BENCH_DIR, ".generated")
    if not os.path.exists(marker):
        print(f"generating the dataset in {BENCH_DIR} (once; takes a few minutes)", flush=True)
        sh("bash", MKDATA, "gen", BENCH_DIR, quiet=False)
        open(marker, "w").close()
    else:
        sh("bash", MKDATA, "reset", BENCH_DIR)
    return data


class Tool:
    name = ""

    def __init__(self, work):
        self.work = work
        self.repo = os.path.join(work, "repo")
        self.env = dict(os.environ)

    def du(self):
        total = 0
        for dp, _, fs in os.walk(self.repo):
            for f in fs:
                try:
                    total += os.lstat(os.path.join(dp, f)).st_size
                except OSError:
                    pass
        return total


class Cairn(Tool):
    name = "cairn"

    def __init__(self, work):
        super().__init__(work)
        self.env.update(CAIRN_REPOSITORY=self.repo, CAIRN_PASSWORD=PASSWORD,
                        CAIRN_CACHE_DIR=os.path.join(work, "cache"))

    def init(self): sh(CAIRN, "init", env=self.env)
    def backup(self, src): return [CAIRN, "backup", "--quiet", src]
    def restore(self, dst): return [CAIRN, "restore", "latest", "--quiet", "--target", dst]
    def check(self): return [CAIRN, "check", "--read-data", "--quiet"]


class Restic(Tool):
    name = "restic"

    def __init__(self, work):
        super().__init__(work)
        self.env.update(RESTIC_REPOSITORY=self.repo, RESTIC_PASSWORD=PASSWORD,
                        RESTIC_CACHE_DIR=os.path.join(work, "cache"))

    def init(self): sh("restic", "init", env=self.env)
    def backup(self, src): return ["restic", "backup", "--quiet", src]
    def restore(self, dst): return ["restic", "restore", "latest", "--quiet", "--target", dst]
    def check(self): return ["restic", "check", "--read-data", "--quiet"]


class Borg(Tool):
    name = "borg"
    n = 0

    def __init__(self, work):
        super().__init__(work)
        self.env.update(BORG_REPO=self.repo, BORG_PASSPHRASE=PASSWORD,
                        BORG_CACHE_DIR=os.path.join(work, "cache"), BORG_BASE_DIR=work,
                        BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes")

    def init(self): sh("borg", "init", "--encryption=repokey-blake2", env=self.env)

    def backup(self, src):
        Borg.n += 1
        return ["borg", "create", "--compression", "zstd,3", f"::a{Borg.n}-{time.time_ns()}", src]

    def restore(self, dst):
        last = subprocess.run(["borg", "list", "--last", "1", "--short"], env=self.env,
                              capture_output=True, text=True, check=True).stdout.strip()
        return ["sh", "-c", f'cd "{dst}" && exec borg extract --sparse "::{last}"']

    def check(self): return ["borg", "check", "--verify-data"]


TOOLS = {"cairn": Cairn, "restic": Restic, "borg": Borg}
STEPS = ["initial backup", "unchanged re-backup", "backup after mutate", "full restore", "check, reading all data"]


def verify_restore(data, dst):
    restored = os.path.join(dst, data.lstrip("/"))
    r = subprocess.run(["diff", "-r", "--no-dereference", data, restored], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"restore differs from source: {r.stdout[:500]!r}")


def run_tool(cls, data):
    res = {s: [] for s in STEPS}
    res["peak RSS, initial backup (MiB)"] = []
    res["CPU %, initial backup"] = []
    res["CPU %, restore"] = []
    res["repository size (MB)"] = []
    for i in range(RUNS):
        sh("bash", MKDATA, "reset", BENCH_DIR)
        work = tempfile.mkdtemp(prefix=f"bench-{cls.name}-", dir=BENCH_DIR)
        try:
            t = cls(work)
            t.init()
            el, rss, cpu = timed(t.backup(data), t.env)
            res["initial backup"].append(el)
            res["peak RSS, initial backup (MiB)"].append(rss)
            res["CPU %, initial backup"].append(cpu)
            res["unchanged re-backup"].append(timed(t.backup(data), t.env)[0])
            sh("bash", MKDATA, "mutate", BENCH_DIR)
            res["backup after mutate"].append(timed(t.backup(data), t.env)[0])
            dst = os.path.join(work, "restore")
            os.makedirs(dst)
            el, _, cpu = timed(t.restore(dst), t.env)
            res["full restore"].append(el)
            res["CPU %, restore"].append(cpu)
            verify_restore(data, dst)
            shutil.rmtree(dst)
            res["check, reading all data"].append(timed(t.check(), t.env)[0])
            res["repository size (MB)"].append(t.du() / 1e6)
            print(f"  {cls.name} run {i+1}/{RUNS}: " + ", ".join(f"{k}={v[-1]:.2f}" for k, v in res.items()), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    sh("bash", MKDATA, "reset", BENCH_DIR)
    return {k: statistics.median(v) for k, v in res.items()}


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"


def main():
    os.makedirs(BENCH_DIR, exist_ok=True)
    ensure_tools()
    data = ensure_data()
    want = os.environ.get("BENCH_TOOLS", "cairn,restic,borg").split(",")
    results = {}
    for name in want:
        cls = TOOLS.get(name)
        if cls is None:
            continue
        exe = CAIRN if name == "cairn" else shutil.which(name)
        if not exe or not os.path.exists(exe):
            print(f"skipping {name}: not installed")
            continue
        print(f"benchmarking {name} ({RUNS} runs)", flush=True)
        results[name] = run_tool(cls, data)
    rows = STEPS + ["CPU %, initial backup", "CPU %, restore", "peak RSS, initial backup (MiB)", "repository size (MB)"]
    names = list(results)
    head = "| step | " + " | ".join(names) + (" | cairn / restic |" if "restic" in results and "cairn" in results else " |")
    lines = [head, "|" + "---|" * (len(names) + 1 + ("restic" in results and "cairn" in results))]
    for r in rows:
        cells = []
        for n in names:
            v = results[n][r]
            cells.append(f"{v:.2f} s" if r in STEPS else f"{v:.0f}")
        line = f"| {r} | " + " | ".join(cells)
        if "restic" in results and "cairn" in results:
            ratio = results["cairn"][r] / results["restic"][r] if results["restic"][r] else float("nan")
            line += f" | {ratio:.2f}x"
        lines.append(line + " |")
    table = "\n".join(lines)
    print(table)
    doc = ["# Benchmarks", "",
           f"Generated by `make bench` on {time.strftime('%Y-%m-%d')}: medians of {RUNS} runs, warm page cache.", "",
           f"Machine: {machine()}.", "",
           "Tools: " + ", ".join(f"{n} ({version({'cairn': [CAIRN, '--version'], 'restic': ['restic', 'version'], 'borg': ['borg', '--version']}[n])})" for n in names) + ".", "",
           "Dataset: `../shared/bench/mkdata.sh gen` (Go sources, a pgbench SQL dump, a 2 GiB sparse disk image, incompressible data); "
           "`backup after mutate` runs after `mkdata.sh mutate`. Every restore was verified with `diff -r`.", "",
           table, ""]
    with open(os.path.join(ROOT, "docs", "benchmarks.md"), "w") as f:
        f.write("\n".join(doc))
    with open(os.path.join(BENCH_DIR, "last.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
