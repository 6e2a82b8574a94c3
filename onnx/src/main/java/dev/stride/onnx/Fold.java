package dev.stride.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.LongBinaryOperator;

/**
 * The import-time evaluator: the tensor operations that shape arithmetic needs (broadcasting arithmetic, gather,
 * concat, slice, transpose, expand), on {@link ConstTensor}s. Results stay fills where the inputs are fills, so
 * folding ConstantOfShape weights allocates nothing; dense results are charged to the importer's {@link Budget}.
 */
final class Fold {
    private Fold() {}

    /** Caps what folding may allocate in total, in bytes, so a hostile file cannot make the importer blow up. */
    static final class Budget {
        private final long limit;
        private long used;

        Budget(long limit) { this.limit = limit; }

        /** Charges a dense result of {@code elements} values (8 bytes each, the widest storage). */
        void charge(long elements, String where) {
            long bytes = elements > Long.MAX_VALUE / 8 ? Long.MAX_VALUE : elements * 8;
            if (elements > Integer.MAX_VALUE - 8 || bytes > limit - used)
                throw OnnxImportException.invalid(where, "constant folding would allocate " + elements
                        + " elements, more than the model file justifies (folding budget " + limit + " bytes, "
                        + used + " used)");
            used += bytes;
        }
    }

    /** NumPy broadcasting of two shapes; null if they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i < r - a.length ? 1 : a[i - (r - a.length)];
            long db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1) return null;
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Flat index into {@code in} (right-aligned to {@code out}, broadcast) for each flat index of {@code out}. */
    static int[] broadcastIndex(long[] in, long[] out) {
        int n = Math.toIntExact(ConstTensor.elementCount(out, "broadcast"));
        int r = out.length, off = r - in.length;
        long[] stride = new long[r];
        long acc = 1;
        for (int i = in.length - 1; i >= 0; i--) {
            stride[i + off] = in[i] == 1 ? 0 : acc;
            acc *= in[i];
        }
        int[] idx = new int[n];
        long[] pos = new long[r];
        long flat = 0;
        for (int k = 0; k < n; k++) {
            idx[k] = (int) flat;
            for (int a = r - 1; a >= 0; a--) {   // odometer
                pos[a]++;
                flat += stride[a];
                if (pos[a] < out[a]) break;
                flat -= stride[a] * pos[a];
                pos[a] = 0;
            }
        }
        return idx;
    }

    /** Elementwise a (op) b with broadcasting; float types in double arithmetic, integer types in 64 bits. */
    static ConstTensor binary(ConstTensor a, ConstTensor b, DoubleBinaryOperator real, LongBinaryOperator integer,
                              ElemType outType, String name, Budget budget) {
        long[] dims = broadcast(a.dims, b.dims);
        if (dims == null) throw OnnxImportException.invalid("node output '" + name + "'", "shapes "
                + Arrays.toString(a.dims) + " and " + Arrays.toString(b.dims) + " do not broadcast");
        boolean ints = a.type.isInteger() && b.type.isInteger();
        if (a.isFill() && b.isFill()) {
            return ints ? ConstTensor.fillInt(outType, dims, integer.applyAsLong(a.integer(0), b.integer(0)), name)
                    : ConstTensor.fill(outType, dims, real.applyAsDouble(a.real(0), b.real(0)), name);
        }
        long n = ConstTensor.elementCount(dims, name);
        budget.charge(n, "node output '" + name + "'");
        int[] ia = broadcastIndex(a.dims, dims), ib = broadcastIndex(b.dims, dims);
        if (ints) {
            long[] v = new long[(int) n];
            for (int i = 0; i < v.length; i++) v[i] = outType.wrap(integer.applyAsLong(a.integer(ia[i]), b.integer(ib[i])));
            return ConstTensor.ofLongs(outType, dims, v, name);
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = real.applyAsDouble(a.real(ia[i]), b.real(ib[i]));
        return outType.isFloat() ? ConstTensor.ofReals(outType, dims, v, name) : toInts(outType, dims, v, name);
    }

    private static ConstTensor toInts(ElemType t, long[] dims, double[] v, String name) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = t.wrap((long) v[i]);
        return ConstTensor.ofLongs(t, dims, l, name);
    }

    /** Where(cond, x, y) with three-way broadcasting. */
    static ConstTensor where(ConstTensor c, ConstTensor x, ConstTensor y, String name, Budget budget) {
        long[] d1 = broadcast(c.dims, x.dims);
        long[] dims = d1 == null ? null : broadcast(d1, y.dims);
        if (dims == null) throw OnnxImportException.invalid("node output '" + name + "'", "shapes "
                + Arrays.toString(c.dims) + ", " + Arrays.toString(x.dims) + " and " + Arrays.toString(y.dims)
                + " do not broadcast");
        long n = ConstTensor.elementCount(dims, name);
        budget.charge(n, "node output '" + name + "'");
        int[] ic = broadcastIndex(c.dims, dims), ix = broadcastIndex(x.dims, dims), iy = broadcastIndex(y.dims, dims);
        if (x.type.isInteger()) {
            long[] v = new long[(int) n];
            for (int i = 0; i < v.length; i++) v[i] = c.integer(ic[i]) != 0 ? x.integer(ix[i]) : y.integer(iy[i]);
            return ConstTensor.ofLongs(x.type, dims, v, name);
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = c.integer(ic[i]) != 0 ? x.real(ix[i]) : y.real(iy[i]);
        return ConstTensor.ofReals(x.type, dims, v, name);
    }

    /** Copies a tensor's elements at the given flat indices into a new tensor (the caller charged the budget). */
    static ConstTensor gatherFlat(ConstTensor src, long[] dims, int[] index, String name) {
        if (src.isFill()) return src.fillWithDims(dims, name);
        if (src.type.isInteger()) {
            long[] v = new long[index.length];
            for (int i = 0; i < v.length; i++) v[i] = src.integer(index[i]);
            return ConstTensor.ofLongs(src.type, dims, v, name);
        }
        double[] v = new double[index.length];
        for (int i = 0; i < v.length; i++) v[i] = src.real(index[i]);
        return ConstTensor.ofReals(src.type, dims, v, name);
    }

    static long[] strides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /** Gather along {@code axis} with (already range-checked and normalised) indices. */
    static ConstTensor gather(ConstTensor data, int axis, ConstTensor indices, String name, Budget budget) {
        long[] idx = indices.longs();
        long[] dims = new long[data.rank() - 1 + indices.rank()];
        int k = 0;
        for (int i = 0; i < axis; i++) dims[k++] = data.dims[i];
        for (long x : indices.dims) dims[k++] = x;
        for (int i = axis + 1; i < data.rank(); i++) dims[k++] = data.dims[i];
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= data.dims[i];
        for (int i = axis + 1; i < data.rank(); i++) inner *= data.dims[i];
        if (data.isFill()) return data.fillWithDims(dims, name);
        long n = ConstTensor.elementCount(dims, name);
        budget.charge(n, "node output '" + name + "'");
        int[] index = new int[(int) n];
        int p = 0;
        for (long o = 0; o < outer; o++)
            for (long j : idx)
                for (long in = 0; in < inner; in++) index[p++] = (int) ((o * data.dims[axis] + j) * inner + in);
        return gatherFlat(data, dims, index, name);
    }

    /** Concatenation along {@code axis} (normalised); inputs already checked to agree elsewhere. */
    static ConstTensor concat(List<ConstTensor> xs, int axis, String name, Budget budget) {
        ConstTensor first = xs.getFirst();
        long[] dims = first.dims.clone();
        dims[axis] = 0;
        for (ConstTensor x : xs) dims[axis] += x.dims[axis];
        boolean fills = xs.stream().allMatch(ConstTensor::isFill)
                && xs.stream().allMatch(x -> x.real(0) == first.real(0) && x.integer(0) == first.integer(0));
        if (fills) return first.fillWithDims(dims, name);
        long n = ConstTensor.elementCount(dims, name);
        budget.charge(n, "node output '" + name + "'");
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= dims[i];
        for (int i = axis + 1; i < dims.length; i++) inner *= dims[i];
        boolean ints = first.type.isInteger();
        long[] lv = ints ? new long[(int) n] : null;
        double[] dv = ints ? null : new double[(int) n];
        int p = 0;
        for (long o = 0; o < outer; o++)
            for (ConstTensor x : xs) {
                long len = x.dims[axis] * inner, base = o * len;
                for (long i = 0; i < len; i++, p++) {
                    if (ints) lv[p] = x.integer(base + i);
                    else dv[p] = x.real(base + i);
                }
            }
        return ints ? ConstTensor.ofLongs(first.type, dims, lv, name) : ConstTensor.ofReals(first.type, dims, dv, name);
    }

    /** Strided slice: per axis start (inclusive), step and count, already clamped. */
    static ConstTensor slice(ConstTensor x, long[] start, long[] step, long[] count, String name, Budget budget) {
        if (x.isFill()) return x.fillWithDims(count, name);
        long n = ConstTensor.elementCount(count, name);
        budget.charge(n, "node output '" + name + "'");
        long[] st = strides(x.dims);
        int[] index = new int[(int) n];
        int r = count.length;
        long[] pos = new long[r];
        for (int k = 0; k < n; k++) {
            long flat = 0;
            for (int a = 0; a < r; a++) flat += (start[a] + pos[a] * step[a]) * st[a];
            index[k] = (int) flat;
            for (int a = r - 1; a >= 0; a--) {
                if (++pos[a] < count[a]) break;
                pos[a] = 0;
            }
        }
        return gatherFlat(x, count, index, name);
    }

    /** Transpose: output axis i is input axis perm[i]. */
    static ConstTensor transpose(ConstTensor x, int[] perm, String name, Budget budget) {
        long[] dims = new long[perm.length];
        for (int i = 0; i < perm.length; i++) dims[i] = x.dims[perm[i]];
        if (x.isFill()) return x.reshape(dims, name);
        long n = x.size();
        budget.charge(n, "node output '" + name + "'");
        long[] st = strides(x.dims);
        int[] index = new int[(int) n];
        long[] pos = new long[dims.length];
        for (int k = 0; k < n; k++) {
            long flat = 0;
            for (int a = 0; a < dims.length; a++) flat += pos[a] * st[perm[a]];
            index[k] = (int) flat;
            for (int a = dims.length - 1; a >= 0; a--) {
                if (++pos[a] < dims[a]) break;
                pos[a] = 0;
            }
        }
        return gatherFlat(x, dims, index, name);
    }

    /** Broadcasts x to {@code dims} (x must broadcast to it). */
    static ConstTensor expand(ConstTensor x, long[] dims, String name, Budget budget) {
        if (x.isFill()) return x.fillWithDims(dims, name);
        budget.charge(ConstTensor.elementCount(dims, name), "node output '" + name + "'");
        return gatherFlat(x, dims, broadcastIndex(x.dims, dims), name);
    }
}
