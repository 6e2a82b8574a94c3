package dev.stride.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.stride.onnx.proto.Onnx.GraphProto;
import dev.stride.onnx.proto.Onnx.ModelProto;
import dev.stride.onnx.proto.Onnx.NodeProto;
import dev.stride.onnx.proto.Onnx.TensorProto;
import dev.stride.onnx.proto.Onnx.ValueInfoProto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Imports an ONNX model into a Stride {@link dev.stride.graph.Graph}.
 *
 * <pre>{@code
 * ImportedModel m = OnnxImporter.importFile(Path.of("resnet.onnx"), OnnxImporter.Options.defaults().batch(8));
 * try (Session s = Session.open(m.compile())) {
 *     Tensor probs = s.run(Map.of(m.inputNames().getFirst(), images)).get(m.outputNames().getFirst());
 * }
 * }</pre>
 *
 * Each node maps onto existing IR ops through the table in {@link OpTable}; shape arithmetic (Shape, Gather,
 * Concat, Unsqueeze, Cast, Slice, ConstantOfShape, Reshape targets...) is evaluated here and never becomes a
 * runtime op. Anything the IR cannot represent exactly fails with an {@link OnnxImportException} of kind
 * UNSUPPORTED that names the node, op_type, opset and the attribute, value or type; malformed files fail with kind
 * INVALID. The importer reads at most the file and allocates, beyond the parsed file, at most a folding budget
 * proportional to its size.
 */
public final class OnnxImporter {
    /** The newest default-domain operator set whose semantics the mappers follow. */
    public static final int MAX_OPSET = 25;

    private OnnxImporter() {}

    /**
     * Import options.
     *
     * @param inputShapes shapes for graph inputs, replacing the model's (needed where it has symbolic dims)
     * @param constants   values known at import time for graph inputs (serialized TensorProto bytes): the shapes,
     *                    axes, pads or scales that some models take as inputs
     * @param batch       when > 0, the first dimension of every graph input without an explicit shape
     * @param maxFoldingBytes when > 0, the most that constant folding may allocate; else 64 MiB + 4 x the file size
     */
    public record Options(Map<String, int[]> inputShapes, Map<String, byte[]> constants, int batch,
                          long maxFoldingBytes) {
        public Options {
            inputShapes = Collections.unmodifiableMap(new LinkedHashMap<>(inputShapes));
            constants = Collections.unmodifiableMap(new LinkedHashMap<>(constants));
        }

        public static Options defaults() { return new Options(Map.of(), Map.of(), 0, 0); }

        public Options inputShape(String name, int... dims) {
            var m = new LinkedHashMap<>(inputShapes);
            m.put(name, dims.clone());
            return new Options(m, constants, batch, maxFoldingBytes);
        }

        /** The value of graph input {@code name}, as a serialized TensorProto (an input_K.pb file's bytes). */
        public Options constant(String name, byte[] tensorProto) {
            var m = new LinkedHashMap<>(constants);
            m.put(name, tensorProto.clone());
            return new Options(inputShapes, m, batch, maxFoldingBytes);
        }

        public Options batch(int n) {
            if (n < 1) throw new IllegalArgumentException("batch must be >= 1, got " + n);
            return new Options(inputShapes, constants, n, maxFoldingBytes);
        }

        public Options maxFoldingBytes(long bytes) { return new Options(inputShapes, constants, batch, bytes); }

        long foldingBudget(long fileBytes) {
            if (maxFoldingBytes > 0) return maxFoldingBytes;
            return (64L << 20) + 4 * Math.max(0, fileBytes);
        }
    }

    public static ImportedModel importFile(Path file) throws IOException { return importFile(file, Options.defaults()); }

    public static ImportedModel importFile(Path file, Options options) throws IOException {
        return importModel(readModelBytes(file), options);
    }

    public static ImportedModel importModel(byte[] model, Options options) {
        return new Importer(parse(model), model.length, options).run();
    }

    static byte[] readModelBytes(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8)
            throw OnnxImportException.unsupported("model " + file, size + " bytes: over protobuf's 2 GiB limit "
                    + "(models with external data are not supported)");
        return Files.readAllBytes(file);
    }

    static ModelProto parse(byte[] bytes) {
        try {
            return ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw OnnxImportException.invalid("model", "not a valid ONNX ModelProto: " + e.getMessage(), e);
        }
    }

    /**
     * The graph inputs whose values the importer needs at import time: those of integer or bool type, and those
     * that feed an input the mapper reads as a constant (Reshape's shape, Pad's pads and value, Resize's scales,
     * Clip's bounds, ReduceSum's axes...). Initializers are not listed: the model already holds their values.
     */
    public static Set<String> importTimeInputs(byte[] model) {
        ModelProto m = parse(model);
        int opset = Importer.defaultOpset(m);
        GraphProto g = m.getGraph();
        Set<String> init = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) init.add(t.getName());
        Set<String> inputs = new LinkedHashSet<>();
        Set<String> out = new LinkedHashSet<>();
        for (ValueInfoProto vi : g.getInputList()) {
            if (init.contains(vi.getName())) continue;
            inputs.add(vi.getName());
            ElemType t = vi.getType().hasTensorType() ? ElemType.of(vi.getType().getTensorType().getElemType()) : null;
            if (t != null && t.isInteger()) out.add(vi.getName());
        }
        for (NodeProto n : g.getNodeList()) {
            OpSpec spec = OpTable.get(n.getOpType());
            if (spec == null) continue;
            for (int i = 0; i < n.getInputCount(); i++)
                if (spec.staticInputs().isStatic(opset, i) && inputs.contains(n.getInput(i))) out.add(n.getInput(i));
        }
        return out;
    }

    /**
     * The graph inputs a caller feeds, in the model's order: every graph input that is not also an initializer
     * (ONNX test data's {@code input_K.pb} is the K-th of these).
     */
    public static List<String> feedInputs(byte[] model) {
        GraphProto g = parse(model).getGraph();
        Set<String> init = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) init.add(t.getName());
        List<String> names = new ArrayList<>();
        for (ValueInfoProto vi : g.getInputList()) if (!init.contains(vi.getName())) names.add(vi.getName());
        return names;
    }

    /** The default-domain opset a model imports (as the importer reads it). */
    public static int opset(byte[] model) { return Importer.defaultOpset(parse(model)); }

    /** Operator types with a mapping (some of which still refuse particular attributes or inputs). */
    public static Set<String> mappedOperators() { return OpTable.mapped(); }
}
