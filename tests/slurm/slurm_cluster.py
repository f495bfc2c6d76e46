"""tests/slurm/slurm_cluster.py: a real one-node Slurm for the tests (as root:
slurmd starts the jobs' processes).

Starts munged, slurmctld and slurmd from Debian's packages as this process's
own children, with everything (config, key, sockets, spool, state, logs) in
one temporary directory and ports that were free a moment ago, so it runs
beside any other Slurm on the machine; stops exactly the daemons it started,
by their PIDs. Job states come from `scontrol show job` (no accounting
database: completed jobs stay in slurmctld's memory for MinJobAge seconds).
"""
import os
import shutil
import socket
import subprocess
import time

DAEMONS = ("munged", "slurmctld", "slurmd")


def missing_programs():
    return [p for p in DAEMONS + ("sbatch", "scontrol", "sinfo", "scancel") if not shutil.which(p)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    def __init__(self, root):
        self.root = root
        self.procs = {}
        self.host = socket.gethostname().split(".")[0]
        self.conf = os.path.join(root, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def path(self, *p):
        return os.path.join(self.root, *p)

    def _write_config(self):
        for d in ("spool", "state", "log", "munge"):
            os.makedirs(self.path(d), exist_ok=True)
        key = self.path("munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        ncpu = os.cpu_count() or 1
        sock = self.path("munge", "munge.sock")
        conf = f"""# written by tests/slurm/slurm_cluster.py
ClusterName=tesstest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={self.path('state')}
SlurmdSpoolDir={self.path('spool')}
SlurmctldPidFile={self.path('slurmctld.pid')}
SlurmdPidFile={self.path('slurmd.pid')}
SlurmctldLogFile={self.path('log', 'slurmctld.log')}
SlurmdLogFile={self.path('log', 'slurmd.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
InactiveLimit=0
MinJobAge=600
KillWait=10
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={ncpu} State=UNKNOWN
PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        return sock, key

    def _spawn(self, name, cmd):
        log = open(self.path("log", f"{name}.out"), "w")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        log.close()

    def start(self, timeout=60):
        sock, key = self._write_config()
        m = self.path("munge")
        self._spawn("munged", ["munged", "-F", "--force", f"--socket={sock}", f"--key-file={key}",
                               f"--pid-file={m}/munged.pid", f"--seed-file={m}/munged.seed",
                               f"--log-file={m}/munged.log"])
        self._wait(lambda: os.path.exists(sock), timeout, "munged's socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-c"])
        self._wait(lambda: self.run(["scontrol", "ping"]).returncode == 0, timeout, "slurmctld")
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.host])
        self._wait(lambda: "idle" in self.run(["sinfo", "-h", "-o", "%T"]).stdout, timeout,
                   "the node to be idle")

    def _wait(self, cond, timeout, what):
        t0 = time.time()
        while time.time() - t0 < timeout:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode} while waiting for {what}:\n"
                                       + self.logs())
            if cond():
                return
            time.sleep(0.3)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}:\n" + self.logs())

    def logs(self, tail=2000):
        out = []
        for f in ("log/munged.out", "munge/munged.log", "log/slurmctld.out", "log/slurmctld.log",
                  "log/slurmd.out", "log/slurmd.log"):
            try:
                with open(self.path(f)) as fh:
                    out.append(f"--- {f}\n{fh.read()[-tail:]}")
            except OSError:
                pass
        return "\n".join(out)

    def run(self, cmd, timeout=60, **kw):
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout, **kw)

    def sbatch(self, args, cwd, env=None):
        """Submit; returns the job ID (an int)."""
        e = dict(self.env, **(env or {}))
        p = subprocess.run(["sbatch", "--parsable"] + args, capture_output=True, text=True, env=e,
                           cwd=cwd, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"sbatch {args} failed ({p.returncode}): {p.stderr}")
        return int(p.stdout.strip().split(";")[0])

    def records(self, jobid):
        """`scontrol show job -o`: one dict per record (an array job: one per task)."""
        p = self.run(["scontrol", "show", "job", "-o", str(jobid)])
        return [dict(t.split("=", 1) for t in line.split() if "=" in t) for line in p.stdout.splitlines()]

    def job(self, jobid):
        """The job's record (for an array job the first task's)."""
        recs = self.records(jobid)
        return recs[0] if recs else {}

    def array_tasks(self, jobid):
        """{task index: record} of an array job."""
        return {int(r["ArrayTaskId"]): r for r in self.records(jobid)
                if r.get("ArrayTaskId", "").isdigit()}

    FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
             "PREEMPTED", "BOOT_FAIL", "DEADLINE")

    def wait(self, jobids, timeout):
        """Wait until every job (and every task of array jobs) has ended;
        returns {jobid: state}. Raises on timeout."""
        t0 = time.time()
        while True:
            states = {}
            for j in jobids:
                st = [r.get("JobState", "?") for r in self.records(j)] or ["?"]
                states[j] = st[0] if len(set(st)) == 1 else ",".join(st)
            if all(all(s in self.FINAL for s in v.split(",")) for v in states.values()):
                return states
            if time.time() - t0 > timeout:
                raise RuntimeError(f"jobs {jobids} not done after {timeout} s: {states}")
            time.sleep(1)

    def stop(self):
        try:
            self.run(["scancel", "--full", "--user", str(os.getuid())], timeout=20)
        except Exception:
            pass
        for name in reversed(DAEMONS):
            p = self.procs.get(name)
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs.clear()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
