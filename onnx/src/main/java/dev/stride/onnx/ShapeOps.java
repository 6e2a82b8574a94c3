package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Transpose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleBinaryOperator;
import java.util.function.LongBinaryOperator;

/**
 * Constants, shape arithmetic and layout: Constant, ConstantOfShape, Shape, Size, Cast, CastLike, Identity,
 * Reshape, Flatten, Squeeze, Unsqueeze, Concat, Split, Slice, Gather, Transpose, Expand, Range, Pad, Dropout and
 * the comparisons a shape subgraph uses. On constants they fold here; on activations they become Reshape, Concat,
 * Slice, Pad, Gather (constant indices), Transpose or BroadcastTo; comparisons, Not, Where and Range exist only in
 * shape arithmetic (a bool activation is outside the engine).
 */
final class ShapeOps {
    private ShapeOps() {}

    static void register(Map<String, OpSpec> t) {
        OpSpec.StaticInputs none = OpSpec.StaticInputs.NONE;
        t.put("Constant", new OpSpec(ShapeOps::constant, none));
        t.put("ConstantOfShape", new OpSpec(ShapeOps::constantOfShape, (v, i) -> i == 0));
        t.put("Shape", new OpSpec(ShapeOps::shape, none));
        t.put("Size", new OpSpec(c -> c.output(0, ConstTensor.ofLongs(ElemType.INT64, new long[0],
                new long[] {Lowering.product(c.dims(0), 0, c.rank(0))}, c.outName(0))), none));
        t.put("Identity", new OpSpec(c -> c.forward(0, 0), none));
        t.put("Cast", new OpSpec(ShapeOps::cast, none));
        t.put("CastLike", new OpSpec(ShapeOps::cast, none));
        t.put("Reshape", new OpSpec(ShapeOps::reshape, OpSpec.StaticInputs.from(5, 1)));
        t.put("Flatten", new OpSpec(ShapeOps::flatten, none));
        t.put("Squeeze", new OpSpec(c -> squeeze(c, false), OpSpec.StaticInputs.from(13, 1)));
        t.put("Unsqueeze", new OpSpec(c -> squeeze(c, true), OpSpec.StaticInputs.from(13, 1)));
        t.put("Concat", new OpSpec(ShapeOps::concat, none));
        t.put("Split", new OpSpec(ShapeOps::split, OpSpec.StaticInputs.from(13, 1)));
        t.put("Slice", new OpSpec(ShapeOps::slice, OpSpec.StaticInputs.from(10, 1)));
        t.put("Gather", new OpSpec(ShapeOps::gather, (v, i) -> i == 1));   // indices: a static graph's constant
        t.put("Transpose", new OpSpec(ShapeOps::transpose, none));
        t.put("Expand", new OpSpec(ShapeOps::expand, (v, i) -> i == 1));
        t.put("Range", new OpSpec(ShapeOps::range, none));
        t.put("Pad", new OpSpec(ShapeOps::pad, OpSpec.StaticInputs.from(11, 1)));
        t.put("Dropout", new OpSpec(ShapeOps::dropout, OpSpec.StaticInputs.from(12, 1)));
        compare(t, "Equal", (a, b) -> a == b ? 1 : 0, (a, b) -> a == b ? 1 : 0);
        compare(t, "Less", (a, b) -> a < b ? 1 : 0, (a, b) -> a < b ? 1 : 0);
        compare(t, "Greater", (a, b) -> a > b ? 1 : 0, (a, b) -> a > b ? 1 : 0);
        t.put("Not", new OpSpec(c -> {
            ConstTensor x = foldOnly(c, "a logical not", 0);
            c.output(0, Fold.binary(x, ConstTensor.fillInt(ElemType.BOOL, new long[0], 1, "one"), (a, b) -> 0,
                    (a, b) -> a == 0 ? 1 : 0, ElemType.BOOL, c.outName(0), c.budget()));
        }, none));
        t.put("Where", new OpSpec(c -> {
            foldOnly(c, "an elementwise selection", 0);
            ConstTensor x = c.constant(1), y = c.constant(2);
            if (x.type != y.type) throw c.invalid("x %s and y %s differ in type", x.describe(), y.describe());
            c.output(0, Fold.where(c.constant(0), x, y, c.outName(0), c.budget()));
        }, none));
    }

    /** Requires every input to be a constant: the op exists only in shape arithmetic here, not on activations. */
    private static ConstTensor foldOnly(NodeContext c, String what, int first) {
        if (!c.allConst())
            throw c.unsupported("%s on activations: the IR has no %s op (folded only when every input is a constant)",
                    what, c.opType());
        return c.constant(first);
    }

    private static void compare(Map<String, OpSpec> t, String op, DoubleBinaryOperator real, LongBinaryOperator integer) {
        t.put(op, new OpSpec(c -> {
            ConstTensor a = foldOnly(c, "a comparison", 0), b = c.constant(1);
            if (a.type != b.type) throw c.invalid("operand types differ: %s and %s", a.describe(), b.describe());
            c.output(0, Fold.binary(a, b, real, integer, ElemType.BOOL, c.outName(0), c.budget()));
        }, OpSpec.StaticInputs.NONE));
    }

    // ---- constants ----

    private static void constant(NodeContext c) {
        String name = c.outName(0);
        List<ConstTensor> given = new ArrayList<>();
        ConstTensor t = c.attrTensor("value");
        if (t != null) given.add(t.reshape(t.dims, name));
        if (c.hasAttr("value_float"))
            given.add(ConstTensor.ofReals(ElemType.FLOAT, new long[0], new double[] {c.attrFloat("value_float", 0)}, name));
        double[] fs = c.attrFloats("value_floats", null);
        if (fs != null) given.add(ConstTensor.ofReals(ElemType.FLOAT, new long[] {fs.length}, fs, name));
        if (c.hasAttr("value_int"))
            given.add(ConstTensor.ofLongs(ElemType.INT64, new long[0], new long[] {c.attrInt("value_int", 0)}, name));
        long[] is = c.attrInts("value_ints", null);
        if (is != null) given.add(ConstTensor.ofLongs(ElemType.INT64, new long[] {is.length}, is, name));
        for (String s : new String[] {"value_string", "value_strings"})
            if (c.hasAttr(s)) throw c.unsupported("attribute %s: string tensors", s);
        if (c.hasAttr("sparse_value")) throw c.unsupported("attribute sparse_value: sparse tensors");
        if (given.size() != 1) throw c.invalid("needs exactly one value attribute, got %d", given.size());
        c.output(0, given.getFirst());
    }

    private static void constantOfShape(NodeContext c) {
        long[] dims = c.ints(0);
        if (c.rank(0) != 1) throw c.invalid("shape input must be 1-D, got %s", Arrays.toString(c.dims(0)));
        for (long d : dims) if (d < 0) throw c.invalid("negative dimension %d in %s", d, Arrays.toString(dims));
        ConstTensor.elementCount(dims, c.outName(0));
        ConstTensor v = c.attrTensor("value");
        if (v == null) {
            c.output(0, ConstTensor.fill(ElemType.FLOAT, dims, 0, c.outName(0)));
            return;
        }
        if (v.size() != 1) throw c.invalid("value must hold one element, got %s", v.describe());
        c.output(0, v.type.isFloat() ? ConstTensor.fill(v.type, dims, v.real(0), c.outName(0))
                : ConstTensor.fillInt(v.type, dims, v.integer(0), c.outName(0)));
    }

    private static void shape(NodeContext c) {
        long[] d = c.dims(0);
        int r = d.length;
        long start = c.attrInt("start", 0), end = c.attrInt("end", r);
        if (c.opset < 15 && (c.hasAttr("start") || c.hasAttr("end"))) throw c.invalid("start/end need opset 15");
        int s = (int) Math.clamp(start < 0 ? start + r : start, 0, r);
        int e = (int) Math.clamp(end < 0 ? end + r : end, 0, r);
        long[] v = e > s ? Arrays.copyOfRange(d, s, e) : new long[0];
        c.output(0, ConstTensor.vector(v, c.outName(0)));
    }

    private static void cast(NodeContext c) {
        ElemType to;
        if (c.opType().equals("CastLike")) {
            to = c.type(1);
            c.ignore("saturate", "round_mode");
        } else if (c.opset < 6) {   // Cast-1 names the type as a string
            String s = c.attrString("to", null);
            if (s == null) throw c.invalid("attribute 'to' is required");
            to = null;
            for (ElemType t : ElemType.values()) if (t.name().equalsIgnoreCase(s)) to = t;
            if (to == null) throw c.unsupported("cast to type '%s'", s);
        } else {
            if (!c.hasAttr("to")) throw c.invalid("attribute 'to' is required");
            long code = c.attrInt("to", 0);
            to = ElemType.of((int) code);
            if (to == null || code != (int) code || !to.readable())
                throw c.unsupported("cast to %s", ElemType.nameOf((int) code));
            c.ignore("saturate", "round_mode");   // float8 conversions only
        }
        if (!to.readable()) throw c.unsupported("cast to %s", to.onnxName());
        if (c.isConst(0)) {
            ConstTensor x = c.constant(0);
            if (!x.isFill()) c.budget().charge(x.size(), c.where());
            c.output(0, x.cast(to, c.outName(0)));
            return;
        }
        if (to != c.imp.floatType)
            throw c.unsupported("cast of activations from %s to %s: the engine's activations are one float type; "
                    + "integer tensors on the activation path are outside a float CNN engine",
                    c.type(0).onnxName(), to.onnxName());
        if (!c.type(0).isFloat()) throw c.unsupported("cast of the %s graph input '%s' to float: integer inputs are "
                + "outside a float CNN engine (bind it at import time if it is a constant)", c.type(0).onnxName(), c.inputName(0));
        c.forward(0, 0);   // a cast to the graph's own float type changes nothing
    }

    // ---- reshapes ----

    /** Binds output 0 to input 0 under new dims: a constant reshaped, or a Reshape op on an activation. */
    private static void reshapeTo(NodeContext c, long[] dims) {
        if (c.isConst(0)) {
            c.output(0, c.constant(0).reshape(dims, c.outName(0)));
            return;
        }
        Value x = c.value(0);
        c.output(0, Lowering.reshapeOut(c, x, Lowering.ints(c, dims)));
    }

    private static void reshape(NodeContext c) {
        c.ignore("consumed_inputs");
        long[] target = c.opset < 5 ? c.attrInts("shape", null) : c.ints(1);
        if (target == null) throw c.invalid("attribute 'shape' is required");
        if (c.opset >= 5 && c.rank(1) != 1) throw c.invalid("shape input must be 1-D, got %s", Arrays.toString(c.dims(1)));
        boolean allowZero = c.opset >= 14 && c.attrInt("allowzero", 0) != 0;
        long[] in = c.dims(0);
        long[] out = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && !allowZero) {
                if (i >= in.length) throw c.invalid("shape %s copies dimension %d (a 0) of an input of rank %d",
                        Arrays.toString(target), i, in.length);
                out[i] = in[i];
            }
            if (out[i] == -1) {
                if (infer >= 0) throw c.invalid("shape %s has more than one -1", Arrays.toString(target));
                infer = i;
            } else if (out[i] < 0) {
                throw c.invalid("shape %s has the negative dimension %d", Arrays.toString(target), out[i]);
            } else {
                known = Math.multiplyExact(known, out[i]);
            }
        }
        long size = ConstTensor.elementCount(in, c.inputName(0));
        if (infer >= 0) {
            if (known == 0 || size % known != 0)
                throw c.invalid("cannot infer the -1 in %s for an input of %d elements %s", Arrays.toString(target),
                        size, Arrays.toString(in));
            out[infer] = size / known;
        } else if (known != size) {
            throw c.invalid("shape %s holds %d elements, the input %s holds %d", Arrays.toString(target), known,
                    Arrays.toString(in), size);
        }
        reshapeTo(c, out);
    }

    private static void flatten(NodeContext c) {
        long[] in = c.dims(0);
        int r = in.length;
        long a = c.attrInt("axis", 1);
        if (a < (c.opset >= 11 ? -r : 0) || a > r) throw c.invalid("axis = %d is out of range for rank %d", a, r);
        int axis = (int) (a < 0 ? a + r : a);
        reshapeTo(c, new long[] {Lowering.product(in, 0, axis), Lowering.product(in, axis, r)});
    }

    private static void squeeze(NodeContext c, boolean unsqueeze) {
        long[] in = c.dims(0);
        long[] axes = c.opset < 13 ? c.attrInts("axes", null) : c.has(1) ? c.ints(1) : null;
        if (unsqueeze) {
            if (axes == null) throw c.invalid("axes are required");
            int r = in.length + axes.length;
            boolean[] added = new boolean[r];
            for (long a : axes) {
                int k = c.axis(a, r, "axis");
                if (added[k]) throw c.invalid("axis %d appears twice in %s", k, Arrays.toString(axes));
                added[k] = true;
            }
            long[] out = new long[r];
            for (int i = 0, j = 0; i < r; i++) out[i] = added[i] ? 1 : in[j++];
            reshapeTo(c, out);
            return;
        }
        boolean[] drop = new boolean[in.length];
        if (axes == null) {
            for (int i = 0; i < in.length; i++) drop[i] = in[i] == 1;
        } else {
            for (long a : axes) {
                int k = c.axis(a, in.length, "axis");
                if (in[k] != 1) throw c.invalid("cannot squeeze axis %d of size %d in %s", k, in[k], Arrays.toString(in));
                drop[k] = true;
            }
        }
        long[] out = new long[in.length];
        int n = 0;
        for (int i = 0; i < in.length; i++) if (!drop[i]) out[n++] = in[i];
        reshapeTo(c, Arrays.copyOf(out, n));
    }

    // ---- concat, split, slice ----

    private static void concat(NodeContext c) {
        int n = c.inputCount();
        if (n == 0) throw c.invalid("needs at least one input");
        for (int i = 0; i < n; i++) if (!c.has(i)) throw c.invalid("input %d is empty", i);
        int r = c.rank(0);
        if (r == 0) throw c.invalid("cannot concatenate scalars");
        int axis = c.axis(c.attrInt("axis", 1), r, "axis");
        for (int i = 1; i < n; i++) {
            long[] d = c.dims(i), d0 = c.dims(0);
            boolean ok = d.length == r;
            for (int k = 0; ok && k < r; k++) ok = k == axis || d[k] == d0[k];
            if (!ok) throw c.invalid("input %d %s does not match input 0 %s outside axis %d", i, Arrays.toString(d),
                    Arrays.toString(d0), axis);
        }
        if (c.allConst()) {
            List<ConstTensor> xs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ConstTensor x = c.constant(i);
                if (x.type != c.constant(0).type) throw c.invalid("input types differ: %s and %s",
                        c.constant(0).describe(), x.describe());
                xs.add(x);
            }
            c.output(0, Fold.concat(xs, axis, c.outName(0), c.budget()));
            return;
        }
        List<Value> vs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ElementwiseOps.requireFloat(c, i);
            if (c.dims(i)[axis] > 0 || n == 1) vs.add(c.value(i));   // empty pieces contribute nothing
        }
        if (vs.isEmpty()) vs.add(c.value(0));
        c.output(0, vs.size() == 1 && n > 1 ? vs.getFirst() : c.apply(null, new Concat(axis), vs.toArray(Value[]::new)));
    }

    private static void split(NodeContext c) {
        long[] in = c.dims(0);
        int axis = c.axis(c.attrInt("axis", 0), in.length, "axis");
        long[] sizes = c.opset < 13 ? c.attrInts("split", null) : c.has(1) ? c.ints(1) : null;
        int outs = c.outputCount();
        if (sizes == null) {
            long parts = c.opset >= 18 && c.hasAttr("num_outputs") ? c.attrInt("num_outputs", outs) : outs;
            if (parts < 1 || parts != outs) throw c.invalid("num_outputs = %d, the node has %d outputs", parts, outs);
            long len = in[axis];
            long chunk = c.opset >= 18 ? Math.ceilDiv(len, parts) : len / parts;
            if (c.opset < 18 && len % parts != 0)
                throw c.invalid("dimension %d of size %d does not split into %d equal parts", axis, len, parts);
            sizes = new long[(int) parts];
            for (int i = 0; i < parts; i++) sizes[i] = Math.max(0, Math.min(chunk, len - i * chunk));
        } else {
            c.ignore("num_outputs");
        }
        if (sizes.length != outs) throw c.invalid("split has %d sizes for %d outputs", sizes.length, outs);
        long total = 0;
        for (long s : sizes) {
            if (s < 0) throw c.invalid("negative split size in %s", Arrays.toString(sizes));
            total += s;
        }
        if (total != in[axis]) throw c.invalid("split sizes %s add up to %d, dimension %d has %d",
                Arrays.toString(sizes), total, axis, in[axis]);
        long offset = 0;
        for (int k = 0; k < outs; k++) {
            long[] start = new long[in.length], count = in.clone(), step = new long[in.length];
            Arrays.fill(step, 1);
            start[axis] = offset;
            count[axis] = sizes[k];
            offset += sizes[k];
            if (!c.wantsOutput(k)) continue;
            if (c.isConst(0)) {
                c.output(k, Fold.slice(c.constant(0), start, step, count, c.outName(k), c.budget()));
            } else {
                int[] s = Lowering.ints(c, start), e = Lowering.ints(c, count);
                for (int i = 0; i < e.length; i++) e[i] += s[i];
                c.output(k, c.imp.apply(c.outName(k), new Slice(s, e), c.value(0)));
            }
        }
    }

    private static void slice(NodeContext c) {
        long[] in = c.dims(0);
        int r = in.length;
        long[] starts, ends, axes, steps;
        if (c.opset < 10) {
            starts = c.attrInts("starts", null);
            ends = c.attrInts("ends", null);
            axes = c.attrInts("axes", null);
            steps = null;
        } else {
            starts = c.ints(1);
            ends = c.ints(2);
            axes = c.has(3) ? c.ints(3) : null;
            steps = c.has(4) ? c.ints(4) : null;
        }
        if (starts == null || ends == null) throw c.invalid("starts and ends are required");
        if (axes == null) {
            axes = new long[starts.length];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        if (steps == null) {
            steps = new long[starts.length];
            Arrays.fill(steps, 1);
        }
        if (ends.length != starts.length || axes.length != starts.length || steps.length != starts.length)
            throw c.invalid("starts %s, ends %s, axes %s and steps %s must have equal lengths", Arrays.toString(starts),
                    Arrays.toString(ends), Arrays.toString(axes), Arrays.toString(steps));
        long[] start = new long[r], count = in.clone(), step = new long[r];
        Arrays.fill(step, 1);
        boolean[] seen = new boolean[r];
        for (int i = 0; i < axes.length; i++) {
            int a = c.axis(axes[i], r, "axis");
            if (seen[a]) throw c.invalid("axis %d appears twice", a);
            seen[a] = true;
            long dim = in[a], st = steps[i];
            if (st == 0) throw c.invalid("step 0 on axis %d", a);
            long s = starts[i], e = ends[i];
            if (st > 0) {
                s = Math.clamp(s < 0 ? s + dim : s, 0, dim);
                e = Math.clamp(e < 0 ? e + dim : e, 0, dim);
                count[a] = e > s ? Math.ceilDiv(e - s, st) : 0;
            } else {
                s = Math.clamp(s < 0 ? s + dim : s, 0, dim - 1);
                e = Math.clamp(e < 0 ? e + dim : e, -1, dim - 1);
                count[a] = s > e ? Math.ceilDiv(s - e, -st) : 0;
            }
            start[a] = count[a] == 0 ? 0 : s;
            step[a] = st;
        }
        if (c.isConst(0)) {
            c.output(0, Fold.slice(c.constant(0), start, step, count, c.outName(0), c.budget()));
            return;
        }
        for (int a = 0; a < r; a++)
            if (step[a] != 1 && count[a] > 1)
                throw c.unsupported("step %d on axis %d of an activation: the IR's Slice has step 1", step[a], a);
        int[] s = Lowering.ints(c, start), e = Lowering.ints(c, count);
        for (int i = 0; i < r; i++) e[i] += s[i];
        Value x = c.value(0);
        c.output(0, Arrays.equals(e, x.shape().dims()) && Lowering.all(start, 0) ? x : c.apply(null, new Slice(s, e), x));
    }

    // ---- gather, transpose, expand, range ----

    /** On a constant: folded. On an activation: the IR's Gather with the (constant) indices. */
    private static void gather(NodeContext c) {
        long[] d = c.dims(0);
        int axis = c.axis(c.attrInt("axis", 0), d.length, "axis");
        ConstTensor idx = c.constant(1);
        if (!idx.type.isInteger()) throw c.invalid("indices must be integers, got %s", idx.describe());
        c.budget().charge(idx.size(), c.where());
        long[] v = idx.longs();
        for (int i = 0; i < v.length; i++) {
            if (v[i] < -d[axis] || v[i] >= d[axis])
                throw c.invalid("index %d is out of range for axis %d of size %d", v[i], axis, d[axis]);
            if (v[i] < 0) v[i] += d[axis];
        }
        if (!c.isConst(0)) {
            ElementwiseOps.requireFloat(c, 0);
            c.output(0, c.apply(null, new Gather(axis, v, Lowering.ints(c, idx.dims)), c.value(0)));
            return;
        }
        ConstTensor norm = ConstTensor.ofLongs(ElemType.INT64, idx.dims, v, idx.name);
        c.output(0, Fold.gather(c.constant(0), axis, norm, c.outName(0), c.budget()));
    }

    private static void transpose(NodeContext c) {
        long[] d = c.dims(0);
        int r = d.length;
        long[] p = c.attrInts("perm", null);
        int[] perm = new int[r];
        if (p == null) for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        else {
            if (p.length != r) throw c.invalid("perm %s has %d entries for rank %d", Arrays.toString(p), p.length, r);
            boolean[] seen = new boolean[r];
            for (int i = 0; i < r; i++) {
                if (p[i] < 0 || p[i] >= r || seen[(int) p[i]]) throw c.invalid("perm %s is not a permutation", Arrays.toString(p));
                seen[(int) p[i]] = true;
                perm[i] = (int) p[i];
            }
        }
        long[] out = new long[r];
        for (int i = 0; i < r; i++) out[i] = d[perm[i]];
        if (c.isConst(0)) {
            c.output(0, Fold.transpose(c.constant(0), perm, c.outName(0), c.budget()));
            return;
        }
        // Moving only size-1 axes keeps the row-major order of the elements: that is a reshape (no data movement).
        ElementwiseOps.requireFloat(c, 0);
        int last = -1;
        boolean moves = false;
        for (int i = 0; i < r; i++) {
            if (d[perm[i]] == 1) continue;
            moves |= perm[i] < last;
            last = perm[i];
        }
        if (!moves) reshapeTo(c, out);
        else c.output(0, c.apply(null, new Transpose(perm), c.value(0)));
    }

    private static void expand(NodeContext c) {
        long[] shape = c.ints(1);
        long[] in = c.dims(0);
        long[] out = Fold.broadcast(in, shape);
        if (out == null) throw c.invalid("input %s does not broadcast with shape %s", Arrays.toString(in), Arrays.toString(shape));
        if (c.isConst(0)) {
            c.output(0, Fold.expand(c.constant(0), out, c.outName(0), c.budget()));
            return;
        }
        Value x = c.value(0);
        if (Arrays.equals(out, in)) c.output(0, x);
        else c.output(0, c.apply(null, new BroadcastTo(Lowering.ints(c, out)), x));
    }

    private static void range(NodeContext c) {
        ConstTensor s = foldOnly(c, "Range", 0), l = c.constant(1), d = c.constant(2);
        if (s.size() != 1 || l.size() != 1 || d.size() != 1) throw c.invalid("start, limit and delta must be scalars");
        if (s.type.isInteger()) {
            long a = s.integer(0), b = l.integer(0), k = d.integer(0);
            if (k == 0) throw c.invalid("delta is 0");
            long n = Math.max(0, Math.ceilDiv(b - a, k));
            c.budget().charge(n, c.where());
            long[] v = new long[(int) n];
            for (int i = 0; i < n; i++) v[i] = a + i * k;
            c.output(0, ConstTensor.ofLongs(s.type, new long[] {n}, v, c.outName(0)));
        } else {
            double a = s.real(0), b = l.real(0), k = d.real(0);
            double count = Math.ceil((b - a) / k);
            if (!(count < Importer.MAX_ELEMENTS)) throw c.invalid("range of %s elements", count);
            long n = (long) Math.max(0, count);
            c.budget().charge(n, c.where());
            double[] v = new double[(int) n];
            for (int i = 0; i < n; i++) v[i] = a + i * k;
            c.output(0, ConstTensor.ofReals(s.type, new long[] {n}, v, c.outName(0)));
        }
    }

    // ---- pad ----

    /**
     * Padding in ONNX's modes (constant, reflect, edge, and from opset 19 wrap), numpy.pad's semantics, which the
     * IR's Pad has. Pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...] for every axis (or, from opset 18, for
     * the listed axes); negative pads crop, which is a Slice before the padding.
     */
    private static void pad(NodeContext c) {
        String modeName = c.attrString("mode", "constant");
        Pad.Mode mode = switch (modeName) {
            case "constant" -> Pad.Mode.CONSTANT;
            case "reflect" -> Pad.Mode.REFLECT;
            case "edge" -> Pad.Mode.EDGE;
            case "wrap" -> {
                if (c.opset < 19) throw c.invalid("mode 'wrap' needs opset 19");
                yield Pad.Mode.WRAP;
            }
            default -> throw c.invalid("mode '%s' is not constant, reflect, edge or wrap", modeName);
        };
        long[] in = c.dims(0);
        int r = in.length;
        long[] pads;
        double value = 0;
        long[] axes = null;
        if (c.opset < 11) {
            pads = c.attrInts(c.opset < 2 ? "paddings" : "pads", null);
            value = c.attrFloat("value", 0);
        } else {
            pads = c.ints(1);
            if (c.has(2)) value = c.scalar(2);
            if (c.opset >= 18 && c.has(3)) axes = c.ints(3);
        }
        if (pads == null) throw c.invalid("pads are required");
        if (axes == null) {
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        if (pads.length != 2 * axes.length)
            throw c.invalid("pads %s must have 2 x %d entries", Arrays.toString(pads), axes.length);
        long[] before = new long[r], after = new long[r];
        for (int i = 0; i < axes.length; i++) {
            int a = c.axis(axes[i], r, "axis");
            before[a] = pads[i];
            after[a] = pads[i + axes.length];
        }
        ElementwiseOps.requireFloat(c, 0);
        Value x = c.value(0);
        int[] d = x.shape().dims();
        // Negative pads remove cells: crop first.
        int[] s = new int[r], e = d.clone();
        boolean crop = false;
        for (int i = 0; i < r; i++) {
            if (before[i] < 0) { s[i] = Math.toIntExact(-before[i]); crop = true; before[i] = 0; }
            if (after[i] < 0) { e[i] = Math.toIntExact(d[i] + after[i]); crop = true; after[i] = 0; }
            if (s[i] > e[i]) throw c.invalid("negative pads remove more than the %d cells of axis %d", d[i], i);
        }
        if (crop) x = c.apply("crop", new Slice(s, e), x);
        if (Lowering.all(before, 0) && Lowering.all(after, 0)) {
            c.output(0, x);
            return;
        }
        // Pads longer than the axis repeat the pattern, as numpy.pad (ONNX's reference) and Pad.sourceIndex do.
        c.output(0, c.apply(null, new Pad(Lowering.ints(c, before), Lowering.ints(c, after),
                mode == Pad.Mode.CONSTANT ? value : 0, mode), x));
    }

    // ---- dropout ----

    /**
     * Inference-mode dropout is the identity. Dropout-12 and later take ratio and training_mode as inputs; training
     * with a ratio above 0 draws a random mask no reimplementation can match, so it is refused. The mask output
     * (bool from opset 10, the input's type before) is all ones in inference.
     */
    private static void dropout(NodeContext c) {
        c.ignore("seed", "consumed_inputs");
        double ratio = 0.5;
        boolean training = false;
        if (c.opset < 12) {
            ratio = c.attrFloat("ratio", 0.5);
            c.ignore("is_test");   // opset <= 6: runtimes run inference graphs with dropout off whatever it says
        } else {
            if (c.has(1)) ratio = c.scalar(1);
            if (c.has(2)) training = c.scalar(2) != 0;
        }
        if (!(ratio >= 0 && ratio < 1)) throw c.invalid("ratio %s must be in [0, 1)", ratio);
        if (training && ratio > 0)
            throw c.unsupported("training_mode = true with ratio %s: a random mask (ONNX's own random stream) cannot be "
                    + "reproduced", ratio);
        c.forward(0, 0);
        if (c.wantsOutput(1))   // all kept; typed like the input before opset 10, bool from 10 on
            c.output(1, c.opset < 10 ? ConstTensor.fill(c.type(0), c.dims(0), 1, c.outName(1))
                    : ConstTensor.fillInt(ElemType.BOOL, c.dims(0), 1, c.outName(1)));
    }
}
