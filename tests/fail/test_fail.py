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
import subprocess
import sys
import tempfile
import time

FAILS = []
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
ENV.pop("DISPLAY", None)   # a vanished X server (viewer tests) must not take mpirun down


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


def once(app, mpi, np, src, work):
    os.makedirs(work, exist_ok=True)
    bad = f"{work}/damaged.h5"
    with open(f"{src}/inputs/denoise.toml", "rb") as f:   # not HDF5 at all
        data = f.read()
    with open(bad, "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + data[:200])    # an HDF5 signature, then junk
    cases = [
        ("pencil on a 2-D grid", [f"{src}/inputs/denoise.toml", "--set", f'run.output_dir="{work}/d"',
                                  "--set", 'grid.decomposition="pencil"'], 3, "pencil needs a 3-D grid"),
        ("damaged restart file", [f"{src}/inputs/pinn_seed.toml", "--restart", bad] + small_pinn(f"{work}/p"),
         4, f"checkpoint '{bad}'"),
    ]
    for what, args, status, needle in cases:
        rc, out, err = run([mpi, "-n", str(np), app] + args)
        check(rc == status, f"{what} at np {np}: exit {rc}, expected {status}\n{err[-3000:]}")
        # the message line (the trace repeats it in its frames: count first lines)
        firsts = [l for l in err.splitlines() if needle in l and not l.lstrip().startswith("at ")]
        check(len(firsts) == 1, f"{what} at np {np}: message {len(firsts)} times, expected once\n{err[-3000:]}")
        check("MPI_ABORT" not in err, f"{what} at np {np}: MPI_ABORT banner\n{err[-3000:]}")


def outdir(app, mpi, np, src, work):
    os.makedirs(work, exist_ok=True)
    afile = f"{work}/a_file"
    with open(afile, "w") as f:
        f.write("x\n")
    ro = f"{work}/readonly"
    os.makedirs(ro, exist_ok=True)
    mounted = False
    if os.geteuid() == 0:   # root writes through mode bits: a read-only mount
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]).returncode == 0
        if not mounted:
            print("outdir: no read-only mount possible here: only the file-path case")
    else:
        os.chmod(ro, 0o555)
    try:
        dirs = [afile, f"{afile}/sub"] + ([f"{ro}/out"] if mounted or os.geteuid() else [])
        for d in dirs:
            # a big grid: computing it would take long, the check must come first
            rc, out, err = run([mpi, "-n", str(np), app, f"{src}/inputs/denoise.toml", "--set",
                                f'run.output_dir="{d}"', "--set", "grid.n=[2048,2048]"], timeout=120)
            check(rc == 4, f"output_dir {d} at np {np}: exit {rc}, expected 4\n{err[-2000:]}")
            check("run.output_dir" in err, f"output_dir {d}: message does not name run.output_dir\n{err[-2000:]}")
            check("PSNR" not in out and "RMS" not in out, f"output_dir {d}: computed before failing\n{out}")
            check(sum("run.output_dir" in l for l in err.splitlines()) == 1, f"output_dir {d}: not once\n{err}")
    finally:
        if mounted:
            subprocess.run(["umount", ro])


def read_status(path):
    import tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


def mpirun_children(pid):
    """PIDs whose parent is pid (the ranks, under the isolated launcher)."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def signal(app, mpi, np, src, work, tries=3):
    """Signals sent to mpirun's PID, as timeout(1), kill and a batch system do.
    Open MPI's isolated launcher (OMPI_MCA_plm=isolated, containers without
    ssh) does not forward SIGUSR1/SIGUSR2 (docs/signals.md): there they go to
    the ranks, mpirun's children, as a user would send them."""
    forwards = os.environ.get("OMPI_MCA_plm") != "isolated"
    if not forwards:
        print("signal: OMPI_MCA_plm=isolated: SIGUSR1/SIGUSR2 sent to the ranks, not to mpirun")
    sigs = [("SIGUSR1", signal_mod.SIGUSR1, 5), ("SIGUSR2", signal_mod.SIGUSR2, 5),
            ("SIGTERM", signal_mod.SIGTERM, 1)]   # Open MPI 4.1's mpirun exits 1 after SIGTERM, always
    for name, sig, want_rc in sigs:
        for t in range(tries):
            out = f"{work}/{name}_{t}"
            subprocess.run(["rm", "-rf", out])
            os.makedirs(out)
            args = [mpi, "-n", str(np), app, f"{src}/inputs/pinn_seed.toml"] + small_pinn(out, steps=10 ** 6)
            with open(f"{out}/stdout", "w") as fo, open(f"{out}/stderr", "w") as fe:
                p = subprocess.Popen(args, stdout=fo, stderr=fe, env=ENV)
                hist = f"{out}/loss_history.csv"
                t0 = time.time()
                # signal once training is under way (a few steps in the history)
                while time.time() - t0 < 60 and p.poll() is None:
                    if os.path.exists(hist) and os.path.getsize(hist) > 2000:
                        break
                    time.sleep(0.05)
                time.sleep(0.1 * t)   # a different moment each try
                if forwards or sig == signal_mod.SIGTERM:
                    p.send_signal(sig)
                else:
                    for k in mpirun_children(p.pid):
                        os.kill(k, sig)
                try:
                    rc = p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    rc = None
            err = open(f"{out}/stderr").read()
            what = f"{name} try {t} np {np}"
            check(rc == want_rc, f"{what}: mpirun exit {rc}, expected {want_rc}\n{err[-2000:]}")
            st = read_status(f"{out}/status.toml") if os.path.exists(f"{out}/status.toml") else {}
            check(st.get("state") == "stopped" and st.get("exit_status") == 5 and st.get("signal") == name
                  and st.get("checkpoint_complete") is True, f"{what}: status.toml {st}")
            ck = st.get("checkpoint", "")
            check(ck and os.path.exists(ck) and not os.path.exists(ck + ".tmp"), f"{what}: checkpoint {ck!r} missing")
            app_lines = [l for l in err.splitlines() if l.startswith("tessera_app:")]
            check(app_lines and app_lines[-1].startswith("tessera_app: resume with: ") and
                  app_lines[-1].endswith(f"--restart {ck}") and any(ck in l for l in app_lines[-2:-1]),
                  f"{what}: last lines do not name the checkpoint and --restart:\n{app_lines[-3:]}")
            if t == 0 and ck and os.path.exists(ck):
                # the restart works: resume and stop a few steps later (fewer total steps)
                step = int(os.path.basename(ck).split("_")[1].split(".")[0])
                rc2, out2, err2 = run([mpi, "-n", str(np), app, f"{src}/inputs/pinn_seed.toml", "--restart", ck] +
                                      small_pinn(out, steps=step + 5))
                check(rc2 == 0 and f"restarted from {ck} at step {step}" in out2,
                      f"{what}: restart exit {rc2}\n{out2[-1500:]}{err2[-1500:]}")
                st2 = read_status(f"{out}/status.toml")
                check(st2.get("state") == "finished", f"{what}: status after the restart {st2}")


signal_mod = __import__("signal")

if __name__ == "__main__":
    what, app, mpi, np, src, work = sys.argv[1:7]
    globals()[what](app, mpi, int(np), src, work)
    print(f"fail {what} np {np}: {'FAIL' if FAILS else 'ok'} ({len(FAILS)} failed checks)")
    sys.exit(1 if FAILS else 0)
