/* include/tessera/deck.h: deck schemas and validation (issue: input decks).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_DECK_H
#define TESSERA_DECK_H
#include <tessera/error.h>
#endif
