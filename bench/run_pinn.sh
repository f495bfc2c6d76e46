#!/usr/bin/env bash
# bench/run_pinn.sh: one PINN training step (seed example, MLP 2->256x3->1 tanh)
# in Tessera and in the anchors (/work/shared/bench-anchors/pinn_torch.py,
# pinn_jax.py) on the same cores in the same run, at equal thread counts:
# T ranks of Tessera (1 BLAS thread each) vs torch/JAX pinned to the same T
# cores (taskset) with T intra-op threads. Writes bench/results/pinn.md.
# Usage: bench/run_pinn.sh [build-dir]   (env STEPS: timed steps, default 5;
#        ROUNDS: rounds per configuration, default 2; CASES: only the listed
#        "prec:N:threads" rows, e.g. CASES="f64:4096:2 f32:4096:2"; OUT: the
#        table file, default bench/results/pinn.md; GEMMS: Tessera once per
#        listed GEMM backend, e.g. GEMMS="openblas tessera" (TESS_GEMM), in
#        the same rounds; STAT: best (default) or median of the rounds)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
ANCH="${TESS_ANCHORS:-$ROOT/../shared/bench-anchors}"
STEPS="${STEPS:-5}"
ROUNDS="${ROUNDS:-2}"
OUT="${OUT:-$ROOT/bench/results/pinn.md}"
CASES="${CASES:-}"
GEMMS="${GEMMS:-}"
STAT="${STAT:-best}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
BENCH="$BUILD/bench/bench_pinn"
[ -x "$BENCH" ] || { echo "build first: $BENCH missing" >&2; exit 1; }
# The anchors time 5 warm-up + 20 steps; at N=16384 on one CPU core that is
# minutes per point, so run their own code with 2 warm-up + $STEPS timed steps.
anchor() {  # anchor <cores> <threads> <file> <args...>
  local cores="$1" T="$2" f="$3"; shift 3
  local eig=true; [ "$T" = 1 ] && eig=false
  OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T \
  XLA_FLAGS="--xla_cpu_multi_thread_eigen=$eig intra_op_parallelism_threads=$T" \
  taskset -c "$cores" python3 - "$f" "$@" <<PY 2>/dev/null | tail -1
import sys
src = open(sys.argv[1]).read().replace("range(5)", "range(2)").replace("range(20)", "range($STEPS)")
sys.argv = sys.argv[1:]
exec(compile(src, sys.argv[0], "exec"))
PY
}
ms() { sed -n 's/.*: \([0-9.]*\) ms\/step.*/\1/p'; }
best() { [ $# -gt 0 ] && printf '%s\n' "$@" | sort -g | head -1 || echo -; }   # smallest, or -
median() { [ $# -gt 0 ] && printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}' || echo -; }
pick() { if [ "$STAT" = median ]; then median "$@"; else best "$@"; fi; }
ratio() { python3 -c "print('%.2f' % ($1/$2))" 2>/dev/null || echo -; }
have_torch=0; python3 -c "import torch" 2>/dev/null && have_torch=1
have_jax=0; python3 -c "import jax" 2>/dev/null && have_jax=1
{
  echo "# PINN training step: Tessera vs PyTorch and JAX (CPU)"
  echo
  echo "One step of the seed example (A.9): psi = MLP 2->256x3->1 tanh, loss = sum(res^2 + incomp^2)"
  echo "with res = laplacian(psi) - sin(x)cos(y), incomp = u_x + v_y, exact gradient w.r.t. all"
  echo "parameters (Tessera adds one Adam update). Median ms per step ($STEPS timed steps after 2 warm-up),"
  echo "$STAT of $ROUNDS rounds per column (the rounds interleave the programs)."
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
  echo "(a shared machine: expect noise of tens of percent). Run: $(date -u +%Y-%m-%dT%H:%MZ) by bench/run_pinn.sh."
  echo "Tessera: T MPI ranks x 1 OpenBLAS thread, auto chunk (128 points f32, 64 f64; 64 / 32 with psi_xy kept);"
  echo "anchors: taskset to the same T cores,"
  echo "OMP_NUM_THREADS=T. Versions: $( [ $have_torch = 1 ] && python3 -c 'import torch;print("torch",torch.__version__)'), $( [ $have_jax = 1 ] && python3 -c 'import jax;print("jax",jax.__version__)')."
  [ -n "$GEMMS" ] && echo "GEMM backends (TESS_GEMM): $GEMMS; the psi_xy column and torch/Tessera use the first."
  echo
  hg=""; sg=""; jg=""
  for g in $GEMMS; do hg+=" Tessera $g ms |"; sg+="---|"; jg+=" JAX/$g |"; done
  [ -z "$GEMMS" ] && { hg=" Tessera ms |"; sg="---|"; jg=" JAX/Tessera |"; }
  echo "| prec | N | threads |$hg Tessera (psi_xy kept) ms | torch ms | JAX ms | torch/Tessera |$jg"
  echo "|---|---|---|$sg---|---|---|---|$sg"
} > "$OUT.tmp"
for prec in f64 f32; do
  for N in 4096 16384; do
    for T in 1 2; do
      [ -n "$CASES" ] && [[ " $CASES " != *" $prec:$N:$T "* ]] && continue
      cores=$( [ "$T" = 1 ] && echo 0 || echo 0,1 )
      # ROUNDS rounds, the four programs one after the other in each; every
      # column takes its best median, so each side gets the same chance at a
      # quiet moment of the shared machine.
      gl="${GEMMS:-default}"
      declare -A v_g=(); v_hess=(); v_torch=(); v_jax=()
      for ((r = 0; r < ROUNDS; r++)); do
        for g in $gl; do
          v_g[$g]+=" $( [ "$g" = default ] || export TESS_GEMM=$g
            taskset -c $cores mpirun -n $T --bind-to none "$BENCH" $prec $N 0 $STEPS seed | ms)"
        done
        v_hess+=("$( g1=${gl%% *}; [ "$g1" = default ] || export TESS_GEMM=$g1
          taskset -c $cores mpirun -n $T --bind-to none "$BENCH" $prec $N 0 $STEPS hess | ms)")
        [ $have_torch = 1 ] && v_torch+=("$(anchor $cores $T "$ANCH/pinn_torch.py" cpu $prec $N | ms)")
        [ $have_jax = 1 ] && v_jax+=("$(anchor $cores $T "$ANCH/pinn_jax.py" $prec $N | ms)")
      done
      t_hess=$(pick "${v_hess[@]}"); t_torch=$(pick "${v_torch[@]}"); t_jax=$(pick "${v_jax[@]}")
      cols=""; rj=""; t_first=""
      for g in $gl; do
        t=$(pick ${v_g[$g]}); cols+=" $t |"; rj+=" $(ratio "$t_jax" "$t") |"
        [ -z "$t_first" ] && t_first=$t
        echo "  $prec N=$N T=$T rounds: tessera[$g]${v_g[$g]}" >&2
      done
      echo "  $prec N=$N T=$T rounds: torch ${v_torch[*]:--} jax ${v_jax[*]:--}" >&2
      echo "| $prec | $N | $T |$cols $t_hess | $t_torch | $t_jax | $(ratio "$t_torch" "$t_first") |$rj" | tee -a "$OUT.tmp"
      unset v_g
    done
  done
done
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT"
