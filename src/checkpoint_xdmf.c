/* src/checkpoint_xdmf.c: the XDMF sidecar that lets ParaView/VisIt open a
 * checkpoint. XDMF is XML describing grids whose values live in the HDF5
 * file ("ckpt_000000010.h5:/fields/u"), referenced by the file's base name
 * so the pair can be moved together. Each real 2-D or 3-D array becomes a
 * node-centred attribute on a uniform grid of its shape (origin 0, spacing
 * 1: the checkpoint does not know the physical grid); arrays of one shape
 * share a grid. Complex arrays are left out (XDMF cannot pick a member of
 * a compound type).
 *
 * Every grid is a 3DCoRectMesh. Its Dimensions, Origin and DxDyDz list the
 * axes slowest first (z y x), as the HDF5 shape does, so the last (fastest)
 * HDF5 dimension is VTK's x. A 2-D array (ny, nx) gets Dimensions "1 ny nx":
 * it lies in the XY plane, facing the default camera. (A 2DCoRectMesh is
 * read by all of ParaView's XDMF readers as the YZ plane, x extent 0: an
 * empty view.) */
#include "checkpoint_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void ck_xdmf_path(const char *h5path, char *buf, size_t cap)
{
  size_t n = strlen(h5path);
  if (n > 3 && strcmp(h5path + n - 3, ".h5") == 0) n -= 3;
  snprintf(buf, cap, "%.*s.xmf", (int)n, h5path);
}

/* The grid's point counts, z y x; a 2-D array (ny, nx) is "1 ny nx". The
 * attributes' DataItems use the same text although the dataset is rank 2:
 * XDMFReader (XDMF 2) reads a wrong hyperslab, or fails, when the DataItem
 * says "ny nx" on a 1 x ny x nx grid; the XDMF 3 readers accept either. */
static void dims_text(const ck_xdmf_field_t *f, char *buf, size_t cap)
{
  if (f->ndim == 2)
    snprintf(buf, cap, "1 %lld %lld", (long long)f->shape[0], (long long)f->shape[1]);
  else
    snprintf(buf, cap, "%lld %lld %lld", (long long)f->shape[0], (long long)f->shape[1],
             (long long)f->shape[2]);
}

static void number_type(tess_dtype_t t, const char **type, int *precision)
{
  *type = (t == TESS_I32 || t == TESS_I64) ? "Int" : "Float";
  *precision = (t == TESS_F32 || t == TESS_I32) ? 4 : 8;
}

static int same_shape(const ck_xdmf_field_t *a, const ck_xdmf_field_t *b)
{
  return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) == 0;
}

tess_err_t ck_xdmf_write(const tess_checkpoint_t *ck)
{
  tess_err_t err = TESS_OK;
  char xmf[4096], tmp[4200], dims[96];
  FILE *fp = NULL;
  if (ck->nxdmf == 0) return TESS_OK;
  ck_xdmf_path(ck->path, xmf, sizeof xmf);
  snprintf(tmp, sizeof tmp, "%s.tmp", xmf);
  const char *base = strrchr(ck->path, '/');
  base = base ? base + 1 : ck->path;
  fp = fopen(tmp, "w");
  TESS_REQUIRE(fp != NULL, TESS_ERR_IO, "cannot write XDMF file '%s': %s", tmp, strerror(errno));
  fprintf(fp, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
              "<Xdmf Version=\"3.0\">\n <Domain>\n");
  for (int i = 0; i < ck->nxdmf; i++) {
    const ck_xdmf_field_t *g = &ck->xdmf[i];
    int first = 1;
    for (int j = 0; j < i; j++) first = first && !same_shape(&ck->xdmf[j], g);
    if (!first) continue;   /* this shape's grid was written already */
    dims_text(g, dims, sizeof dims);
    fprintf(fp, "  <Grid Name=\"grid_%d\" GridType=\"Uniform\">\n", i);
    fprintf(fp, "   <Time Value=\"%.17g\"/>\n", ck->time);
    fprintf(fp, "   <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"%s\"/>\n", dims);
    fprintf(fp, "   <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n");
    fprintf(fp, "    <DataItem Dimensions=\"3\" NumberType=\"Float\" Precision=\"8\" "
                "Format=\"XML\">0 0 0</DataItem>\n");
    fprintf(fp, "    <DataItem Dimensions=\"3\" NumberType=\"Float\" Precision=\"8\" "
                "Format=\"XML\">1 1 1</DataItem>\n");
    fprintf(fp, "   </Geometry>\n");
    for (int j = i; j < ck->nxdmf; j++) {
      const ck_xdmf_field_t *f = &ck->xdmf[j];
      const char *nt;
      int prec;
      if (!same_shape(f, g)) continue;
      number_type(f->dtype, &nt, &prec);
      fprintf(fp, "   <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"Node\">\n"
                  "    <DataItem Dimensions=\"%s\" NumberType=\"%s\" Precision=\"%d\" "
                  "Format=\"HDF\">%s:/%s</DataItem>\n   </Attribute>\n",
              f->name, dims, nt, prec, base, f->name[0] == '/' ? f->name + 1 : f->name);
    }
    fprintf(fp, "  </Grid>\n");
  }
  fprintf(fp, " </Domain>\n</Xdmf>\n");
  TESS_REQUIRE(fflush(fp) == 0 && !ferror(fp), TESS_ERR_IO, "writing XDMF file '%s': %s", tmp,
               strerror(errno));
  TESS_REQUIRE(fclose(fp) == 0, TESS_ERR_IO, "writing XDMF file '%s': %s", tmp, strerror(errno));
  fp = NULL;
  TESS_CHECK(ck_durable_rename(tmp, xmf));
cleanup:
  if (fp) {
    fclose(fp);
    remove(tmp);
  }
  return err;
}
