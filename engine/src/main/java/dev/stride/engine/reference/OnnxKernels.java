package dev.stride.engine.reference;

import dev.stride.engine.PoolWindows;
import dev.stride.engine.ResampleTaps;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.ClipBackward;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.GatherBackward;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.InstanceNorm2dBackward;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.LpPool2dBackward;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.LrnBackward;
import dev.stride.graph.op.PadBackward;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Resize2dBackward;
import dev.stride.graph.op.Transpose;

import java.util.Arrays;

/**
 * Kernels of the ops added for ONNX import and of their gradients. As in the other families, index tables and
 * scratch are built when a kernel is bound, and gradients that scatter accumulate in double scratch and store once.
 */
final class OnnxKernels {
    private OnnxKernels() {}

    static void register(KernelRegistry r) {
        registerBinaryBackward(r);
        r.register(Clip.class, (op, node) -> {
            double lo = op.min(), hi = op.max();
            return (in, out, ctx) -> {
                for (long i = 0, n = out[0].length(); i < n; i++) out[0].set(i, Math.min(Math.max(in[0].get(i), lo), hi));
            };
        });
        r.register(ClipBackward.class, (op, node) -> {
            double lo = op.min(), hi = op.max();
            return (in, out, ctx) -> {
                for (long i = 0, n = out[0].length(); i < n; i++) {
                    double x = in[0].get(i);
                    out[0].set(i, lo < x && x < hi ? in[1].get(i) : 0);
                }
            };
        });
        r.register(Transpose.class, (op, node) -> {
            long[] xs = node.inputs().getFirst().shape().strides(), s = new long[xs.length];
            for (int i = 0; i < s.length; i++) s[i] = xs[op.perm()[i]];   // output axis i walks input axis perm[i]
            long[] src = Indexing.gatherIndex(node.output().shape(), s);
            return (in, out, ctx) -> { for (int i = 0; i < src.length; i++) out[0].set(i, in[0].get(src[i])); };
        });
        registerGather(r);
        registerReduceMax(r);
        r.register(PadBackward.class, (op, node) -> {
            Shape x = node.output().shape();
            long[] src = PoolKernels.padSources(x, node.inputs().getFirst().shape(), op.before(), op.mode());
            double[] acc = new double[Math.toIntExact(x.size())];
            return (in, out, ctx) -> {
                Arrays.fill(acc, 0);
                for (int i = 0; i < src.length; i++) if (src[i] >= 0) acc[(int) src[i]] += in[0].get(i);
                store(acc, out[0]);
            };
        });
        registerInstanceNorm(r);
        registerLrn(r);
        registerLpPool(r);
        registerResize(r);
    }

    private static void store(double[] acc, Buf out) {
        for (int i = 0; i < acc.length; i++) out.set(i, acc[i]);
    }

    // ---- POW, MAX, MIN gradients ----

    private static void registerBinaryBackward(KernelRegistry r) {
        r.register(BinaryBackward.class, (op, node) -> {
            Shape o = node.inputs().get(2).shape();
            long[] ia = Indexing.gatherIndex(o, Indexing.broadcastStrides(node.inputs().get(0).shape(), o));
            long[] ib = Indexing.gatherIndex(o, Indexing.broadcastStrides(node.inputs().get(1).shape(), o));
            if (op.op() == Binary.Kind.POW) {
                return (in, out, ctx) -> {
                    for (int i = 0; i < ia.length; i++) {
                        double a = in[0].get(ia[i]), b = in[1].get(ib[i]), dy = in[2].get(i);
                        out[0].set(i, b == 0 ? 0 : dy * b * Math.pow(a, b - 1));
                        out[1].set(i, a == 0 && b >= 0 ? 0 : dy * Math.pow(a, b) * Math.log(a));
                    }
                };
            }
            boolean max = op.op() == Binary.Kind.MAX;   // the shape rule admits only POW, MAX and MIN
            return (in, out, ctx) -> {
                for (int i = 0; i < ia.length; i++) {
                    double a = in[0].get(ia[i]), b = in[1].get(ib[i]), dy = in[2].get(i);
                    boolean toA = max ? a >= b : a <= b;
                    out[0].set(i, toA ? dy : 0);
                    out[1].set(i, toA ? 0 : dy);
                }
            };
        });
    }

    // ---- gather ----

    /** x viewed as [outer, n, inner] around the gather axis; the output as [outer, indices, inner]. */
    private record GatherLayout(int outer, int n, int inner, int[] index) {
        static GatherLayout of(Shape x, int axis, long[] indices) {
            int a = axis < 0 ? axis + x.rank() : axis, outer = 1, inner = 1;
            for (int i = 0; i < a; i++) outer *= x.dim(i);
            for (int i = a + 1; i < x.rank(); i++) inner *= x.dim(i);
            int n = x.dim(a);
            int[] index = new int[indices.length];
            for (int j = 0; j < index.length; j++) index[j] = (int) (indices[j] < 0 ? indices[j] + n : indices[j]);
            return new GatherLayout(outer, n, inner, index);
        }
    }

    private static void registerGather(KernelRegistry r) {
        r.register(Gather.class, (op, node) -> {
            GatherLayout l = GatherLayout.of(node.inputs().getFirst().shape(), op.axis(), op.indices());
            int m = l.index.length;
            return (in, out, ctx) -> {
                for (int o = 0; o < l.outer; o++)
                    for (int j = 0; j < m; j++) {
                        long src = ((long) o * l.n + l.index[j]) * l.inner, dst = ((long) o * m + j) * l.inner;
                        for (int t = 0; t < l.inner; t++) out[0].set(dst + t, in[0].get(src + t));
                    }
            };
        });
        r.register(GatherBackward.class, (op, node) -> {
            Shape x = node.output().shape();
            GatherLayout l = GatherLayout.of(x, op.axis(), op.indices());
            int m = l.index.length;
            double[] acc = new double[Math.toIntExact(x.size())];
            return (in, out, ctx) -> {
                Arrays.fill(acc, 0);
                for (int o = 0; o < l.outer; o++)
                    for (int j = 0; j < m; j++) {
                        int dst = (o * l.n + l.index[j]) * l.inner;
                        long src = ((long) o * m + j) * l.inner;
                        for (int t = 0; t < l.inner; t++) acc[dst + t] += in[0].get(src + t);
                    }
                store(acc, out[0]);
            };
        });
    }

    // ---- reduce max ----

    /** For every input element, its output slot: the input index laid against the keepDims shape. */
    private static long[] reducedSlots(Shape in, int[] axes) {
        return Indexing.gatherIndex(in, Indexing.broadcastStrides(ReduceSum.keptShape(in, axes), in));
    }

    private static void registerReduceMax(KernelRegistry r) {
        r.register(ReduceMax.class, (op, node) -> {
            long[] slot = reducedSlots(node.inputs().getFirst().shape(), op.axes());
            double[] acc = new double[Math.toIntExact(node.output().shape().size())];
            return (in, out, ctx) -> {
                Arrays.fill(acc, Double.NEGATIVE_INFINITY);
                for (int i = 0; i < slot.length; i++) acc[(int) slot[i]] = Math.max(acc[(int) slot[i]], in[0].get(i));
                store(acc, out[0]);
            };
        });
        r.register(ReduceMaxBackward.class, (op, node) -> {
            long[] slot = reducedSlots(node.inputs().getFirst().shape(), op.axes());
            int slots = Math.toIntExact(node.inputs().get(1).shape().size());
            double[] best = new double[slots];
            int[] arg = new int[slots];
            return (in, out, ctx) -> {
                Arrays.fill(arg, -1);
                for (int i = 0; i < slot.length; i++) {   // strict >: the first maximum wins; a NaN wins once
                    int k = (int) slot[i];
                    double v = in[0].get(i);
                    if (arg[k] < 0 || v > best[k] || Double.isNaN(v) && !Double.isNaN(best[k])) {
                        best[k] = v;
                        arg[k] = i;
                    }
                }
                out[0].fill(0);
                for (int k = 0; k < slots; k++) if (arg[k] >= 0) out[0].set(arg[k], in[1].get(k));
            };
        });
    }

    // ---- instance norm ----

    private static void registerInstanceNorm(KernelRegistry r) {
        r.register(InstanceNorm2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape();
            int planes = x.dim(0) * x.dim(1), c = x.dim(1), m = x.dim(2) * x.dim(3);
            double eps = op.eps();
            return (in, out, ctx) -> {
                for (int p = 0; p < planes; p++) {
                    long base = (long) p * m;
                    double mean = mean(in[0], base, m), rstd = 1 / Math.sqrt(variance(in[0], base, m, mean) + eps);
                    double scale = in[1].get(p % c) * rstd, shift = in[2].get(p % c);
                    for (int j = 0; j < m; j++) out[0].set(base + j, (in[0].get(base + j) - mean) * scale + shift);
                }
            };
        });
        r.register(InstanceNorm2dBackward.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape();
            int planes = x.dim(0) * x.dim(1), c = x.dim(1), m = x.dim(2) * x.dim(3);
            double eps = op.eps();
            double[] dscale = new double[c], dbias = new double[c];
            return (in, out, ctx) -> {
                Buf xb = in[0], dy = in[2], dx = out[0];
                Arrays.fill(dscale, 0);
                Arrays.fill(dbias, 0);
                for (int p = 0; p < planes; p++) {
                    long base = (long) p * m;
                    double mean = mean(xb, base, m), rstd = 1 / Math.sqrt(variance(xb, base, m, mean) + eps);
                    double sdy = 0, sdyx = 0;
                    for (int j = 0; j < m; j++) {
                        double g = dy.get(base + j);
                        sdy += g;
                        sdyx += g * (xb.get(base + j) - mean) * rstd;
                    }
                    dbias[p % c] += sdy;
                    dscale[p % c] += sdyx;
                    double k = in[1].get(p % c) * rstd / m;
                    for (int j = 0; j < m; j++) {
                        double xhat = (xb.get(base + j) - mean) * rstd;
                        dx.set(base + j, k * (m * dy.get(base + j) - sdy - xhat * sdyx));
                    }
                }
                store(dscale, out[1]);
                store(dbias, out[2]);
            };
        });
    }

    private static double mean(Buf x, long base, int m) {
        double s = 0;
        for (int j = 0; j < m; j++) s += x.get(base + j);
        return s / m;
    }

    /** The biased variance, from the deviations (two passes: no cancellation). */
    private static double variance(Buf x, long base, int m, double mean) {
        double s = 0;
        for (int j = 0; j < m; j++) {
            double d = x.get(base + j) - mean;
            s += d * d;
        }
        return s / m;
    }

    // ---- LRN ----

    /**
     * One sample's [C, inner] block: squares, then each channel's divisor base d = bias + alpha/size * (sum of
     * squares over its window), summed window row by window row so the inner loop is unit stride.
     */
    private static void lrnBase(Lrn op, Buf x, long base, int c, int inner, double[] sq, double[] d) {
        for (int i = 0; i < c * inner; i++) {
            double v = x.get(base + i);
            sq[i] = v * v;
        }
        double k = op.alpha() / op.size();
        for (int ch = 0; ch < c; ch++) {
            int row = ch * inner, from = Math.max(0, ch - op.before()), to = Math.min(c - 1, ch - op.before() + op.size() - 1);
            Arrays.fill(d, row, row + inner, 0);
            for (int w = from; w <= to; w++)
                for (int j = 0; j < inner; j++) d[row + j] += sq[w * inner + j];
            for (int j = 0; j < inner; j++) d[row + j] = op.bias() + k * d[row + j];
        }
    }

    private record LrnLayout(int n, int c, int inner) {
        static LrnLayout of(Shape x) {
            int inner = 1;
            for (int i = 2; i < x.rank(); i++) inner *= x.dim(i);
            return new LrnLayout(x.dim(0), x.dim(1), inner);
        }
    }

    private static void registerLrn(KernelRegistry r) {
        r.register(Lrn.class, (op, node) -> {
            LrnLayout l = LrnLayout.of(node.inputs().getFirst().shape());
            int block = l.c * l.inner;
            double[] sq = new double[block], d = new double[block];
            return (in, out, ctx) -> {
                for (int s = 0; s < l.n; s++) {
                    long base = (long) s * block;
                    lrnBase(op, in[0], base, l.c, l.inner, sq, d);
                    for (int i = 0; i < block; i++) out[0].set(base + i, in[0].get(base + i) * Math.pow(d[i], -op.beta()));
                }
            };
        });
        r.register(LrnBackward.class, (op, node) -> {
            Lrn f = op.forward();
            LrnLayout l = LrnLayout.of(node.inputs().getFirst().shape());
            int block = l.c * l.inner, lo = f.before(), hi = f.size() - 1 - lo;
            double[] sq = new double[block], d = new double[block], t = new double[block], acc = new double[l.inner];
            double k = 2 * f.alpha() * f.beta() / f.size();
            return (in, out, ctx) -> {
                Buf x = in[0], dy = in[1];
                for (int s = 0; s < l.n; s++) {
                    long base = (long) s * block;
                    lrnBase(f, x, base, l.c, l.inner, sq, d);
                    for (int i = 0; i < block; i++) t[i] = dy.get(base + i) * x.get(base + i) * Math.pow(d[i], -f.beta() - 1);
                    for (int ch = 0; ch < l.c; ch++) {
                        // Channel ch lies in the windows of channels ch - hi .. ch + lo.
                        Arrays.fill(acc, 0);
                        for (int w = Math.max(0, ch - hi); w <= Math.min(l.c - 1, ch + lo); w++)
                            for (int j = 0; j < l.inner; j++) acc[j] += t[w * l.inner + j];
                        for (int j = 0, i = ch * l.inner; j < l.inner; j++, i++)
                            out[0].set(base + i, dy.get(base + i) * Math.pow(d[i], -f.beta()) - k * x.get(base + i) * acc[j]);
                    }
                }
            };
        });
    }

    // ---- Lp pooling ----

    /** |x|^p, exact for the common p = 1 and 2. */
    private static double powAbs(double x, double p) {
        return p == 2 ? x * x : p == 1 ? Math.abs(x) : Math.pow(Math.abs(x), p);
    }

    private static void registerLpPool(KernelRegistry r) {
        r.register(LpPool2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.output().shape();
            int[][] rows = PoolWindows.taps(y.dim(2), x.dim(2), op.kH(), op.strideH(), op.padTop(), op.dilationH());
            int[][] cols = PoolWindows.taps(y.dim(3), x.dim(3), op.kW(), op.strideW(), op.padLeft(), op.dilationW());
            int planes = x.dim(0) * x.dim(1), inW = x.dim(3), inPlane = x.dim(2) * inW;
            double p = op.p();
            return (in, out, ctx) -> {
                long ob = 0;
                for (int pl = 0; pl < planes; pl++) {
                    long ib = (long) pl * inPlane;
                    for (int[] rs : rows)
                        for (int[] cs : cols) {
                            double s = 0;
                            for (int i : rs) for (int j : cs) s += powAbs(in[0].get(ib + (long) i * inW + j), p);
                            out[0].set(ob++, p == 2 ? Math.sqrt(s) : p == 1 ? s : Math.pow(s, 1 / p));
                        }
                }
            };
        });
        r.register(LpPool2dBackward.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.inputs().get(1).shape();
            int[][] rows = PoolWindows.taps(y.dim(2), x.dim(2), op.kH(), op.strideH(), op.padTop(), op.dilationH());
            int[][] cols = PoolWindows.taps(y.dim(3), x.dim(3), op.kW(), op.strideW(), op.padLeft(), op.dilationW());
            int planes = x.dim(0) * x.dim(1), inW = x.dim(3), inPlane = x.dim(2) * inW;
            double p = op.p();
            double[] acc = new double[inPlane];
            return (in, out, ctx) -> {
                long ob = 0;
                for (int pl = 0; pl < planes; pl++) {
                    long ib = (long) pl * inPlane;
                    Arrays.fill(acc, 0);
                    for (int[] rs : rows)
                        for (int[] cs : cols) {
                            double yv = in[1].get(ob), g = in[2].get(ob++);
                            if (yv == 0) continue;                       // not differentiable: no gradient
                            double k = g / Math.pow(yv, p - 1);
                            for (int i : rs)
                                for (int j : cs) {
                                    double v = in[0].get(ib + (long) i * inW + j);
                                    acc[i * inW + j] += k * Math.signum(v) * Math.pow(Math.abs(v), p - 1);
                                }
                        }
                    for (int i = 0; i < inPlane; i++) out[0].set(ib + i, acc[i]);
                }
            };
        });
    }

    // ---- resize ----

    private static void registerResize(KernelRegistry r) {
        r.register(Resize2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape();
            var h = ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), x.dim(2), op.outH(), op.scaleH());
            var w = ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), x.dim(3), op.outW(), op.scaleW());
            return PoolKernels.resize(h, w, x.dim(0) * x.dim(1), x.dim(2), x.dim(3), op.mode() == Resize2d.Mode.NEAREST);
        });
        r.register(Resize2dBackward.class, (op, node) -> {
            Shape dy = node.inputs().getFirst().shape();
            var h = ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), op.inH(), dy.dim(2), op.scaleH());
            var w = ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), op.inW(), dy.dim(3), op.scaleW());
            return PoolKernels.resizeGrad(h, w, dy.dim(0) * dy.dim(1), op.inH(), op.inW());
        });
    }
}
