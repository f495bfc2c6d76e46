/* bench/bench_checkpoint.c: checkpoint write bandwidth.
 *   mpirun -n P bench_checkpoint DIR BYTES REPS
 * One f64 array of BYTES bytes (rows x 4096, rows sharded over the ranks) is
 * written REPS times as DIR/bench_ckpt.h5 through the full commit path
 * (temporary file, flush, fsync, rename, directory fsync). Prints one line
 * per repetition: "tessera_seconds <s>" measured from before begin to after
 * commit on all ranks (barriers on both sides). bench/run_checkpoint.sh runs
 * `dd conv=fsync` with the same byte count beside it and computes the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <tessera/tessera.h>

#define COLS 4096

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL;
  tess_checkpoint_t *ck = NULL;
  int rank = 0, size = 1;
  char path[4096];
  const char *names[1] = { "ranks" }, *sp[2] = { "ranks", NULL };
  tess_shardspec_t spec;
  TESS_CHECK(tess_init(&argc, &argv));
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  TESS_REQUIRE(argc >= 4, TESS_ERR_ARG, "usage: bench_checkpoint DIR BYTES REPS");
  long long bytes = atoll(argv[2]);
  int reps = atoi(argv[3]);
  int64_t shape[2] = { bytes / 8 / COLS, COLS };
  TESS_REQUIRE(shape[0] > 0 && reps > 0, TESS_ERR_ARG, "BYTES >= %d and REPS >= 1", 8 * COLS);
  snprintf(path, sizeof path, "%s/bench_ckpt.h5", argv[1]);
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, &size, &mesh));
  TESS_CHECK(tess_shardspec_make(mesh, 2, sp, &spec));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &a));
  double *p = tess_array_local_data(a);
  for (int64_t i = 0; i < tess_array_local_count(a); i++) p[i] = (double)i * 0.5;
  for (int r = 0; r < reps; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    TESS_CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, path, &ck));
    TESS_CHECK(tess_checkpoint_write_array(ck, "fields/u", a));
    TESS_CHECK(tess_checkpoint_commit(&ck));
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime() - t0;
    if (rank == 0) {
      printf("tessera_seconds %.6f bytes %lld ranks %d\n", t, (long long)(shape[0] * COLS * 8),
             size);
      fflush(stdout);
      unlink(path);
      snprintf(path, sizeof path, "%s/bench_ckpt.xmf", argv[1]);
      unlink(path);
      snprintf(path, sizeof path, "%s/bench_ckpt.h5", argv[1]);
    }
  }
cleanup:
  tess_checkpoint_close(&ck);
  tess_array_destroy(&a);
  tess_mesh_destroy(&mesh);
  if (err && rank == 0) tess_error_print(stderr);
  tess_finalize();
  return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
