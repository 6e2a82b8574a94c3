package dev.stride.onnx;

import com.google.protobuf.ByteString;
import dev.stride.onnx.proto.Onnx.AttributeProto;
import dev.stride.onnx.proto.Onnx.GraphProto;
import dev.stride.onnx.proto.Onnx.ModelProto;
import dev.stride.onnx.proto.Onnx.NodeProto;
import dev.stride.onnx.proto.Onnx.OperatorSetIdProto;
import dev.stride.onnx.proto.Onnx.TensorProto;
import dev.stride.onnx.proto.Onnx.TensorShapeProto;
import dev.stride.onnx.proto.Onnx.TypeProto;
import dev.stride.onnx.proto.Onnx.ValueInfoProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds small ONNX models for tests with the generated protobuf classes. */
final class Models {
    static final int FLOAT = 1, INT64 = 7, DOUBLE = 11, INT32 = 6, BOOL = 9;

    private final ModelProto.Builder model = ModelProto.newBuilder().setIrVersion(8);
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
    private int nodes;

    private Models(int opset) {
        model.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
    }

    static Models opset(int opset) { return new Models(opset); }

    static ValueInfoProto info(String name, int type, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }

    Models input(String name, long... dims) { return typedInput(name, FLOAT, dims); }

    Models typedInput(String name, int type, long... dims) {
        graph.addInput(info(name, type, dims));
        return this;
    }

    /** An input with a symbolic first dimension ("N") and fixed others. */
    Models symbolicInput(String name, long... rest) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
        for (long d : rest) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        graph.addInput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(s))));
        return this;
    }

    Models output(String name) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(FLOAT))));
        return this;
    }

    Models initializer(TensorProto t) {
        graph.addInitializer(t);
        return this;
    }

    static TensorProto floats(String name, long[] dims, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(box(dims))
                .setRawData(ByteString.copyFrom(b.array())).build();
    }

    static TensorProto longs(String name, long[] dims, long... v) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(INT64).addAllDims(box(dims));
        for (long x : v) t.addInt64Data(x);
        return t.build();
    }

    static TensorProto vector(String name, long... v) { return longs(name, new long[] {v.length}, v); }

    static TensorProto scalar(String name, float v) { return floats(name, new long[0], v); }

    private static java.util.List<Long> box(long[] dims) {
        return java.util.Arrays.stream(dims).boxed().toList();
    }

    /** A node; attributes are given as alternating name, value (Long, Double, String, long[], double[], TensorProto). */
    Models node(String op, String[] inputs, String[] outputs, Object... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase() + "_" + nodes++);
        for (String i : inputs) n.addInput(i);
        for (String o : outputs) n.addOutput(o);
        for (int i = 0; i < attrs.length; i += 2) n.addAttribute(attr((String) attrs[i], attrs[i + 1]));
        graph.addNode(n);
        return this;
    }

    /** One-output shorthand: node(op, output, inputs..., attributes as a trailing Object[]). */
    Models node(String op, String output, String... inputs) { return node(op, inputs, new String[] {output}); }

    static AttributeProto attr(String name, Object v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        switch (v) {
            case Integer i -> a.setType(AttributeProto.AttributeType.INT).setI(i);
            case Long l -> a.setType(AttributeProto.AttributeType.INT).setI(l);
            case Double d -> a.setType(AttributeProto.AttributeType.FLOAT).setF(d.floatValue());
            case String s -> a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
            case long[] ls -> { a.setType(AttributeProto.AttributeType.INTS); for (long l : ls) a.addInts(l); }
            case double[] ds -> { a.setType(AttributeProto.AttributeType.FLOATS); for (double d : ds) a.addFloats((float) d); }
            case TensorProto t -> a.setType(AttributeProto.AttributeType.TENSOR).setT(t);
            default -> throw new IllegalArgumentException(v.getClass().toString());
        }
        return a.build();
    }

    ModelProto build() { return model.setGraph(graph).build(); }

    byte[] bytes() { return build().toByteArray(); }
}
