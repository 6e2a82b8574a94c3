package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.Unary;

import java.util.Arrays;
import java.util.Map;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongBinaryOperator;

/**
 * Activations (incl. Selu, HardSigmoid, HardSwish, Clip), elementwise arithmetic with broadcasting (incl. Pow and the
 * variadic Max and Min), Sum/Mean, PRelu, Softmax and LogSoftmax.
 */
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
        unary(t, "HardSwish", Unary.Fn.HARD_SWISH, x -> x * Math.max(0, Math.min(1, x / 6 + 0.5)));
        t.put("LeakyRelu", new OpSpec(c -> {
            double a = c.attrFloat("alpha", 0.01);
            unaryMap(c, Unary.Fn.LEAKY_RELU, a, x -> x >= 0 ? x : a * x);
        }, OpSpec.StaticInputs.NONE));
        t.put("Elu", new OpSpec(c -> {
            double a = c.attrFloat("alpha", 1.0);
            unaryMap(c, Unary.Fn.ELU, a, x -> x > 0 ? x : a * (Math.exp(x) - 1));
        }, OpSpec.StaticInputs.NONE));
        t.put("Selu", new OpSpec(c -> {
            // ONNX's defaults are the float32 roundings of the paper's constants, as the attributes are float32.
            double a = c.attrFloat("alpha", (float) Unary.SELU_ALPHA), g = c.attrFloat("gamma", (float) Unary.SELU_GAMMA);
            unaryMap(c, Unary.Fn.SELU, a, g, x -> x > 0 ? g * x : g * a * Math.expm1(x));
        }, OpSpec.StaticInputs.NONE));
        t.put("HardSigmoid", new OpSpec(c -> {
            double a = c.attrFloat("alpha", 0.2), b = c.attrFloat("beta", 0.5);
            unaryMap(c, Unary.Fn.HARD_SIGMOID, a, b, x -> Math.max(0, Math.min(1, a * x + b)));
        }, OpSpec.StaticInputs.NONE));
        // Clip-11 and later take min and max as optional inputs (before: attributes); they must be known at import time.
        t.put("Clip", new OpSpec(ElementwiseOps::clip, OpSpec.StaticInputs.from(11, 1)));

        binary(t, "Add", Binary.Kind.ADD, Double::sum, Long::sum);
        binary(t, "Sub", Binary.Kind.SUB, (a, b) -> a - b, (a, b) -> a - b);
        binary(t, "Mul", Binary.Kind.MUL, (a, b) -> a * b, (a, b) -> a * b);
        binary(t, "Div", Binary.Kind.DIV, (a, b) -> a / b, (a, b) -> {
            if (b == 0) throw new ArithmeticException("integer division by zero in a folded Div");
            return a / b;   // truncates toward zero, as ONNX integer Div does
        });
        t.put("Pow", new OpSpec(ElementwiseOps::pow, OpSpec.StaticInputs.NONE));
        extremum(t, "Max", Binary.Kind.MAX, Math::max, Math::max);
        extremum(t, "Min", Binary.Kind.MIN, Math::min, Math::min);
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
        unaryMap(c, fn, alpha, 0, f);
    }

    private static void unaryMap(NodeContext c, Unary.Fn fn, double alpha, double beta, DoubleUnaryOperator f) {
        c.ignore("consumed_inputs");   // opset 1's memory-reuse hint, meaningless here
        if (c.isConst(0)) {
            ConstTensor x = c.constant(0);
            if (x.type.isFloat()) {
                c.output(0, foldUnary(c, x, f));
                return;
            }
        }
        requireFloat(c, 0);
        c.output(0, c.apply(null, new Unary(fn, alpha, beta), c.value(0)));
    }

    // ---- Clip ----

    /**
     * Clip-1 and Clip-6 have float attributes whose defaults are float32's lowest and largest values; from Clip-11
     * the bounds are optional scalar inputs (absent: no bound). min > max gives max everywhere, as ONNX says.
     */
    private static void clip(NodeContext c) {
        double lo, hi;
        if (c.opset < 11) {
            lo = c.attrFloat("min", -Float.MAX_VALUE);
            hi = c.attrFloat("max", Float.MAX_VALUE);
        } else {
            lo = c.has(1) ? c.scalar(1) : Double.NEGATIVE_INFINITY;
            hi = c.has(2) ? c.scalar(2) : Double.POSITIVE_INFINITY;
        }
        if (Double.isNaN(lo) || Double.isNaN(hi)) throw c.unsupported("a NaN bound (min %s, max %s)", lo, hi);
        double min = lo, max = hi;
        c.ignore("consumed_inputs");
        if (c.isConst(0) && c.constant(0).type.isFloat()) {
            c.output(0, foldUnary(c, c.constant(0), x -> Math.min(Math.max(x, min), max)));
            return;
        }
        requireFloat(c, 0);
        c.output(0, c.apply(null, new Clip(min, max), c.value(0)));
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

    // ---- Pow ----

    /**
     * Pow: the result has the base's type, the exponent may be of another (an integer exponent is cast to the
     * graph's float type). A scalar constant exponent of 2 is Unary SQUARE (x * x, exactly pow(x, 2)) and 1 the
     * identity; other exponents are Binary POW. 0.5 stays POW: sqrt differs from pow at -0 and -infinity.
     */
    private static void pow(NodeContext c) {
        long[] legacyB = legacyBroadcast(c);
        if (c.allConst()) {
            ConstTensor a = c.constant(0), b = c.constant(1);
            if (legacyB != null) b = b.reshape(legacyB, b.name);
            if (a.type.isFloat() && !b.type.isFloat()) b = b.cast(a.type, b.name);
            c.output(0, Fold.binary(a, b, Math::pow, ElementwiseOps::integerPow, a.type, c.outName(0), c.budget()));
            return;
        }
        requireFloat(c, 0);
        if (c.isConst(1)) {
            ConstTensor e = c.constant(1);
            if (e.size() == 1 && c.rank(1) <= c.rank(0) && legacyB == null) {
                double k = e.type.isInteger() ? e.integer(0) : e.real(0);
                if (k == 1) {
                    c.forward(0, 0);
                    return;
                }
                if (k == 2) {
                    c.output(0, c.apply(null, new Unary(Unary.Fn.SQUARE), c.value(0)));
                    return;
                }
            }
            if (!e.type.isFloat()) e = e.cast(c.imp.floatType, e.name);
            Value b = c.imp.param(legacyB != null ? e.reshape(legacyB, e.name) : e, c.where());
            c.output(0, c.apply(null, new Binary(Binary.Kind.POW), c.value(0), b));
            return;
        }
        requireFloat(c, 1);
        Value b = c.value(1);
        if (legacyB != null) b = Lowering.reshape(c, "broadcast_b", b, Lowering.ints(c, legacyB));
        c.output(0, c.apply(null, new Binary(Binary.Kind.POW), c.value(0), b));
    }

    /** Integer power with wrap-around (the result type narrows it); negative exponents truncate toward zero. */
    static long integerPow(long base, long exp) {
        if (exp < 0) return base == 1 ? 1 : base == -1 ? (exp % 2 == 0 ? 1 : -1) : 0;
        long r = 1;
        for (long b = base, e = exp; e > 0; e >>= 1, b *= b) if ((e & 1) != 0) r *= b;
        return r;
    }

    // ---- Max, Min ----

    /** Max and Min of one or more inputs with broadcasting (opset 8 on; before, equal shapes): a chain of Binary. */
    private static void extremum(Map<String, OpSpec> t, String op, Binary.Kind kind, DoubleBinaryOperator real,
                                 LongBinaryOperator integer) {
        t.put(op, new OpSpec(c -> {
            c.ignore("consumed_inputs");
            int n = c.givenInputs();
            if (n == 0) throw c.invalid("needs at least one input");
            for (int i = 0; i < n; i++) if (!c.has(i)) throw c.invalid("input %d is empty", i);
            if (c.opset < 8)
                for (int i = 1; i < n; i++)
                    if (!Arrays.equals(c.dims(i), c.dims(0)))
                        throw c.invalid("inputs 0 %s and %d %s differ (no broadcasting before opset 8)",
                                Arrays.toString(c.dims(0)), i, Arrays.toString(c.dims(i)));
            if (c.allConst()) {
                ConstTensor acc = c.constant(0);
                for (int i = 1; i < n; i++) {
                    if (c.constant(i).type != acc.type)
                        throw c.invalid("input types differ: %s and %s", acc.describe(), c.constant(i).describe());
                    acc = Fold.binary(acc, c.constant(i), real, integer, acc.type, c.outName(0), c.budget());
                }
                c.output(0, acc);
                return;
            }
            for (int i = 0; i < n; i++) requireFloat(c, i);
            if (n == 1) {
                c.forward(0, 0);
                return;
            }
            Value acc = c.value(0);
            for (int i = 1; i < n; i++)
                acc = c.apply(i == n - 1 ? null : kind.name().toLowerCase() + "_" + i, new Binary(kind), acc, c.value(i));
            c.output(0, acc);
        }, OpSpec.StaticInputs.NONE));
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
