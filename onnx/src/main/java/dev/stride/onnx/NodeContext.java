package dev.stride.onnx;

import dev.stride.graph.Op;
import dev.stride.graph.Value;
import dev.stride.onnx.proto.Onnx.AttributeProto;
import dev.stride.onnx.proto.Onnx.NodeProto;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a mapper sees of one node: its inputs (constants known at import time, or runtime values of the graph),
 * its attributes (each read is recorded, so an attribute no mapper understood is reported instead of ignored), its
 * operator-set version, and where to bind its outputs. Errors made here name the node, op_type and opset.
 */
final class NodeContext {
    /** Constant inputs read as integer lists (shapes, axes, pads) may have at most this many elements. */
    static final int MAX_SMALL_CONSTANT = 1 << 16;

    final Importer imp;
    final NodeProto node;
    final int opset;
    private final Map<String, AttributeProto> attrs = new LinkedHashMap<>();
    private final Set<String> read = new HashSet<>();

    NodeContext(Importer imp, NodeProto node, int opset) {
        this.imp = imp;
        this.node = node;
        this.opset = opset;
        for (AttributeProto a : node.getAttributeList()) {
            if (attrs.put(a.getName(), a) != null) throw invalid("attribute '%s' appears twice", a.getName());
            if (!a.getRefAttrName().isEmpty())
                throw invalid("attribute '%s' refers to a function attribute (ref_attr_name) outside a function", a.getName());
        }
    }

    String opType() { return node.getOpType(); }

    /** "node 'conv1' (Conv, opset 22)"; a node without a name is named by its first output. */
    String where() {
        String n = !node.getName().isEmpty() ? "node '" + node.getName() + "'"
                : node.getOutputCount() > 0 ? "node producing '" + node.getOutput(0) + "'" : "unnamed node";
        return n + " (" + node.getOpType() + ", opset " + opset + ")";
    }

    OnnxImportException unsupported(String fmt, Object... args) {
        return OnnxImportException.unsupported(where(), args.length == 0 ? fmt : String.format(fmt, args));
    }

    OnnxImportException invalid(String fmt, Object... args) {
        return OnnxImportException.invalid(where(), args.length == 0 ? fmt : String.format(fmt, args));
    }

    // ---- inputs ----

    int inputCount() { return node.getInputCount(); }

    /** Whether input i is given (present and not the empty name of an omitted optional input). */
    boolean has(int i) { return i < node.getInputCount() && !node.getInput(i).isEmpty(); }

    String inputName(int i) { return node.getInput(i); }

    /** The number of inputs up to the last one given. */
    int givenInputs() {
        int n = node.getInputCount();
        while (n > 0 && node.getInput(n - 1).isEmpty()) n--;
        return n;
    }

    private Object entry(int i) {
        if (!has(i)) throw invalid("input %d is required but missing", i);
        return imp.lookup(node.getInput(i), this);
    }

    boolean isConst(int i) { return has(i) && entry(i) instanceof ConstTensor; }

    /** Whether every given input is a constant: then the node folds, if its op has a folding rule. */
    boolean allConst() {
        for (int i = 0; i < node.getInputCount(); i++) if (has(i) && !(entry(i) instanceof ConstTensor)) return false;
        return true;
    }

    /** Input i as an import-time constant; a runtime value here is outside a static graph. */
    ConstTensor constant(int i) {
        Object e = entry(i);
        if (e instanceof ConstTensor c) return c;
        if (e instanceof Importer.HostInput h)
            throw unsupported("input %d ('%s') must be known at import time, and graph input '%s' (%s) is fed at run "
                    + "time: bind it with OnnxImporter.Options.constant (stride import --const)", i, inputName(i),
                    h.name(), h.type().onnxName());
        throw unsupported("input %d ('%s') is computed at run time, but the importer needs its value at import time "
                + "(shapes, axes, pads and scales are constants in a static graph)", i, inputName(i));
    }

    /** A constant integer tensor of at most {@link #MAX_SMALL_CONSTANT} elements, as longs. */
    long[] ints(int i) {
        ConstTensor c = constant(i);
        if (!c.type.isInteger()) throw invalid("input %d ('%s') must be an integer tensor, got %s", i, inputName(i), c.describe());
        if (c.size() > MAX_SMALL_CONSTANT)
            throw invalid("input %d ('%s') has %d elements; a shape, axes or pads tensor this large is not plausible",
                    i, inputName(i), c.size());
        return c.longs();
    }

    /** A constant float tensor of at most {@link #MAX_SMALL_CONSTANT} elements, as doubles. */
    double[] reals(int i) {
        ConstTensor c = constant(i);
        if (!c.type.isFloat()) throw invalid("input %d ('%s') must be a float tensor, got %s", i, inputName(i), c.describe());
        if (c.size() > MAX_SMALL_CONSTANT)
            throw invalid("input %d ('%s') has %d elements, more than a scales or bounds tensor can plausibly have",
                    i, inputName(i), c.size());
        return c.reals();
    }

    /** A constant scalar (or one-element tensor) as a double. */
    double scalar(int i) {
        ConstTensor c = constant(i);
        if (c.size() != 1) throw invalid("input %d ('%s') must hold one value, got %s", i, inputName(i), c.describe());
        return c.type.isInteger() ? c.integer(0) : c.real(0);
    }

    /** Input i as a value of the graph: runtime values as they are, float constants as parameters. */
    Value value(int i) {
        Object e = entry(i);
        if (e instanceof Value v) return v;
        if (e instanceof ConstTensor c) return imp.param(c, where());
        Importer.HostInput h = (Importer.HostInput) e;
        throw unsupported("graph input '%s' is %s, fed at run time into input %d: integer and bool tensors on the "
                + "activation path are outside a float CNN engine (only float32 or float64 activations)",
                h.name(), h.type().onnxName(), i);
    }

    /** The dims of input i, whatever it is. */
    long[] dims(int i) {
        Object e = entry(i);
        if (e instanceof Value v) return Arrays.stream(v.shape().dims()).asLongStream().toArray();
        if (e instanceof ConstTensor c) return c.dims.clone();
        Importer.HostInput h = (Importer.HostInput) e;
        if (h.dims() == null) throw unsupported("graph input '%s' has no static shape", h.name());
        return h.dims().clone();
    }

    int rank(int i) { return dims(i).length; }

    /** The element type of input i (runtime values have the graph's float type). */
    ElemType type(int i) {
        Object e = entry(i);
        if (e instanceof ConstTensor c) return c.type;
        if (e instanceof Importer.HostInput h) return h.type();
        return imp.floatType;
    }

    // ---- attributes ----

    boolean hasAttr(String name) {
        read.add(name);
        return attrs.containsKey(name);
    }

    /** Marks attributes as understood without reading them (informational ones such as Dropout's seed). */
    void ignore(String... names) { read.addAll(List.of(names)); }

    private AttributeProto attr(String name, AttributeProto.AttributeType want) {
        read.add(name);
        AttributeProto a = attrs.get(name);
        if (a == null) return null;
        AttributeProto.AttributeType t = a.getType();
        if (t == AttributeProto.AttributeType.UNDEFINED) t = inferType(a);   // IR version 1 files had no type field
        // An integer list of one element is sometimes written as INT and the other way round; accept both.
        boolean ok = t == want
                || (want == AttributeProto.AttributeType.INTS && t == AttributeProto.AttributeType.INT)
                || (want == AttributeProto.AttributeType.FLOATS && t == AttributeProto.AttributeType.FLOAT);
        if (!ok) throw invalid("attribute '%s' must be %s, got %s", name, want, t);
        return a;
    }

    private static AttributeProto.AttributeType inferType(AttributeProto a) {
        if (a.getIntsCount() > 0) return AttributeProto.AttributeType.INTS;
        if (a.getFloatsCount() > 0) return AttributeProto.AttributeType.FLOATS;
        if (a.getStringsCount() > 0) return AttributeProto.AttributeType.STRINGS;
        if (a.hasT()) return AttributeProto.AttributeType.TENSOR;
        if (a.hasG()) return AttributeProto.AttributeType.GRAPH;
        if (a.hasS()) return AttributeProto.AttributeType.STRING;
        if (a.hasF()) return AttributeProto.AttributeType.FLOAT;
        return AttributeProto.AttributeType.INT;
    }

    long attrInt(String name, long def) {
        AttributeProto a = attr(name, AttributeProto.AttributeType.INT);
        return a == null ? def : a.getI();
    }

    /** An int attribute that must fit in an int (axes, group, flags). */
    int attrInt32(String name, int def) {
        long v = attrInt(name, def);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw invalid("attribute %s = %d is out of range", name, v);
        return (int) v;
    }

    double attrFloat(String name, double def) {
        AttributeProto a = attr(name, AttributeProto.AttributeType.FLOAT);
        return a == null ? def : a.getF();
    }

    String attrString(String name, String def) {
        AttributeProto a = attr(name, AttributeProto.AttributeType.STRING);
        return a == null ? def : a.getS().toStringUtf8();
    }

    /** An INTS attribute, or {@code def} (may be null) when absent. */
    long[] attrInts(String name, long[] def) {
        AttributeProto a = attr(name, AttributeProto.AttributeType.INTS);
        if (a == null) return def;
        if (a.getType() == AttributeProto.AttributeType.INT) return new long[] {a.getI()};
        if (a.getIntsCount() > MAX_SMALL_CONSTANT) throw invalid("attribute '%s' has %d values", name, a.getIntsCount());
        long[] v = new long[a.getIntsCount()];
        for (int i = 0; i < v.length; i++) v[i] = a.getInts(i);
        return v;
    }

    double[] attrFloats(String name, double[] def) {
        AttributeProto a = attr(name, AttributeProto.AttributeType.FLOATS);
        if (a == null) return def;
        if (a.getType() == AttributeProto.AttributeType.FLOAT) return new double[] {a.getF()};
        if (a.getFloatsCount() > MAX_SMALL_CONSTANT) throw invalid("attribute '%s' has %d values", name, a.getFloatsCount());
        double[] v = new double[a.getFloatsCount()];
        for (int i = 0; i < v.length; i++) v[i] = a.getFloats(i);
        return v;
    }

    /** A TENSOR attribute as a constant, or null. */
    ConstTensor attrTensor(String name) {
        AttributeProto a = attr(name, AttributeProto.AttributeType.TENSOR);
        if (a == null) return null;
        String tn = a.getT().getName().isEmpty() ? outName(0) : a.getT().getName();
        return ConstTensor.fromProto(a.getT(), tn);
    }

    /** Attributes present on the node that no mapper read: each is an unsupported feature. */
    void requireAllAttributesRead() {
        for (String name : attrs.keySet())
            if (!read.contains(name)) throw unsupported("attribute '%s' is not supported", name);
    }

    // ---- outputs ----

    int outputCount() { return node.getOutputCount(); }

    /** Whether output i exists and is used (named). */
    boolean wantsOutput(int i) { return i < node.getOutputCount() && !node.getOutput(i).isEmpty(); }

    String outName(int i) { return i < node.getOutputCount() ? node.getOutput(i) : ""; }

    /** Binds output i to a runtime value. */
    void output(int i, Value v) { if (wantsOutput(i)) imp.bind(node.getOutput(i), v, this); }

    /** Binds output i to a constant. */
    void output(int i, ConstTensor c) { if (wantsOutput(i)) imp.bind(node.getOutput(i), c, this); }

    /** Binds output {@code out} to whatever input {@code in} is (Identity, inference-mode Dropout). */
    void forward(int out, int in) { if (wantsOutput(out)) imp.bind(node.getOutput(out), entry(in), this); }

    /** Refuses outputs beyond the first {@code n} that the model asks for. */
    void onlyOutputs(int n, String what) {
        for (int i = n; i < node.getOutputCount(); i++)
            if (wantsOutput(i)) throw unsupported("output %d ('%s'): %s", i, node.getOutput(i), what);
    }

    // ---- building ----

    /** Adds an op; the node is named after the ONNX output, with {@code step} appended for intermediate ops. */
    Value apply(String step, Op op, Value... inputs) {
        return imp.apply(step == null ? outName(0) : outName(0) + "/" + step, op, inputs);
    }

    List<Value> applyAll(String step, Op op, Value... inputs) {
        return imp.applyAll(step == null ? outName(0) : outName(0) + "/" + step, op, inputs);
    }

    Fold.Budget budget() { return imp.budget; }

    /** Normalises an axis in [-rank, rank) to [0, rank). */
    int axis(long axis, int rank, String what) {
        if (axis < -rank || axis >= rank) throw invalid("%s = %d is out of range for rank %d", what, axis, rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }
}
