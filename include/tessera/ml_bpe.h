/* include/tessera/ml_bpe.h: byte-level byte-pair encoding for the ML
 * studies. Token ids 0..255 are the bytes; merge r (0-based) makes token
 * 256 + r from the pair (a, b) of earlier tokens. Encoding applies the merges
 * in rank order (each everywhere, left to right, before the next), which
 * gives the same ids as GPT-2's "lowest-ranked pair first" loop: a later
 * merge never makes a new (a, b) neighbour of an earlier one. No
 * pre-tokenizer: merges may span spaces and newlines.
 *
 * Training is deterministic: each round merges the most frequent adjacent
 * pair (counted with overlaps, as in "aaa"), the smallest (a, b) among equal
 * counts, until nmerges merges or no pair occurs twice.
 *
 * Merges file (tess_ml_bpe_load): the line "#tessera-bpe 1", then one merge
 * per line, "a b" as decimal token ids, a and b < 256 + its rank; blank
 * lines and lines starting with '#' after the first are skipped. */
#ifndef TESSERA_ML_BPE_H
#define TESSERA_ML_BPE_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/error.h>
#include <tessera/export.h>
TESS_API_BEGIN

typedef struct tess_ml_bpe tess_ml_bpe_t;

/* Learns up to nmerges merges (at most TESS_ML_BPE_MAX_TRAIN) from text[n]. */
#define TESS_ML_BPE_MAX_TRAIN 4096
tess_err_t tess_ml_bpe_train(const unsigned char *text, size_t n, size_t nmerges, tess_ml_bpe_t **bpe);
/* Reads a merges file; errors name the file and line and the expected form. */
tess_err_t tess_ml_bpe_load(const char *path, tess_ml_bpe_t **bpe);
void tess_ml_bpe_destroy(tess_ml_bpe_t **bpe);
/* 256 + the number of merges; merge r's pair into pair[2] (NULL: not wanted). */
tess_err_t tess_ml_bpe_vocab(const tess_ml_bpe_t *bpe, size_t *vocab);
tess_err_t tess_ml_bpe_merge(const tess_ml_bpe_t *bpe, size_t r, int32_t pair[2]);
/* The ids of text[n] into ids[cap] (at most n of them), their count in *nids;
 * TESS_ERR_ARG if cap is too small for them. */
tess_err_t tess_ml_bpe_encode(const tess_ml_bpe_t *bpe, const unsigned char *text, size_t n, int32_t *ids,
                              size_t cap, size_t *nids);
/* The bytes of ids[nids] into out[cap], their count in *nout; TESS_ERR_ARG for
 * an id outside the vocabulary or too small a cap. out NULL: only *nout (the
 * size to allocate). */
tess_err_t tess_ml_bpe_decode(const tess_ml_bpe_t *bpe, const int32_t *ids, size_t nids, unsigned char *out,
                              size_t cap, size_t *nout);
TESS_API_END
#endif
