/* spectral/denoise_output.c: a denoise result to HDF5 (+ XDMF) through the
 * checkpoint writer: the three fields and the metrics as attributes. */
#include <tessera/denoise.h>

tess_err_t tess_denoise_write_h5(MPI_Comm comm, const char *path, const tess_denoise_result_t *res,
                                 const tess_checkpoint_meta_t *meta)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  TESS_REQUIRE(res && res->clean && res->noisy && res->denoised, TESS_ERR_ARG,
               "denoise output %s: the result kept no fields (set keep_fields)", path ? path : "");
  TESS_CHECK(tess_checkpoint_begin(comm, path, &ck));
  if (meta) TESS_CHECK(tess_checkpoint_set_meta(ck, meta));
  TESS_CHECK(tess_checkpoint_write_array(ck, "fields/clean", res->clean));
  TESS_CHECK(tess_checkpoint_write_array(ck, "fields/noisy", res->noisy));
  TESS_CHECK(tess_checkpoint_write_array(ck, "fields/denoised", res->denoised));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "psnr_noisy_db", res->psnr_noisy_db));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "psnr_denoised_db", res->psnr_denoised_db));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "rms_noisy", res->rms_noisy));
  TESS_CHECK(tess_checkpoint_set_attr_double(ck, "rms_denoised", res->rms_denoised));
  TESS_CHECK(tess_checkpoint_set_attr_int(ck, "modes_kept", res->modes.kept_modes));
  TESS_CHECK(tess_checkpoint_set_attr_int(ck, "modes_total", res->modes.total_modes));
  TESS_CHECK(tess_checkpoint_commit(&ck));
cleanup:
  tess_checkpoint_close(&ck);
  return err;
}
