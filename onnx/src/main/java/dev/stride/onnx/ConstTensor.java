package dev.stride.onnx;

import com.google.protobuf.ByteString;
import dev.stride.graph.DType;
import dev.stride.onnx.proto.Onnx.TensorProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor whose value the importer knows: an initializer, a Constant node, a graph input bound at import time, or
 * the result of folding shape arithmetic. Floating types are stored as float[] (float, float16, bfloat16) or
 * double[], integer types (and bool) as long[]. A <em>fill</em> (every element equal, as ConstantOfShape makes)
 * stores one value, so a [4096, 25088] weight of 0.02 costs nothing until a session allocates it.
 *
 * <p>A tensor read from a file is checked when it is created (dims, element count against the bytes present) and
 * decoded on first use: initializers that nothing reads are never expanded.
 */
final class ConstTensor {
    final ElemType type;
    final long[] dims;
    /** Where it came from, for parameter names and messages: the ONNX tensor name. */
    final String name;
    private final long size;

    private float[] f;
    private double[] d;
    private long[] l;
    private final boolean fill;
    private final double fillReal;
    private final long fillInt;
    private TensorProto source;   // set until decoded

    private ConstTensor(ElemType type, long[] dims, String name, float[] f, double[] d, long[] l, boolean fill,
                        double fillReal, long fillInt, TensorProto source) {
        this.type = type;
        this.dims = dims;
        this.name = name;
        this.size = elementCount(dims, name);
        this.f = f;
        this.d = d;
        this.l = l;
        this.fill = fill;
        this.fillReal = fillReal;
        this.fillInt = fillInt;
        this.source = source;
    }

    /** The product of dims; throws INVALID for negative dims or an overflowing product. */
    static long elementCount(long[] dims, String name) {
        long n = 1;
        for (long x : dims) {
            if (x < 0) throw OnnxImportException.invalid("tensor '" + name + "'",
                    "negative dimension in " + Arrays.toString(dims));
            try {
                n = Math.multiplyExact(n, x);
            } catch (ArithmeticException e) {
                throw OnnxImportException.invalid("tensor '" + name + "'",
                        "dims " + Arrays.toString(dims) + " overflow a 64-bit element count");
            }
        }
        return n;
    }

    // ---- factories ----

    static ConstTensor ofLongs(ElemType type, long[] dims, long[] v, String name) {
        check(type.isInteger(), type);
        ConstTensor c = new ConstTensor(type, dims.clone(), name, null, null, v, false, 0, 0, null);
        requireLength(c, v.length);
        return c;
    }

    /** Real values stored in the representation of {@code type} (float32 rounding for float types but double). */
    static ConstTensor ofReals(ElemType type, long[] dims, double[] v, String name) {
        check(type.isFloat(), type);
        ConstTensor c;
        if (type == ElemType.DOUBLE) {
            c = new ConstTensor(type, dims.clone(), name, null, v, null, false, 0, 0, null);
        } else {
            float[] a = new float[v.length];
            for (int i = 0; i < a.length; i++) a[i] = round(type, v[i]);
            c = new ConstTensor(type, dims.clone(), name, a, null, null, false, 0, 0, null);
        }
        requireLength(c, v.length);
        return c;
    }

    /** Every element equal to {@code value} (rounded or wrapped to {@code type}). */
    static ConstTensor fill(ElemType type, long[] dims, double value, String name) {
        check(type.readable(), type);
        if (type.isFloat()) {
            double r = type == ElemType.DOUBLE ? value : round(type, value);
            return new ConstTensor(type, dims.clone(), name, null, null, null, true, r, 0, null);
        }
        long v = type.wrap((long) value);
        return new ConstTensor(type, dims.clone(), name, null, null, null, true, v, v, null);
    }

    static ConstTensor fillInt(ElemType type, long[] dims, long value, String name) {
        check(type.isInteger(), type);
        long v = type.wrap(value);
        return new ConstTensor(type, dims.clone(), name, null, null, null, true, v, v, null);
    }

    static ConstTensor vector(long[] v, String name) { return ofLongs(ElemType.INT64, new long[] {v.length}, v, name); }

    private static void check(boolean ok, ElemType t) {
        if (!ok) throw new IllegalArgumentException("wrong element type " + t);
    }

    private static void requireLength(ConstTensor c, int n) {
        if (c.size != n) throw new IllegalArgumentException("dims " + Arrays.toString(c.dims) + " need " + c.size
                + " values, got " + n);
    }

    private static float round(ElemType t, double v) {
        return switch (t) {
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16((float) v));
            case BFLOAT16 -> bf16ToFloat(floatToBf16((float) v));
            default -> (float) v;
        };
    }

    /**
     * A tensor from its TensorProto, checked now (type, location, dims, element count against the bytes or values
     * present) and decoded on first use. Nothing is allocated here beyond what the protobuf already holds.
     */
    static ConstTensor fromProto(TensorProto t, String name) {
        String where = "tensor '" + name + "'";
        ElemType type = ElemType.of(t.getDataType());
        if (t.getDataType() == 0)
            throw OnnxImportException.invalid(where, "data_type is not set (UNDEFINED)");
        if (type == null || !type.readable())
            throw OnnxImportException.unsupported(where, "element type " + ElemType.nameOf(t.getDataType())
                    + " (the importer reads float, double, float16, bfloat16, integer and bool tensors)");
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0)
            throw OnnxImportException.unsupported(where, "external data (data_location = EXTERNAL): tensors must be "
                    + "stored inside the model file");
        if (t.hasSegment()) throw OnnxImportException.unsupported(where, "segmented tensor (segment field)");
        long[] dims = new long[t.getDimsCount()];
        for (int i = 0; i < dims.length; i++) dims[i] = t.getDims(i);
        long n = elementCount(dims, name);
        long present;
        String field;
        if (t.hasRawData()) {
            field = "raw_data";
            long bytes = t.getRawData().size();
            if (bytes % type.bytes != 0 || bytes / type.bytes != n)
                throw OnnxImportException.invalid(where, "raw_data holds " + bytes + " bytes, but dims "
                        + Arrays.toString(dims) + " of " + type.onnxName() + " need " + n + " x " + type.bytes + " = "
                        + (n <= Long.MAX_VALUE / type.bytes ? String.valueOf(n * type.bytes) : "more than 2^63")
                        + " bytes");
            present = n;
        } else {
            field = typedField(type);
            present = switch (type) {
                case FLOAT -> t.getFloatDataCount();
                case DOUBLE -> t.getDoubleDataCount();
                case INT64 -> t.getInt64DataCount();
                case UINT32, UINT64 -> t.getUint64DataCount();
                default -> t.getInt32DataCount();
            };
        }
        if (present != n)
            throw OnnxImportException.invalid(where, field + " holds " + present + " values, but dims "
                    + Arrays.toString(dims) + " need " + n);
        return new ConstTensor(type, dims, name, null, null, null, false, 0, 0, t);
    }

    private static String typedField(ElemType t) {
        return switch (t) {
            case FLOAT -> "float_data";
            case DOUBLE -> "double_data";
            case INT64 -> "int64_data";
            case UINT32, UINT64 -> "uint64_data";
            default -> "int32_data";
        };
    }

    private void decode() {
        TensorProto t = source;
        if (t == null) return;
        int n = (int) size;   // a file-backed tensor has at most as many elements as the file has bytes
        if (t.hasRawData()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            switch (type) {
                case FLOAT -> { f = new float[n]; b.asFloatBuffer().get(f); }
                case DOUBLE -> { d = new double[n]; b.asDoubleBuffer().get(d); }
                case FLOAT16 -> { f = new float[n]; for (int i = 0; i < n; i++) f[i] = Float.float16ToFloat(b.getShort()); }
                case BFLOAT16 -> { f = new float[n]; for (int i = 0; i < n; i++) f[i] = bf16ToFloat(b.getShort()); }
                default -> {
                    l = new long[n];
                    for (int i = 0; i < n; i++) {
                        long v = switch (type.bytes) {
                            case 1 -> b.get();
                            case 2 -> b.getShort();
                            case 4 -> b.getInt();
                            default -> b.getLong();
                        };
                        l[i] = type.wrap(v);
                    }
                }
            }
        } else {
            switch (type) {
                case FLOAT -> { f = new float[n]; for (int i = 0; i < n; i++) f[i] = t.getFloatData(i); }
                case DOUBLE -> { d = new double[n]; for (int i = 0; i < n; i++) d[i] = t.getDoubleData(i); }
                case FLOAT16 -> { f = new float[n]; for (int i = 0; i < n; i++) f[i] = Float.float16ToFloat((short) t.getInt32Data(i)); }
                case BFLOAT16 -> { f = new float[n]; for (int i = 0; i < n; i++) f[i] = bf16ToFloat((short) t.getInt32Data(i)); }
                case INT64 -> { l = new long[n]; for (int i = 0; i < n; i++) l[i] = t.getInt64Data(i); }
                case UINT32, UINT64 -> { l = new long[n]; for (int i = 0; i < n; i++) l[i] = type.wrap(t.getUint64Data(i)); }
                default -> { l = new long[n]; for (int i = 0; i < n; i++) l[i] = type.wrap(t.getInt32Data(i)); }
            }
        }
        source = null;
    }

    static float bf16ToFloat(short bits) { return Float.intBitsToFloat((bits & 0xFFFF) << 16); }

    static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) 0x7FC0;
        int rounding = 0x7FFF + ((bits >>> 16) & 1);   // round to nearest even
        return (short) ((bits + rounding) >>> 16);
    }

    // ---- access ----

    long size() { return size; }

    int rank() { return dims.length; }

    boolean isFill() { return fill; }

    /** Element i as a real number (integers converted). */
    double real(long i) {
        if (fill) return fillReal;
        decode();
        if (f != null) return f[(int) i];
        if (d != null) return d[(int) i];
        return l[(int) i];
    }

    /** Element i as an integer: integer types exactly, float types truncated toward zero (as a C cast). */
    long integer(long i) {
        if (fill) return type.isInteger() ? fillInt : (long) fillReal;
        decode();
        if (l != null) return l[(int) i];
        return (long) real(i);
    }

    /** Every element as an integer (see {@link #integer}); only for small shape tensors. */
    long[] longs() {
        long[] a = new long[Math.toIntExact(size)];
        for (int i = 0; i < a.length; i++) a[i] = integer(i);
        return a;
    }

    double[] reals() {
        double[] a = new double[Math.toIntExact(size)];
        for (int i = 0; i < a.length; i++) a[i] = real(i);
        return a;
    }

    /** The same values under other dims of equal size (shares storage). */
    ConstTensor reshape(long[] newDims, String newName) {
        ConstTensor c = new ConstTensor(type, newDims.clone(), newName, f, d, l, fill, fillReal, fillInt, source);
        if (c.size != size) throw new IllegalArgumentException(Arrays.toString(dims) + " -> " + Arrays.toString(newDims));
        return c;
    }

    /** A fill with the same value under any dims. */
    ConstTensor fillWithDims(long[] newDims, String newName) {
        if (!fill) throw new IllegalStateException("not a fill: " + this);
        return new ConstTensor(type, newDims.clone(), newName, null, null, null, true, fillReal, fillInt, null);
    }

    /** Element i of a dense copy in another type: used by folding. */
    ConstTensor cast(ElemType to, String newName) {
        if (to == type) return reshape(dims, newName);
        if (fill) return to.isFloat() ? fill(to, dims, fillReal, newName)
                : fillInt(to, dims, type.isInteger() ? fillInt : castToInt(fillReal), newName);
        int n = Math.toIntExact(size);
        if (to.isFloat()) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = type == ElemType.UINT64 ? unsignedToDouble(integer(i)) : real(i);
            return ofReals(to, dims, v, newName);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = to.wrap(type.isInteger() ? integer(i) : castToInt(real(i)));
        return ofLongs(to, dims, v, newName);
    }

    private static long castToInt(double v) { return Double.isNaN(v) ? 0 : (long) v; }

    private static double unsignedToDouble(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }

    /**
     * The values as little-endian bytes in {@code dtype} (a parameter's stored value). A float32 tensor read from
     * raw_data is copied straight from the file's bytes.
     */
    byte[] littleEndian(DType dtype) {
        int n = Math.toIntExact(size);
        if (source != null && source.hasRawData() && type == ElemType.FLOAT && dtype == DType.F32) {
            ByteString raw = source.getRawData();
            return raw.toByteArray();
        }
        byte[] out = new byte[Math.multiplyExact(n, dtype.bytes)];
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F32) for (int i = 0; i < n; i++) b.putFloat((float) real(i));
        else for (int i = 0; i < n; i++) b.putDouble(real(i));
        return out;
    }

    /** "int64[2, 3]" */
    String describe() {
        return type.onnxName() + Arrays.toString(dims) + (fill ? " (every element " + (type.isFloat() ? fillReal : fillInt) + ")" : "");
    }

    @Override public String toString() { return "'" + name + "' " + describe(); }
}
