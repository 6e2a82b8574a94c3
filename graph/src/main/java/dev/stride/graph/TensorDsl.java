package dev.stride.graph;

import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.MatMul;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.Transpose;
import dev.stride.graph.op.Unary;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Builder DSL for activations, elementwise arithmetic, matrix products, dense layers, reshapes and transposes,
 * reductions, softmax and local response normalisation. See {@link DslBase}.
 */
public interface TensorDsl extends DslBase {
    // ---- activations and elementwise functions ----

    private Value unary(Unary.Fn fn, double alpha, Value x) { return unary(fn, alpha, 0, x); }

    private Value unary(Unary.Fn fn, double alpha, double beta, Value x) {
        return apply(fn.name().toLowerCase(), new Unary(fn, alpha, beta), x);
    }

    default Value relu(Value x) { return unary(Unary.Fn.RELU, 0, x); }

    /** x for x > 0, alpha * x otherwise. */
    default Value leakyRelu(Value x, double alpha) { return unary(Unary.Fn.LEAKY_RELU, alpha, x); }

    /** x for x > 0, alpha * (exp(x) - 1) otherwise. */
    default Value elu(Value x, double alpha) { return unary(Unary.Fn.ELU, alpha, x); }

    /** SELU with its paper's constants {@link Unary#SELU_ALPHA} and {@link Unary#SELU_GAMMA}. */
    default Value selu(Value x) { return selu(x, Unary.SELU_ALPHA, Unary.SELU_GAMMA); }

    /** gamma * x for x > 0, gamma * alpha * (exp(x) - 1) otherwise (ONNX Selu). */
    default Value selu(Value x, double alpha, double gamma) { return unary(Unary.Fn.SELU, alpha, gamma, x); }

    default Value sigmoid(Value x) { return unary(Unary.Fn.SIGMOID, 0, x); }

    /**
     * max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid; its defaults are alpha = 0.2, beta = 0.5, PyTorch's
     * Hardsigmoid has alpha = 1/6, beta = 1/2).
     */
    default Value hardSigmoid(Value x, double alpha, double beta) {
        return unary(Unary.Fn.HARD_SIGMOID, alpha, beta, x);
    }

    /** x * max(0, min(1, x/6 + 1/2)) (ONNX HardSwish, PyTorch Hardswish). */
    default Value hardSwish(Value x) { return unary(Unary.Fn.HARD_SWISH, 0, x); }

    default Value tanh(Value x) { return unary(Unary.Fn.TANH, 0, x); }

    /** log(1 + exp(x)), computed without overflow. */
    default Value softplus(Value x) { return unary(Unary.Fn.SOFTPLUS, 0, x); }

    default Value exp(Value x) { return unary(Unary.Fn.EXP, 0, x); }

    default Value log(Value x) { return unary(Unary.Fn.LOG, 0, x); }

    default Value sqrt(Value x) { return unary(Unary.Fn.SQRT, 0, x); }

    default Value square(Value x) { return unary(Unary.Fn.SQUARE, 0, x); }

    default Value abs(Value x) { return unary(Unary.Fn.ABS, 0, x); }

    default Value neg(Value x) { return unary(Unary.Fn.NEG, 0, x); }

    /** -1, 0 or 1; its gradient is 0. */
    default Value sign(Value x) { return unary(Unary.Fn.SIGN, 0, x); }

    /**
     * PReLU with a learned slope {@code name/slope} initialised to 0.25 (PyTorch's default): one per channel
     * (axis 1 of x) when {@code perChannel}, else one shared by all elements.
     */
    default Value prelu(String name, Value x, boolean perChannel) {
        if (perChannel && x.shape().rank() < 2)
            throw new GraphException("prelu '" + name + "': a per-channel slope needs x of rank >= 2 (channels on "
                    + "axis 1), got " + x);
        Value slope = param(name + "/slope", Shape.of(perChannel ? x.shape().dim(1) : 1), Init.constant(0.25));
        return apply(name, new PRelu(), x, slope);
    }

    /** PReLU with a given slope of shape [1] or [C]. */
    default Value prelu(Value x, Value slope) { return apply("prelu", new PRelu(), x, slope); }

    // ---- arithmetic (NumPy broadcasting) ----

    default Value add(Value a, Value b) { return apply("add", new Binary(Binary.Kind.ADD), a, b); }

    default Value sub(Value a, Value b) { return apply("sub", new Binary(Binary.Kind.SUB), a, b); }

    default Value mul(Value a, Value b) { return apply("mul", new Binary(Binary.Kind.MUL), a, b); }

    default Value div(Value a, Value b) { return apply("div", new Binary(Binary.Kind.DIV), a, b); }

    /** a^b (ONNX Pow, numpy.power): NaN for a negative a with a non-integer b. */
    default Value pow(Value a, Value b) { return apply("pow", new Binary(Binary.Kind.POW), a, b); }

    /** The larger of a and b; the gradient of a tie goes to a. */
    default Value max(Value a, Value b) { return apply("max", new Binary(Binary.Kind.MAX), a, b); }

    /** The smaller of a and b; the gradient of a tie goes to a. */
    default Value min(Value a, Value b) { return apply("min", new Binary(Binary.Kind.MIN), a, b); }

    /** min(max(x, min), max); either bound may be infinite. The gradient passes where min < x < max. */
    default Value clip(Value x, double min, double max) { return apply("clip", new Clip(min, max), x); }

    /** s * x. */
    default Value scale(Value x, double s) { return apply("scale", new Affine(s, 0), x); }

    /** scale * x + shift. */
    default Value affine(Value x, double scale, double shift) { return apply("affine", new Affine(scale, shift), x); }

    // ---- reductions ----

    /** Sum over {@code axes} (negative counts from the end); no axes means every axis. */
    default Value reduceSum(Value x, boolean keepDims, int... axes) {
        return apply("reduce_sum", new ReduceSum(axesOrAll(x, axes), keepDims), x);
    }

    /** Mean over {@code axes} (negative counts from the end); no axes means every axis. */
    default Value reduceMean(Value x, boolean keepDims, int... axes) {
        return apply("reduce_mean", new ReduceMean(axesOrAll(x, axes), keepDims), x);
    }

    /** Maximum over {@code axes} (negative counts from the end); no axes means every axis. */
    default Value reduceMax(Value x, boolean keepDims, int... axes) {
        return apply("reduce_max", new ReduceMax(axesOrAll(x, axes), keepDims), x);
    }

    /** The sum of every element, shape []. */
    default Value sumAll(Value x) { return apply("sum_all", new ReduceSum(allAxes(x), false), x); }

    /** The mean of every element, shape []. */
    default Value meanAll(Value x) { return apply("mean_all", new ReduceMean(allAxes(x), false), x); }

    private static int[] allAxes(Value x) { return IntStream.range(0, x.shape().rank()).toArray(); }

    private static int[] axesOrAll(Value x, int[] axes) { return axes.length == 0 ? allAxes(x) : axes.clone(); }

    // ---- matrix products and layers ----

    /** [M, K] x [K, N] -> [M, N], or batched [B, M, K] x [B, K, N] -> [B, M, N]. */
    default Value matmul(Value a, Value b) { return matmul(a, b, false, false); }

    /** op(a) op(b), op transposing the last two dimensions where its flag is set. */
    default Value matmul(Value a, Value b, boolean transA, boolean transB) {
        return apply("matmul", new MatMul(transA, transB), a, b);
    }

    /**
     * A fully connected layer on x [N, K] with {@code name/weight} [outFeatures, K] (Kaiming normal) and
     * {@code name/bias} [outFeatures] (zeros); output [N, outFeatures].
     */
    default Value dense(String name, Value x, int outFeatures) { return dense(name, x, outFeatures, true); }

    default Value dense(String name, Value x, int outFeatures, boolean bias) {
        if (x.shape().rank() != 2)
            throw new GraphException("dense '" + name + "': x must have rank 2 [N, K] (flatten it first), got " + x);
        if (outFeatures < 1) throw new GraphException("dense '" + name + "': outFeatures = " + outFeatures + ", must be >= 1");
        Value w = param(name + "/weight", Shape.of(outFeatures, x.shape().dim(1)), Init.kaimingNormal());
        if (!bias) return apply(name, new Dense(), x, w);
        Value b = param(name + "/bias", Shape.of(outFeatures), Init.zeros());
        return apply(name, new Dense(), x, w, b);
    }

    /** x w^T + b with x [N, K], w [M, K] and b [M] or {@code null}. */
    default Value dense(Value x, Value w, Value b) {
        return b == null ? apply("dense", new Dense(), x, w) : apply("dense", new Dense(), x, w, b);
    }

    // ---- softmax ----

    /** exp(x) normalised to sum 1 along {@code axis} (negative counts from the end). */
    default Value softmax(Value x, int axis) { return apply("softmax", new Softmax(axis), x); }

    /** log(softmax(x, axis)), computed without forming the softmax. */
    default Value logSoftmax(Value x, int axis) { return apply("log_softmax", new LogSoftmax(axis), x); }

    /**
     * Local response normalisation across the channels (axis 1) of x[N, C, ...], ONNX LRN: x divided by
     * (bias + alpha/size * sum of x^2 over a window of {@code size} channels)^beta. ONNX's defaults are
     * alpha = 1e-4, beta = 0.75, bias = 1.
     */
    default Value lrn(Value x, int size, double alpha, double beta, double bias) {
        return apply("lrn", new Lrn(size, alpha, beta, bias), x);
    }

    // ---- shapes ----

    /**
     * The same elements under shape {@code dims}. A 0 copies x's dimension at that position; one -1 is
     * inferred from the element count.
     */
    default Value reshape(Value x, int... dims) { return apply("reshape", new Reshape(resolveDims(x.shape(), dims)), x); }

    /** Output dimension i is x's dimension {@code perm[i]}; no perm reverses the dimensions (ONNX's default). */
    default Value transpose(Value x, int... perm) {
        int r = x.shape().rank();
        int[] p = perm.length > 0 || r == 0 ? perm.clone() : IntStream.range(0, r).map(i -> r - 1 - i).toArray();
        return apply("transpose", new Transpose(p), x);
    }

    /** [N, d1, d2, ...] -> [N, d1 * d2 * ...]. */
    default Value flatten(Value x) {
        if (x.shape().rank() < 1) throw new GraphException("flatten needs rank >= 1, got the scalar " + x);
        long rest = 1;   // a product, not size / N, so that N = 0 works
        for (int i = 1; i < x.shape().rank(); i++) rest *= x.shape().dim(i);
        return apply("flatten", new Reshape(new int[] {x.shape().dim(0), Math.toIntExact(rest)}), x);
    }

    /** Resolves 0 (copy the input dimension) and a single -1 (inferred) in reshape dimensions. */
    private static int[] resolveDims(Shape in, int[] dims) {
        int[] d = dims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == 0) {
                if (i >= in.rank())
                    throw new GraphException("reshape of " + in + " to " + Arrays.toString(dims) + ": 0 at position "
                            + i + " copies an input dimension, but the input has rank " + in.rank());
                d[i] = in.dim(i);
            }
            if (d[i] == -1) {
                if (infer >= 0)
                    throw new GraphException("reshape of " + in + " to " + Arrays.toString(dims) + ": at most one -1");
                infer = i;
            } else if (d[i] < 0) {
                throw new GraphException("reshape of " + in + " to " + Arrays.toString(dims) + ": dimension " + d[i]
                        + " must be >= 0, or -1 to infer it");
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || in.size() % known != 0)
                throw new GraphException("reshape of " + in + " to " + Arrays.toString(dims) + ": the input's "
                        + in.size() + " elements do not divide into the other dimensions' product " + known);
            d[infer] = Math.toIntExact(in.size() / known);
        }
        return d;   // a size mismatch without -1 is reported by Reshape's shape rule, with the node's name
    }
}
