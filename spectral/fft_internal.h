/* spectral/fft_internal.h: the distributed FFT plan, shared by its parts
 * (private to spectral/):
 *   fft_registry.c   the backend table and selection
 *   fft_layout.c     specs and their forms, boxes (geometry only)
 *   fft_plan.c       the device-neutral step planner (phases below)
 *   fft_execute.c    the step driver: backend executor ops + reshard
 *   fft_exec_host.c  the host executor (copies, scaling, buffers)
 *
 * A plan is a list of steps over "boxes" (the local block of the current
 * distribution, with the batch dims flattened into box dim 0):
 *   FFT    transform every line along one box dim, src box -> dst box;
 *   A2A    one all-to-all over a mesh axis (the transpose of a pencil FFT),
 *          a packed reshard planned at plan time (reshard.h);
 *   COPY   repack between box layouts (only where no FFT can do it).
 * Boxes before an all-to-all are the send buffer split in one chunk per peer,
 * boxes after it the receive buffer split likewise; the FFT next to an
 * all-to-all reads or writes those chunks directly, so the transpose pack and
 * unpack are fused with the line copies (no separate pack pass). */
#ifndef TESSERA_SPECTRAL_FFT_INTERNAL_H
#define TESSERA_SPECTRAL_FFT_INTERNAL_H
#include <tessera/fft.h>
#include <tessera/log.h>
#include <tessera/reshard.h>

#include "fft_backend.h"

#define MAXD FFT_MAXD
#define MAXLINES 8        /* distinct line shapes per plan */

enum { BUF_IN = 0, BUF_OUT, BUF_W0, BUF_W1, BUF_SEND, BUF_RECV, NBUF };
enum { STEP_FFT = 0, STEP_A2A, STEP_COPY };

typedef fft_box_t box_t;
typedef fft_seg_t seg_t;

typedef struct {
  int kind;
  box_t src, dst;
  int dim;                 /* FFT: box dim */
  int line;                /* FFT: index in plan->lines */
  double scale;            /* FFT: applied on copy-out */
  int stream;              /* FFT: copy out with streaming stores */
  int group_k0, group_len; /* FFT group head: steps done plane by plane over dims < k0;
                              results between a group's steps stay in plan->plane */
  int p;                   /* A2A: peers (the axis size) */
  tess_reshard_t *xchg;    /* A2A: the packed exchange over the axis (owned) */
  int self_q;              /* A2A: this rank's own chunk, written by the step before
                              straight into the receive buffer and left out of the
                              exchange (host plans); -1: sent like the others */
  size_t self_roff;        /* A2A: that chunk's offset in the receive buffer */
  fft_stage_t stage_in;    /* FFT: src is staged for this step (fft_backend.h) */
  fft_stage_t stage_out;   /* FFT: dst is written staged for the next step */
} step_t;

typedef struct {
  fft_line_desc_t d;
  void *lp;
} line_t;

struct tess_fft_plan {
  const tess_fft_backend_t *be;
  tess_mesh_t *mesh;
  tess_memspace_t space;   /* of the arrays planned for (execute checks it) */
  tess_fft_dir_t dir;
  unsigned flags;
  int rank, ndim, g, half;
  int64_t n[3];
  tess_dtype_t in_t, out_t;
  int64_t in_shape[TESS_MAX_NDIM], out_shape[TESS_MAX_NDIM];
  tess_shardspec_t in_spec, out_spec;
  int single;
  step_t *steps;
  int nsteps, cap;
  line_t lines[MAXLINES];
  int nlines;
  void *scr_in, *scr_out;  /* backend scratch */
  size_t scr_bytes;
  void *buf[NBUF];         /* owned work buffers (W0, W1, SEND, RECV) */
  int recv_in_send;        /* RECV lies in SEND's allocation, after it (self chunks) */
  size_t buf_bytes[NBUF];
  void *plane[2];          /* the plane(s) between the steps of a group (cache-resident):
                              one, in place; or staged (the next step's input),
                              alternating between two where a group has 3 steps */
  size_t plane_bytes;
  /* execution workspace, sized at planning so that execute allocates nothing */
  int maxseg;              /* chunks per box, at most */
  seg_t *ws_seg[2];
  size_t *ws_off[2];
  int ntransposes;
  int passes;              /* sweeps over the data per execution (tess_fft_info_t) */
  void *local;             /* TESS_FFT_FAST_LOCAL: the backend's whole-array plan (then
                              no steps); NULL: the line engine */
};

extern tess_log_event_t tess_fft_ev_exec, tess_fft_ev_lines, tess_fft_ev_a2a;
tess_err_t tess_fft_events_init(void);

/* fft_layout.c */
int64_t fft_line_pitch(int64_t len);
int64_t fft_prod(const int64_t *x, int a, int b);   /* x[a] * ... * x[b-1] */
void fft_box_free(box_t *b);
size_t fft_box_bytes(const box_t *b);
tess_err_t fft_box_split(box_t *b, int dim, int p);
tess_err_t fft_box_clone(box_t *dst, const box_t *src);
char *fft_box_view(const box_t *b, char *base, int k0, int64_t j, box_t *v, size_t *offs);
void fft_stage_init(fft_stage_t *st, const box_t *b, int kc, const fft_line_desc_t *d);
size_t fft_stage_bytes(const fft_stage_t *st, const box_t *b);
void fft_spec_forms(const int *t, int d, int *nat, int *tra, int *gn, int *gt, int an[3],
                    int at[3]);
#endif
