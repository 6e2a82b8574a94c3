package dev.stride.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Shape;
import dev.stride.onnx.proto.Onnx.TensorProto;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads and writes single tensors as serialized ONNX TensorProto files (the {@code input_0.pb} / {@code
 * output_0.pb} of ONNX test data): float32 and float64 to and from engine {@link Tensor}s.
 */
public final class OnnxTensors {
    private OnnxTensors() {}

    static TensorProto parse(byte[] bytes, String what) {
        try {
            return TensorProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw OnnxImportException.invalid(what, "not a valid ONNX TensorProto: " + e.getMessage(), e);
        }
    }

    /** A constant from TensorProto bytes, checked as an initializer is. */
    static ConstTensor constant(byte[] bytes, String name) {
        return ConstTensor.fromProto(parse(bytes, "tensor '" + name + "'"), name);
    }

    /** A float32 or float64 tensor from TensorProto bytes; other element types are refused. */
    public static Tensor read(byte[] bytes) {
        TensorProto p = parse(bytes, "tensor");
        String name = p.getName().isEmpty() ? "tensor" : p.getName();
        ConstTensor c = ConstTensor.fromProto(p, name);
        if (c.type != ElemType.FLOAT && c.type != ElemType.DOUBLE)
            throw OnnxImportException.unsupported("tensor '" + name + "'", "element type " + c.type.onnxName()
                    + ": engine tensors are float32 or float64");
        if (c.size() > Importer.MAX_ELEMENTS) throw OnnxImportException.invalid("tensor '" + name + "'", "too large");
        int[] d = new int[c.dims.length];
        for (int i = 0; i < d.length; i++) d[i] = (int) c.dims[i];
        DType dt = c.type == ElemType.FLOAT ? DType.F32 : DType.F64;
        Tensor t = Tensor.zeros(dt, Shape.of(d));
        byte[] le = c.littleEndian(dt);
        MemorySegment.copy(MemorySegment.ofArray(le), 0, t.segment(), 0, le.length);
        return t;
    }

    public static Tensor read(Path file) throws IOException { return read(Files.readAllBytes(file)); }

    /** The element type name ("float", "int64", ...) and dims of a serialized tensor, e.g. "int64[4]". */
    public static String describe(byte[] bytes) {
        TensorProto p = parse(bytes, "tensor");
        long[] dims = p.getDimsList().stream().mapToLong(Long::longValue).toArray();
        return ElemType.nameOf(p.getDataType()) + Arrays.toString(dims);
    }

    /** Whether a serialized tensor holds float32 or float64 values. */
    public static boolean isFloat(byte[] bytes) {
        int t = parse(bytes, "tensor").getDataType();
        return t == ElemType.FLOAT.code || t == ElemType.DOUBLE.code;
    }

    /** A tensor as TensorProto bytes (raw_data, little-endian, FLOAT or DOUBLE). */
    public static byte[] toBytes(Tensor t, String name) {
        byte[] raw = new byte[Math.toIntExact(t.segment().byteSize())];
        MemorySegment.copy(t.segment(), 0, MemorySegment.ofArray(raw), 0, raw.length);
        TensorProto.Builder b = TensorProto.newBuilder()
                .setDataType(t.dtype() == DType.F32 ? ElemType.FLOAT.code : ElemType.DOUBLE.code)
                .setRawData(ByteString.copyFrom(raw));
        if (name != null) b.setName(name);
        for (int d : t.shape().dims()) b.addDims(d);
        return b.build().toByteArray();
    }

    public static void write(Path file, Tensor t, String name) throws IOException {
        Files.write(file, toBytes(t, name));
    }
}
