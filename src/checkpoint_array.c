/* src/checkpoint_array.c: distributed arrays <-> global HDF5 datasets.
 * A dataset holds the whole global array in row-major order, so it does not
 * matter which spec or rank count wrote it: a reader selects the hyperslab of
 * its own block in ITS spec. Blocks are computed from the rule in array.h
 * (the block rule or the array's explicit partition), for this rank or, in rank0 mode,
 * for every rank on rank 0.
 *   write: each block once (replicated copies: only the rank at coordinate 0
 *          of every unused mesh axis writes), collectively in parallel mode;
 *   read:  into scratch memory first, copied into the array only once every
 *          rank has its block, so a failed read leaves the array untouched. */
#include "array_internal.h"
#include "checkpoint_internal.h"

#include <errno.h>
#include <sys/statvfs.h>
#include <tessera/comm.h>

#include <stdlib.h>
#include <string.h>

#include <tessera/config.h>

#define XFER_CHUNK ((size_t)1 << 30)   /* bytes per MPI message: counts are int */
#define TAG_DATA 7301
#define TAG_STATUS 7302

/* Block of mesh rank `r` of array a: start/count per dim, and whether r is
 * the one rank that writes this block (coordinate 0 on unused axes). */
static void block_of(const tess_array_t *a, int r, hsize_t start[], hsize_t count[],
                     int *owner, size_t *nelem)
{
  tess_mesh_t *mesh = tess_array_mesh(a);
  int coords[TESS_MESH_MAX_AXES], used[TESS_MESH_MAX_AXES] = { 0 };
  int64_t shape[TESS_MAX_NDIM];
  tess_shardspec_t spec;
  int nd = tess_array_ndim(a);
  tess_mesh_coords_of(mesh, r, coords);
  tess_array_global_shape(a, shape);
  tess_array_spec(a, &spec);
  *nelem = 1;
  for (int d = 0; d < nd; d++) {
    int ax = spec.axis[d];
    int64_t s = 0, l = shape[d];
    if (ax != TESS_REPLICATED) {
      used[ax] = 1;
      tess_partition_range_(a->part.off[d], shape[d], tess_mesh_axis_size(mesh, ax), coords[ax],
                            &s, &l);
    }
    start[d] = (hsize_t)s;
    count[d] = (hsize_t)l;
    *nelem *= (size_t)l;
  }
  *owner = 1;
  for (int ax = 0; ax < tess_mesh_naxes(mesh); ax++)
    if (!used[ax] && coords[ax] != 0) *owner = 0;
}

static tess_err_t check_array(const tess_checkpoint_t *ck, const char *name,
                              const tess_array_t *a)
{
  tess_err_t err = TESS_OK;
  int cmp = MPI_UNEQUAL;
  TESS_REQUIRE(name && name[0] && a, TESS_ERR_ARG, "checkpoint '%s': NULL name or array",
               ck->path);
  TESS_REQUIRE(tess_array_ndim(a) >= 1, TESS_ERR_ARG,
               "checkpoint '%s': array '%s' has no dimensions", ck->path, name);
  TESS_MPI_CHECK(MPI_Comm_compare(ck->comm, tess_mesh_comm(tess_array_mesh(a)), &cmp));
  TESS_REQUIRE(cmp == MPI_IDENT || cmp == MPI_CONGRUENT, TESS_ERR_ARG,
               "checkpoint '%s': array '%s' lives on a mesh over other ranks than the "
               "checkpoint's communicator", ck->path, name);
cleanup:
  return err;
}

static void spec_text(const tess_array_t *a, char *buf, size_t cap)
{
  tess_shardspec_t spec;
  tess_mesh_t *mesh = tess_array_mesh(a);
  size_t used = 0;
  tess_array_spec(a, &spec);
  buf[0] = '\0';
  for (int d = 0; d < spec.ndim && used < cap; d++)
    used += (size_t)snprintf(buf + used, cap - used, "%s%s", d ? "," : "",
                             spec.axis[d] == TESS_REPLICATED
                                 ? "*" : tess_mesh_axis_name(mesh, spec.axis[d]));
}

static void mesh_text(const tess_mesh_t *mesh, char *buf, size_t cap, int64_t sizes[])
{
  size_t used = 0;
  buf[0] = '\0';
  for (int ax = 0; ax < tess_mesh_naxes(mesh) && used < cap; ax++) {
    used += (size_t)snprintf(buf + used, cap - used, "%s%s", ax ? "," : "",
                             tess_mesh_axis_name(mesh, ax));
    sizes[ax] = tess_mesh_axis_size(mesh, ax);
  }
}

/* Dataset attributes (and, for the first array, the root mesh attributes). */
static tess_err_t describe(tess_checkpoint_t *ck, hid_t ds, const tess_array_t *a)
{
  tess_err_t err = TESS_OK;
  char spec[256], axes[256];
  int64_t sizes[TESS_MESH_MAX_AXES];
  const tess_mesh_t *mesh = tess_array_mesh(a);
  size_t nax = (size_t)tess_mesh_naxes(mesh);
  spec_text(a, spec, sizeof spec);
  mesh_text(mesh, axes, sizeof axes, sizes);
  TESS_CHECK(ck_attr_put_str(ck, ds, "tessera_dtype", tess_dtype_name(tess_array_dtype(a))));
  TESS_CHECK(ck_attr_put_str(ck, ds, "shardspec", spec));
  TESS_CHECK(ck_attr_put_str(ck, ds, "mesh_axes", axes));
  TESS_CHECK(ck_attr_put_num(ck, ds, "mesh_shape", H5T_NATIVE_INT64, sizes, nax, 0));
  if (!ck->mesh_recorded) {
    TESS_CHECK(ck_attr_put_str(ck, ck->file, "mesh_axes", axes));
    TESS_CHECK(ck_attr_put_num(ck, ck->file, "mesh_shape", H5T_NATIVE_INT64, sizes, nax, 0));
  }
cleanup:
  return err;
}

static hid_t block_spaces(int nd, const hsize_t gdims[], const hsize_t start[],
                          const hsize_t count[], size_t nelem, hid_t *mspace)
{
  hsize_t one = 1;
  hid_t fspace = H5Screate_simple(nd, gdims, NULL);
  *mspace = H5I_INVALID_HID;
  if (fspace < 0) return fspace;
  if (nelem > 0) {
    *mspace = H5Screate_simple(nd, count, NULL);
    if (*mspace < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0) goto fail;
  } else {   /* still joins collective calls, with nothing selected */
    *mspace = H5Screate_simple(1, &one, NULL);
    if (*mspace < 0 || H5Sselect_none(*mspace) < 0 || H5Sselect_none(fspace) < 0) goto fail;
  }
  return fspace;
fail:
  if (*mspace >= 0) H5Sclose(*mspace);
  H5Sclose(fspace);
  return -1;
}

static hid_t transfer_props(const tess_checkpoint_t *ck)
{
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
#if TESSERA_HAVE_PARALLEL_HDF5
  const char *e = getenv("TESS_CHECKPOINT_MPIO");
  H5FD_mpio_xfer_t mode = e && strcmp(e, "independent") == 0 ? H5FD_MPIO_INDEPENDENT
                                                              : H5FD_MPIO_COLLECTIVE;
  int individual = e && strcmp(e, "individual") == 0;
  if (dxpl >= 0 && ck->parallel &&
      (H5Pset_dxpl_mpio(dxpl, mode) < 0 ||
       (individual && H5Pset_dxpl_mpio_collective_opt(dxpl, H5FD_MPIO_INDIVIDUAL_IO) < 0))) {
    H5Pclose(dxpl);
    return -1;
  }
#else
  (void)ck;
#endif
  return dxpl;
}

/* Write one block of the dataset (hyperslab start/count). */
static tess_err_t put_block(tess_checkpoint_t *ck, hid_t ds, hid_t type, const char *name,
                            int nd, const hsize_t gdims[], const hsize_t start[],
                            const hsize_t count[], size_t nelem, hid_t dxpl, const void *buf)
{
  tess_err_t err = TESS_OK;
  hid_t ms = H5I_INVALID_HID, fs = block_spaces(nd, gdims, start, count, nelem, &ms);
  CK_H5(ck, fs, "selecting a block of dataset '%s'", name);
  CK_H5(ck, H5Dwrite(ds, type, ms, fs, dxpl, buf), "writing dataset '%s'", name);
cleanup:
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  return err;
}

static tess_err_t get_block(tess_checkpoint_t *ck, hid_t ds, hid_t type, const char *name,
                            int nd, const hsize_t gdims[], const hsize_t start[],
                            const hsize_t count[], size_t nelem, hid_t dxpl, void *buf)
{
  tess_err_t err = TESS_OK;
  hid_t ms = H5I_INVALID_HID, fs = block_spaces(nd, gdims, start, count, nelem, &ms);
  CK_H5(ck, fs, "selecting a block of dataset '%s'", name);
  CK_H5(ck, H5Dread(ds, type, ms, fs, dxpl, buf), "reading dataset '%s'", name);
cleanup:
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  return err;
}

/* Blocks travel through tess_comm (point to point on the checkpoint's
 * one-axis mesh, ck->mesh) as 4-byte words: every Tessera dtype is a whole
 * number of them. One message, then its wait: the same order as a blocking
 * send or receive. */
static tess_err_t p2p(const tess_checkpoint_t *ck, int send, void *buf, size_t bytes, int peer, int tag)
{
  tess_err_t err = TESS_OK;
  tess_comm_request_t req = TESS_COMM_REQUEST_NULL;
  TESS_REQUIRE(bytes % 4 == 0, TESS_ERR_INTERNAL, "block of %zu bytes: not whole 4-byte words", bytes);
  if (send)
    TESS_CHECK(tess_comm_isend(ck->mesh, TESS_AXES_ALL, buf, bytes / 4, TESS_I32, peer, tag, TESS_MEM_HOST,
                               NULL, &req));
  else
    TESS_CHECK(tess_comm_irecv(ck->mesh, TESS_AXES_ALL, buf, bytes / 4, TESS_I32, peer, tag, TESS_MEM_HOST,
                               NULL, &req));
  TESS_CHECK(tess_comm_wait(&req));
cleanup:
  return err;
}

static tess_err_t send_bytes(const tess_checkpoint_t *ck, const void *buf, size_t bytes, int dest)
{
  tess_err_t err = TESS_OK;
  for (size_t off = 0; off < bytes; off += XFER_CHUNK) {
    size_t n = bytes - off < XFER_CHUNK ? bytes - off : XFER_CHUNK;
    TESS_CHECK(p2p(ck, 1, (char *)buf + off, n, dest, TAG_DATA));
  }
cleanup:
  return err;
}

static tess_err_t recv_bytes(const tess_checkpoint_t *ck, void *buf, size_t bytes, int src)
{
  tess_err_t err = TESS_OK;
  for (size_t off = 0; off < bytes; off += XFER_CHUNK) {
    size_t n = bytes - off < XFER_CHUNK ? bytes - off : XFER_CHUNK;
    TESS_CHECK(p2p(ck, 0, (char *)buf + off, n, src, TAG_DATA));
  }
cleanup:
  return err;
}

static void remember_xdmf(tess_checkpoint_t *ck, const char *name, const tess_array_t *a)
{
  int nd = tess_array_ndim(a);
  tess_dtype_t t = tess_array_dtype(a);
  if ((nd != 2 && nd != 3) || tess_dtype_is_complex(t) || ck->nxdmf >= CK_MAX_XDMF ||
      strlen(name) >= sizeof ck->xdmf[0].name || strpbrk(name, "<>&\"'"))
    return;   /* the sidecar holds names verbatim in XML */
  ck_xdmf_field_t *f = &ck->xdmf[ck->nxdmf++];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->dtype = t;
  f->ndim = nd;
  tess_array_global_shape(a, f->shape);
}

/* Rank 0, before a dataset is created: is there room for it? A write that
 * runs out of space part way fails differently on different ranks in
 * MPI-IO (some ranks then wait in HDF5's collectives for ever), so a full
 * disk is found here, the same way at any rank count, before any byte of the
 * dataset goes down. The margin covers the 1 MiB alignment and metadata.
 * Space taken by other writers meanwhile is still caught by the write. */
static tess_err_t check_room(const tess_checkpoint_t *ck, const char *name, uint64_t need)
{
  tess_err_t err = TESS_OK;
  char dir[4096];
  const char *slash = strrchr(ck->tmp_path, '/');
  struct statvfs vfs;
  if (!slash) snprintf(dir, sizeof dir, ".");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - ck->tmp_path ? slash - ck->tmp_path : 1), ck->tmp_path);
  if (statvfs(dir, &vfs) != 0) goto cleanup;   /* unknown: let the write tell */
  uint64_t room = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize, margin = (1u << 20) + (64u << 10);
  TESS_REQUIRE(room >= need + margin, TESS_ERR_IO, "checkpoint '%s': dataset '%s' needs %.1f MiB, "
               "the file system of '%s' has %.1f MiB free: %s", ck->path, name, need / 1048576.0, dir,
               room / 1048576.0, strerror(ENOSPC));
cleanup:
  return err;
}

tess_err_t tess_checkpoint_write_array(tess_checkpoint_t *ck, const char *name,
                                       const tess_array_t *a)
{
  tess_err_t err = TESS_OK;
  hid_t type = H5I_INVALID_HID, lcpl = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  hid_t space = H5I_INVALID_HID, ds = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  hsize_t gdims[TESS_MAX_NDIM], start[TESS_MAX_NDIM], count[TESS_MAX_NDIM];
  int64_t shape[TESS_MAX_NDIM];
  void *staged = NULL, *relay = NULL;
  const void *mine = NULL;
  int owner = 0, nd = 0, ck_phase_ = 0;
  size_t nelem = 0, esize = 0;

  if (!ck) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__, "NULL checkpoint");
  TESS_REQUIRE(ck->writing, TESS_ERR_ARG, "checkpoint '%s' was opened for reading", ck->path);
  TESS_CHECK(check_array(ck, name, a));
  nd = tess_array_ndim(a);
  esize = tess_dtype_size(tess_array_dtype(a));
  tess_array_global_shape(a, shape);
  for (int d = 0; d < nd; d++) gdims[d] = (hsize_t)shape[d];
  block_of(a, ck->rank, start, count, &owner, &nelem);
  mine = tess_array_local_data_const(a);
  if (tess_array_memspace(a) != TESS_MEM_HOST && owner && nelem) {   /* stage via host */
    TESS_CHECK(tess_malloc(TESS_MEM_HOST, nelem * esize, &staged));
    TESS_CHECK(tess_memcpy(TESS_MEM_HOST, staged, tess_array_memspace(a), mine, nelem * esize));
    mine = staged;
  }
  if (ck->rank == 0) {
    uint64_t need = esize;
    for (int d = 0; d < nd; d++) need *= (uint64_t)gdims[d];
    err = check_room(ck, name, need);
  }
  CK_SYNC(ck->comm);

  if (ck_has_file(ck)) {   /* create the dataset: collective in parallel mode */
    CK_H5(ck, type = ck_h5_type(tess_array_dtype(a)), "type of '%s'", name);
    CK_H5(ck, lcpl = H5Pcreate(H5P_LINK_CREATE), "link properties");
    CK_H5(ck, H5Pset_create_intermediate_group(lcpl, 1), "link properties");
    CK_H5(ck, dcpl = H5Pcreate(H5P_DATASET_CREATE), "dataset properties");
    /* Every element gets written: no fill pass over the file first. */
    CK_H5(ck, H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "dataset properties");
    CK_H5(ck, H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), "dataset properties");
    CK_H5(ck, space = H5Screate_simple(nd, gdims, NULL), "dataspace of '%s'", name);
    CK_H5(ck, ds = H5Dcreate2(ck->file, name, type, space, lcpl, dcpl, H5P_DEFAULT),
          "creating dataset '%s' (does it exist already?)", name);
    TESS_CHECK(describe(ck, ds, a));
    CK_H5(ck, dxpl = transfer_props(ck), "transfer properties");
  }
  CK_SYNC(ck->comm);
  ck->mesh_recorded = 1;

  if (ck->parallel) {
    TESS_CHECK(put_block(ck, ds, type, name, nd, gdims, start, count, owner ? nelem : 0, dxpl,
                         mine));
  } else if (ck->rank == 0) {
    /* Rank 0 writes its block, then each other owner's, one at a time. A
     * write error is remembered but the receives go on: senders must finish. */
    size_t most = 0, n = 0;
    int own = 0;
    hsize_t s[TESS_MAX_NDIM], c[TESS_MAX_NDIM];
    for (int r = 1; r < ck->size; r++) {
      block_of(a, r, s, c, &own, &n);
      if (own && n > most) most = n;
    }
    err = tess_malloc(TESS_MEM_HOST, most * esize, &relay);
    if (!err && owner && nelem)
      err = put_block(ck, ds, type, name, nd, gdims, start, count, nelem, dxpl, mine);
    for (int r = 1; r < ck->size; r++) {
      block_of(a, r, s, c, &own, &n);
      if (!own || !n) continue;
      int ok = relay != NULL;
      tess_err_t e = p2p(ck, 1, &ok, sizeof ok, r, TAG_STATUS);
      if (e && !err) err = e;
      if (!ok) continue;
      e = recv_bytes(ck, relay, n * esize, r);
      if (!e && !err) e = put_block(ck, ds, type, name, nd, gdims, s, c, n, dxpl, relay);
      if (e && !err) err = e;
    }
  } else if (owner && nelem) {
    int ok = 0;
    TESS_CHECK(p2p(ck, 0, &ok, sizeof ok, 0, TAG_STATUS));
    if (ok) TESS_CHECK(send_bytes(ck, mine, nelem * esize, 0));
  }
  if (!err && ck->rank == 0) remember_xdmf(ck, name, a);
cleanup:
  if (ck) CK_SYNC_REST(ck->comm, 3);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (ds >= 0) H5Dclose(ds);
  if (space >= 0) H5Sclose(space);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  ck_h5_type_close(type);
  tess_free(TESS_MEM_HOST, &staged);
  tess_free(TESS_MEM_HOST, &relay);
  return err;
}

/* Dataset `name` must have dst's global shape and dtype. */
static tess_err_t open_matching(tess_checkpoint_t *ck, const char *name, const tess_array_t *dst,
                                hid_t type, hid_t *ds_out)
{
  tess_err_t err = TESS_OK;
  hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID, ft = H5I_INVALID_HID;
  hsize_t dims[H5S_MAX_RANK];
  int64_t shape[TESS_MAX_NDIM];
  char found[128] = "", want[128] = "", fdesc[64], wdesc[64];
  int nd = tess_array_ndim(dst), fnd;
  size_t used = 0;
  htri_t eq;
  CK_H5(ck, ds = H5Dopen2(ck->file, name, H5P_DEFAULT), "no dataset '%s'", name);
  CK_H5(ck, space = H5Dget_space(ds), "dataset '%s'", name);
  CK_H5(ck, fnd = H5Sget_simple_extent_ndims(space), "dataset '%s'", name);
  CK_H5(ck, H5Sget_simple_extent_dims(space, dims, NULL), "dataset '%s'", name);
  tess_array_global_shape(dst, shape);
  int same = fnd == nd;
  for (int d = 0; d < fnd && used < sizeof found; d++)
    used += (size_t)snprintf(found + used, sizeof found - used, "%s%llu", d ? "x" : "",
                             (unsigned long long)dims[d]);
  used = 0;
  for (int d = 0; d < nd && used < sizeof want; d++) {
    used += (size_t)snprintf(want + used, sizeof want - used, "%s%lld", d ? "x" : "",
                             (long long)shape[d]);
    if (same && dims[d] != (hsize_t)shape[d]) same = 0;
  }
  TESS_REQUIRE(same, TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' has shape %s, expected %s",
               ck->path, name, fnd ? found : "(scalar)", want);
  CK_H5(ck, ft = H5Dget_type(ds), "dataset '%s'", name);
  CK_H5(ck, eq = H5Tequal(ft, type), "dataset '%s'", name);
  if (!eq) {   /* same class and size but another byte order is fine: HDF5 converts */
    int ok = H5Tget_class(ft) == H5Tget_class(type) && H5Tget_size(ft) == H5Tget_size(type) &&
             H5Tget_class(ft) != H5T_COMPOUND &&
             (H5Tget_class(ft) != H5T_INTEGER || H5Tget_sign(ft) == H5Tget_sign(type));
    ck_h5_type_describe(ft, fdesc, sizeof fdesc);
    ck_h5_type_describe(type, wdesc, sizeof wdesc);
    TESS_REQUIRE(ok, TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' is %s, expected %s (%s)",
                 ck->path, name, fdesc, wdesc, tess_dtype_name(tess_array_dtype(dst)));
  }
  *ds_out = ds;
  ds = H5I_INVALID_HID;
cleanup:
  if (ft >= 0) H5Tclose(ft);
  if (space >= 0) H5Sclose(space);
  if (ds >= 0) H5Dclose(ds);
  return err;
}

tess_err_t tess_checkpoint_read_array(tess_checkpoint_t *ck, const char *name, tess_array_t *dst)
{
  tess_err_t err = TESS_OK;
  hid_t type = H5I_INVALID_HID, ds = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  hsize_t gdims[TESS_MAX_NDIM], start[TESS_MAX_NDIM], count[TESS_MAX_NDIM];
  int64_t shape[TESS_MAX_NDIM];
  void *scratch = NULL, *relay = NULL;
  int owner = 0, nd = 0, exists = 0, ck_phase_ = 0;
  size_t nelem = 0, esize = 0;

  if (!ck) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__, "NULL checkpoint");
  TESS_REQUIRE(!ck->writing, TESS_ERR_ARG, "checkpoint '%s' is being written", ck->path);
  TESS_CHECK(check_array(ck, name, dst));
  TESS_CHECK(tess_checkpoint_has(ck, name, &exists));
  TESS_REQUIRE(exists, TESS_ERR_HDF5, "checkpoint '%s': no dataset '%s'", ck->path, name);
  nd = tess_array_ndim(dst);
  esize = tess_dtype_size(tess_array_dtype(dst));
  tess_array_global_shape(dst, shape);
  for (int d = 0; d < nd; d++) gdims[d] = (hsize_t)shape[d];
  block_of(dst, ck->rank, start, count, &owner, &nelem);
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, nelem * esize, &scratch));
  if (ck_has_file(ck)) {
    CK_H5(ck, type = ck_h5_type(tess_array_dtype(dst)), "type of '%s'", name);
    TESS_CHECK(open_matching(ck, name, dst, type, &ds));
    CK_H5(ck, dxpl = transfer_props(ck), "transfer properties");
  }
  CK_SYNC(ck->comm);

  if (ck->parallel) {
    TESS_CHECK(get_block(ck, ds, type, name, nd, gdims, start, count, nelem, dxpl, scratch));
  } else if (ck->rank == 0) {
    /* Every rank gets its block (replicated copies too), one at a time; a
     * status word before each block tells the receiver whether data follows. */
    size_t most = 0, n = 0;
    int own = 0;
    hsize_t s[TESS_MAX_NDIM], c[TESS_MAX_NDIM];
    for (int r = 1; r < ck->size; r++) {
      block_of(dst, r, s, c, &own, &n);
      if (n > most) most = n;
    }
    err = tess_malloc(TESS_MEM_HOST, most * esize, &relay);
    if (!err && nelem)
      err = get_block(ck, ds, type, name, nd, gdims, start, count, nelem, dxpl, scratch);
    for (int r = 1; r < ck->size; r++) {
      block_of(dst, r, s, c, &own, &n);
      if (!n) continue;
      tess_err_t e = err ? err : get_block(ck, ds, type, name, nd, gdims, s, c, n, dxpl, relay);
      if (e && !err) err = e;
      int ok = !err;
      tess_err_t es = p2p(ck, 1, &ok, sizeof ok, r, TAG_STATUS);
      if (es && !err) err = es;
      if (ok) {
        e = send_bytes(ck, relay, n * esize, r);
        if (e && !err) err = e;
      }
    }
  } else if (nelem) {
    int ok = 0;
    TESS_CHECK(p2p(ck, 0, &ok, sizeof ok, 0, TAG_STATUS));
    if (ok) TESS_CHECK(recv_bytes(ck, scratch, nelem * esize, 0));
    TESS_REQUIRE(ok, TESS_ERR_HDF5, "checkpoint '%s': rank 0 could not read dataset '%s'",
                 ck->path, name);
  }
  CK_SYNC(ck->comm);
  /* Every rank has its block: only now touch the array. */
  if (nelem)
    TESS_CHECK(tess_memcpy(tess_array_memspace(dst), tess_array_local_data(dst), TESS_MEM_HOST,
                           scratch, nelem * esize));
cleanup:
  if (ck) CK_SYNC_REST(ck->comm, 3);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (ds >= 0) H5Dclose(ds);
  ck_h5_type_close(type);
  tess_free(TESS_MEM_HOST, &scratch);
  tess_free(TESS_MEM_HOST, &relay);
  return err;
}

/* Rank 0 reads the dataset's shape and type; every rank learns them, so a
 * reader can make arrays for a file without knowing what wrote it (the
 * Python binding's tessera.checkpoint.load). The dtype is the one whose
 * memory type open_matching would accept without conversion trouble. */
tess_err_t tess_checkpoint_array_info(tess_checkpoint_t *ck, const char *name, tess_dtype_t *dtype,
                                      int *ndim, int64_t shape[])
{
  tess_err_t err = TESS_OK;
  hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID, ft = H5I_INVALID_HID;
  int64_t info[2 + TESS_MAX_NDIM] = {0};   /* dtype, ndim, shape */
  int exists = 0, ck_phase_ = 0;
  static const tess_dtype_t cand[] = {TESS_F64, TESS_F32, TESS_I64, TESS_I32, TESS_C128, TESS_C64};

  if (!ck) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__, "NULL checkpoint");
  TESS_REQUIRE(name && dtype && ndim && shape, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(!ck->writing, TESS_ERR_ARG, "checkpoint '%s' is being written", ck->path);
  TESS_CHECK(tess_checkpoint_has(ck, name, &exists));
  TESS_REQUIRE(exists, TESS_ERR_HDF5, "checkpoint '%s': no dataset '%s'", ck->path, name);
  if (ck->rank == 0) {
    hsize_t dims[H5S_MAX_RANK];
    int nd;
    char desc[64];
    info[0] = -1;
    CK_H5(ck, ds = H5Dopen2(ck->file, name, H5P_DEFAULT), "opening dataset '%s'", name);
    CK_H5(ck, space = H5Dget_space(ds), "dataset '%s'", name);
    CK_H5(ck, nd = H5Sget_simple_extent_ndims(space), "dataset '%s'", name);
    TESS_REQUIRE(nd >= 1 && nd <= TESS_MAX_NDIM, TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' has %d "
                 "dimensions, expected 1 to %d", ck->path, name, nd, TESS_MAX_NDIM);
    CK_H5(ck, H5Sget_simple_extent_dims(space, dims, NULL), "dataset '%s'", name);
    CK_H5(ck, ft = H5Dget_type(ds), "dataset '%s'", name);
    for (size_t i = 0; i < sizeof cand / sizeof cand[0] && info[0] < 0; i++) {
      hid_t t = ck_h5_type(cand[i]);
      int same = t >= 0 && (H5Tequal(ft, t) > 0 ||
                            (H5Tget_class(ft) == H5Tget_class(t) && H5Tget_size(ft) == H5Tget_size(t) &&
                             H5Tget_class(ft) != H5T_COMPOUND &&
                             (H5Tget_class(ft) != H5T_INTEGER || H5Tget_sign(ft) == H5Tget_sign(t))));
      ck_h5_type_close(t);
      if (same) info[0] = cand[i];
    }
    ck_h5_type_describe(ft, desc, sizeof desc);
    TESS_REQUIRE(info[0] >= 0, TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' is %s: no Tessera dtype reads it",
                 ck->path, name, desc);
    info[1] = nd;
    for (int d = 0; d < nd; d++) info[2 + d] = (int64_t)dims[d];
  }
  CK_SYNC(ck->comm);
  TESS_CHECK(ck_bcast(ck->comm, info, sizeof info, 0));
  *dtype = (tess_dtype_t)info[0];
  *ndim = (int)info[1];
  for (int d = 0; d < *ndim; d++) shape[d] = info[2 + d];
cleanup:
  CK_SYNC_REST(ck->comm, 2);   /* one CK_SYNC site + the final one */
  if (ft >= 0) H5Tclose(ft);
  if (space >= 0) H5Sclose(space);
  if (ds >= 0) H5Dclose(ds);
  return err;
}
