/* apps/app_cli.c: tessera_app's command line.
 * Options may come before or after the deck; "--opt value" and "--opt=value"
 * both work, so Slurm scripts can build command lines either way. */
#include "app.h"

#include <stdlib.h>
#include <string.h>

void tess_app_usage(FILE *fp)
{
  fputs("usage: tessera_app DECK.toml [--set key.path=value]... [--dry-run]\n"
        "                   [--restart CHECKPOINT | --resume] [--log-level error|warn|info|debug] [--log-view]\n"
        "       tessera_app DECK.toml --emit-sbatch [--nodes N] [--ntasks N] [--time T] [--partition P]\n"
        "       tessera_app --help | --version | --help-deck STUDY|all|common [--markdown]\n"
        "Single-dash options (-ksp_type cg, -log_view) go to PETSc, for studies that use it (poisson).\n"
        "\n"
        "Runs the study named by the deck's `study` key, collectively on all MPI ranks:\n"
        "  mpirun -n 64 tessera_app input.toml\n"
        "\n"
        "  --set key.path=value  override a deck key; the value is TOML (noise.sigma=0.2,\n"
        "                        filter.mode=\"soft\", grid.n=[64,64]) and is validated like the deck\n"
        "  --dry-run             validate, print the effective deck and the planned work, exit\n"
        "  --restart CHECKPOINT  continue from a checkpoint file (any rank count)\n"
        "  --resume              continue from the newest complete checkpoint in checkpoint.dir,\n"
        "                        or start if there is none (chained batch jobs)\n"
        "  --emit-sbatch         validate the deck, print a Slurm batch script that runs it\n"
        "                        (resources from the deck's [job] table; --nodes, --ntasks,\n"
        "                        --time, --partition override them), run nothing\n"
        "  --log-level L         error, warn, info (default) or debug\n"
        "  --log-view            print the timed-event table at exit\n"
        "  --help-deck STUDY     the keys of a study (all: every study; common: shared keys)\n"
        "  --markdown            with --help-deck: Markdown tables (docs/decks.md)\n"
        "\n"
        "exit status: 0 success, 2 usage error, 3 invalid deck (missing, unreadable, not TOML,\n"
        "or not matching its schema), 4 runtime failure, 5 stopped by a signal (SIGTERM,\n"
        "SIGUSR1, SIGUSR2) after writing a checkpoint (through Open MPI's mpirun SIGTERM gives 1:\n"
        "see docs/signals.md). A failure is reported once, with the status of every rank;\n"
        "RUN.OUTPUT_DIR/status.toml says how the run ended and how to restart it.\n", fp);
}

static tess_err_t add_set(tess_app_opts_t *o, const char *s)
{
  const char **p = realloc(o->sets, (o->nsets + 1) * sizeof *p);
  if (!p) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "--set");
  o->sets = p;
  o->sets[o->nsets++] = s;
  return TESS_OK;
}

/* Append to the PETSc argument list (argv[0] = prog first). */
static tess_err_t add_petsc(tess_app_opts_t *o, const char *prog, const char *s)
{
  char **p = realloc(o->petsc_argv, (size_t)(o->petsc_argc + 3) * sizeof *p);
  if (!p) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "PETSc options");
  o->petsc_argv = p;
  if (o->petsc_argc == 0) p[o->petsc_argc++] = (char *)prog;
  p[o->petsc_argc++] = (char *)s;
  p[o->petsc_argc] = NULL;
  return TESS_OK;
}

/* "--name value" or "--name=value": the value, advancing *i; NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
  if (strcmp(argv[*i], name) == 0 && *i + 1 < argc) return argv[++*i];
  return NULL;
}

static int is_opt(const char *arg, const char *name)
{
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* --nodes, --ntasks, --time, --partition (with --emit-sbatch): the index of
 * the one `arg` is, or -1. */
static const char *const job_opts[] = { "--nodes", "--ntasks", "--time", "--partition" };

static int job_opt(const char *arg)
{
  for (int k = 0; k < (int)(sizeof job_opts / sizeof job_opts[0]); k++)
    if (is_opt(arg, job_opts[k])) return k;
  return -1;
}

tess_err_t tess_app_parse_args(int argc, char **argv, tess_app_opts_t *o)
{
  tess_err_t err = TESS_OK;
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) o->help = 1;
    else if (strcmp(a, "--version") == 0) o->version = 1;
    else if (strcmp(a, "--dry-run") == 0) o->dry_run = 1;
    else if (strcmp(a, "--log-view") == 0) o->log_view = 1;
    else if (strcmp(a, "--markdown") == 0) o->markdown = 1;
    else if (is_opt(a, "--set")) {
      v = opt_value(argc, argv, &i, "--set");
      TESS_REQUIRE(v, TESS_ERR_ARG, "--set needs key.path=value");
      TESS_CHECK(add_set(o, v));
    } else if (is_opt(a, "--restart")) {
      v = opt_value(argc, argv, &i, "--restart");
      TESS_REQUIRE(v && v[0], TESS_ERR_ARG, "--restart needs a checkpoint file");
      o->restart = v;
    } else if (strcmp(a, "--resume") == 0) {
      o->resume = 1;
    } else if (strcmp(a, "--emit-sbatch") == 0) {
      o->emit_sbatch = 1;
    } else if (job_opt(a) >= 0) {
      const char **dst[] = { &o->job_nodes, &o->job_ntasks, &o->job_time, &o->job_partition };
      int k = job_opt(a);
      v = opt_value(argc, argv, &i, job_opts[k]);
      TESS_REQUIRE(v && v[0], TESS_ERR_ARG, "%s needs a value", job_opts[k]);
      *dst[k] = v;
    } else if (is_opt(a, "--help-deck")) {
      v = opt_value(argc, argv, &i, "--help-deck");
      TESS_REQUIRE(v, TESS_ERR_ARG, "--help-deck needs a study name, 'all' or 'common'");
      o->help_deck = v;
    } else if (is_opt(a, "--log-level")) {
      v = opt_value(argc, argv, &i, "--log-level");
      TESS_REQUIRE(v, TESS_ERR_ARG, "--log-level needs error, warn, info or debug");
      TESS_CHECK(tess_log_level_parse(v, &o->log_level));
      o->log_level_set = 1;
    } else if (a[0] == '-' && a[1] != '-' && a[1] != '\0') {
      /* a single dash: PETSc's (-ksp_type cg, -log_view), with its value if one follows */
      TESS_CHECK(add_petsc(o, argv[0], a));
      if (i + 1 < argc && argv[i + 1][0] != '-') TESS_CHECK(add_petsc(o, argv[0], argv[++i]));
    } else if (a[0] == '-' && a[1] != '\0') {
      err = tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                            "unknown option '%s' (see tessera_app --help)", a);
      goto cleanup;
    } else {
      TESS_REQUIRE(!o->deck, TESS_ERR_ARG, "one deck only: got '%s' and '%s'", o->deck, a);
      o->deck = a;
    }
  }
  TESS_REQUIRE(o->deck || o->help || o->version || o->help_deck, TESS_ERR_ARG,
               "no deck given (usage: tessera_app DECK.toml [options]; see --help)");
  TESS_REQUIRE(!(o->resume && o->restart), TESS_ERR_ARG,
               "--resume and --restart exclude each other (--resume picks the checkpoint)");
  TESS_REQUIRE(o->emit_sbatch || !(o->job_nodes || o->job_ntasks || o->job_time || o->job_partition),
               TESS_ERR_ARG, "--nodes, --ntasks, --time and --partition go with --emit-sbatch");
cleanup:
  return err;
}
