package dev.stride.engine.cpu;

import dev.stride.graph.Node;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Unary;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * What a convolution kernel applies to its raw output, per output channel c: {@code y = act(scale[c] * y +
 * shift[c])}. The bias gives {@code shift = b}; a batch norm in inference mode fused after the conv is folded into
 * the same affine map ({@code scale = gamma / sqrt(var + eps)}, {@code shift = (b - mean) * scale + beta}), so
 * it costs no pass of its own; the activation is one of {@link #FUSABLE}. Applied to each output row while it is
 * still in cache.
 *
 * <p>Scale and shift are recomputed by {@link #refresh()} only when the bias or the batch-norm parameters were
 * written (the kernel calls it at the start of every run; it is free when nothing changed).
 */
public final class Epilogue {
    /** Activations a kernel can apply in its epilogue. */
    public static final List<Unary.Fn> FUSABLE = List.of(Unary.Fn.RELU, Unary.Fn.LEAKY_RELU, Unary.Fn.ELU,
            Unary.Fn.SIGMOID, Unary.Fn.TANH);

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final int channels;
    private final MemorySegment bias;             // null when the head has no bias
    private final MemorySegment[] bn;             // gamma, beta, mean, var; null without a fused batch norm
    private final double eps;
    private final Unary.Fn act;                   // null: identity
    private final float alpha;
    private final CpuNode.Watch watch;
    private final float[] scale, shift;
    private final boolean affine;                 // false when scale = 1 and shift = 0 for every channel
    // Static final: a species held in a field keeps C2 from specialising the vector loop (about 10x slower).
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;
    private static final boolean SIMD = VectorConfig.SIMD;

    private Epilogue(int channels, MemorySegment bias, MemorySegment[] bn, double eps, Unary.Fn act, float alpha,
                     CpuNode.Watch watch) {
        this.channels = channels;
        this.bias = bias;
        this.bn = bn;
        this.eps = eps;
        this.act = act;
        this.alpha = alpha;
        this.watch = watch;
        this.scale = new float[channels];
        this.shift = new float[channels];
        this.affine = bias != null || bn != null;
        java.util.Arrays.fill(scale, 1f);
    }

    static Epilogue of(CpuNode head, int biasInput) {
        int channels = head.node().outputs().getFirst().shape().dim(1);
        MemorySegment bias = biasInput >= 0 && biasInput < head.inputs() ? head.in(biasInput) : null;
        MemorySegment[] bn = null;
        double eps = 0;
        Unary.Fn act = null;
        float alpha = 0;
        List<Value> watched = new ArrayList<>();
        if (bias != null) watched.add(head.node().inputs().get(biasInput));
        for (int k = 0; k < head.fused().size(); k++) {
            Node f = head.fused().get(k);
            if (f.op() instanceof BatchNorm2dInfer b && bn == null && act == null) {
                bn = new MemorySegment[] {head.fusedIn(k, 1), head.fusedIn(k, 2), head.fusedIn(k, 3), head.fusedIn(k, 4)};
                eps = b.eps();
                watched.addAll(f.inputs().subList(1, 5));
            } else if (f.op() instanceof Unary u && act == null && FUSABLE.contains(u.fn())) {
                act = u.fn();
                alpha = (float) u.alpha();
            } else {
                throw new IllegalStateException("node '" + f.name() + "' (" + f.op().kind()
                        + ") cannot be fused into '" + head.name() + "': an epilogue takes one batch norm (inference)"
                        + " then one activation of " + FUSABLE);
            }
        }
        return new Epilogue(channels, bias, bn, eps, act, alpha,
                new CpuNode.Watch(head.runtime(), watched.toArray(Value[]::new)));
    }

    public boolean identity() { return !affine && act == null; }

    /** Recomputes the per-channel affine map if the bias or the batch-norm parameters changed. */
    public void refresh() {
        if (!affine || !watch.changed()) return;
        for (int c = 0; c < channels; c++) {
            double b = bias == null ? 0 : bias.getAtIndex(F, c);
            if (bn == null) {
                scale[c] = 1f;
                shift[c] = (float) b;
            } else {
                double s = bn[0].getAtIndex(F, c) / Math.sqrt(bn[3].getAtIndex(F, c) + eps);
                scale[c] = (float) s;
                shift[c] = (float) ((b - bn[2].getAtIndex(F, c)) * s + bn[1].getAtIndex(F, c));
            }
        }
    }

    public float scale(int channel) { return scale[channel]; }

    public float shift(int channel) { return shift[channel]; }

    /** Applies the epilogue of {@code channel} to {@code len} floats of {@code out} from float index {@code at}. */
    public void apply(MemorySegment out, long at, int channel, int len) {
        if (identity()) return;
        float s = scale[channel], t = shift[channel];
        int i = 0;
        if (SIMD) {
            int step = S.length();
            FloatVector vs = FloatVector.broadcast(S, s), vt = FloatVector.broadcast(S, t);
            for (; i <= len - step; i += step) {
                long byteAt = (at + i) * 4;
                FloatVector y = FloatVector.fromMemorySegment(S, out, byteAt, NATIVE);
                if (affine) y = y.fma(vs, vt);
                activate(y).intoMemorySegment(out, byteAt, NATIVE);
            }
        }
        for (; i < len; i++) {
            long idx = at + i;
            float y = out.getAtIndex(F, idx);
            if (affine) y = Math.fma(y, s, t);
            out.setAtIndex(F, idx, activate(y));
        }
    }

    /**
     * The activation per lane. Exponentials come from ElementwiseKernels.VMath, not VectorOperators: the JDK's
     * EXP/TANH give different bits in interpreted and compiled code, and a plan must compute the same bits on every
     * run and for every thread count.
     */
    private FloatVector activate(FloatVector y) {
        if (act == null) return y;
        return switch (act) {
            case RELU -> y.max(0f);
            case LEAKY_RELU -> y.blend(y.mul(alpha), y.compare(VectorOperators.LT, 0f));
            case ELU -> y.blend(ElementwiseKernels.VMath.expm1(y).mul(alpha), y.compare(VectorOperators.LE, 0f));
            case SIGMOID -> ElementwiseKernels.VMath.sigmoid(y);
            case TANH -> ElementwiseKernels.VMath.tanh(y);
            default -> throw new IllegalStateException("not fusable: " + act);
        };
    }

    private float activate(float y) {
        if (act == null) return y;
        return switch (act) {
            case RELU -> Math.max(y, 0f);
            case LEAKY_RELU -> y < 0 ? alpha * y : y;
            case ELU -> y <= 0 ? (float) (alpha * Math.expm1(y)) : y;
            case SIGMOID -> (float) (1 / (1 + Math.exp(-y)));
            case TANH -> (float) Math.tanh(y);
            default -> throw new IllegalStateException("not fusable: " + act);
        };
    }
}
