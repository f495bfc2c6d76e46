#!/usr/bin/env python3
"""tests/slurm/test_slurm.py CASE APP SRC WORK: jobscripts/ on a real Slurm.

A one-node Slurm (slurm_cluster.py: Debian's munged, slurmctld and slurmd,
started here and stopped by PID) runs:
  single   jobscripts/tessera.sbatch on the denoise deck, and the script that
           tessera_app --emit-sbatch writes for it: both complete, with the
           field hashes of the same deck run straight under mpirun;
  array    a job array of 3 over jobscripts/example.sets: 3 results in
           task_0..2, each with its own noise level (3 distinct noisy fields);
  chain    a PINN run cut by its time limit: Slurm's warning signal, a
           checkpoint, exit 0, then the chained job (tessera_chain.sh, same job
           name, --dependency=singleton) resumes with --resume and finishes;
           loss history and report bitwise equal to an uninterrupted run at
           another rank count;
  baddeck  a missing deck and a deck error: the job fails fast (exit 3) with
           the error in its log, and the checkpoints already in the run's
           checkpoint.dir are untouched.
Exit 77 (skipped) without root or without the Slurm programs.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from slurm_cluster import SlurmCluster, missing_programs  # noqa: E402

FAILS = []
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)
    return cond


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def job_log(work, jobid):
    for f in os.listdir(work):
        if f.endswith(f"-{jobid}.out"):
            return read(os.path.join(work, f))
    return ""


def hashes(text):
    m = re.search(r"field hashes: (.*)", text)
    return m.group(1).strip() if m else None


def single(c, app, src, work):
    deck = f"{src}/inputs/denoise.toml"
    ref = subprocess.run(["mpirun", "-n", "2", app, deck, "--set", f'run.output_dir="{work}/ref"'],
                         capture_output=True, text=True, env=ENV, timeout=300)
    want = hashes(ref.stdout)
    check(ref.returncode == 0 and want, f"direct run: exit {ref.returncode}\n{ref.stderr[-1500:]}")
    j1 = c.sbatch(["-n", "2", f"{src}/jobscripts/tessera.sbatch", deck, "--set",
                   f'run.output_dir="{work}/sb"'], cwd=work, env=dict(ENV, TESSERA_APP=app))
    # the deck's own script: tessera_app --emit-sbatch, validated, then submitted as it is
    em = subprocess.run([app, deck, "--emit-sbatch", "--ntasks", "2", "--time", "5", "--set",
                         f'run.output_dir="{work}/em"'], capture_output=True, text=True, env=ENV,
                        timeout=120)
    check(em.returncode == 0 and em.stdout.startswith("#!/bin/bash") and "#SBATCH --ntasks=2" in em.stdout
          and "#SBATCH --signal=B:USR1@120" in em.stdout, f"--emit-sbatch: exit {em.returncode}\n{em.stdout}{em.stderr}")
    with open(f"{work}/denoise.sbatch", "w") as f:
        f.write(em.stdout)
    j2 = c.sbatch([f"{work}/denoise.sbatch"], cwd=work, env=ENV)
    st = c.wait([j1, j2], 300)
    for j, what in ((j1, "tessera.sbatch"), (j2, "emitted script")):
        log = job_log(work, j)
        rec = c.job(j)
        check(st[j] == "COMPLETED" and rec.get("ExitCode") == "0:0",
              f"{what}: job {j} {st[j]} exit {rec.get('ExitCode')}\n{log[-2000:]}")
        check(hashes(log) == want, f"{what}: field hashes {hashes(log)} != direct run's {want}")
    for d in ("sb", "em"):
        check('state = "finished"' in read(f"{work}/{d}/status.toml") and os.path.exists(f"{work}/{d}/denoise.h5"),
              f"{d}: status {read(f'{work}/{d}/status.toml')!r} / denoise.h5 missing")
    # a deck error is found before anything is written
    bad = subprocess.run([app, deck, "--emit-sbatch", "--time", "2-3:4:5:6"], capture_output=True, text=True,
                         env=ENV, timeout=60)
    check(bad.returncode == 2 and bad.stdout == "" and "--time" in bad.stderr,
          f"--emit-sbatch --time 2-3:4:5:6: exit {bad.returncode}, stdout {bad.stdout!r}")
    print(f"single: tessera.sbatch job {j1} and the emitted script's job {j2} completed; hashes {want}")


def array(c, app, src, work):
    deck = f"{src}/inputs/denoise.toml"
    j = c.sbatch(["--array=0-2", "-n", "1", f"{src}/jobscripts/tessera.sbatch", deck, "--sets-file",
                  f"{src}/jobscripts/example.sets", "--set", f'run.output_dir="{work}/arr"'],
                 cwd=work, env=dict(ENV, TESSERA_APP=app))
    c.wait([j], 400)
    tasks = c.array_tasks(j)
    check(sorted(tasks) == [0, 1, 2], f"array tasks {sorted(tasks)}")
    sigmas = ["0.25", "0.5", "1.0"]   # jobscripts/example.sets
    noisy = set()
    for i, rec in tasks.items():
        check(rec.get("JobState") == "COMPLETED" and rec.get("ExitCode") == "0:0",
              f"array task {i}: {rec.get('JobState')} exit {rec.get('ExitCode')}")
        log = job_log(work, rec["JobId"])
        check(f"array task {i}: noise.sigma={sigmas[i]}" in log and
              re.search(rf"noise sigma {float(sigmas[i]):g} ", log) is not None,
              f"array task {i}: log does not show noise.sigma={sigmas[i]}\n{log[-1500:]}")
        d = f"{work}/arr/task_{i}"
        check('state = "finished"' in read(f"{d}/status.toml") and os.path.exists(f"{d}/denoise.h5"),
              f"array task {i}: no finished result in {d}")
        h = hashes(log) or ""
        noisy.add(h.split("noisy ")[-1].split()[0] if "noisy " in h else None)
    check(len(noisy) == 3 and None not in noisy, f"array: noisy fields not 3 distinct: {noisy}")
    print(f"array: job {j}: tasks 0-2 completed into task_0..2, noisy hashes {sorted(noisy)}")


def pinn_sets(out, steps):
    return ["--set", f'run.output_dir="{out}"', "--set", f'checkpoint.dir="{out}/ck"',
            "--set", "model.hidden=[64,64]", "--set", f"train.adam_steps={steps}",
            "--set", "train.lbfgs_steps=0", "--set", "pde.points=1024", "--set", "boundary.points=64",
            "--set", "report.grid=[11,11]", "--set", "run.progress_seconds=0", "--set", "train.log_every=1000"]


def chain(c, app, src, work, steps=12000, tries=2):
    deck = f"{src}/inputs/pinn_seed.toml"
    for t in range(tries):
        out, ref = f"{work}/ch{t}", f"{work}/ref{t}"
        # the uninterrupted run, at 1 rank (the chain runs at 2), alongside
        rp = subprocess.Popen(["mpirun", "-n", "1", app, deck] + pinn_sets(ref, steps),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
        # job 1: a 1-minute limit whose warning (59 s before it) comes at Slurm's next
        # time-limit check, 0-30 s after the start; job 2 waits for it (singleton) and resumes
        env = dict(ENV, TESSERA_APP=app)
        ids = []
        for opts in (["--time=1", "--signal=B:USR1@59"], ["--time=10"]):
            p = subprocess.run([f"{src}/jobscripts/tessera_chain.sh", "1", deck, "-n", "2"] + opts + ["--"] +
                               pinn_sets(out, steps), capture_output=True, text=True, env=dict(c.env, **env),
                               cwd=work, timeout=60)
            check(p.returncode == 0, f"tessera_chain.sh: exit {p.returncode}\n{p.stderr}")
            ids += [int(x) for x in p.stdout.split()]
        st = c.wait(ids, 900)
        rout, _ = rp.communicate(timeout=900)
        log1, log2 = job_log(work, ids[0]), job_log(work, ids[1])
        if "stopped by a signal" not in log1 and "final loss" in log1 and t + 1 < tries:
            print(f"chain: the run ({steps} steps) ended before Slurm's warning; again with 3x the steps")
            steps *= 3
            continue
        check(rp.returncode == 0, f"uninterrupted run: exit {rp.returncode}\n{rout[-1500:]}")
        for j in ids:
            rec = c.job(j)
            check(st[j] == "COMPLETED" and rec.get("ExitCode") == "0:0",
                  f"chain job {j}: {st[j]} exit {rec.get('ExitCode')}\n{job_log(work, j)[-2000:]}")
        check("stopped by a signal (SIGUSR1)" in log1 and "the next job resumes" in log1,
              f"job 1 was not stopped by the warning signal:\n{log1[-2000:]}")
        m = re.search(r"--resume: from (\S+)", log2)
        check(m is not None and "final loss" in log2, f"job 2 did not resume and finish:\n{log2[-2000:]}")
        a, b = read(f"{ref}/loss_history.csv"), read(f"{out}/loss_history.csv")
        check(a and a == b, f"loss history after the chain differs from the uninterrupted run "
                            f"({len(a.splitlines())} vs {len(b.splitlines())} lines)")
        fin = [l for l in rout.splitlines() if l.startswith("pinn: final loss") or "relative L2 error" in l]
        check(fin and all(l in log2 for l in fin), f"final report differs:\n{fin}\nvs\n{log2[-1500:]}")
        check('state = "finished"' in read(f"{out}/status.toml"), "status after the chain")
        print(f"chain: job {ids[0]} stopped on the warning signal, job {ids[1]} resumed "
              f"({m.group(1) if m else '?'}) and finished; {len(b.splitlines())} history lines equal")
        # one more job of the chain finds the run finished and does nothing
        p = subprocess.run([f"{src}/jobscripts/tessera_chain.sh", "1", deck, "-n", "1", "--"] + pinn_sets(out, steps),
                           capture_output=True, text=True, env=dict(c.env, **env), cwd=work, timeout=60)
        j3 = int(p.stdout.split()[0])
        c.wait([j3], 120)
        check("says the run finished: nothing to do" in job_log(work, j3), "a chain job after the end ran again")
        return out
    return None


def digest(d):
    h = {}
    for root, _, files in os.walk(d):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                h[os.path.relpath(os.path.join(root, f), d)] = hashlib.sha256(fh.read()).hexdigest()
    return h


def baddeck(c, app, src, work):
    env = dict(ENV, TESSERA_APP=app)
    # a run with checkpoints to protect
    out = f"{work}/good"
    r = subprocess.run(["mpirun", "-n", "2", app, f"{src}/inputs/pinn_seed.toml"] + pinn_sets(out, 300) +
                       ["--set", "checkpoint.every_steps=100", "--set", "model.hidden=[8]"],
                       capture_output=True, text=True, env=ENV, timeout=300)
    check(r.returncode == 0, f"setting up checkpoints: exit {r.returncode}\n{r.stderr[-1500:]}")
    before = digest(f"{out}/ck")
    check(len(before) >= 1, f"no checkpoints in {out}/ck")
    t0 = time.time()
    j1 = c.sbatch(["-n", "2", f"{src}/jobscripts/tessera.sbatch", f"{work}/no_such_deck.toml"], cwd=work, env=env)
    j2 = c.sbatch(["-n", "2", f"{src}/jobscripts/tessera.sbatch", f"{src}/inputs/pinn_seed.toml", "--resume"] +
                  pinn_sets(out, 300) + ["--set", "model.hidden=[8]", "--set", "train.lr=-1"], cwd=work, env=env)
    st = c.wait([j1, j2], 180)
    took = time.time() - t0
    for j, what, needle in ((j1, "missing deck", "no_such_deck.toml"), (j2, "deck error", "train.lr")):
        rec, log = c.job(j), job_log(work, j)
        check(st[j] == "FAILED" and rec.get("ExitCode") == "3:0",
              f"{what}: job {j} {st[j]} exit {rec.get('ExitCode')} (expected FAILED 3:0)\n{log[-1500:]}")
        check(needle in log and "invalid deck" in log, f"{what}: the log does not name the problem:\n{log[-1500:]}")
    check(took < 120, f"bad decks took {took:.0f} s to fail")
    check(digest(f"{out}/ck") == before, f"checkpoints in {out}/ck changed")
    print(f"baddeck: jobs {j1} (missing deck) and {j2} (train.lr = -1) failed with exit 3 in {took:.0f} s; "
          f"{len(before)} checkpoint(s) untouched")


def main():
    case, app, src, work = sys.argv[1:5]
    if os.getuid() != 0:
        print("skipped: a one-node Slurm needs root (slurmd starts the jobs)")
        return 77
    miss = missing_programs()
    if miss:
        print(f"skipped: not installed: {' '.join(miss)} (scripts/setup.sh installs them)")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    app, src, work = os.path.abspath(app), os.path.abspath(src), os.path.abspath(work)
    with SlurmCluster(os.path.join(work, "slurm")) as c:
        try:
            {"single": single, "array": array, "chain": chain, "baddeck": baddeck}[case](c, app, src, work)
        except Exception as e:   # a harness failure: show the daemons' logs
            check(False, f"{case}: {e}\n{c.logs()}")
    print(f"slurm {case}: {'ok' if not FAILS else f'{len(FAILS)} failed checks'}")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
