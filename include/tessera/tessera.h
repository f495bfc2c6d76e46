/* include/tessera/tessera.h: the umbrella header. Include this one. */
#ifndef TESSERA_TESSERA_H
#define TESSERA_TESSERA_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <tessera/config.h>
#include <tessera/error.h>
#include <tessera/init.h>
#include <tessera/log.h>
#include <tessera/memory.h>
#include <tessera/dtype.h>
#include <tessera/rng.h>
#include <tessera/mesh.h>
#include <tessera/comm.h>
#include <tessera/array.h>
#include <tessera/reshard.h>
#include <tessera/reduce.h>
#include <tessera/tree_sum.h>
#include <tessera/gemm.h>
#include <tessera/toml.h>
#include <tessera/deck.h>
#include <tessera/fs.h>
#include <tessera/checkpoint.h>
#include <tessera/signal.h>
#include <tessera/image.h>
#include <tessera/fft.h>
#include <tessera/spectral_ops.h>
#include <tessera/denoise.h>
#include <tessera/pinn.h>
#include <tessera/ml.h>
#include <tessera/ml_gpt.h>
#include <tessera/ml_rl.h>
#include <tessera/ml_moe.h>
#include <tessera/ml_bpe.h>
TESS_API_END
#endif
