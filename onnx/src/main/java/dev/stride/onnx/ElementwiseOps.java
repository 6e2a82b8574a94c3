package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.Unary;

import java.util.Arrays;
import java.util.Map;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongBinaryOperator;

/** Activations, elementwise arithmetic with broadcasting, Sum/Mean, PRelu, Softmax and LogSoftmax. */
final class ElementwiseOps {
    private ElementwiseOps() {}

    static void register(Map<String, OpSpec> t) {
        unary(t, "Relu", Unary.Fn.RELU, x -> Math.max(0, x));
        unary(t, "Sigmoid", Unary.Fn.SIGMOID, x -> 1 / (1 + Math.exp(-x)));
        unary(t, "Tanh", Unary.Fn.TANH, Math::tanh);
        unary(t, "Softplus", Unary.Fn.SOFTPLUS, x -> Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
        unary(t, "Exp", Unary.Fn.EXP, Math::exp);
        unary(t, "Log", Unary.Fn.LOG, Math::log);
        unary(t, "Sqrt", Unary.Fn.SQRT, Math::sqrt);
        unary(t, "Neg", Unary.Fn.NEG, x -> -x);
        unary(t, "Abs", Unary.Fn.ABS, Math::abs);
        t.put("LeakyRelu", new OpSpec(c -> {
            double a = c.attrFloat("alpha", 0.01);
            unaryMap(c, Unary.Fn.LEAKY_RELU, a, x -> x >= 0 ? x : a * x);
        }, OpSpec.StaticInputs.NONE));
        t.put("Elu", new OpSpec(c -> {
            double a = c.attrFloat("alpha", 1.0);
            unaryMap(c, Unary.Fn.ELU, a, x -> x > 0 ? x : a * (Math.exp(x) - 1));
        }, OpSpec.StaticInputs.NONE));

        binary(t, "Add", Binary.Kind.ADD, Double::sum, Long::sum);
        binary(t, "Sub", Binary.Kind.SUB, (a, b) -> a - b, (a, b) -> a - b);
        binary(t, "Mul", Binary.Kind.MUL, (a, b) -> a * b, (a, b) -> a * b);
        binary(t, "Div", Binary.Kind.DIV, (a, b) -> a / b, (a, b) -> {
            if (b == 0) throw new ArithmeticException("integer division by zero in a folded Div");
            return a / b;   // truncates toward zero, as ONNX integer Div does
        });
        t.put("Sum", new OpSpec(c -> sum(c, false), OpSpec.StaticInputs.NONE));
        t.put("Mean", new OpSpec(c -> sum(c, true), OpSpec.StaticInputs.NONE));
        t.put("PRelu", new OpSpec(ElementwiseOps::prelu, OpSpec.StaticInputs.NONE));
        t.put("Softmax", new OpSpec(c -> softmax(c, false), OpSpec.StaticInputs.NONE));
        t.put("LogSoftmax", new OpSpec(c -> softmax(c, true), OpSpec.StaticInputs.NONE));
    }

    // ---- unary ----

    private static void unary(Map<String, OpSpec> t, String op, Unary.Fn fn, DoubleUnaryOperator f) {
        t.put(op, new OpSpec(c -> unaryMap(c, fn, 0, f), OpSpec.StaticInputs.NONE));
    }

    private static void unaryMap(NodeContext c, Unary.Fn fn, double alpha, DoubleUnaryOperator f) {
        c.ignore("consumed_inputs");   // opset 1's memory-reuse hint, meaningless here
        if (c.isConst(0)) {
            ConstTensor x = c.constant(0);
            if (x.type.isFloat()) {
                c.output(0, foldUnary(c, x, f));
                return;
            }
        }
        c.output(0, c.apply(null, new Unary(fn, alpha), c.value(0)));
    }

    /** f applied to every element in double, rounded to the constant's type. */
    static ConstTensor foldUnary(NodeContext c, ConstTensor x, DoubleUnaryOperator f) {
        String name = c.outName(0);
        if (x.isFill()) return ConstTensor.fill(x.type, x.dims, f.applyAsDouble(x.real(0)), name);
        c.budget().charge(x.size(), c.where());
        double[] v = new double[(int) x.size()];
        for (int i = 0; i < v.length; i++) v[i] = f.applyAsDouble(x.real(i));
        return ConstTensor.ofReals(x.type, x.dims, v, name);
    }

    // ---- binary ----

    private static void binary(Map<String, OpSpec> t, String op, Binary.Kind kind, DoubleBinaryOperator real,
                               LongBinaryOperator integer) {
        t.put(op, new OpSpec(c -> binaryMap(c, kind, real, integer), OpSpec.StaticInputs.NONE));
    }

    private static void binaryMap(NodeContext c, Binary.Kind kind, DoubleBinaryOperator real, LongBinaryOperator integer) {
        c.ignore("consumed_inputs");
        long[] legacyB = legacyBroadcast(c);
        if (c.allConst()) {
            ConstTensor a = c.constant(0), b = c.constant(1);
            if (legacyB != null) b = b.reshape(legacyB, b.name);
            if (a.type != b.type) throw c.invalid("operand types differ: %s and %s", a.describe(), b.describe());
            c.output(0, Fold.binary(a, b, real, integer, a.type, c.outName(0), c.budget()));
            return;
        }
        requireFloat(c, 0);
        requireFloat(c, 1);
        // x (op) scalar constant is an affine map: no parameter, and fast backends see a scale/shift.
        for (int s = 0; s < 2; s++) {
            if (!c.isConst(s) || c.constant(s).size() != 1) continue;
            int r = 1 - s;
            if (c.rank(s) > c.rank(r)) continue;   // the constant would add leading dimensions
            double k = c.constant(s).real(0);
            Affine op = switch (kind) {
                case ADD -> new Affine(1, k);
                case SUB -> s == 1 ? new Affine(1, -k) : new Affine(-1, k);
                case MUL -> new Affine(k, 0);
                case DIV -> s == 1 ? new Affine(1 / k, 0) : null;   // k / x is not affine
                case POW, MAX, MIN -> null;                          // not affine
            };
            if (op == null) continue;
            c.output(0, c.apply(null, op, c.value(r)));
            return;
        }
        Value a = c.value(0), b = c.value(1);
        if (legacyB != null) b = Lowering.reshape(c, "broadcast_b", b, Lowering.ints(c, legacyB));
        c.output(0, c.apply(null, new Binary(kind), a, b));
    }

    /** Operands must be float (runtime integer arithmetic is outside the engine). */
    static void requireFloat(NodeContext c, int i) {
        ElemType t = c.type(i);
        if (!t.isFloat())
            throw c.unsupported("input %d ('%s') is %s: integer and bool arithmetic on the activation path is outside "
                    + "a float CNN engine", i, c.inputName(i), t.onnxName());
    }

    /**
     * Opset 1-6 broadcasting: without {@code broadcast=1} the shapes must be equal; with it, B's dims line up with
     * A's starting at {@code axis} (default: at the end). Returns B's dims padded to A's rank, or null when B
     * needs no reshape.
     */
    static long[] legacyBroadcast(NodeContext c) {
        if (c.opset >= 7) return null;
        long broadcast = c.attrInt("broadcast", 0);
        boolean hasAxis = c.hasAttr("axis");
        long[] a = c.dims(0), b = c.dims(1);
        if (broadcast == 0) {
            if (!Arrays.equals(a, b))
                throw c.invalid("shapes %s and %s differ and broadcast is 0 (opset %d has no implicit broadcasting)",
                        Arrays.toString(a), Arrays.toString(b), c.opset);
            return null;
        }
        int axis = hasAxis ? c.axis(c.attrInt("axis", 0), a.length, "axis") : a.length - b.length;
        if (axis < 0 || axis + b.length > a.length)
            throw c.invalid("B %s does not fit into A %s at axis %d", Arrays.toString(b), Arrays.toString(a), axis);
        long[] d = new long[a.length];
        Arrays.fill(d, 1);
        System.arraycopy(b, 0, d, axis, b.length);
        for (int i = 0; i < b.length; i++)
            if (b[i] != 1 && b[i] != a[axis + i])
                throw c.invalid("B %s does not match A %s at axis %d", Arrays.toString(b), Arrays.toString(a), axis);
        return Arrays.equals(d, b) ? null : d;
    }

    // ---- Sum, Mean ----

    private static void sum(NodeContext c, boolean mean) {
        c.ignore("consumed_inputs");
        int n = c.givenInputs();
        if (n == 0) throw c.invalid("needs at least one input");
        if (c.opset < 8) {   // Sum-6/Mean-6 had no broadcasting
            for (int i = 1; i < n; i++)
                if (!Arrays.equals(c.dims(i), c.dims(0)))
                    throw c.invalid("inputs 0 %s and %d %s differ (no broadcasting before opset 8)",
                            Arrays.toString(c.dims(0)), i, Arrays.toString(c.dims(i)));
        }
        if (c.allConst()) {
            ConstTensor acc = c.constant(0);
            for (int i = 1; i < n; i++) acc = Fold.binary(acc, c.constant(i), Double::sum, Long::sum, acc.type,
                    c.outName(0), c.budget());
            if (mean) {
                double k = n;
                ConstTensor a = acc;
                if (!a.type.isFloat()) throw c.unsupported("Mean of %s tensors", a.type.onnxName());
                acc = foldUnary(c, a, x -> x / k);
            }
            c.output(0, acc);
            return;
        }
        for (int i = 0; i < n; i++) requireFloat(c, i);
        Value acc = c.value(0);
        for (int i = 1; i < n; i++)
            acc = c.apply(i == n - 1 && !mean ? null : "sum_" + i, new Binary(Binary.Kind.ADD), acc, c.value(i));
        if (mean) acc = c.apply(null, new Affine(1.0 / n, 0), acc);
        c.output(0, acc);   // Sum of one input is that input
    }

    // ---- PRelu ----

    /**
     * PRelu with a slope of [1] or [C] (channels on axis 1) is the IR's PRelu; ONNX's [C, 1, ..., 1] is reshaped
     * to [C]. Any other broadcastable slope is written relu(x) + slope * (x - relu(x)): x for x > 0, slope * x
     * otherwise, exactly.
     */
    private static void prelu(NodeContext c) {
        c.ignore("consumed_inputs");
        requireFloat(c, 0);
        requireFloat(c, 1);
        Value x = c.value(0);
        long[] s = c.dims(1);
        int[] xd = x.shape().dims();
        long count = Lowering.product(s, 0, s.length);
        int[] perChannel = null;
        if (count == 1 && s.length <= xd.length) perChannel = new int[] {1};
        else if (c.opset < 7 && xd.length >= 2 && s.length == 1 && s[0] == xd[1]) perChannel = new int[] {xd[1]};   // PRelu-6: [C] is per channel
        else if (xd.length >= 2 && s.length == xd.length - 1 && s[0] == xd[1]
                && Lowering.product(s, 1, s.length) == 1) perChannel = new int[] {xd[1]};
        else if (xd.length >= 2 && s.length == xd.length && s[0] == 1 && s[1] == xd[1]
                && Lowering.product(s, 2, s.length) == 1) perChannel = new int[] {xd[1]};
        if (perChannel != null) {
            Value slope = Lowering.reshape(c, "slope", c.value(1), perChannel);
            c.output(0, c.apply(null, new PRelu(), x, slope));
            return;
        }
        if (Fold.broadcast(s, Lowering.longs(xd)) == null || !Arrays.equals(Fold.broadcast(s, Lowering.longs(xd)), Lowering.longs(xd)))
            throw c.invalid("slope %s does not broadcast to x %s", Arrays.toString(s), Arrays.toString(xd));
        Value slope = c.value(1);
        Value pos = c.apply("relu", new Unary(Unary.Fn.RELU), x);
        Value neg = c.apply("negative_part", new Binary(Binary.Kind.SUB), x, pos);
        Value scaled = c.apply("scaled", new Binary(Binary.Kind.MUL), slope, neg);
        c.output(0, c.apply(null, new Binary(Binary.Kind.ADD), pos, scaled));
    }

    // ---- Softmax, LogSoftmax ----

    /**
     * Opset 13 and later: along one axis (default -1). Before 13: the input is seen as 2-D [prod(dims before
     * axis), prod(dims from axis)] (default axis 1) and normalised along the second dimension.
     */
    private static void softmax(NodeContext c, boolean log) {
        requireFloat(c, 0);
        Value x = c.value(0);
        int r = x.shape().rank();
        if (r == 0) throw c.invalid("input is a scalar");
        int[] d = x.shape().dims();
        if (c.opset >= 13) {
            int axis = c.axis(c.attrInt("axis", -1), r, "axis");
            c.output(0, c.apply(null, log ? new LogSoftmax(axis) : new Softmax(axis), x));
            return;
        }
        int axis = c.axis(c.attrInt("axis", 1), r, "axis");
        if (axis == r - 1) {   // one axis already: no flattening needed
            c.output(0, c.apply(null, log ? new LogSoftmax(axis) : new Softmax(axis), x));
            return;
        }
        Value flat = Lowering.reshape(c, "flatten", x, Lowering.product(d, 0, axis), Lowering.product(d, axis, r));
        Value y = c.apply("softmax", log ? new LogSoftmax(1) : new Softmax(1), flat);
        c.output(0, Lowering.reshapeOut(c, y, d));
    }
}
