#!/bin/bash
# jobscripts/tessera_chain.sh: a run longer than one job's time limit, as a chain.
#
#   jobscripts/tessera_chain.sh N DECK.toml [sbatch options] [-- tessera_app options]
#
# Submits N jobs of jobscripts/tessera.sbatch with --resume, all under one job
# name (tessera-<deck>, or yours with --job-name) and --dependency=singleton, so
# they run one after the other. Each job continues from the newest complete
# checkpoint in the deck's checkpoint.dir; before its time limit Slurm's warning
# signal makes the run checkpoint and stop, and the job ends with exit 0; the
# next one resumes. A job that finds the run finished (run.output_dir/status.toml)
# returns at once, so N may be generous. Prints the job IDs, one per line.
# Example: jobscripts/tessera_chain.sh 4 inputs/pinn_seed.toml -n 8 --time=30 -- --set train.adam_steps=20000
set -u
die() { echo "tessera_chain.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: tessera_chain.sh N DECK.toml [sbatch options] [-- tessera_app options]"
n=$1 deck=$2
shift 2
case $n in '' | *[!0-9]*) die "N must be a whole number of jobs, got '$n'" ;; esac
[ "$n" -ge 1 ] || die "N must be at least 1"
[ -r "$deck" ] || die "cannot read the deck '$deck'"
sb=() app=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; app=("$@"); break; fi
  sb+=("$1"); shift
done
name=
for o in "${sb[@]}"; do case $o in --job-name=* | -J?*) name=set ;; --job-name | -J) name=set ;; esac; done
if [ -z "$name" ]; then
  stem=$(basename "$deck" .toml)
  sb=(--job-name="tessera-${stem//[^A-Za-z0-9_.-]/_}" "${sb[@]}")
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for ((k = 0; k < n; k++)); do
  sbatch --parsable --dependency=singleton "${sb[@]}" "$here/tessera.sbatch" "$deck" --resume "${app[@]}" ||
    die "sbatch failed for job $((k + 1)) of $n"
done
