/* spectral/fft_execute.c: running a plan. A device-neutral driver: each
 * step goes to the backend's executor (line steps, box copies) or to the
 * transpose's packed reshard, on buffers the plan allocated in the
 * backend's memory space. Nothing is allocated here (tests/spectral
 * test_fft_noalloc checks it with an interposed malloc). */
#include <string.h>

#include "fft_internal.h"

tess_log_event_t tess_fft_ev_exec, tess_fft_ev_lines, tess_fft_ev_a2a;
static int ev_ready;

tess_err_t tess_fft_events_init(void)
{
  tess_err_t err = TESS_OK;
  if (ev_ready) return TESS_OK;
  TESS_CHECK(tess_log_event_register("FFTExecute", &tess_fft_ev_exec));
  TESS_CHECK(tess_log_event_register("FFTLines", &tess_fft_ev_lines));
  TESS_CHECK(tess_log_event_register("FFTAlltoall", &tess_fft_ev_a2a));
  ev_ready = 1;
cleanup:
  return err;
}

static tess_err_t check_arrays(const tess_fft_plan_t *p, const tess_array_t *in,
                               const tess_array_t *out)
{
  tess_err_t err = TESS_OK;
  int64_t shp[TESS_MAX_NDIM];
  tess_shardspec_t sp;
  TESS_REQUIRE(p && in && out, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(tess_array_mesh(in) == p->mesh && tess_array_mesh(out) == p->mesh, TESS_ERR_ARG,
               "FFT arrays are not on the plan's mesh");
  TESS_REQUIRE(tess_array_dtype(in) == p->in_t && tess_array_dtype(out) == p->out_t,
               TESS_ERR_SHAPE, "FFT dtypes %s->%s differ from the plan's %s->%s",
               tess_dtype_name(tess_array_dtype(in)), tess_dtype_name(tess_array_dtype(out)),
               tess_dtype_name(p->in_t), tess_dtype_name(p->out_t));
  TESS_REQUIRE(tess_array_ndim(in) == p->ndim && tess_array_ndim(out) == p->ndim, TESS_ERR_SHAPE,
               "FFT arrays have %d/%d dims, the plan %d", tess_array_ndim(in),
               tess_array_ndim(out), p->ndim);
  tess_array_global_shape(in, shp);
  TESS_REQUIRE(memcmp(shp, p->in_shape, sizeof(int64_t) * (size_t)p->ndim) == 0, TESS_ERR_SHAPE,
               "FFT input shape differs from the plan's");
  tess_array_global_shape(out, shp);
  TESS_REQUIRE(memcmp(shp, p->out_shape, sizeof(int64_t) * (size_t)p->ndim) == 0,
               TESS_ERR_SHAPE, "FFT output shape differs from the plan's");
  tess_array_spec(in, &sp);
  TESS_REQUIRE(tess_shardspec_equal(&sp, &p->in_spec), TESS_ERR_SHAPE,
               "FFT input spec differs from the plan's");
  tess_array_spec(out, &sp);
  TESS_REQUIRE(tess_shardspec_equal(&sp, &p->out_spec), TESS_ERR_SHAPE,
               "FFT output spec differs from the plan's");
  TESS_REQUIRE(in != out || !p->half, TESS_ERR_ARG, "r2c/c2r cannot run in place");
  TESS_REQUIRE(tess_array_is_block(in) && tess_array_is_block(out), TESS_ERR_UNSUPPORTED,
               "FFT plans use the block rule; reshard an explicitly partitioned array to it");
cleanup:
  return err;
}

/* `hot`: dst is in cache: a group's plane, or memory this step or its group
 * has just read (an in-place transform, `in` and `out` over the same
 * memory), where streaming stores would only evict it and direct lines may
 * write their rows themselves (fft_backend.h). */
static void run_lines(const tess_fft_plan_t *p, const step_t *st, const box_t *a, char *src,
                      const box_t *z, char *dst, int hot)
{
  const line_t *ln = &p->lines[st->line];
  fft_lines_job_t job = {
    .src = a, .dst = z, .src_data = src, .dst_data = dst, .dim = st->dim, .line = &ln->d,
    .lp = ln->lp, .scale = st->scale, .stream = st->stream && !hot, .dst_hot = hot,
    .single = p->single,
    .scr_in = p->scr_in, .scr_out = p->scr_out, .seg = p->ws_seg[0],
    .src_stage = st->stage_in.on ? &st->stage_in : NULL,
    .dst_stage = st->stage_out.on ? &st->stage_out : NULL,
  };
  p->be->exec_lines(p->be, &job);
}

tess_err_t tess_fft_execute(const tess_fft_plan_t *p, const tess_array_t *in, tess_array_t *out)
{
  tess_err_t err = TESS_OK;
  char *bufs[NBUF];

  TESS_CHECK(check_arrays(p, in, out));
  /* the backend's executor works in the memory the plan was made for */
  TESS_REQUIRE(tess_array_memspace(in) == p->space && tess_array_memspace(out) == p->space,
               TESS_ERR_UNSUPPORTED,
               "%s: FFT arrays in %s / %s memory, the plan (backend %s) was made for %s memory",
               __func__, tess_memspace_name(tess_array_memspace(in)),
               tess_memspace_name(tess_array_memspace(out)), p->be->name,
               tess_memspace_name(p->space));
  bufs[BUF_IN] = (char *)tess_array_local_data_const(in);
  bufs[BUF_OUT] = tess_array_local_data(out);
  for (int b = BUF_W0; b < NBUF; b++) bufs[b] = p->buf[b];

  tess_log_event_begin(tess_fft_ev_exec);
  if (p->local) {   /* TESS_FFT_FAST_LOCAL: the backend's whole-array plan */
    tess_log_event_begin(tess_fft_ev_lines);
    p->be->local_exec(p->local, bufs[BUF_IN], bufs[BUF_OUT]);
    tess_log_event_end(tess_fft_ev_lines);
  }
  for (int i = 0; i < p->nsteps && err == TESS_OK; i++) {
    const step_t *st = &p->steps[i];
    if (st->kind == STEP_FFT && st->group_len > 1) {
      /* consecutive FFTs plane by plane, so each plane stays in cache; between
       * steps the plane is kept in place, or staged as the next step's input
       * (alternating between two planes then) */
      int k0 = st->group_k0, len = st->group_len, staged = st->stage_out.on;
      int64_t nplanes = fft_prod(st->src.ext, 0, k0);
      tess_log_event_begin(tess_fft_ev_lines);
      for (int64_t j = 0; j < nplanes; j++)
        for (int m = 0; m < len; m++) {
          const step_t *s = &p->steps[i + m];
          box_t va, vz;
          char *s0 = m > 0 ? fft_box_view(&s->src, p->plane[staged ? (m - 1) & 1 : 0], k0, 0,
                                          &va, p->ws_off[0])
                           : fft_box_view(&s->src, bufs[s->src.buf], k0, j, &va, p->ws_off[0]);
          char *d0 = m < len - 1 ? fft_box_view(&s->dst, p->plane[staged ? m & 1 : 0], k0, 0,
                                                &vz, p->ws_off[1])
                                 : fft_box_view(&s->dst, bufs[s->dst.buf], k0, j, &vz,
                                                p->ws_off[1]);
          run_lines(p, s, &va, s0, &vz, d0,
                    m < len - 1 || bufs[s->dst.buf] == bufs[st->src.buf]);
        }
      tess_log_event_end(tess_fft_ev_lines);
      i += st->group_len - 1;
    } else if (st->kind == STEP_FFT) {
      tess_log_event_begin(tess_fft_ev_lines);
      run_lines(p, st, &st->src, bufs[st->src.buf], &st->dst, bufs[st->dst.buf],
                bufs[st->dst.buf] == bufs[st->src.buf]);
      tess_log_event_end(tess_fft_ev_lines);
    } else if (st->kind == STEP_COPY) {
      p->be->exec_copy(&st->src, bufs[st->src.buf], &st->dst, bufs[st->dst.buf], p->ws_seg[0],
                       p->ws_seg[1]);
    } else {
      tess_log_event_begin(tess_fft_ev_a2a);
      err = tess_reshard_execute_packed(st->xchg, bufs[BUF_SEND], bufs[BUF_RECV], NULL);
      tess_log_event_end(tess_fft_ev_a2a);
    }
  }
  if (p->be->exec_finish) {   /* drains a device executor; its first failure */
    tess_err_t e = p->be->exec_finish();
    if (err == TESS_OK) err = e;
  }
  tess_log_event_end(tess_fft_ev_exec);
cleanup:
  return err;
}
