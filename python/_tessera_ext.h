/* python/_tessera_ext.h: what _tessera.c shares with the extension's further
 * files: the exception, raising it from Tessera's error stack, the array
 * capsule (all defined in _tessera.c), and the files' registration hooks. */
#ifndef TESSERA_PY_EXT_H
#define TESSERA_PY_EXT_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <tessera/tessera.h>

extern PyObject *tess_py_error;   /* tessera.TesseraError, made at module init */

/* Raise TesseraError(message, code name, frames) from Tessera's error stack
 * (frames: (file, line, function, message, code), deepest first); clears
 * the stack; returns NULL. */
PyObject *tess_py_raise(tess_err_t e);
/* A "tessera.array" capsule owning `a` (destroyed with the capsule). */
PyObject *tess_py_array_capsule(tess_array_t *a);

/* The hooks _tessera.c calls at module init: the PINN functions, and the
 * deck, run, checkpoint and DLPack ones, added to module m. 0 or -1 with
 * an exception set. */
int tess_py_pinn_init(PyObject *m);
int tess_py_deck_init(PyObject *m);
int tess_py_ckpt_init(PyObject *m);
int tess_py_dlpack_init(PyObject *m);
#endif
