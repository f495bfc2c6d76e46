/* apps/app_status.c: run.output_dir/status.toml, how a run ended.
 * A job script (or a person the next morning) must be able to tell "done"
 * from "stopped by the batch system, saved, resubmit with --restart X" from
 * "failed" from "killed" without parsing logs: mpirun's own exit status
 * cannot say it (after SIGTERM Open MPI exits 1 whatever the ranks return,
 * docs/signals.md). The file is written by rank 0 through a temporary name
 * and rename, so a reader never sees half of it:
 *   state = "running"        written before any work (it also proves the
 *                            output directory is writable: issue 13 item 9)
 *   state = "checkpointing"  a signal arrived, the checkpoint is being written
 *   state = "stopped"        ... and is complete: checkpoint, restart command
 *   state = "finished" | "failed"
 * A run killed outright (SIGKILL) leaves "running" or "checkpointing". */
#include "app.h"

#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tessera/comm.h>
#include <tessera/fs.h>
#include <tessera/signal.h>

static char outdir[4096];
static char ckpt[4096];        /* checkpoint of a signal stop, "" if none */
static int ckpt_committed;
static char cmdline[8192];     /* the command, for the restart line */

static int world_rank(void)
{
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

const char *tess_app_signal_name(int sig)
{
  switch (sig) {
  case SIGTERM: return "SIGTERM";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  case SIGINT: return "SIGINT";
  default: return sig ? "a signal" : "none";
  }
}

/* One argument for a shell: as it is when safe, else single-quoted. */
static size_t put_arg(char *dst, size_t cap, const char *a)
{
  size_t o = 0;
  int plain = a[0] != '\0';
  for (const char *c = a; *c; c++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *c)) plain = 0;
  if (plain) return (size_t)snprintf(dst, cap, "%s", a);
  o += (size_t)snprintf(dst + o, cap > o ? cap - o : 0, "'");
  for (const char *c = a; *c; c++)
    o += (size_t)snprintf(dst + o, cap > o ? cap - o : 0, *c == '\'' ? "'\\''" : "%c", *c);
  o += (size_t)snprintf(dst + o, cap > o ? cap - o : 0, "'");
  return o;
}

void tess_app_status_cmdline(int argc, char **argv)
{
  int size = 1;
  size_t o = 0, cap = sizeof cmdline;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  o += (size_t)snprintf(cmdline, cap, "mpirun -n %d", size);
  for (int i = 0; i < argc && o < cap; i++) {
    if (i > 0 && strcmp(argv[i], "--restart") == 0) { i++; continue; }   /* replaced below */
    if (i > 0 && strncmp(argv[i], "--restart=", 10) == 0) continue;
    o += (size_t)snprintf(cmdline + o, cap - o, " ");
    if (o < cap) o += put_arg(cmdline + o, cap - o, argv[i]);
  }
}

/* TOML basic string body: escape what TOML requires. */
static void put_toml(FILE *fp, const char *key, const char *v)
{
  fprintf(fp, "%s = \"", key);
  for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(fp, "\\%c", *c);
    else if (*c < 0x20) fprintf(fp, "\\u%04x", *c);
    else fputc(*c, fp);
  }
  fputs("\"\n", fp);
}

/* Rank 0. errno-style message in msg on failure. */
static int write_status(const char *state, int exit_status, const char *detail, char *msg, size_t cap)
{
  char path[4200], tmp[4300], when[64];
  time_t now = time(NULL);
  struct tm tm;
  snprintf(path, sizeof path, "%s/status.toml", outdir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  FILE *fp = fopen(tmp, "w");
  if (!fp) { snprintf(msg, cap, "%s", strerror(errno)); return -1; }
  fputs("# tessera_app run status (docs/signals.md)\n", fp);
  put_toml(fp, "state", state);
  put_toml(fp, "time", when);
  if (exit_status >= 0) fprintf(fp, "exit_status = %d\n", exit_status);
  if (detail && *detail) put_toml(fp, "detail", detail);
  if (tess_signal_caught()) put_toml(fp, "signal", tess_app_signal_name(tess_signal_caught()));
  if (ckpt[0]) {
    char cmd[12400];
    put_toml(fp, "checkpoint", ckpt);
    fprintf(fp, "checkpoint_complete = %s\n", ckpt_committed ? "true" : "false");
    snprintf(cmd, sizeof cmd, "%s --restart ", cmdline);
    put_arg(cmd + strlen(cmd), sizeof cmd - strlen(cmd), ckpt);
    if (ckpt_committed) put_toml(fp, "restart", cmd);
  }
  int bad = ferror(fp);
  bad |= fflush(fp) != 0;
  bad |= fclose(fp) != 0;
  if (bad || rename(tmp, path) != 0) {
    snprintf(msg, cap, "%s", strerror(errno ? errno : EIO));
    remove(tmp);
    return -1;
  }
  return 0;
}

tess_err_t tess_app_output_ready(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  const char *dir = NULL;
  char msg[256] = "";   /* a whole number of 4-byte words: it travels as TESS_I32 */
  int32_t ok = 1;
  tess_mesh_t *world = NULL;   /* borrowed */
  TESS_CHECK(tess_deck_get_string(deck, "run.output_dir", &dir));
  snprintf(outdir, sizeof outdir, "%s", dir);
  TESS_CHECK(tess_mkdir_all(MPI_COMM_WORLD, outdir, "run.output_dir"));
  if (world_rank() == 0) ok = write_status("running", -1, NULL, msg, sizeof msg) == 0;
  TESS_CHECK(tess_comm_mesh_of(MPI_COMM_WORLD, &world));
  TESS_CHECK(tess_comm_bcast(world, TESS_AXES_ALL, &ok, 1, TESS_I32, 0, TESS_MEM_HOST, NULL));
  TESS_CHECK(tess_comm_bcast(world, TESS_AXES_ALL, msg, sizeof msg / 4, TESS_I32, 0, TESS_MEM_HOST, NULL));
  TESS_REQUIRE(ok, TESS_ERR_IO, "%s: run.output_dir '%s': cannot write a file there (checked before any "
               "work): %s", tess_deck_path(deck), outdir, msg);
cleanup:
  if (err) outdir[0] = '\0';
  return err;
}

void tess_study_checkpoint_note(const char *path, int committed)
{
  char msg[256];
  snprintf(ckpt, sizeof ckpt, "%s", path ? path : "");
  ckpt_committed = committed;
  if (outdir[0] && world_rank() == 0)
    write_status(committed ? "checkpointed" : "checkpointing", -1, NULL, msg, sizeof msg);
}

void tess_app_status_final(int exit_status, const char *detail)
{
  char msg[256];
  const char *state = exit_status == TESS_EXIT_OK ? "finished"
                      : exit_status == TESS_EXIT_SIGNAL ? (ckpt_committed ? "stopped" : "stopped without checkpoint")
                                                        : "failed";
  if (!outdir[0]) return;   /* the caller is the one rank that reports */
  if (write_status(state, exit_status, detail, msg, sizeof msg) != 0)
    fprintf(stderr, "tessera_app: cannot write %s/status.toml: %s\n", outdir, msg);
  if (exit_status == TESS_EXIT_SIGNAL) {
    /* the last lines: what was saved and how to go on */
    if (ckpt_committed) {
      fprintf(stderr, "tessera_app: stopped by a signal (%s); checkpoint complete: %s\n", tess_app_signal_name(tess_signal_caught()), ckpt);
      fprintf(stderr, "tessera_app: resume with: %s --restart ", cmdline);
      char q[8192];
      put_arg(q, sizeof q, ckpt);
      fprintf(stderr, "%s\n", q);
    } else {
      fprintf(stderr, "tessera_app: stopped by a signal (%s); no checkpoint (this study cannot resume; status in %s/status.toml)\n",
              tess_app_signal_name(tess_signal_caught()), outdir);
    }
  }
}
