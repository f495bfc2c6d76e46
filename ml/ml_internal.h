/* ml/ml_internal.h: what the host operators of ml/ share (private to ml/).
 * Each operator is written once as a macro over the storage type T and
 * instantiated for double (_f64) and float (_f32); the public function
 * checks its arguments and dispatches on the dtype. Arithmetic is in double
 * whatever T is. */
#ifndef TESSERA_ML_INTERNAL_H
#define TESSERA_ML_INTERNAL_H
#include <tessera/memory.h>
#include <tessera/ml.h>

/* The operators run on the host and take raw pointers: one into device
 * memory is refused (TESS_ERR_UNSUPPORTED naming the argument and its space)
 * instead of crashing in the first load. ML_HOST is for arguments that may be
 * NULL (a NULL pointer is host); ML_NONNULL checks both. The query costs
 * nothing without a visible GPU, one runtime call per pointer with one. */
#define ML_HOST(p)                                                                       \
  do {                                                                                   \
    tess_memspace_t ml_sp_;                                                              \
    TESS_CHECK(tess_memspace_of((p), &ml_sp_));                                          \
    TESS_REQUIRE(tess_memspace_is_host(ml_sp_), TESS_ERR_UNSUPPORTED,                    \
                 "%s: argument '%s' points to %s memory (the ML operators run on the "   \
                 "host: pass host or pinned memory)", __func__, #p,                      \
                 tess_memspace_name(ml_sp_));                                            \
  } while (0)
#define ML_NONNULL(p)                                                                    \
  do {                                                                                   \
    TESS_REQUIRE((p) != NULL, TESS_ERR_ARG, "%s: argument '%s' is NULL", __func__, #p);  \
    ML_HOST(p);                                                                          \
  } while (0)
#define ML_DTYPE(t)                                                                     \
  TESS_REQUIRE((t) == TESS_F64 || (t) == TESS_F32, TESS_ERR_UNSUPPORTED,                \
               "%s: dtype %s on the host (expected f64 or f32)", __func__, tess_dtype_name(t))
/* Call name_f64(args) or name_f32(args) by the dtype t (checked before). */
#define ML_CALL(t, name, ...) ((t) == TESS_F64 ? name##_f64(__VA_ARGS__) : name##_f32(__VA_ARGS__))
/* Instantiate DEF(T, suffix) for both storage types. */
#define ML_INSTANTIATE(DEF) DEF(double, f64) DEF(float, f32)
#endif
