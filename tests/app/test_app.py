#!/usr/bin/env python3
"""tests/app/test_app.py: tessera_app from the outside, as a user runs it.

usage: test_app.py cli APP TOML2JSON SRCDIR WORKDIR
       test_app.py mpi APP MPIEXEC NP SRCDIR WORKDIR
       test_app.py docs APP DECKS_MD

cli:  bad decks (unknown key with suggestion, wrong type, out of range, TOML
      syntax, missing file, directory) give exit 3 and messages naming file,
      line and key; usage errors give 2; --set overrides; --dry-run prints an
      effective deck that is valid TOML (checked by tessera_toml2json) and
      carries the overrides.
mpi:  a run on NP ranks succeeds and its distributed index sum equals the
      closed form computed here (independent truth); a rank that fails brings
      the job down with exit 4, promptly.
docs: docs/decks.md equals `tessera_app --help-deck all --markdown`.
"""
import json
import os
import subprocess
import sys

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def run(cmd, timeout=120):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def expect(cmd, status, *needles, stream="stderr"):
    rc, out, err = run(cmd)
    text = err if stream == "stderr" else out
    check(rc == status, f"{' '.join(cmd[1:])}: exit {rc}, expected {status}\n{err}")
    for n in needles:
        check(n in text, f"{' '.join(cmd[1:])}: {stream} lacks {n!r}:\n{text}")
    return out, err


def cli(app, toml2json, src, work):
    os.makedirs(work, exist_ok=True)
    ok = write(f"{work}/ok.toml", 'study = "mesh_info"\n[grid]\nn = [6, 5]\nlength = [1, 2]\n')
    # bad decks: exit 3, messages with file:line, key, expected form, suggestion
    d = write(f"{work}/typo.toml", 'study = "mesh_info"\n[grid]\nn = [6, 5]\nlenght = [1, 2]\n')
    expect([app, d], 3, f"{d}:4: unknown key 'grid.lenght' (did you mean 'grid.length'?)")
    d = write(f"{work}/type.toml", 'study = "mesh_info"\n[work]\nrepeat = "many"\n')
    expect([app, d], 3, f"{d}:3: key 'work.repeat': expected an integer (e.g. 64), found string \"many\"")
    d = write(f"{work}/range.toml", 'study = "mesh_info"\ngrid.n = [4, 0]\n')
    expect([app, d], 3, f"{d}:2: key 'grid.n'[1] = 0 is out of range: expected 1 <= x <= 1000000")
    d = write(f"{work}/choice.toml", 'study = "mesh_info"\nreport.format = "jason"\n')
    expect([app, d], 3, "expected one of text|json (did you mean 'json'?)")
    d = write(f"{work}/study.toml", 'study = "mesh_inof"\n')
    expect([app, d], 3, f"{d}:1: unknown study \"mesh_inof\" (did you mean \"mesh_info\"?")
    d = write(f"{work}/nostudy.toml", '[grid]\nn = [3]\n')
    expect([app, d], 3, "missing required key 'study'")
    d = write(f"{work}/syntax.toml", 'study = "mesh_info"\n[grid]\nn = [6, 5\nlength = 1\n')
    expect([app, d], 3, f"{d}:4:1: expected ',' or ']' in array (opened at line 3, column 5)")
    d = write(f"{work}/cross.toml", 'study = "mesh_info"\ngrid.n = [6, 5, 4]\n')
    expect([app, d], 3, "key 'grid.length': has 2 entries but grid.n has 3")
    expect([app, ok, "--set", 'mesh.axes=["x","x"]'], 3, "--set 'mesh.axes=[\"x\",\"x\"]': key 'mesh.axes': axis name \"x\" is used twice")
    expect([app, f"{work}/missing.toml"], 3, f"cannot read deck '{work}/missing.toml': No such file or directory")
    expect([app, work], 3, f"deck '{work}' is a directory, expected a TOML file")
    d = write(f"{work}/binary.toml", "")
    with open(d, "wb") as f:
        f.write(bytes(range(256)))
    expect([app, d], 3, f"{d}:1:1: control character U+0000")
    expect([app, write(f"{work}/empty.toml", "")], 3, "missing required key 'study'")
    # --set: validated like the deck
    expect([app, ok, "--set", "grid.n=[6,-5]"], 3, "--set 'grid.n=[6,-5]': key 'grid.n'[1] = -5 is out of range")
    expect([app, ok, "--set", "work.repaet=2"], 3, "unknown key 'work.repaet' (did you mean 'work.repeat'?)")
    expect([app, ok, "--set", "report.format=json"], 3, "--set 'report.format=json':1:15: expected a value")
    expect([app, ok, "--set", "grid.n"], 3, "expected key.path=value")
    # [comm] backend: a name outside the list, and a device backend this run cannot use
    expect([app, ok, "--set", 'comm.backend="bogus"'], 3,
           "key 'comm.backend' = \"bogus\" is not allowed: expected one of auto|nccl|cuda-aware-mpi|host-staged|host-mpi")
    if "device comm backend: none" in run([app, ok, "--dry-run"])[1]:   # no GPU on this machine
        expect([app, ok, "--set", 'comm.backend="host-staged"'], 3,
               'comm.backend = "host-staged": ', "(allowed: auto, nccl, cuda-aware-mpi, host-staged, host-mpi)")
    # [run] device of the pinn study: a name outside the list; "cuda" where no GPU is seen
    seed = f"{src}/inputs/pinn_seed.toml"
    expect([app, seed, "--set", 'run.device="tpu"'], 3,
           "key 'run.device' = \"tpu\" is not allowed: expected one of auto|cpu|cuda (did you mean 'cpu'?)")
    if "device comm backend: none" in run([app, ok, "--dry-run"])[1]:   # no GPU on this machine
        _, err = expect([app, seed, "--set", 'run.device="cuda"', "--set", f'run.output_dir="{work}/pinn_cuda"'],
                        4, "error: PINN device 'cuda': ")
        check("this rank sees no GPU" in err or "this build has no CUDA + cuBLAS" in err,
              f"run.device=cuda without a GPU: no reason given:\n{err}")
        # the denoising study's GPU deck names cufft outright: refused, naming backend and reason
        _, err = expect([app, f"{src}/inputs/denoise_gpu.toml", "--set", f'run.output_dir="{work}/denoise_gpu"'],
                        4, "'cufft'")
        check("denoise: FFT backend 'cufft' works on device memory, but this rank sees no GPU" in err
              or "unknown FFT backend 'cufft' (this build has: fftw)" in err,   # a build without cuFFT
              f"denoise_gpu.toml without a GPU: no reason given:\n{err}")
    out, _ = expect([app, ok, "--set", "report.format=\"json\"", "--set=grid.n=[7,3]", "--set", "grid.length=[1,1]"],
                    0, stream="stdout")
    lines = [l for l in out.splitlines() if l.startswith("{")]
    check(len(lines) == 1, f"json summary line missing:\n{out}")
    if lines:
        j = json.loads(lines[0])
        check(j["cells"] == 21 and j["index_sum"] == 21 * 20 // 2, f"--set grid.n not applied: {j}")
    # usage errors: exit 2
    expect([app], 2, "no deck given")
    expect([app, ok, "--bogus"], 2, "unknown option '--bogus'")
    expect([app, ok, ok], 2, "one deck only")
    expect([app, ok, "--log-level", "loud"], 2, "unknown log level 'loud'")
    expect([app, ok, "--restart", f"{work}/nockpt.h5"], 2, "--restart: cannot read checkpoint")
    expect([app, "--help-deck", "mesh_inf"], 2, "unknown study 'mesh_inf'")
    expect([app, ok, "--resume", "--restart", f"{work}/x.h5"], 2, "--resume and --restart exclude each other")
    # jobscripts/ refuse what they cannot run, before any work (no Slurm needed for these)
    sb, chain = f"{src}/jobscripts/tessera.sbatch", f"{src}/jobscripts/tessera_chain.sh"
    os.environ["TESSERA_APP"] = app
    sets = write(f"{work}/bad.sets", "# two entries\nwork.repeat=2\n\nwork.repeat\n")
    expect(["bash", sb], 2, "usage: sbatch jobscripts/tessera.sbatch DECK.toml")
    expect(["bash", sb, ok, "--sets-file", sets], 2, "--sets-file needs an array job")
    os.environ["SLURM_ARRAY_TASK_ID"] = "5"
    expect(["bash", sb, ok, "--sets-file", sets], 2, "has no line for array task 5")
    os.environ["SLURM_ARRAY_TASK_ID"] = "1"
    expect(["bash", sb, ok, "--sets-file", sets], 2, "entry 2: 'work.repeat' is not key=value")
    del os.environ["SLURM_ARRAY_TASK_ID"]
    expect(["bash", chain, "0", ok], 2, "N must be at least 1")
    expect(["bash", chain, "x", ok], 2, "N must be a whole number of jobs")
    expect(["bash", chain, "2", f"{work}/nodeck.toml"], 2, "cannot read the deck")
    expect([app, ok, "-ksp_type", "cg"], 2, "'-ksp_type': single-dash options go to PETSc")
    expect([app, ok, "--ntasks", "4"], 2, "go with --emit-sbatch")
    expect([app, ok, "--emit-sbatch", "--nodes", "0"], 2, "--nodes '0': expected a whole number >= 1")
    expect([app, ok, "--emit-sbatch", "--nodes", "3", "--ntasks", "2"], 2, "every node needs at least one")
    expect([app, ok, "--emit-sbatch", "--partition", "a b"], 2, "--partition 'a b'")
    # [job] keys: checked like every key, with the expected form
    expect([app, ok, "--set", 'job.time="1:2:3:4"'], 3, "key 'job.time'", "expected MM, MM:SS, HH:MM:SS")
    expect([app, ok, "--set", "job.signal_seconds=5"], 3, "job.signal_seconds")
    out, _ = expect([app, ok, "--emit-sbatch", "--set", 'job.time="2-00:30"', "--set", "job.ntasks=8",
                     "--set", 'job.partition="gpu"', "--set", "job.nodes=2"], 0,
                    "#SBATCH --time=2-00:30", "#SBATCH --ntasks=8", "#SBATCH --nodes=2",
                    "#SBATCH --partition=gpu", "#SBATCH --signal=B:USR1@120", stream="stdout")
    check("--set 'job.time=\"2-00:30\"'" in out, f"--emit-sbatch: the --set overrides are not in the script:\n{out}")
    p = subprocess.run(["bash", "-n"], input=out.encode(), capture_output=True)
    check(p.returncode == 0, f"--emit-sbatch: not valid bash: {p.stderr.decode()}")
    expect([app, "--help"], 0, "exit status: 0 success, 2 usage error, 3 invalid deck", stream="stdout")
    expect([app, "--version"], 0, "tessera_app ", stream="stdout")
    expect([app, ok, "--log-view", "--log-level", "warn"], 0, "DeckLoad", "StudyRun", stream="stdout")
    out, _ = expect([app, "--help-deck", "mesh_info"], 0, "grid.n", "this study cannot resume", stream="stdout")
    expect([app, "--help-deck", "pinn"], 0, "model.hidden", stream="stdout")
    # --dry-run: effective deck (valid TOML, overrides in it) and the plan, no work
    out, _ = expect([app, ok, "--dry-run", "--set", "work.repeat=4", "--set", "report.per_rank=true"], 0,
                    "repeat = 4  # --set", "planned work: distribute 30 cells over 1 rank", stream="stdout")
    check("index sum" not in out, "--dry-run did the work")
    deck = out.split("planned work:")[0]
    p = subprocess.run([toml2json], input=deck.encode(), capture_output=True)
    check(p.returncode == 0, f"--dry-run deck is not valid TOML: {p.stderr.decode()}")
    if p.returncode == 0:
        j = json.loads(p.stdout)
        check(j["work"]["repeat"] == {"type": "integer", "value": "4"}, f"override not in deck: {j['work']}")
        check(j["grid"]["length"][1] == {"type": "float", "value": "2"}, f"float key as float: {j['grid']}")
        check(j["run"]["seed"]["value"] == "1", "common default in the effective deck")
        check("checkpoint" not in j, "checkpoint.* in the deck of a study that cannot resume")
        # and the effective deck is itself a valid deck giving the same plan
        eff = write(f"{work}/effective.toml", deck)
        out2, _ = expect([app, eff, "--dry-run"], 0, "planned work: distribute 30 cells", stream="stdout")
    # the example deck shipped in inputs/ is valid
    expect([app, f"{src}/inputs/mesh_info.toml", "--dry-run"], 0, "planned work: distribute 120 cells",
           stream="stdout")


def mpi(app, mpiexec, np, src, work):
    os.makedirs(work, exist_ok=True)
    n = [13, 7, 3]     # 273 cells: not divisible by 2, 4 (uneven blocks on purpose)
    deck = write(f"{work}/np{np}.toml",
                 f'study = "mesh_info"\ngrid.n = {n}\ngrid.length = [1.0, 1.0, 1.0]\nwork.repeat = 5\n')
    cells = n[0] * n[1] * n[2]
    rc, out, err = run([mpiexec, "-n", str(np), "--oversubscribe", app, deck, "--set", "report.per_rank=true"])
    check(rc == 0, f"run at np {np}: exit {rc}\n{err}")
    want = cells * (cells - 1) // 2
    check(f"{np} rank{'s' if np > 1 else ''}, grid 13x7x3 = {cells} cells" in out and f"index sum {want} (expected {want}) ok" in out,
          f"np {np}: wrong summary:\n{out}")
    check(f"f64 array 13x7x3 sharded, exact sum {want} (expected {want}) ok" in out, f"np {np}: array sum:\n{out}")
    # two mesh axes on a 1-D grid: the second axis holds replicas, counted once
    rc, out2, err2 = run([mpiexec, "-n", str(np), "--oversubscribe", app, deck, "--set", 'mesh.axes=["x","y"]',
                          "--set", "grid.n=[1001]", "--set", "grid.length=[1]"])
    check(rc == 0 and "exact sum 500500 (expected 500500) ok" in out2, f"np {np}: replicated axis:\n{out2}{err2}")
    # every cell on exactly one rank: the blocks tile 0..cells-1
    blocks = sorted(tuple(map(int, l.split()[3].split(".."))) for l in out.splitlines()
                    if l.startswith("rank ") and " cells " in l)
    check(len(blocks) == np and blocks[0][0] == 0 and blocks[-1][1] == cells - 1 and
          all(b[0] == a[1] + 1 for a, b in zip(blocks, blocks[1:])), f"np {np}: blocks do not tile: {blocks}")
    check("effective deck" in err and "repeat = 5" in err, f"np {np}: rank 0 did not log the effective deck:\n{err}")
    check(err.count("effective deck") == 1, f"np {np}: effective deck logged by more than one rank")
    if np > 1:
        bad = np - 1
        try:
            rc, out, err = run([mpiexec, "-n", str(np), "--oversubscribe", app, deck, "--set",
                                f"debug.fail_rank={bad}"], timeout=60)
        except subprocess.TimeoutExpired:
            rc, err = None, "timeout"
        check(rc == 4, f"np {np}: failing rank gave exit {rc}, expected 4 (and no hang)\n{err}")
        check(f"[rank {bad}] tessera_app: study 'mesh_info' failed (exit 4)" in err and "failed on purpose" in err,
              f"np {np}: no error trace from the failing rank:\n{err}")
    # SIGTERM on rank 0: every rank stops at the next safe point, exit 5
    rc, out, err = run([mpiexec, "-n", str(np), "--oversubscribe", app, deck, "--set", "debug.sigterm_at=2"],
                       timeout=60)
    check(rc == 5 and "stopped by a signal" in err and "index sum" not in out,
          f"np {np}: SIGTERM gave exit {rc}, expected 5\n{err}")
    # invalid deck at np ranks: exit 3 and the message printed once (rank 0)
    bad_deck = write(f"{work}/bad{np}.toml", 'study = "mesh_info"\ngrid.m = [3]\n')
    rc, out, err = run([mpiexec, "-n", str(np), "--oversubscribe", app, bad_deck])
    check(rc == 3, f"np {np}: invalid deck gave exit {rc}")
    check(err.count("unknown key 'grid.m' (did you mean 'grid.n'?)") == 1, f"np {np}: message not once:\n{err}")


def docs(app, decks_md):
    rc, out, err = run([app, "--help-deck", "all", "--markdown"])
    check(rc == 0, f"--help-deck all --markdown: exit {rc}: {err}")
    with open(decks_md) as f:
        committed = f.read()
    check(out == committed, f"{decks_md} is out of date: regenerate it with\n"
          f"  cmake --build build --target decks_md")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "cli":
        cli(*sys.argv[2:6])
    elif mode == "mpi":
        mpi(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif mode == "docs":
        docs(*sys.argv[2:4])
    print(f"app {mode}: {'FAIL' if FAILS else 'ok'} ({len(FAILS)} failed checks)")
    sys.exit(1 if FAILS else 0)
