"""tests/io/check_paraview.py SHOTDIR XMF...: ParaView itself opens Tessera's
XDMF sidecars (run by check_paraview.sh under pvpython). For every sidecar
and each of ParaView's three XDMF readers (XDMFReader = XDMF 2,
Xdmf3ReaderS, Xdmf3ReaderT):
  - the point arrays are exactly the real 2-D/3-D datasets h5py finds in the
    .h5 beside it (independent truth: the HDF5 file, not the sidecar);
  - each array sits on an image of the dataset's shape with the fastest HDF5
    dimension on VTK x: dims (nx, ny, 1) and bounds x 0..nx-1, y 0..ny-1,
    z 0..0 for a 2-D (ny, nx) dataset, (nx, ny, nz) for a 3-D one;
  - its values equal h5py's, element by element in VTK point order, and the
    reader's reported range is h5py's min/max;
  - a screenshot with the default camera (looking down -z, reset to the
    data) is not blank: at least 10% of the pixels differ from the
    background and they show at least 16 colours (a colour-mapped field).
    A grid in the YZ plane (the old 2DCoRectMesh) is edge-on: a thin line.
Exit 1 listing every failure; screenshots are left in SHOTDIR."""
import os
import sys

import h5py
import numpy as np
from paraview import servermanager as sm
from paraview import simple as ps
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOImage import vtkPNGReader

READERS = ("XDMFReader", "Xdmf3ReaderS", "Xdmf3ReaderT")
W, H = 400, 300
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def h5_fields(path):
    """Datasets a viewer should show: real numbers, rank 2 or 3."""
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim in (2, 3) and obj.dtype.kind in "fiu":
            out[name] = obj[()]
    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def open_reader(kind, xmf):
    if kind == "XDMFReader":
        return ps.XDMFReader(FileNames=[xmf])
    return getattr(ps, kind)(FileName=[xmf])


def leaves(obj):
    if obj.IsA("vtkCompositeDataSet"):
        it = obj.NewIterator()
        it.InitTraversal()
        while not it.IsDoneWithTraversal():
            yield it.GetCurrentDataObject()
            it.GoToNextItem()
    else:
        yield obj


def check_data(tag, reader, want):
    """Returns the fetched data and its image blocks, for check_render."""
    data = sm.Fetch(reader)
    seen = {}
    blocks = []
    for leaf in leaves(data):
        if leaf is None or not leaf.IsA("vtkImageData"):
            check(leaf is None, "%s: a block of type %s, not image data" % (tag, leaf.GetClassName()))
            continue
        dims = leaf.GetDimensions()
        bounds = leaf.GetBounds()
        pd = leaf.GetPointData()
        if pd.GetNumberOfArrays():
            blocks.append(leaf)
        for a in range(pd.GetNumberOfArrays()):
            name = pd.GetArrayName(a)
            seen[name] = seen.get(name, 0) + 1
            if not check(name in want, "%s: array %r is not a dataset of the .h5" % (tag, name)):
                continue
            ref = want[name]
            shape = ref.shape if ref.ndim == 3 else (1,) + ref.shape
            nz, ny, nx = shape
            check(tuple(dims) == (nx, ny, nz),
                  "%s: %s on VTK dims %s, h5 shape %s wants (%d, %d, %d)"
                  % (tag, name, tuple(dims), ref.shape, nx, ny, nz))
            exp_b = (0.0, nx - 1.0, 0.0, ny - 1.0, 0.0, nz - 1.0)
            check(np.allclose(bounds, exp_b), "%s: %s bounds %s, expected %s" % (tag, name, bounds, exp_b))
            if ref.ndim == 2:
                check(bounds[5] - bounds[4] == 0 and bounds[1] > bounds[0] and bounds[3] > bounds[2],
                      "%s: 2-D %s must have z extent 0 and nonzero x, y extent, bounds %s"
                      % (tag, name, bounds))
            v = vtk_to_numpy(pd.GetArray(a))
            if check(v.size == ref.size, "%s: %s has %d values, h5 %d" % (tag, name, v.size, ref.size)):
                check(np.array_equal(v.reshape(ref.shape), ref),
                      "%s: %s values differ from h5py's in VTK point order (max |diff| %g)"
                      % (tag, name, np.max(np.abs(v.reshape(ref.shape).astype(float) - ref))))
    for name in want:
        check(seen.get(name) == 1, "%s: dataset %s appears %d times (want 1)" % (tag, name, seen.get(name, 0)))
    # the range the pipeline reports (what ParaView's colour map uses)
    for arr in reader.PointData:
        if arr.GetName() in want:
            ref = want[arr.GetName()]
            check(np.allclose(arr.GetRange(), (ref.min(), ref.max()), rtol=1e-12, atol=0),
                  "%s: %s range %s, h5py %s" % (tag, arr.GetName(), arr.GetRange(), (ref.min(), ref.max())))
    return data, blocks


def check_render(tag, block, png):
    """One grid alone (blocks of a multi-grid file would hide each other),
    coloured by its first array."""
    src = ps.TrivialProducer()
    src.GetClientSideObject().SetOutput(block)
    first = block.GetPointData().GetArrayName(0)
    view = ps.CreateView("RenderView")
    view.ViewSize = [W, H]
    view.OrientationAxesVisibility = 0
    disp = ps.Show(src, view)
    disp.SetRepresentationType("Surface")
    ps.ColorBy(disp, ("POINTS", first))
    disp.RescaleTransferFunctionToDataRange(True)
    view.ResetCamera()   # keeps the default direction (-z), fits the bounds
    ps.Render(view)
    ps.SaveScreenshot(png, view, ImageResolution=[W, H])
    ps.Delete(view)
    ps.Delete(src)
    r = vtkPNGReader()
    r.SetFileName(png)
    r.Update()
    img = r.GetOutput()
    px = vtk_to_numpy(img.GetPointData().GetScalars())[:, :3].astype(int)
    w, h, _ = img.GetDimensions()
    grid = px.reshape(h, w, 3)
    border = np.concatenate([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
    colours, counts = np.unique(border, axis=0, return_counts=True)
    bg = colours[np.argmax(counts)]
    fg = px[np.abs(px - bg).sum(axis=1) > 24]
    frac = len(fg) / len(px)
    ncol = len(np.unique(fg, axis=0)) if len(fg) else 0
    print("  %s: %s: screenshot %s: %.1f%% non-background pixels, %d colours"
          % (tag, first, png, 100 * frac, ncol))
    check(frac >= 0.10 and ncol >= 16,
          "%s: screenshot %s is (nearly) blank: %.2f%% non-background pixels, %d colours"
          % (tag, png, 100 * frac, ncol))


def main():
    shots = sys.argv[1]
    os.makedirs(shots, exist_ok=True)
    for xmf in sys.argv[2:]:
        h5 = os.path.splitext(xmf)[0] + ".h5"
        if not check(os.path.exists(xmf) and os.path.exists(h5), "%s or %s missing" % (xmf, h5)):
            continue
        want = h5_fields(h5)
        if not check(want, "%s: no 2-D/3-D real datasets (test input broken)" % h5):
            continue
        for kind in READERS:
            tag = "%s [%s]" % (xmf, kind)
            reader = open_reader(kind, os.path.abspath(xmf))
            reader.UpdatePipeline()
            data, blocks = check_data(tag, reader, want)
            stem = os.path.basename(os.path.dirname(os.path.abspath(xmf))) + "_" + \
                os.path.splitext(os.path.basename(xmf))[0]
            for b, block in enumerate(blocks):
                check_render(tag, block, os.path.join(shots, "%s_%s_%d.png" % (stem, kind, b)))
            del data, blocks
            ps.Delete(reader)
        print("%s: %d datasets %s checked with %s" % (xmf, len(want), sorted(want), ", ".join(READERS)))
    print("ParaView check: %s" % ("FAIL (%d)" % len(failures) if failures else "ok"))
    sys.exit(1 if failures else 0)


main()
