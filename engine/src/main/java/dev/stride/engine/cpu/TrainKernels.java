package dev.stride.engine.cpu;

import dev.stride.engine.reference.UnaryFormulas;
import dev.stride.engine.RunContext;
import dev.stride.engine.cpu.ElementwiseKernels.Blocked;
import dev.stride.engine.cpu.ElementwiseKernels.ChunkedSum;
import dev.stride.engine.cpu.ElementwiseKernels.Tuning;
import dev.stride.engine.cpu.ElementwiseKernels.VMath;
import dev.stride.graph.Shape;
import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.BceWithLogitsBackward;
import dev.stride.graph.op.CounterRng;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.GaussianKlBackward;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.L1LossBackward;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.ReparameterizeBackward;
import dev.stride.graph.op.RmsPropUpdate;
import dev.stride.graph.op.SgdUpdate;
import dev.stride.graph.op.SoftmaxCrossEntropy;
import dev.stride.graph.op.SoftmaxCrossEntropyBackward;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import static dev.stride.engine.cpu.ElementwiseKernels.BLOCK;
import static dev.stride.engine.cpu.ElementwiseKernels.CHUNK;
import static dev.stride.engine.cpu.ElementwiseKernels.D;
import static dev.stride.engine.cpu.ElementwiseKernels.S;
import static dev.stride.engine.cpu.ElementwiseKernels.get;
import static dev.stride.engine.cpu.ElementwiseKernels.hi;
import static dev.stride.engine.cpu.ElementwiseKernels.load;
import static dev.stride.engine.cpu.ElementwiseKernels.lo;
import static dev.stride.engine.cpu.ElementwiseKernels.set;
import static dev.stride.engine.cpu.ElementwiseKernels.size;
import static dev.stride.engine.cpu.ElementwiseKernels.store;

/**
 * Cpu kernels for losses, random ops and optimizer updates, on the loop machinery of {@link ElementwiseKernels}
 * (vector code at the configured species, explicit scalar tails in the reference's double formulas, blocks and
 * fixed-order double partial sums so that any thread count gives the same bits).
 *
 * <p>Random ops draw the reference's stream: element i of a run is a function of (op seed, session step, i)
 * through {@link CounterRng}, so cpu and reference agree bit for bit on a dropout mask and on Gaussian noise
 * (which is computed in double exactly as the reference computes it, then rounded).
 */
final class TrainKernels {
    private TrainKernels() {}

    static void register(CpuKernelRegistry r) { register(r, Tuning.DEFAULT); }

    /** Registers every kernel of this family: vector code at {@link ElementwiseKernels#S}, scalar only when {@code simd} is false. */
    static void register(CpuKernelRegistry r, Tuning tune) {
        registerLosses(r, tune);
        registerRandom(r, tune);
        registerOptimizers(r, tune);
    }

    // ------------------------------------------------------------------------------------------ losses

    /** The class index of row {@code row}, refused (as the reference refuses it) unless an integer in [0, classes). */
    static int label(MemorySegment labels, int row, int classes) {
        double v = get(labels, row);
        if (!(v >= 0 && v < classes && v == Math.rint(v)))
            throw new IllegalArgumentException("label of row " + row + " is " + v + ", not a class index in [0, "
                    + classes + ")");
        return (int) v;
    }

    /** softplus(x) into {@code out} over whole vectors from {@code from}; returns where it stopped. */
    static long softplusInto(MemorySegment x, MemorySegment out, long from, long to) {
        long i = from;
        for (long end = to - S.length(); i <= end; i += S.length()) store(VMath.softplus(load(x, i)), out, i);
        return i;
    }

    /** The double sum of softplus(x) - x t over [from, to), a whole number of vectors, softplus(x) read from {@code sp}. */
    static double bceSum(MemorySegment x, MemorySegment t, MemorySegment sp, long from, long to) {
        DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
        for (long i = from; i < to; i += S.length()) {
            FloatVector e = load(sp, i).sub(load(x, i).mul(load(t, i)));
            a0 = a0.add(lo(e));
            a1 = a1.add(hi(e));
        }
        return ElementwiseKernels.sum(a0.add(a1));
    }

    private static final MethodHandle SOFTPLUS_INTO, BCE_SUM;

    static {
        try {
            var lookup = MethodHandles.lookup();
            SOFTPLUS_INTO = lookup.findStatic(TrainKernels.class, "softplusInto", MethodType.methodType(long.class,
                    MemorySegment.class, MemorySegment.class, long.class, long.class));
            BCE_SUM = lookup.findStatic(TrainKernels.class, "bceSum", MethodType.methodType(double.class,
                    MemorySegment.class, MemorySegment.class, MemorySegment.class, long.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** log(sum_c exp(x[base + c])) over one row, shifted by the row maximum; the exps summed in double. */
    static double logSumExp(MemorySegment x, long base, int count, boolean simd) {
        int c = 0;
        float max = Float.NEGATIVE_INFINITY;
        boolean vec = simd && count >= S.length();
        if (vec) {
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; c <= count - S.length(); c += S.length()) m = m.max(load(x, base + c));
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; c < count; c++) max = Math.max(max, get(x, base + c));
        c = 0;
        double sum = 0;
        if (vec) {
            FloatVector vm = FloatVector.broadcast(S, max);
            DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
            for (; c <= count - S.length(); c += S.length()) {
                FloatVector e = VMath.exp(load(x, base + c).sub(vm));
                a0 = a0.add(lo(e));
                a1 = a1.add(hi(e));
            }
            sum = ElementwiseKernels.sum(a0.add(a1));
        }
        for (; c < count; c++) sum += Math.exp((double) get(x, base + c) - max);
        return max + Math.log(sum);
    }

    private static void registerLosses(CpuKernelRegistry r, Tuning tune) {
        boolean simd = tune.simd();
        r.register(SoftmaxCrossEntropy.class, (op, node) -> {
            Shape sh = node.inShape(0);
            int rows = sh.dim(0), classes = sh.dim(1);
            MemorySegment logits = node.in(0), labels = node.in(1), y = node.out(0);
            // Partials of whole rows: the chunk is a number of rows fixed by the shape.
            return new ChunkedSum(node, rows, Math.max(1, CHUNK / classes), sh.size() * tune.heavy()) {
                @Override double chunk(long from, long to) {
                    double sum = 0;
                    for (int n = (int) from; n < to; n++) {
                        int label = label(labels, n, classes);
                        long b = (long) n * classes;
                        sum += logSumExp(logits, b, classes, simd) - get(logits, b + label);
                    }
                    return sum;
                }

                @Override void finish(double total) { set(y, 0, (float) (total / rows)); }
            };
        });
        r.register(SoftmaxCrossEntropyBackward.class, (op, node) -> {
            Shape sh = node.inShape(0);
            int rows = sh.dim(0), classes = sh.dim(1);
            MemorySegment logits = node.in(0), labels = node.in(1), dy = node.in(2), dx = node.out(0);
            CpuRuntime rt = node.runtime();
            double[] k = new double[1];                 // dy / N of the current run
            CpuRuntime.RangeTask task = (worker, from, to) -> {
                double kk = k[0];
                float kf = (float) kk;
                for (int n = from; n < to; n++) {
                    int label = label(labels, n, classes);
                    long b = (long) n * classes;
                    double lse = logSumExp(logits, b, classes, simd);
                    int c = 0;
                    if (simd) {
                        FloatVector vl = FloatVector.broadcast(S, (float) lse), vk = FloatVector.broadcast(S, kf);
                        for (; c <= classes - S.length(); c += S.length())
                            store(VMath.exp(load(logits, b + c).sub(vl)).mul(vk), dx, b + c);
                    }
                    for (; c < classes; c++) set(dx, b + c, (float) (Math.exp(get(logits, b + c) - lse) * kk));
                    // The label's entry subtracts the one-hot 1: redone in double, where p - 1 loses nothing.
                    set(dx, b + label, (float) ((Math.exp(get(logits, b + label) - lse) - 1) * kk));
                }
            };
            long work = sh.size() * tune.heavy();
            CpuRuntime.RangeTask run = ElementwiseKernels.isolated(task);
            return ctx -> {
                k[0] = get(dy, 0) / (double) rows;
                rt.parallelFor(rows, work, run);
            };
        });
        r.register(BceWithLogits.class, (op, node) -> {
            MemorySegment x = node.in(0), t = node.in(1), y = node.out(0);
            long n = size(x);
            // Two loops, each compiled on its own behind a barrier: softplus(x) into scratch, then the double sum
            // of softplus(x) - x t. One loop doing both passed C2's node budget and ran ~4x slower (see VMath).
            MemorySegment sp = simd ? node.runtime().scratch(n * 4) : null;
            MethodHandle softplus = SOFTPLUS_INTO, terms = BCE_SUM;        // instance copies: not JIT constants
            return new ChunkedSum(node, n, tune.heavy()) {
                @Override double chunk(long from, long to) {
                    long i = from;
                    double sum = 0;
                    if (simd) {
                        try {
                            i = (long) softplus.invokeExact(x, sp, from, to);
                            sum = (double) terms.invokeExact(x, t, sp, from, i);
                        } catch (Throwable e) {
                            throw ElementwiseKernels.rethrow(e);
                        }
                    }
                    for (; i < to; i++) {
                        double v = get(x, i);
                        sum += Math.max(v, 0) - v * get(t, i) + Math.log1p(Math.exp(-Math.abs(v)));
                    }
                    return sum;
                }

                @Override void finish(double total) { set(y, 0, (float) (total / n)); }
            };
        });
        r.register(BceWithLogitsBackward.class, (op, node) -> {
            MemorySegment x = node.in(0), t = node.in(1), dy = node.in(2), dx = node.out(0), dt = node.out(1);
            long n = size(x);
            return new Blocked(node, n, tune.heavy()) {
                private double k;

                @Override void prepare(RunContext ctx) { k = get(dy, 0) / (double) n; }

                @Override void span(long from, long to) {
                    long i = from;
                    if (simd) {
                        FloatVector vk = FloatVector.broadcast(S, (float) k);
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            FloatVector v = load(x, i);
                            store(VMath.sigmoid(v).sub(load(t, i)).mul(vk), dx, i);
                            store(v.mul(vk).neg(), dt, i);
                        }
                    }
                    for (; i < to; i++) {
                        double v = get(x, i);
                        set(dx, i, (float) ((UnaryFormulas.sigmoid(v) - get(t, i)) * k));
                        set(dt, i, (float) (-v * k));
                    }
                }
            };
        });
        r.register(MseLoss.class, (op, node) -> {
            MemorySegment a = node.in(0), b = node.in(1), y = node.out(0);
            long n = size(a);
            return new ChunkedSum(node, n, tune.cheap()) {
                @Override double chunk(long from, long to) {
                    long i = from;
                    double sum = 0;
                    if (simd && to - from >= S.length()) {
                        DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            FloatVector e = load(a, i).sub(load(b, i));
                            DoubleVector e0 = lo(e), e1 = hi(e);
                            a0 = e0.fma(e0, a0);
                            a1 = e1.fma(e1, a1);
                        }
                        sum = ElementwiseKernels.sum(a0.add(a1));
                    }
                    for (; i < to; i++) {
                        double e = (double) get(a, i) - get(b, i);
                        sum += e * e;
                    }
                    return sum;
                }

                @Override void finish(double total) { set(y, 0, (float) (total / n)); }
            };
        });
        r.register(L1Loss.class, (op, node) -> {
            MemorySegment a = node.in(0), b = node.in(1), y = node.out(0);
            long n = size(a);
            return new ChunkedSum(node, n, tune.cheap()) {
                @Override double chunk(long from, long to) {
                    long i = from;
                    double sum = 0;
                    if (simd && to - from >= S.length()) {
                        DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            FloatVector e = load(a, i).sub(load(b, i)).abs();
                            a0 = a0.add(lo(e));
                            a1 = a1.add(hi(e));
                        }
                        sum = ElementwiseKernels.sum(a0.add(a1));
                    }
                    for (; i < to; i++) sum += Math.abs((double) get(a, i) - get(b, i));
                    return sum;
                }

                @Override void finish(double total) { set(y, 0, (float) (total / n)); }
            };
        });
        r.register(L1LossBackward.class, (op, node) -> {
            MemorySegment a = node.in(0), b = node.in(1), dy = node.in(2), da = node.out(0);
            long n = size(a);
            return new Blocked(node, n, tune.cheap()) {
                private double k;

                @Override void prepare(RunContext ctx) { k = get(dy, 0) / (double) n; }

                @Override void span(long from, long to) {
                    long i = from;
                    if (simd) {
                        float kf = (float) k;
                        // The sign of a float difference is that of the exact one: distinct floats never subtract to 0.
                        for (long end = to - S.length(); i <= end; i += S.length())
                            store(ElementwiseKernels.signum(load(a, i).sub(load(b, i))).mul(kf), da, i);
                    }
                    for (; i < to; i++) set(da, i, (float) (Math.signum((double) get(a, i) - get(b, i)) * k));
                }
            };
        });
        r.register(GaussianKl.class, (op, node) -> {
            MemorySegment mu = node.in(0), logvar = node.in(1), y = node.out(0);
            long n = size(mu);
            int batch = node.inShape(0).dim(0);
            return new ChunkedSum(node, n, tune.heavy()) {
                @Override double chunk(long from, long to) {
                    long i = from;
                    double sum = 0;
                    if (simd && to - from >= S.length()) {
                        DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            // -0.5(1 + lv - m^2 - e^lv) = 0.5(m^2 + (e^lv - 1 - lv)), with expm1 where it cancels
                            FloatVector m = load(mu, i), lv = load(logvar, i);
                            FloatVector e = VMath.expm1(lv).sub(lv).add(m.mul(m)).mul(0.5f);
                            a0 = a0.add(lo(e));
                            a1 = a1.add(hi(e));
                        }
                        sum = ElementwiseKernels.sum(a0.add(a1));
                    }
                    for (; i < to; i++) {
                        double m = get(mu, i), lv = get(logvar, i);
                        sum += -0.5 * (1 + lv - m * m - Math.exp(lv));
                    }
                    return sum;
                }

                @Override void finish(double total) { set(y, 0, (float) (total / batch)); }
            };
        });
        r.register(GaussianKlBackward.class, (op, node) -> {
            MemorySegment mu = node.in(0), logvar = node.in(1), dy = node.in(2), dmu = node.out(0), dlv = node.out(1);
            int batch = node.inShape(0).dim(0);
            return new Blocked(node, size(mu), tune.heavy()) {
                private double k;

                @Override void prepare(RunContext ctx) { k = get(dy, 0) / (double) batch; }

                @Override void span(long from, long to) {
                    long i = from;
                    if (simd) {
                        float kf = (float) k, half = (float) (0.5 * k);
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            store(load(mu, i).mul(kf), dmu, i);
                            store(VMath.expm1(load(logvar, i)).mul(half), dlv, i);
                        }
                    }
                    for (; i < to; i++) {
                        set(dmu, i, (float) (get(mu, i) * k));
                        set(dlv, i, (float) (0.5 * (Math.exp(get(logvar, i)) - 1) * k));
                    }
                }
            };
        });
    }

    // ------------------------------------------------------------------------------------------ random

    private static void registerRandom(CpuKernelRegistry r, Tuning tune) {
        boolean simd = tune.simd();
        r.register(Dropout.class, (op, node) -> {
            MemorySegment x = node.in(0), y = node.out(0), mask = node.out(1);
            long seed = op.seed();
            float keep = (float) (1 / (1 - op.p()));
            // uniform(key, i) = (bits >>> 11) * 2^-53 >= p  <=>  bits >>> 11 >= ceil(p * 2^53): exact, in integers.
            long threshold = (long) Math.ceil(op.p() * 0x1p53);
            return new Blocked(node, size(x), tune.heavy()) {
                private long key;

                @Override void prepare(RunContext ctx) { key = CounterRng.key(seed, ctx.step()); }

                @Override void span(long from, long to) {
                    // Block by block, so the mask is still in L1 when the multiply reads it back.
                    for (long b = from; b < to; b += BLOCK) {
                        long end = Math.min(to, b + BLOCK);
                        for (long i = b; i < end; i++) set(mask, i, CounterRng.bits(key, i) >>> 11 >= threshold ? keep : 0f);
                        long i = b;
                        if (simd)
                            for (long last = end - S.length(); i <= last; i += S.length())
                                store(load(x, i).mul(load(mask, i)), y, i);
                        for (; i < end; i++) set(y, i, get(x, i) * get(mask, i));
                    }
                }
            };
        });
        r.register(GaussianNoise.class, (op, node) -> {
            MemorySegment y = node.out(0);
            long seed = op.seed();
            // Box-Muller in double, exactly the reference's arithmetic: a vector log/cos would differ in the last
            // bits, and the noise is part of the op's meaning. Threads share the work above a few thousand values.
            return new Blocked(node, size(y), tune.random()) {
                private long key;

                @Override void prepare(RunContext ctx) { key = CounterRng.key(seed, ctx.step()); }

                @Override void span(long from, long to) {
                    for (long i = from; i < to; i++) set(y, i, (float) CounterRng.gaussian(key, i));
                }
            };
        });
        r.register(Reparameterize.class, (op, node) -> {
            MemorySegment mu = node.in(0), logvar = node.in(1), z = node.out(0), noise = node.out(1);
            long seed = op.seed();
            return new Blocked(node, size(mu), tune.random()) {
                private long key;

                @Override void prepare(RunContext ctx) { key = CounterRng.key(seed, ctx.step()); }

                @Override void span(long from, long to) {
                    for (long b = from; b < to; b += BLOCK) {
                        long end = Math.min(to, b + BLOCK), i = b;
                        if (simd) {
                            for (long j = b; j < end; j++) set(noise, j, (float) CounterRng.gaussian(key, j));
                            for (long last = end - S.length(); i <= last; i += S.length())
                                store(VMath.exp(load(logvar, i).mul(0.5f))
                                        .fma(load(noise, i), load(mu, i)), z, i);
                        }
                        for (; i < end; i++) {
                            double e = CounterRng.gaussian(key, i);
                            set(noise, i, (float) e);
                            set(z, i, (float) (get(mu, i) + Math.exp(0.5 * get(logvar, i)) * e));
                        }
                    }
                }
            };
        });
        r.register(ReparameterizeBackward.class, (op, node) -> {
            MemorySegment logvar = node.in(0), noise = node.in(1), dz = node.in(2), dlv = node.out(0);
            return new Blocked(node, size(dlv), tune.heavy()) {
                @Override void span(long from, long to) {
                    long i = from;
                    if (simd)
                        for (long end = to - S.length(); i <= end; i += S.length())
                            store(VMath.exp(load(logvar, i).mul(0.5f)).mul(load(dz, i))
                                    .mul(load(noise, i)).mul(0.5f), dlv, i);
                    for (; i < to; i++)
                        set(dlv, i, (float) (0.5 * get(dz, i) * Math.exp(0.5 * get(logvar, i)) * get(noise, i)));
                }
            };
        });
    }

    // ------------------------------------------------------------------------------------------ optimizers

    private static void registerOptimizers(CpuKernelRegistry r, Tuning tune) {
        boolean simd = tune.simd();
        r.register(SgdUpdate.class, (op, node) -> {
            MemorySegment p = node.in(0), v = node.in(1), g = node.in(2), lrIn = node.in(3);
            MemorySegment pOut = node.out(0), vOut = node.out(1);
            double mu = op.momentum(), wd = op.weightDecay();
            boolean nesterov = op.nesterov();
            return new Blocked(node, size(p), tune.cheap()) {
                private double lr;

                @Override void prepare(RunContext ctx) { lr = get(lrIn, 0); }

                @Override void span(long from, long to) {
                    long i = from;
                    if (simd) {
                        FloatVector fmu = bc(mu), fwd = bc(wd), nlr = bc(-lr);
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            FloatVector pi = load(p, i);
                            FloatVector gi = pi.fma(fwd, load(g, i));             // g + wd*p
                            FloatVector vi = load(v, i).fma(fmu, gi);             // mu*v + g'
                            FloatVector step = nesterov ? vi.fma(fmu, gi) : vi;      // g' + mu*v'
                            store(vi, vOut, i);
                            store(step.fma(nlr, pi), pOut, i);                       // p - lr*step
                        }
                    }
                    for (; i < to; i++) {
                        double pi = get(p, i), gi = get(g, i) + wd * pi;
                        double vi = mu * get(v, i) + gi;
                        double step = nesterov ? gi + mu * vi : vi;
                        set(vOut, i, (float) vi);
                        set(pOut, i, (float) (pi - lr * step));
                    }
                }
            };
        });
        r.register(AdamUpdate.class, (op, node) -> {
            MemorySegment p = node.in(0), m = node.in(1), v = node.in(2), g = node.in(3), lrIn = node.in(4), tIn = node.in(5);
            MemorySegment pOut = node.out(0), mOut = node.out(1), vOut = node.out(2);
            double b1 = op.beta1(), b2 = op.beta2(), eps = op.eps(), wd = op.weightDecay();
            boolean decoupled = op.decoupled();
            double l2 = decoupled ? 0 : wd;
            return new Blocked(node, size(p), tune.cheap()) {
                private double stepSize, sqrtBc2, shrink;

                @Override void prepare(RunContext ctx) {
                    double lr = get(lrIn, 0), t = get(tIn, 0);
                    // PyTorch's order of operations: step_size = lr/bc1, denom = sqrt(v)/sqrt(bc2) + eps.
                    stepSize = lr / (1 - Math.pow(b1, t));
                    sqrtBc2 = Math.sqrt(1 - Math.pow(b2, t));
                    shrink = decoupled ? 1 - lr * wd : 1;
                }

                @Override void span(long from, long to) {
                    long i = from;
                    if (simd) {
                        FloatVector fb1 = bc(b1), fb2 = bc(b2), fl2 = bc(l2), fshrink = bc(shrink);
                        float c1 = (float) (1 - b1), c2 = (float) (1 - b2);
                        float fstep = (float) stepSize, fbc2 = (float) sqrtBc2, feps = (float) eps;
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            FloatVector pi = load(p, i);
                            FloatVector gi = pi.fma(fl2, load(g, i));
                            FloatVector mi = load(m, i).fma(fb1, gi.mul(c1));
                            FloatVector vi = load(v, i).fma(fb2, gi.mul(c2).mul(gi));
                            store(mi, mOut, i);
                            store(vi, vOut, i);
                            FloatVector denom = vi.lanewise(VectorOperators.SQRT).div(fbc2).add(feps);
                            store(pi.fma(fshrink, mi.mul(fstep).div(denom).neg()), pOut, i);
                        }
                    }
                    for (; i < to; i++) {
                        double pi = get(p, i), gi = get(g, i) + l2 * pi;
                        double mi = b1 * get(m, i) + (1 - b1) * gi;
                        double vi = b2 * get(v, i) + (1 - b2) * gi * gi;
                        set(mOut, i, (float) mi);
                        set(vOut, i, (float) vi);
                        set(pOut, i, (float) (pi * shrink - stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + eps)));
                    }
                }
            };
        });
        r.register(RmsPropUpdate.class, (op, node) -> {
            double alpha = op.alpha(), eps = op.eps(), mu = op.momentum(), wd = op.weightDecay();
            boolean momentum = mu > 0, centered = op.centered();
            int buf = momentum ? 2 : -1, avg = centered ? (momentum ? 3 : 2) : -1, grad = op.states() + 1;
            MemorySegment p = node.in(0), sq = node.in(1), g = node.in(grad), lrIn = node.in(grad + 1);
            MemorySegment pOut = node.out(0), sqOut = node.out(1);
            MemorySegment bIn = momentum ? node.in(buf) : null, bOut = momentum ? node.out(buf) : null;
            MemorySegment aIn = centered ? node.in(avg) : null, aOut = centered ? node.out(avg) : null;
            return new Blocked(node, size(p), tune.cheap()) {
                private double lr;

                @Override void prepare(RunContext ctx) { lr = get(lrIn, 0); }

                @Override void span(long from, long to) {
                    long i = from;
                    if (simd) {
                        FloatVector fa = bc(alpha), fwd = bc(wd), fmu = bc(mu), nlr = bc(-lr);
                        float c = (float) (1 - alpha), feps = (float) eps;
                        for (long end = to - S.length(); i <= end; i += S.length()) {
                            FloatVector pi = load(p, i);
                            FloatVector gi = pi.fma(fwd, load(g, i));
                            FloatVector si = load(sq, i).fma(fa, gi.mul(c).mul(gi));   // alpha*s + (1-alpha)*g^2
                            store(si, sqOut, i);
                            FloatVector den;
                            if (centered) {
                                FloatVector ai = load(aIn, i).fma(fa, gi.mul(c));
                                store(ai, aOut, i);
                                den = ai.neg().fma(ai, si).lanewise(VectorOperators.SQRT).add(feps);
                            } else {
                                den = si.lanewise(VectorOperators.SQRT).add(feps);
                            }
                            FloatVector step = gi.div(den);
                            if (momentum) {
                                step = load(bIn, i).fma(fmu, step);
                                store(step, bOut, i);
                            }
                            store(step.fma(nlr, pi), pOut, i);
                        }
                    }
                    for (; i < to; i++) {
                        double pi = get(p, i), gi = get(g, i) + wd * pi;
                        double si = alpha * get(sq, i) + (1 - alpha) * gi * gi;
                        set(sqOut, i, (float) si);
                        double den;
                        if (centered) {
                            double ai = alpha * get(aIn, i) + (1 - alpha) * gi;
                            set(aOut, i, (float) ai);
                            den = Math.sqrt(si - ai * ai) + eps;
                        } else {
                            den = Math.sqrt(si) + eps;
                        }
                        if (momentum) {
                            double bi = mu * get(bIn, i) + gi / den;
                            set(bOut, i, (float) bi);
                            set(pOut, i, (float) (pi - lr * bi));
                        } else {
                            set(pOut, i, (float) (pi - lr * gi / den));
                        }
                    }
                }
            };
        });
        r.register(GlobalNormScale.class, (op, node) -> globalNormScale(op, node, tune));
    }

    /** {@code v} rounded to float in every lane. */
    private static FloatVector bc(double v) { return FloatVector.broadcast(S, (float) v); }

    /**
     * The squared global norm over every gradient in fixed chunks (per input, {@link ElementwiseKernels#CHUNK}
     * elements), summed in double in chunk order, then min(1, maxNorm/(norm + eps)).
     */
    private static CpuKernel globalNormScale(GlobalNormScale op, CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        int inputs = node.inputs();
        int chunks = 0;
        long total = 0;
        for (int j = 0; j < inputs; j++) {
            long n = size(node.in(j));
            chunks += Math.toIntExact((n + CHUNK - 1) / CHUNK);
            total += n;
        }
        MemorySegment[] seg = new MemorySegment[chunks];
        long[] from = new long[chunks];
        int[] len = new int[chunks];
        for (int j = 0, c = 0; j < inputs; j++) {
            long n = size(node.in(j));
            for (long f = 0; f < n; f += CHUNK, c++) {
                seg[c] = node.in(j);
                from[c] = f;
                len[c] = (int) Math.min(CHUNK, n - f);
            }
        }
        double maxNorm = op.maxNorm();
        MemorySegment y = node.out(0);
        return new ChunkedSum(node, chunks, 1, total * tune.cheap()) {
            @Override double chunk(long c0, long c1) {
                double sum = 0;
                for (int c = (int) c0; c < c1; c++) sum += sumSquares(seg[c], from[c], len[c], simd);
                return sum;
            }

            @Override void finish(double sq) {
                set(y, 0, (float) Math.min(1, maxNorm / (Math.sqrt(sq) + GlobalNormScale.EPS)));
            }
        };
    }

    /** sum(m[at..at+len)^2) in double (each square exact). */
    private static double sumSquares(MemorySegment m, long at, int len, boolean simd) {
        int t = 0;
        double sum = 0;
        if (simd && len >= S.length()) {
            DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
            for (; t <= len - S.length(); t += S.length()) {
                FloatVector v = load(m, at + t);
                DoubleVector v0 = lo(v), v1 = hi(v);
                a0 = v0.fma(v0, a0);
                a1 = v1.fma(v1, a1);
            }
            sum = ElementwiseKernels.sum(a0.add(a1));
        }
        for (; t < len; t++) {
            double x = get(m, at + t);
            sum += x * x;
        }
        return sum;
    }
}
