/* src/checkpoint_manager.c: checkpoints named by step in one directory,
 * keeping the last K, and the "is one due now?" decision.
 * Names are "<prefix>_<step, 9 digits>.h5" so they sort by step and a crash
 * leftover ("....h5.tmp") never matches: only committed files count. Rank 0
 * touches the directory and broadcasts what it found, so all ranks agree. */
#include "checkpoint_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tessera/comm.h>
#include <tessera/fs.h>
#include <tessera/log.h>

struct tess_checkpoint_manager {
  MPI_Comm comm;
  int rank;
  char *dir, *prefix;
  int keep;
  int64_t every_steps;
  double every_seconds, last_time;
};

static char *dup_str(const char *s)
{
  char *d = malloc(strlen(s) + 1);
  if (d) strcpy(d, s);
  return d;
}

tess_err_t tess_checkpoint_manager_create(MPI_Comm comm, const tess_checkpoint_policy_t *policy,
                                          tess_checkpoint_manager_t **out)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_manager_t *m = NULL;
  TESS_REQUIRE(policy && out, TESS_ERR_ARG, "NULL argument");
  *out = NULL;
  TESS_REQUIRE(policy->dir && policy->dir[0], TESS_ERR_ARG, "checkpoint.dir must be non-empty");
  TESS_REQUIRE(policy->keep >= 1, TESS_ERR_ARG, "checkpoint.keep = %d, expected >= 1",
               policy->keep);
  const char *prefix = policy->prefix ? policy->prefix : "ckpt";
  TESS_REQUIRE(prefix[0] && !strchr(prefix, '/'), TESS_ERR_ARG,
               "checkpoint prefix '%s' must be a non-empty file name", prefix);
  m = calloc(1, sizeof *m);
  TESS_REQUIRE(m != NULL, TESS_ERR_MEM, "checkpoint manager");
  m->comm = MPI_COMM_NULL;
  m->dir = dup_str(policy->dir);
  m->prefix = dup_str(prefix);
  TESS_REQUIRE(m->dir && m->prefix, TESS_ERR_MEM, "checkpoint manager");
  m->keep = policy->keep;
  m->every_steps = policy->every_steps;
  m->every_seconds = policy->every_seconds;
  TESS_MPI_CHECK(MPI_Comm_dup(comm, &m->comm));
  MPI_Comm_rank(m->comm, &m->rank);
  m->last_time = tess_wtime();
  TESS_CHECK(tess_mkdir_all(m->comm, m->dir, "checkpoint.dir"));
  *out = m;
  m = NULL;
cleanup:
  tess_checkpoint_manager_destroy(&m);
  return err;
}

void tess_checkpoint_manager_destroy(tess_checkpoint_manager_t **pm)
{
  tess_checkpoint_manager_t *m = pm ? *pm : NULL;
  if (!m) return;
  if (m->comm != MPI_COMM_NULL) MPI_Comm_free(&m->comm);
  free(m->dir);
  free(m->prefix);
  free(m);
  *pm = NULL;
}

tess_err_t tess_checkpoint_manager_due(tess_checkpoint_manager_t *m, int64_t step, int *due)
{
  tess_err_t err = TESS_OK;
  int32_t d = 0, any = 0;
  tess_mesh_t *mesh = NULL;   /* borrowed: the one-axis mesh cached on m->comm */
  TESS_REQUIRE(m && due, TESS_ERR_ARG, "NULL argument");
  if (m->every_steps > 0 && step > 0 && step % m->every_steps == 0) d = 1;
  if (m->rank == 0 && m->every_seconds > 0 && tess_wtime() - m->last_time >= m->every_seconds)
    d = 1;   /* rank 0's clock only: clocks differ, the decision must not */
  if (tess_signal_caught()) d = 1;
  TESS_CHECK(tess_comm_mesh_of(m->comm, &mesh));
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &d, &any, 1, TESS_I32, TESS_OP_LOR, TESS_MEM_HOST, NULL));
  *due = any != 0;
cleanup:
  return err;
}

static void step_path(const tess_checkpoint_manager_t *m, int64_t step, char *buf, size_t cap)
{
  snprintf(buf, cap, "%s/%s_%09lld.h5", m->dir, m->prefix, (long long)step);
}

tess_err_t tess_checkpoint_manager_begin(tess_checkpoint_manager_t *m, int64_t step,
                                         tess_checkpoint_t **ck)
{
  tess_err_t err = TESS_OK;
  char path[4096];
  TESS_REQUIRE(m && ck, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(step >= 0, TESS_ERR_ARG, "checkpoint step %lld, expected >= 0", (long long)step);
  step_path(m, step, path, sizeof path);
  TESS_CHECK(tess_checkpoint_begin(m->comm, path, ck));
  (*ck)->manager = m;
cleanup:
  return err;
}

/* Steps of committed checkpoints in the directory, ascending (rank 0). */
static tess_err_t list_steps(const tess_checkpoint_manager_t *m, int64_t **steps, size_t *n)
{
  tess_err_t err = TESS_OK;
  DIR *d = opendir(m->dir);
  struct dirent *e;
  size_t cap = 0, plen = strlen(m->prefix);
  *steps = NULL;
  *n = 0;
  TESS_REQUIRE(d != NULL, TESS_ERR_IO, "cannot list checkpoint directory '%s': %s", m->dir,
               strerror(errno));
  while ((e = readdir(d)) != NULL) {
    const char *s = e->d_name;
    size_t len = strlen(s);
    /* exactly <prefix>_<9+ digits>.h5 */
    if (len < plen + 1 + 9 + 3 || strncmp(s, m->prefix, plen) != 0 || s[plen] != '_' ||
        strcmp(s + len - 3, ".h5") != 0)
      continue;
    int ok = 1;
    for (size_t i = plen + 1; i < len - 3; i++) ok = ok && s[i] >= '0' && s[i] <= '9';
    if (!ok) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      int64_t *p = realloc(*steps, cap * sizeof *p);
      TESS_REQUIRE(p != NULL, TESS_ERR_MEM, "checkpoint list");
      *steps = p;
    }
    (*steps)[(*n)++] = strtoll(s + plen + 1, NULL, 10);
  }
  for (size_t i = 1; i < *n; i++)   /* insertion sort: a handful of files */
    for (size_t j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
      int64_t t = (*steps)[j];
      (*steps)[j] = (*steps)[j - 1];
      (*steps)[j - 1] = t;
    }
cleanup:
  if (d) closedir(d);
  if (err) {
    free(*steps);
    *steps = NULL;
    *n = 0;
  }
  return err;
}

tess_err_t ck_manager_committed(tess_checkpoint_manager_t *m)
{
  tess_err_t err = TESS_OK;
  int64_t *steps = NULL;
  size_t n = 0;
  m->last_time = tess_wtime();
  if (m->rank != 0) goto cleanup;
  TESS_CHECK(list_steps(m, &steps, &n));
  for (size_t i = 0; i + (size_t)m->keep < n; i++) {
    char path[4096], xmf[4200];
    step_path(m, steps[i], path, sizeof path);
    ck_xdmf_path(path, xmf, sizeof xmf);
    TESS_REQUIRE(unlink(path) == 0 || errno == ENOENT, TESS_ERR_IO,
                 "cannot remove old checkpoint '%s': %s", path, strerror(errno));
    unlink(xmf);   /* may not exist */
  }
cleanup:
  free(steps);
  return ck_agree(m->comm, err);
}

tess_err_t tess_checkpoint_manager_latest(tess_checkpoint_manager_t *m, char *path, size_t cap,
                                          int *found)
{
  tess_err_t err = TESS_OK;
  int64_t *steps = NULL, last = -1;
  size_t n = 0;
  tess_mesh_t *mesh = NULL;   /* borrowed */
  TESS_REQUIRE(m && path && cap && found, TESS_ERR_ARG, "NULL argument");
  if (m->rank == 0) {
    err = list_steps(m, &steps, &n);
    if (!err && n) last = steps[n - 1];
  }
  TESS_CHECK(ck_agree(m->comm, err));
  TESS_CHECK(tess_comm_mesh_of(m->comm, &mesh));
  TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, &last, 1, TESS_I64, 0, TESS_MEM_HOST, NULL));
  *found = last >= 0;
  path[0] = '\0';
  if (*found) step_path(m, last, path, cap);
cleanup:
  free(steps);
  return err;
}
