/* apps/tessera_app.c: the study driver, `mpirun -n P tessera_app deck.toml`. */
#include <tessera/tessera.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("tessera_app %s (%s)\n", tess_version(), tess_git_revision());
    return 0;
  }
  fprintf(stderr, "usage: tessera_app DECK.toml\n");
  return 2;
}
