/* apps/app_sbatch.c: the deck's [job] table (Slurm resources) and
 * `tessera_app DECK --emit-sbatch`: a batch script that runs the deck as
 * validated here, with the warning signal before the time limit that makes
 * the run checkpoint and stop (docs/slurm.md, docs/signals.md). */
#define _DEFAULT_SOURCE   /* realpath, strcasecmp */
#include "app.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tessera/init.h>

/* sbatch's time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
 * (digits only), or UNLIMITED / INFINITE. */
static int time_ok(const char *t)
{
  const char *p = t;
  int groups = 0;
  if (strcasecmp(t, "UNLIMITED") == 0 || strcasecmp(t, "INFINITE") == 0) return 1;
  if (isdigit((unsigned char)*p)) {
    const char *q = p;
    while (isdigit((unsigned char)*q)) q++;
    if (*q == '-') p = q + 1;   /* days */
  }
  for (;;) {
    const char *q = p;
    while (isdigit((unsigned char)*q)) q++;
    if (q == p || q - p > 9) return 0;
    groups++;
    if (*q == '\0') break;
    if (*q != ':') return 0;
    p = q + 1;
  }
  return groups <= 3;
}

static int count_ok(const char *s, int64_t *v)
{
  char *end = NULL;
  long long x = strtoll(s, &end, 10);
  if (!*s || *end || x < 1 || x > INT_MAX) return 0;
  *v = x;
  return 1;
}

static int partition_ok(const char *s)
{
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,-") ==
         strlen(s);
}

tess_err_t tess_app_check_job(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  const char *t = NULL, *part = NULL;
  TESS_CHECK(tess_deck_get_string(deck, "job.time", &t));
  TESS_CHECK(tess_deck_get_string(deck, "job.partition", &part));
  if (!time_ok(t))
    TESS_CHECK(tess_deck_key_error(deck, "job.time",
                                   "'%s' is not a Slurm time limit: expected MM, MM:SS, HH:MM:SS, "
                                   "D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED", t));
  if (!partition_ok(part))
    TESS_CHECK(tess_deck_key_error(deck, "job.partition",
                                   "'%s' is not a partition name (letters, digits, '_', '.', "
                                   "'-'; ',' between several)", part));
cleanup:
  return err;
}

/* s in single quotes for bash ('\'' for a quote inside). */
static void put_quoted(FILE *fp, const char *s)
{
  fputc('\'', fp);
  for (; *s; s++) {
    if (*s == '\'') fputs("'\\''", fp);
    else fputc(*s, fp);
  }
  fputc('\'', fp);
}

tess_err_t tess_app_emit_sbatch(FILE *fp, const tess_app_opts_t *o, const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  int64_t nodes = 0, ntasks = 0, sig = 0;
  const char *time = NULL, *part = NULL, *base;
  char *app = NULL, *dk = NULL, name[256];
  size_t len;

  TESS_CHECK(tess_deck_get_int(deck, "job.nodes", &nodes));
  TESS_CHECK(tess_deck_get_int(deck, "job.ntasks", &ntasks));
  TESS_CHECK(tess_deck_get_int(deck, "job.signal_seconds", &sig));
  TESS_CHECK(tess_deck_get_string(deck, "job.time", &time));
  TESS_CHECK(tess_deck_get_string(deck, "job.partition", &part));
  TESS_REQUIRE(!o->job_nodes || count_ok(o->job_nodes, &nodes), TESS_ERR_ARG,
               "--nodes '%s': expected a whole number >= 1", o->job_nodes);
  TESS_REQUIRE(!o->job_ntasks || count_ok(o->job_ntasks, &ntasks), TESS_ERR_ARG,
               "--ntasks '%s': expected a whole number >= 1", o->job_ntasks);
  TESS_REQUIRE(!o->job_time || time_ok(o->job_time), TESS_ERR_ARG,
               "--time '%s': expected MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED",
               o->job_time);
  TESS_REQUIRE(!o->job_partition || partition_ok(o->job_partition), TESS_ERR_ARG,
               "--partition '%s': expected a partition name", o->job_partition);
  if (o->job_time) time = o->job_time;
  if (o->job_partition) part = o->job_partition;
  TESS_REQUIRE(ntasks >= nodes, TESS_ERR_ARG,
               "%lld tasks on %lld nodes: every node needs at least one (job.ntasks >= job.nodes)",
               (long long)ntasks, (long long)nodes);
  /* absolute paths: the script runs from wherever sbatch was called */
  app = realpath("/proc/self/exe", NULL);
  dk = realpath(o->deck, NULL);
  TESS_REQUIRE(app && dk, TESS_ERR_IO, "cannot resolve the path of %s",
               app ? o->deck : "tessera_app");
  base = strrchr(dk, '/') ? strrchr(dk, '/') + 1 : dk;
  snprintf(name, sizeof name, "%s", base);
  len = strlen(name);
  if (len > 5 && strcmp(name + len - 5, ".toml") == 0) name[len - 5] = '\0';
  for (char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.') *c = '_';

  fprintf(fp, "#!/bin/bash\n"
              "# Written by tessera_app --emit-sbatch (tessera %s) for\n#   %s\n"
              "# Submit: sbatch THIS_FILE [tessera_app options, e.g. --resume]\n",
          tess_version(), dk);
  fprintf(fp, "#SBATCH --job-name=%s\n#SBATCH --nodes=%lld\n#SBATCH --ntasks=%lld\n"
              "#SBATCH --time=%s\n", name, (long long)nodes, (long long)ntasks, time);
  if (part[0]) fprintf(fp, "#SBATCH --partition=%s\n", part);
  fprintf(fp, "#SBATCH --signal=B:USR1@%lld\n#SBATCH --output=%s-%%j.out\n", (long long)sig, name);
  fputs("# SIGUSR1 (Slurm's warning before the time limit) or SIGTERM (scancel) goes to\n"
        "# mpirun, which hands SIGUSR1 to the ranks: they checkpoint at their next step\n"
        "# and stop with exit 5; resubmit with --resume to continue (docs/slurm.md).\n"
        "app=", fp);
  put_quoted(fp, app);
  fputs("\ndeck=", fp);
  put_quoted(fp, dk);
  fprintf(fp, "\nmpirun -n \"${SLURM_NTASKS:-%lld}\" \"$app\" \"$deck\"", (long long)ntasks);
  for (size_t i = 0; i < o->nsets; i++) {
    fputs(" --set ", fp);
    put_quoted(fp, o->sets[i]);
  }
  fputs(" \"$@\" &\n"
        "pid=$!\n"
        "trap 'kill -USR1 \"$pid\" 2>/dev/null' USR1 TERM\n"
        "wait \"$pid\"; rc=$?\n"
        "# wait returns early (status > 128) when a trap ran: wait again for the exit\n"
        "while [ \"$rc\" -gt 128 ] && kill -0 \"$pid\" 2>/dev/null; do wait \"$pid\"; rc=$?; done\n"
        "exit \"$rc\"\n", fp);
  TESS_REQUIRE(fflush(fp) == 0 && !ferror(fp), TESS_ERR_IO, "writing the batch script failed");
cleanup:
  free(app);
  free(dk);
  return err;
}
