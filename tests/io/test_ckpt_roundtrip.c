/* tests/io/test_ckpt_roundtrip.c: checkpoint round trip across rank counts.
 *   test_ckpt_roundtrip write FILE   at P ranks: mesh {x,y}, writer specs
 *   test_ckpt_roundtrip read FILE P  at Q ranks: mesh {a,b}, other specs
 * CTest runs the reader at another rank count than the writer (fixtures).
 * Truth: the fill formulas of ckpt_fields.h, compared bitwise; metadata
 * compared with the constants the writer was given. */
#include <stdlib.h>
#include <string.h>
#include "ckpt_fields.h"
#include "tess_test.h"

static const double moments[5] = { 0.1, -2.5e-300, 3.0, 1e300, -0.0 };
static const int64_t counts[3] = { -7, 0, INT64_MAX };

static tess_err_t make_mesh(int reading, tess_mesh_t **mesh)
{
  int p = 1, sizes[2];
  const char *wn[2] = { "x", "y" }, *rn[2] = { "a", "b" };
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  if (reading) reader_mesh_sizes(p, sizes);
  else writer_mesh_sizes(p, sizes);
  return tess_mesh_create(MPI_COMM_WORLD, 2, reading ? rn : wn, sizes, mesh);
}

static tess_err_t do_write(const char *path)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a[NFIELDS] = { 0 };
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta = { "roundtrip", test_deck, 42, 0.125, 1234567,
                                  test_rng_counters, 3 };
  TESS_CHECK(make_mesh(0, &mesh));
  TESS_CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, path, &ck));
  for (int k = 0; k < NFIELDS; k++) {
    TESS_CHECK(field_create(mesh, k, 0, &a[k]));
    TESS_CHECK(tess_array_fill(a[k], field_fill_fn, &k));
    TESS_CHECK(tess_checkpoint_write_array(ck, fields[k].name, a[k]));
  }
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "optimizer/m", moments, 5));
  TESS_CHECK(tess_checkpoint_write_i64(ck, "optimizer/counts", counts, 3));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "optimizer/empty", NULL, 0));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "learning_rate", 3e-4));
  TESS_CHECK(tess_checkpoint_set_attr_int(ck, "epoch", -12));
  TESS_CHECK(tess_checkpoint_set_attr_string(ck, "note", "hello"));
  TESS_CHECK(tess_checkpoint_set_attr_string(ck, "note", "replaced"));
  TESS_CHECK(tess_checkpoint_commit(&ck));
cleanup:
  tess_checkpoint_close(&ck);
  for (int k = 0; k < NFIELDS; k++) tess_array_destroy(&a[k]);
  tess_mesh_destroy(&mesh);
  return err;
}

static tess_err_t do_read(const char *path, int writer_ranks)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a[NFIELDS] = { 0 };
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta;
  double m[5], lr = 0;
  int64_t c[3], epoch = 0, wr = 0;
  const char *s = NULL;
  int exists = -1;
  TESS_CHECK(make_mesh(1, &mesh));
  TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, path, &ck));
  TESS_CHECK(tess_checkpoint_check_study(ck, "roundtrip"));
  for (int k = 0; k < NFIELDS; k++) {
    TESS_CHECK(field_create(mesh, k, 1, &a[k]));
    TESS_CHECK(tess_checkpoint_read_array(ck, fields[k].name, a[k]));
    int64_t bad = field_mismatches(k, a[k]);
    CHECK(bad == 0, "%s: %lld elements differ from the formula", fields[k].name, (long long)bad);
  }
  TESS_CHECK(tess_checkpoint_get_meta(ck, &meta));
  CHECK(meta.study && strcmp(meta.study, "roundtrip") == 0, "study");
  CHECK(meta.deck_text && strcmp(meta.deck_text, test_deck) == 0, "deck text");
  CHECK(meta.step == 42 && meta.time == 0.125 && meta.rng_seed == 1234567, "step/time/seed");
  CHECK(meta.n_rng_counters == 3 &&
        memcmp(meta.rng_counters, test_rng_counters, sizeof test_rng_counters) == 0,
        "rng counters");
  TESS_CHECK(tess_checkpoint_read_f64(ck, "optimizer/m", m, 5));
  CHECK(memcmp(m, moments, sizeof m) == 0, "optimizer/m bitwise");
  TESS_CHECK(tess_checkpoint_read_i64(ck, "optimizer/counts", c, 3));
  CHECK(memcmp(c, counts, sizeof c) == 0, "optimizer/counts");
  TESS_CHECK(tess_checkpoint_read_f64(ck, "optimizer/empty", NULL, 0));
  TESS_CHECK(tess_checkpoint_get_attr_double(ck, "learning_rate", &lr));
  TESS_CHECK(tess_checkpoint_get_attr_int(ck, "epoch", &epoch));
  CHECK(lr == 3e-4 && epoch == -12, "lr %g epoch %lld", lr, (long long)epoch);
  TESS_CHECK(tess_checkpoint_get_attr_string(ck, "note", &s));
  CHECK(strcmp(s, "replaced") == 0, "note = '%s'", s);
  TESS_CHECK(tess_checkpoint_get_attr_string(ck, "tessera_version", &s));
  CHECK(strcmp(s, tess_version()) == 0, "version '%s'", s);
  TESS_CHECK(tess_checkpoint_get_attr_string(ck, "tessera_git_revision", &s));
  CHECK(strcmp(s, tess_git_revision()) == 0, "git revision '%s'", s);
  TESS_CHECK(tess_checkpoint_get_attr_string(ck, "mesh_axes", &s));
  CHECK(strcmp(s, "x,y") == 0, "mesh_axes '%s'", s);
  TESS_CHECK(tess_checkpoint_get_attr_int(ck, "writer_ranks", &wr));
  CHECK(wr == writer_ranks, "writer_ranks %lld, expected %d", (long long)wr, writer_ranks);
  TESS_CHECK(tess_checkpoint_has(ck, "fields/u", &exists));
  CHECK(exists == 1, "has fields/u");
  TESS_CHECK(tess_checkpoint_has(ck, "fields/nope", &exists));
  CHECK(exists == 0, "has fields/nope");
  TESS_CHECK(tess_checkpoint_has(ck, "fields", &exists));
  CHECK(exists == 0, "a group is not a dataset");
cleanup:
  tess_checkpoint_close(&ck);
  for (int k = 0; k < NFIELDS; k++) tess_array_destroy(&a[k]);
  tess_mesh_destroy(&mesh);
  return err;
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_ERR_ARG;
  int rank = 0;
  tess_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc >= 3 && strcmp(argv[1], "write") == 0) err = do_write(argv[2]);
  else if (argc >= 4 && strcmp(argv[1], "read") == 0) err = do_read(argv[2], atoi(argv[3]));
  else if (rank == 0) fprintf(stderr, "usage: %s write FILE | read FILE WRITER_RANKS\n", argv[0]);
  if (err != TESS_OK) {
    if (rank == 0) tess_error_print(stderr);
    tess_test_failures++;
  }
  int rc = tess_test_finish(argc >= 2 ? argv[1] : "roundtrip");
  tess_finalize();
  return rc;
}
