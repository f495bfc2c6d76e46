#!/usr/bin/env python3
"""tests/fail/test_fail.py: failure paths of tessera_app, from the outside.

usage: test_fail.py WHAT APP MPIEXEC NP SRCDIR WORKDIR
  fulldisk  a 2 MB tmpfs as run.output_dir (mounted here; skipped, exit 77,
            unless root may mount): both studies exit 4 with the ENOSPC
            message, no segfault, no hang
  restart   --restart given to a study that cannot resume: exit 2, message
  once      a study-level error (pencil on a 2-D grid, a damaged restart
            file): the message once, no MPI_ABORT banner, the right status
  outdir    run.output_dir under a read-only dir or naming a file: error
            naming the key before any computing
  signal    SIGTERM / SIGUSR1 / SIGUSR2 sent to mpirun's PID (repeated):
            checkpoint complete, status file, last line naming the file and
            the --restart command, restart works; USR1/USR2 exit 5
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

FAILS = []
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def run(cmd, timeout=180):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", f"TIMEOUT after {timeout} s"


def small_pinn(out, steps=20):
    """A PINN run that takes seconds: 16-wide net, few points."""
    return ["--set", f'run.output_dir="{out}"', "--set", f'checkpoint.dir="{out}/ck"',
            "--set", "model.hidden=[16]", "--set", f"train.adam_steps={steps}", "--set",
            "train.lbfgs_steps=0", "--set", "pde.points=64", "--set", "boundary.points=32",
            "--set", "report.grid=[21,21]"]


def fulldisk(app, mpi, np, src, work):
    os.makedirs(work, exist_ok=True)
    mnt = tempfile.mkdtemp(dir=work, prefix="tmpfs")
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]).returncode:
        print("fulldisk: cannot mount a tmpfs here (needs root): skipped")
        sys.exit(77)
    try:
        runs = {
            "spectral_denoise": [f"{src}/inputs/denoise.toml", "--set", f'run.output_dir="{mnt}/d"',
                                 "--set", "grid.n=[512,512]"],
            "pinn": [f"{src}/inputs/pinn_seed.toml"] + small_pinn(f"{mnt}/p") + ["--set", "report.grid=[400,400]"],
        }
        for study, args in runs.items():
            rc, out, err = run([mpi, "-n", str(np), app] + args)
            check(rc == 4, f"{study} np {np} on a full disk: exit {rc}, expected 4\n{err[-3000:]}")
            check("No space left on device" in err, f"{study} np {np}: no ENOSPC message\n{err[-3000:]}")
            check("Segmentation fault" not in err and "signal 11" not in err,
                  f"{study} np {np}: segfault\n{err[-3000:]}")
            subprocess.run(f"rm -rf {mnt}/*", shell=True)
    finally:
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)


def restart(app, mpi, np, src, work):
    os.makedirs(work, exist_ok=True)
    txt = f"{work}/not_a_checkpoint.txt"
    with open(txt, "w") as f:
        f.write("hello\n")
    for deck, extra in ((f"{src}/inputs/denoise.toml", ["--set", f'run.output_dir="{work}/d"']),
                        (f"{src}/inputs/mesh_info.toml", [])):
        rc, out, err = run([mpi, "-n", str(np), app, deck, "--restart", txt] + extra)
        check(rc == 2, f"{deck} --restart at np {np}: exit {rc}, expected 2\n{err[-2000:]}")
        check(err.count("cannot resume from a checkpoint") == 1, f"{deck} --restart: no message (once)\n{err}")
        check("PSNR" not in out and "index sum" not in out, f"{deck} --restart: the work was done\n{out}")
    # checkpoint.* is not part of a study that cannot resume
    rc, out, err = run([mpi, "-n", str(np), app, f"{src}/inputs/mesh_info.toml", "--set", "checkpoint.keep=3"])
    check(rc == 3 and "unknown key 'checkpoint.keep'" in err, f"mesh_info checkpoint.keep: exit {rc}\n{err}")
    # the PINN study still resumes (and still refuses a text file, as a damaged checkpoint)
    rc, out, err = run([mpi, "-n", str(np), app, f"{src}/inputs/pinn_seed.toml", "--restart", txt] +
                       small_pinn(f"{work}/p"))
    check(rc == 4 and "not an HDF5 file" in err, f"pinn --restart text file: exit {rc}\n{err[-2000:]}")


if __name__ == "__main__":
    what, app, mpi, np, src, work = sys.argv[1:7]
    globals()[what](app, mpi, int(np), src, work)
    print(f"fail {what} np {np}: {'FAIL' if FAILS else 'ok'} ({len(FAILS)} failed checks)")
    sys.exit(1 if FAILS else 0)
