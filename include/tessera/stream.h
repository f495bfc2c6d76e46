/* include/tessera/stream.h: the execution stream of an asynchronous
 * operation. Opaque; NULL means the default stream of the mesh (or memory)
 * the operation runs on. Host backends run in order on the calling thread
 * and ignore it; a GPU backend maps it to its own stream (a cudaStream_t
 * for NCCL and the CUDA copy kernels), so collectives and device copies can
 * be ordered with the kernels around them without a host synchronisation. */
#ifndef TESSERA_STREAM_H
#define TESSERA_STREAM_H
#include <tessera/export.h>
TESS_API_BEGIN

typedef struct tess_stream *tess_stream_t;

#define TESS_STREAM_DEFAULT ((tess_stream_t)0)
TESS_API_END
#endif
