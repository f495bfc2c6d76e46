#!/usr/bin/env bash
# tests/layering/check_comm.sh SRC_DIR: one path for data movement. Every
# collective, point-to-point transfer and request wait in the library goes
# through tess_comm_* (include/tessera/comm.h), so that a GPU backend
# (NCCL, CUDA-aware MPI, host staging) plugged into src/comm.c serves all of
# them. Raw MPI calls of that kind may appear only in the backends
# (src/comm_*.c other than src/comm.c) and in the files of the ALLOW list
# below; apps/ is checked like the library (the app's deck broadcast and the
# studies' reductions go through tess_comm too). Communicator set-up (MPI_Comm_*, MPI_Cart_*, groups, datatypes,
# init/finalize) is not data movement and is not checked. Comment lines are
# skipped. Fails listing every offending line; also fails when an allowed
# file no longer has any raw call (shrink the list).
set -u
cd "$1"
PAT='MPI_(I?(Allreduce|Alltoall|Alltoallv|Alltoallw|Bcast|Gather|Gatherv|Scatter|Scatterv|Allgather|Allgatherv|Reduce|Reduce_scatter|Reduce_scatter_block|Scan|Exscan|Barrier)|Sendrecv|Sendrecv_replace|Send|Ssend|Rsend|Bsend|Isend|Issend|Irecv|Recv|Wait|Waitany|Waitall|Waitsome|Put|Get|Accumulate)[[:space:]]*\('

# Known offenders, each with why it is still here. The lead shrinks this
# after merging the branches that own these files; every entry is a
# mechanical change now (tess_comm has what they need, see each note).
ALLOW=(
  # empty: every library file moves its data through tess_comm
)
allowed() {
  local f=$1 a
  for a in "${ALLOW[@]}"; do [ "$f" = "$a" ] && return 0; done
  return 1
}

bad=0
raw_in() {   # file: its raw calls outside comment lines
  grep -niE "$PAT" "$1" | grep -vE '^[0-9]+:[[:space:]]*(\*|/\*|//)'
}
for f in $(ls src/*.[ch] src/*/*.[ch] src/*/*.cu spectral/*.[ch] pde/*.[ch] petsc/*.[ch] apps/*.[ch] 2>/dev/null); do
  case "$f" in
    src/comm.c) ;;
    src/comm_*.c|src/comm_*.cu|src/cuda/comm_*) continue ;;   # the backends
  esac
  hits=$(raw_in "$f")
  [ -z "$hits" ] && continue
  if allowed "$f"; then
    echo "comm: allowed (known offender): $f: $(echo "$hits" | wc -l) raw call(s)"
    continue
  fi
  echo "$hits" | sed "s|^|comm: $f:|"
  echo "comm: $f moves data with raw MPI; use tess_comm_* (include/tessera/comm.h)"
  bad=1
done
for a in "${ALLOW[@]}"; do
  if [ -f "$a" ] && [ -z "$(raw_in "$a")" ]; then
    echo "comm: $a has no raw MPI calls left: remove it from the ALLOW list"
    bad=1
  fi
done
[ $bad = 0 ] && echo "comm ok"
exit $bad
