/* include/tessera/toml.h: TOML 1.0 parser and read-only document tree (issue: input decks).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_TOML_H
#define TESSERA_TOML_H
#include <tessera/error.h>
#endif
