/* include/tessera/export.h: what libtessera exports. The library is built
 * with hidden visibility; every public header wraps its declarations in
 * TESS_API_BEGIN / TESS_API_END, so exactly the functions declared in
 * include/tessera/ are visible to programs (tests/layering checks it with
 * nm -D). TESS_API marks a single declaration outside such a block. */
#ifndef TESSERA_EXPORT_H
#define TESSERA_EXPORT_H
#if defined(__GNUC__)
#define TESS_API __attribute__((visibility("default")))
#define TESS_API_BEGIN _Pragma("GCC visibility push(default)")
#define TESS_API_END _Pragma("GCC visibility pop")
#else
#define TESS_API
#define TESS_API_BEGIN
#define TESS_API_END
#endif
#endif
