package dev.stride.onnx;

import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Init;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.onnx.proto.Onnx.GraphProto;
import dev.stride.onnx.proto.Onnx.ModelProto;
import dev.stride.onnx.proto.Onnx.NodeProto;
import dev.stride.onnx.proto.Onnx.OperatorSetIdProto;
import dev.stride.onnx.proto.Onnx.TensorProto;
import dev.stride.onnx.proto.Onnx.TensorShapeProto;
import dev.stride.onnx.proto.Onnx.TypeProto;
import dev.stride.onnx.proto.Onnx.ValueInfoProto;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One import: walks the ONNX graph in its (topological) node order and keeps, for every ONNX tensor name, what the
 * importer knows about it: a {@link ConstTensor} (initializers, Constant nodes, folded shape arithmetic), a runtime
 * {@link Value} of the Stride graph, or a {@link HostInput} (a non-float graph input without an import-time value).
 * Constants become parameters only where a runtime op consumes them.
 */
final class Importer {
    /** A graph input of an integer or bool type that the caller did not bind at import time. */
    record HostInput(String name, ElemType type, long[] dims) {}

    /** The largest tensor (in elements) the engine's Tensor can hold. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    final ModelProto model;
    final OnnxImporter.Options options;
    final int opset;
    final Fold.Budget budget;
    final DType dtype;
    final ElemType floatType;
    final GraphBuilder builder;

    private final Map<String, Object> env = new HashMap<>();
    private final Map<ConstTensor, Value> params = new IdentityHashMap<>();
    private final Map<String, byte[]> values = new LinkedHashMap<>();
    private final Set<String> taken = new HashSet<>();
    private final List<String> inputNames = new ArrayList<>();

    Importer(ModelProto model, long fileBytes, OnnxImporter.Options options) {
        this.model = model;
        this.options = options;
        this.opset = defaultOpset(model);
        this.budget = new Fold.Budget(options.foldingBudget(fileBytes));
        if (!model.hasGraph()) throw OnnxImportException.invalid("model", "has no graph");
        this.dtype = chooseDType(model.getGraph());
        this.floatType = dtype == DType.F64 ? ElemType.DOUBLE : ElemType.FLOAT;
        this.builder = new GraphBuilder(dtype, false);
    }

    /** The version of the default ONNX operator set the model imports. */
    static int defaultOpset(ModelProto m) {
        long v = -1;
        for (OperatorSetIdProto o : m.getOpsetImportList())
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) v = Math.max(v, o.getVersion());
        if (v < 0) {
            // IR version 1 and 2 files predate opset_import and mean operator set 1.
            if (m.getOpsetImportCount() == 0 && m.getIrVersion() < 3) return 1;
            throw OnnxImportException.invalid("model", "opset_import has no entry for the default ONNX domain");
        }
        if (v < 1) throw OnnxImportException.invalid("model", "default-domain opset version " + v + " must be >= 1");
        if (v > OnnxImporter.MAX_OPSET)
            throw OnnxImportException.unsupported("model", "opset " + v + " is newer than the newest this importer "
                    + "knows (" + OnnxImporter.MAX_OPSET + "): operator semantics may have changed");
        return (int) v;
    }

    /** Graph inputs that get their value at import time: initializers and the caller's constants. */
    private Set<String> constantInputs(GraphProto g) {
        Set<String> s = new HashSet<>(options.constants().keySet());
        for (TensorProto t : g.getInitializerList()) s.add(t.getName());
        return s;
    }

    /**
     * float32 unless the runtime float inputs (or, without any, the outputs) are float64; float16/bfloat16
     * activations and a mix of float32 and float64 are outside the engine (one dtype per graph).
     */
    private DType chooseDType(GraphProto g) {
        Set<String> constant = constantInputs(g);
        EnumSet<ElemType> seen = EnumSet.noneOf(ElemType.class);
        for (ValueInfoProto vi : g.getInputList()) {
            if (constant.contains(vi.getName())) continue;
            ElemType t = elemType(vi);
            if (t != null && t.isFloat()) seen.add(t);
        }
        if (seen.isEmpty())
            for (ValueInfoProto vi : g.getOutputList()) {
                ElemType t = elemType(vi);
                if (t != null && t.isFloat()) seen.add(t);
            }
        for (ElemType t : seen)
            if (t == ElemType.FLOAT16 || t == ElemType.BFLOAT16)
                throw OnnxImportException.unsupported("model", t.onnxName() + " activations: the engine computes in "
                        + "float32 or float64");
        if (seen.contains(ElemType.FLOAT) && seen.contains(ElemType.DOUBLE))
            throw OnnxImportException.unsupported("model", "float32 and float64 activations in one graph: a Stride "
                    + "graph has one element type");
        return seen.contains(ElemType.DOUBLE) ? DType.F64 : DType.F32;
    }

    private static ElemType elemType(ValueInfoProto vi) {
        if (!vi.hasType() || !vi.getType().hasTensorType()) return null;
        return ElemType.of(vi.getType().getTensorType().getElemType());
    }

    ImportedModel run() {
        GraphProto g = model.getGraph();
        if (g.getSparseInitializerCount() > 0)
            throw OnnxImportException.unsupported("model", "sparse initializers (" + g.getSparseInitializerCount() + ")");
        for (TensorProto t : g.getInitializerList()) {
            if (t.getName().isEmpty()) throw OnnxImportException.invalid("model", "an initializer has no name");
            define(t.getName(), ConstTensor.fromProto(t, t.getName()), "initializer");
        }
        for (var e : options.constants().entrySet()) {
            if (env.containsKey(e.getKey())) continue;   // an initializer already gives it
            if (g.getInputList().stream().noneMatch(vi -> vi.getName().equals(e.getKey())))
                throw OnnxImportException.invalid("model", "constant '" + e.getKey() + "' given at import time is "
                        + "not a graph input");
            define(e.getKey(), OnnxTensors.constant(e.getValue(), e.getKey()), "graph input");
        }
        for (ValueInfoProto vi : g.getInputList()) {
            String name = vi.getName();
            if (name.isEmpty()) throw OnnxImportException.invalid("model", "a graph input has no name");
            if (env.get(name) instanceof ConstTensor) continue;   // initializer (IR < 4 lists them as inputs) or bound
            addInput(vi);
        }
        for (NodeProto n : g.getNodeList()) mapNode(n);
        List<String> outputNames = new ArrayList<>();
        for (ValueInfoProto vi : g.getOutputList()) {
            addOutput(vi.getName());
            outputNames.add(vi.getName());
        }
        if (outputNames.isEmpty()) throw OnnxImportException.invalid("model", "the graph has no outputs");
        return new ImportedModel(builder.build(), values, inputNames, outputNames, opset);
    }

    private void define(String name, Object entry, String what) {
        if (env.putIfAbsent(name, entry) != null)
            throw OnnxImportException.invalid("model", what + " '" + name + "' is defined twice");
    }

    private void addInput(ValueInfoProto vi) {
        String name = vi.getName();
        String where = "graph input '" + name + "'";
        if (!vi.hasType() || !vi.getType().hasTensorType())
            throw OnnxImportException.unsupported(where, "not a tensor (sequence, map, optional or missing type)");
        TypeProto.Tensor tt = vi.getType().getTensorType();
        ElemType t = ElemType.of(tt.getElemType());
        if (t == null || !t.readable())
            throw OnnxImportException.unsupported(where, "element type " + ElemType.nameOf(tt.getElemType()));
        long[] dims = inputDims(vi, tt, t.isFloat(), where);
        if (!t.isFloat()) {
            define(name, new HostInput(name, t, dims), "graph input");
            return;
        }
        if (t != floatType)   // float16, or a float32 input in a float64 graph (decided above)
            throw OnnxImportException.unsupported(where, t.onnxName() + " input in a " + floatType.onnxName() + " graph");
        int[] d = new int[dims.length];
        for (int i = 0; i < d.length; i++) {
            if (dims[i] > MAX_ELEMENTS) throw OnnxImportException.invalid(where, "dimension " + dims[i] + " is too large");
            d[i] = (int) dims[i];
        }
        Shape shape = Shape.of(d);
        try {
            if (shape.size() > MAX_ELEMENTS) throw OnnxImportException.invalid(where, "shape " + shape + " is too large");
        } catch (ArithmeticException e) {
            throw OnnxImportException.invalid(where, "shape " + shape + " overflows");
        }
        taken.add(name);
        define(name, builder.input(name, shape), "graph input");
        inputNames.add(name);
    }

    /** Static dims: the caller's shape, else the model's, with --batch replacing the first; symbols need a value. */
    private long[] inputDims(ValueInfoProto vi, TypeProto.Tensor tt, boolean required, String where) {
        int[] given = options.inputShapes().get(vi.getName());
        long[] dims;
        if (given != null) {
            dims = Arrays.stream(given).asLongStream().toArray();
        } else if (!tt.hasShape()) {
            if (!required) return null;
            throw OnnxImportException.unsupported(where, "no shape in the model: give it (Options.inputShape, "
                    + "stride import --shape)");
        } else {
            TensorShapeProto sp = tt.getShape();
            dims = new long[sp.getDimCount()];
            for (int i = 0; i < dims.length; i++) {
                TensorShapeProto.Dimension d = sp.getDim(i);
                if (d.hasDimValue()) {
                    dims[i] = d.getDimValue();
                } else if (i == 0 && options.batch() > 0) {
                    dims[i] = options.batch();
                } else {
                    if (!required) return null;
                    throw OnnxImportException.unsupported(where, "dimension " + i + " is symbolic ('"
                            + d.getDimParam() + "'): a static graph needs its size (Options.inputShape or batch, "
                            + "stride import --shape/--batch)");
                }
            }
        }
        if (options.batch() > 0 && dims.length > 0 && given == null) dims[0] = options.batch();
        for (long x : dims) if (x < 0) throw OnnxImportException.invalid(where, "negative dimension " + x);
        return dims;
    }

    private void mapNode(NodeProto n) {
        int version = opset;
        NodeContext ctx = new NodeContext(this, n, version);
        if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx"))
            throw ctx.unsupported("operator domain '%s': only the default ONNX domain is mapped", n.getDomain());
        OpSpec spec = OpTable.get(n.getOpType());
        if (spec == null) throw ctx.unsupported("no mapping for operator %s", n.getOpType());
        for (int i = 0; i < n.getInputCount(); i++) if (ctx.has(i)) lookup(n.getInput(i), ctx);   // missing inputs first
        try {
            spec.mapper().map(ctx);
        } catch (GraphException | ShapeException | ArithmeticException | IllegalArgumentException e) {
            throw OnnxImportException.invalid(ctx.where(), String.valueOf(e.getMessage()), e);
        }
        ctx.requireAllAttributesRead();
        for (int i = 0; i < n.getOutputCount(); i++)
            if (ctx.wantsOutput(i) && !env.containsKey(n.getOutput(i)))
                throw ctx.unsupported("output %d ('%s') is not produced by this importer", i, n.getOutput(i));
    }

    Object lookup(String name, NodeContext ctx) {
        Object e = env.get(name);
        if (e == null) throw ctx.invalid("input '%s' is not produced by any earlier node, initializer or graph input", name);
        return e;
    }

    void bind(String name, Object entry, NodeContext ctx) {
        if (env.putIfAbsent(name, entry) != null) throw ctx.invalid("tensor '%s' is produced twice", name);
    }

    /** A float constant as a parameter with its stored value (a fill as a constant Init), made once per constant. */
    Value param(ConstTensor c, String where) {
        Value v = params.get(c);
        if (v != null) return v;
        if (!c.type.isFloat())
            throw OnnxImportException.unsupported(where, c.type.onnxName() + " tensor '" + c.name + "' " + c.describe()
                    + " used as an activation, weight or output: integer and bool tensors on the activation path are "
                    + "outside a float CNN engine");
        if (c.size() > MAX_ELEMENTS)
            throw OnnxImportException.invalid(where, "constant '" + c.name + "' " + c.describe()
                    + " has more elements than a tensor can hold");
        int[] d = new int[c.dims.length];
        for (int i = 0; i < d.length; i++) d[i] = (int) c.dims[i];   // each <= size <= MAX_ELEMENTS
        String name = unique(c.name.isEmpty() ? "const" : c.name);
        v = builder.param(name, Shape.of(d), c.isFill() ? Init.constant(c.real(0)) : Init.zeros());
        if (!c.isFill()) values.put(name, c.littleEndian(dtype));
        params.put(c, v);
        return v;
    }

    private String unique(String hint) {
        if (taken.add(hint)) return hint;
        for (int k = 1; ; k++) if (taken.add(hint + "_" + k)) return hint + "_" + k;
    }

    Value apply(String hint, Op op, Value... inputs) {
        List<Value> outs = applyAll(hint, op, inputs);
        if (outs.size() != 1) throw new IllegalStateException(op.kind() + " has " + outs.size() + " outputs");
        return outs.getFirst();
    }

    List<Value> applyAll(String hint, Op op, Value... inputs) {
        List<Value> outs = builder.applyAll(hint.isEmpty() ? null : hint, op, inputs);
        for (Value o : outs) {
            taken.add(o.name());
            int colon = o.name().lastIndexOf(':');
            if (outs.size() > 1 && colon > 0) taken.add(o.name().substring(0, colon));
        }
        return outs;
    }

    private final Set<Value> outputValues = new HashSet<>();

    private void addOutput(String name) {
        String where = "graph output '" + name + "'";
        Object e = env.get(name);
        if (e == null) throw OnnxImportException.invalid(where, "not produced by any node, initializer or input");
        Value v;
        if (e instanceof HostInput h)
            throw OnnxImportException.unsupported(where, "is the " + h.type().onnxName() + " graph input itself: "
                    + "outputs are float tensors");
        if (e instanceof ConstTensor c) {
            v = param(c, where);
        } else {
            v = (Value) e;
        }
        // A run returns node outputs; an input, a parameter or a value already returned is copied into its own node.
        if (v.kind() != Value.Kind.NODE || !outputValues.add(v)) v = apply(name, new Affine(1, 0), v);
        outputValues.add(v);
        try {
            builder.output(name, v);
        } catch (GraphException ex) {
            throw OnnxImportException.invalid(where, ex.getMessage());
        }
    }
}
