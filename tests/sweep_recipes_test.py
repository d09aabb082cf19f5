#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The sweep recipes in assets/ (a Kubernetes Indexed Job, a GitHub Actions matrix): the shard arguments each
# produces cover every run of the sweep exactly once, and the merge gathers what the shards wrote.
# Standard library only: a few fields are read line by line; PyYAML, where installed, checks the structure too.
# Usage: sweep_recipes_test.py SOURCE_DIR
import re
import shlex
import sys

SRC = sys.argv[1]
fails = 0


def check(what, cond):
    global fails
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fails += 1


def runs_of(sweep_args):
    """The run count of a sweep's arguments: seeds x repeat x scenarios (one scenario: the default)."""
    words = shlex.split(sweep_args)
    seeds = words[words.index("--seeds") + 1]
    a, _, b = seeds.partition("..")
    nseeds = int(b or a) - int(a) + 1
    repeat = int(words[words.index("--repeat") + 1]) if "--repeat" in words else 1
    return nseeds * repeat


def covered_once(total, shard_args):
    """Shard I/N owns the runs whose index is I modulo N (sim/harness/sweep.h)."""
    owners = [0] * total
    for arg in shard_args:
        i, n = (int(x) for x in arg.split("/"))
        if not 0 <= i < n:
            return False
        for idx in range(i, total, n):
            owners[idx] += 1
    return all(c == 1 for c in owners)


def field(text, key):
    m = re.search(r"^\s*%s:\s*(\S+)\s*$" % re.escape(key), text, re.M)
    return m.group(1) if m else None


# ---- Kubernetes ----
job = open(SRC + "/assets/k8s/sweep-job.yaml").read()
merge = open(SRC + "/assets/k8s/sweep-merge-job.yaml").read()
check("k8s: an Indexed Job", field(job, "completionMode") == "Indexed")
completions = int(field(job, "completions"))
shards_env = re.search(r"name:\s*SHARDS\s*\n\s*value:\s*\"?(\d+)\"?", job)
check("k8s: SHARDS equals completions", shards_env and int(shards_env.group(1)) == completions)
check("k8s: restartPolicy Never (podFailurePolicy needs it)", field(job, "restartPolicy") == "Never")
# The container's command line: the folded block after "args:", with the pod's index and SHARDS put in.
block = re.search(r"args:\s*\n\s*- >-\s*\n((?:\s{14,}.*\n)+)", job)
cmdline = " ".join(line.strip() for line in block.group(1).splitlines()) if block else ""
sweep = cmdline.split("exec loopsim sweep", 1)[1] if "exec loopsim sweep" in cmdline else ""
check("k8s: the pod runs loopsim sweep", bool(sweep))
pods = [sweep.replace("$JOB_COMPLETION_INDEX", str(i)).replace("$SHARDS", str(completions))
        for i in range(completions)]
shards = [shlex.split(p)[shlex.split(p).index("--shard") + 1] for p in pods]
check("k8s: the pods' --shard cover every run exactly once", covered_once(runs_of(sweep), shards))
outs = [shlex.split(p)[shlex.split(p).index("--out") + 1] for p in pods]
check("k8s: each pod writes a folder of its own", len(set(outs)) == completions)
check("k8s: a retried pod starts from an empty folder", 'rm -rf "/results/shard-$JOB_COMPLETION_INDEX"' in cmdline)
check("k8s: the merge takes every shard's folder",
      "loopsim sweep merge /results/shard-*" in merge and all(re.fullmatch(r"/results/shard-\d+", o) for o in outs))

try:
    import yaml  # optional: the structure, where PyYAML is installed
except ImportError:
    yaml = None
if yaml:
    docs = [d for d in yaml.safe_load_all(job) if d]
    spec = next(d for d in docs if d["kind"] == "Job")["spec"]
    rules = spec["podFailurePolicy"]["rules"]

    def action_for_exit(code):
        for r in rules:
            e = r.get("onExitCodes")
            if e and e["operator"] == "In" and code in e["values"]:
                return r["action"]
        return None

    check("k8s (yaml): a desync (exit 1) is not retried", action_for_exit(1) in ("FailIndex", "FailJob"))
    check("k8s (yaml): bad usage (exit 2) fails the Job", action_for_exit(2) == "FailJob")
    check("k8s (yaml): an eviction is retried uncounted",
          any(r["action"] == "Ignore" and any(c["type"] == "DisruptionTarget" for c in r.get("onPodConditions", []))
              for r in rules))
    check("k8s (yaml): FailIndex has a per-index backoff", spec.get("backoffLimitPerIndex", 0) > 0)
    check("k8s (yaml): parallelism and completions", spec["completions"] == completions)
    yaml.safe_load(merge)
else:
    check("k8s: a desync (exit 1) is not retried",
          re.search(r"action: FailIndex\s*\n\s*onExitCodes:(?:\s*\n\s*\w+:.*)*?\n\s*values: \[1, 3\]", job) is not None)

# ---- GitHub Actions ----
gh = open(SRC + "/assets/github/sweep.yml").read()
matrix = re.search(r"shard:\s*\[([\d,\s]+)\]", gh)
shard_list = [int(x) for x in matrix.group(1).split(",")] if matrix else []
nshards = int(re.search(r"^\s*SHARDS:\s*(\d+)", gh, re.M).group(1))
check("github: the matrix lists shards 0..SHARDS-1", shard_list == list(range(nshards)))
sweep_env = re.search(r"^\s*SWEEP:\s*(.+)$", gh, re.M).group(1)
run = re.search(r"run: build/loopsim sweep \$SWEEP (.+)$", gh, re.M)
check("github: each shard job runs loopsim sweep", run is not None)
jobs = [(sweep_env + " " + run.group(1)).replace("${{ matrix.shard }}", str(i)).replace("$SHARDS", str(nshards))
        for i in shard_list] if run else []
gh_shards = [shlex.split(j)[shlex.split(j).index("--shard") + 1] for j in jobs]
check("github: the matrix's --shard cover every run exactly once", covered_once(runs_of(sweep_env), gh_shards))
check("github: fail-fast off, so a desync does not cancel the other shards", "fail-fast: false" in gh)
check("github: a shard's folder is kept even when it found something",
      re.search(r"if: always\(\).*\n.*upload-artifact@v4\s*\n\s*with:\s*\n\s*name: shard-\$\{\{ matrix.shard \}\}", gh)
      is not None)
check("github: the merge job waits for every shard and merges them all",
      "needs: shard" in gh and "pattern: shard-*" in gh and "loopsim sweep merge shards/shard-* --out merged" in gh)
if yaml:
    wf = yaml.safe_load(gh)
    check("github (yaml): two jobs, merge after shard", wf["jobs"]["merge"]["needs"] == "shard")
    check("github (yaml): the matrix", wf["jobs"]["shard"]["strategy"]["matrix"]["shard"] == list(range(nshards)))

print("%d failure(s)" % fails)
sys.exit(1 if fails else 0)
