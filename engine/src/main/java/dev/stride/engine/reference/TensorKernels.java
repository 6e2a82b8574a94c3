package dev.stride.engine.reference;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.LogSoftmaxBackward;
import dev.stride.graph.op.MatMul;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.PReluBackward;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.SoftmaxBackward;
import dev.stride.graph.op.Unary;
import dev.stride.graph.op.UnaryBackward;

import java.util.Arrays;

/**
 * Kernels of activations, softmax, matrix products, reshapes and reductions. Matrix products pack the right
 * operand into a double array once per run and walk i-k-j, so the innermost loop is a unit-stride
 * {@code acc[j] += a * b[k][j]} over plain arrays that the JIT vectorises.
 */
final class TensorKernels {
    private TensorKernels() {}

    static void register(KernelRegistry r) {
        r.register(Unary.class, (op, node) -> {
            Unary.Fn fn = op.fn();
            double a = op.alpha(), c = op.beta();
            return (in, out, ctx) -> {
                Buf x = in[0], y = out[0];
                for (long i = 0, n = y.length(); i < n; i++) y.set(i, UnaryFormulas.unary(fn, a, c, x.get(i)));
            };
        });
        r.register(UnaryBackward.class, (op, node) -> {
            Unary.Fn fn = op.fn();
            double a = op.alpha(), c = op.beta();
            return (in, out, ctx) -> {
                Buf x = in[0], y = in[1], dy = in[2], dx = out[0];
                for (long i = 0, n = dx.length(); i < n; i++) dx.set(i, UnaryFormulas.unaryGrad(fn, a, c, x.get(i), y.get(i), dy.get(i)));
            };
        });
        registerPRelu(r);
        registerSoftmax(r);
        registerMatMul(r);
        r.register(Reshape.class, (op, node) -> (in, out, ctx) -> {
            for (long i = 0, n = out[0].length(); i < n; i++) out[0].set(i, in[0].get(i));
        });
        r.register(ReduceSum.class, (op, node) -> reduce(node.inputs().getFirst().shape(), op.axes(), false));
        r.register(ReduceMean.class, (op, node) -> reduce(node.inputs().getFirst().shape(), op.axes(), true));
    }

    // ---- PReLU ----

    /** x viewed as [outer, C, inner] with one slope per C: [N, C, rest] per channel, [1, 1, size] shared. */
    private record PReluLayout(int outer, int channels, int inner) {
        static PReluLayout of(Shape x, Shape slope) {
            if (slope.dim(0) == 1 || x.rank() < 2) return new PReluLayout(1, 1, Math.toIntExact(x.size()));
            int c = x.dim(1), inner = 1;
            for (int i = 2; i < x.rank(); i++) inner *= x.dim(i);
            return new PReluLayout(x.dim(0), c, inner);
        }
    }

    private static void registerPRelu(KernelRegistry r) {
        r.register(PRelu.class, (op, node) -> {
            PReluLayout l = PReluLayout.of(node.inputs().get(0).shape(), node.inputs().get(1).shape());
            return (in, out, ctx) -> {
                Buf x = in[0], slope = in[1], y = out[0];
                long i = 0;
                for (int o = 0; o < l.outer; o++) {
                    for (int c = 0; c < l.channels; c++) {
                        double s = slope.get(c);
                        for (int j = 0; j < l.inner; j++, i++) {
                            double v = x.get(i);
                            y.set(i, v > 0 ? v : s * v);
                        }
                    }
                }
            };
        });
        r.register(PReluBackward.class, (op, node) -> {
            PReluLayout l = PReluLayout.of(node.inputs().get(0).shape(), node.inputs().get(1).shape());
            double[] ds = new double[l.channels];
            return (in, out, ctx) -> {
                Buf x = in[0], slope = in[1], dy = in[2], dx = out[0];
                Arrays.fill(ds, 0);
                long i = 0;
                for (int o = 0; o < l.outer; o++) {
                    for (int c = 0; c < l.channels; c++) {
                        double s = slope.get(c), acc = 0;
                        for (int j = 0; j < l.inner; j++, i++) {
                            double v = x.get(i), g = dy.get(i);
                            if (v > 0) {
                                dx.set(i, g);
                            } else {
                                dx.set(i, s * g);
                                acc += v * g;
                            }
                        }
                        ds[c] += acc;
                    }
                }
                for (int c = 0; c < l.channels; c++) out[1].set(c, ds[c]);
            };
        });
    }

    // ---- softmax ----

    /**
     * A tensor viewed as [outer, n, inner] around the softmax axis. Kernels sweep one [n, inner] slab at a time
     * with per-inner-position scratch (max, sum), so every pass reads memory at unit stride.
     */
    private record AxisLayout(int outer, int n, int inner) {
        static AxisLayout of(Shape s, int axis) {
            int a = Softmax.normalizeAxis(axis, s), outer = 1, inner = 1;
            for (int i = 0; i < a; i++) outer *= s.dim(i);
            for (int i = a + 1; i < s.rank(); i++) inner *= s.dim(i);
            return new AxisLayout(outer, s.dim(a), inner);
        }
    }

    private static void registerSoftmax(KernelRegistry r) {
        r.register(Softmax.class, (op, node) -> softmax(AxisLayout.of(node.output().shape(), op.axis()), false));
        r.register(LogSoftmax.class, (op, node) -> softmax(AxisLayout.of(node.output().shape(), op.axis()), true));
        r.register(SoftmaxBackward.class, (op, node) -> {
            AxisLayout l = AxisLayout.of(node.output().shape(), op.axis());
            double[] dot = new double[l.inner];
            return (in, out, ctx) -> {
                Buf y = in[0], dy = in[1], dx = out[0];
                for (int o = 0; o < l.outer; o++) {
                    long base = (long) o * l.n * l.inner;
                    Arrays.fill(dot, 0);
                    for (int k = 0; k < l.n; k++)
                        for (int j = 0; j < l.inner; j++) {
                            long i = base + (long) k * l.inner + j;
                            dot[j] += dy.get(i) * y.get(i);
                        }
                    for (int k = 0; k < l.n; k++)
                        for (int j = 0; j < l.inner; j++) {
                            long i = base + (long) k * l.inner + j;
                            dx.set(i, y.get(i) * (dy.get(i) - dot[j]));
                        }
                }
            };
        });
        r.register(LogSoftmaxBackward.class, (op, node) -> {
            AxisLayout l = AxisLayout.of(node.output().shape(), op.axis());
            double[] sum = new double[l.inner];
            return (in, out, ctx) -> {
                Buf y = in[0], dy = in[1], dx = out[0];
                for (int o = 0; o < l.outer; o++) {
                    long base = (long) o * l.n * l.inner;
                    Arrays.fill(sum, 0);
                    for (int k = 0; k < l.n; k++)
                        for (int j = 0; j < l.inner; j++) sum[j] += dy.get(base + (long) k * l.inner + j);
                    for (int k = 0; k < l.n; k++)
                        for (int j = 0; j < l.inner; j++) {
                            long i = base + (long) k * l.inner + j;
                            dx.set(i, dy.get(i) - Math.exp(y.get(i)) * sum[j]);
                        }
                }
            };
        });
    }

    private static Kernel softmax(AxisLayout l, boolean log) {
        double[] max = new double[l.inner], sum = new double[l.inner];
        return (in, out, ctx) -> {
            Buf x = in[0], y = out[0];
            for (int o = 0; o < l.outer; o++) {
                long base = (long) o * l.n * l.inner;
                Arrays.fill(max, Double.NEGATIVE_INFINITY);
                Arrays.fill(sum, 0);
                for (int k = 0; k < l.n; k++)
                    for (int j = 0; j < l.inner; j++) max[j] = Math.max(max[j], x.get(base + (long) k * l.inner + j));
                for (int k = 0; k < l.n; k++)
                    for (int j = 0; j < l.inner; j++)   // each term <= 1: subtracting the max rules out overflow
                        sum[j] += Math.exp(x.get(base + (long) k * l.inner + j) - max[j]);
                if (log) for (int j = 0; j < l.inner; j++) sum[j] = Math.log(sum[j]);
                // exp is taken again rather than stored in y: a float y would round it before the division.
                for (int k = 0; k < l.n; k++)
                    for (int j = 0; j < l.inner; j++) {
                        long i = base + (long) k * l.inner + j;
                        double shifted = x.get(i) - max[j];
                        y.set(i, log ? shifted - sum[j] : Math.exp(shifted) / sum[j]);
                    }
            }
        };
    }

    // ---- matrix products ----

    private static void registerMatMul(KernelRegistry r) {
        r.register(MatMul.class, (op, node) -> {
            Shape as = node.inputs().get(0).shape();
            MatMul.Dims d = MatMul.dims(as, node.inputs().get(1).shape(), op.transA(), op.transB());
            int m = d.m(), k = d.k(), n = d.n();
            boolean ta = op.transA(), tb = op.transB();
            double[] bp = new double[Math.multiplyExact(k, n)];   // op(B) of one batch, [K, N] row-major
            double[] acc = new double[n];
            return (in, out, ctx) -> {
                Buf a = in[0], b = in[1], c = out[0];
                for (int t = 0; t < d.batch(); t++) {
                    long aOff = (long) t * m * k, bOff = (long) t * k * n, cOff = (long) t * m * n;
                    pack(b, bOff, k, n, tb, bp);
                    for (int i = 0; i < m; i++) {
                        Arrays.fill(acc, 0);
                        for (int p = 0; p < k; p++) {
                            double av = a.get(aOff + (ta ? (long) p * m + i : (long) i * k + p));
                            axpy(av, bp, p * n, acc, n);
                        }
                        for (int j = 0; j < n; j++) c.set(cOff + (long) i * n + j, acc[j]);
                    }
                }
            };
        });
        r.register(Dense.class, (op, node) -> {
            Shape xs = node.inputs().get(0).shape(), ws = node.inputs().get(1).shape();
            int rows = xs.dim(0), k = xs.dim(1), m = ws.dim(0);
            boolean bias = node.inputs().size() == 3;
            double[] wt = new double[Math.multiplyExact(k, m)];   // w^T, [K, M] row-major
            double[] acc = new double[m];
            return (in, out, ctx) -> {
                Buf x = in[0], w = in[1], y = out[0];
                pack(w, 0, k, m, true, wt);   // w [M, K] is op(B)^T: y = x w^T
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < m; j++) acc[j] = bias ? in[2].get(j) : 0;
                    for (int p = 0; p < k; p++) axpy(x.get((long) i * k + p), wt, p * m, acc, m);
                    for (int j = 0; j < m; j++) y.set((long) i * m + j, acc[j]);
                }
            };
        });
    }

    /**
     * Copies op(B) into {@code dst} as [K, N] row-major: B is [K, N] at {@code off}, or [N, K] when {@code trans}
     * (read row by row, so the source is walked in order either way).
     */
    private static void pack(Buf b, long off, int k, int n, boolean trans, double[] dst) {
        if (trans) {
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) dst[p * n + j] = b.get(off + (long) j * k + p);
        } else {
            for (int i = 0; i < k * n; i++) dst[i] = b.get(off + i);
        }
    }

    /** acc[0..n) += a * src[from..from+n): the unit-stride inner loop of every product here. */
    private static void axpy(double a, double[] src, int from, double[] acc, int n) {
        for (int j = 0; j < n; j++) acc[j] += a * src[from + j];
    }

    // ---- reductions ----

    /**
     * Sum (or mean) over the reduced axes: every input element adds into the output slot given by a table built
     * once, the input index laid against the keepDims shape with stride 0 along reduced axes.
     */
    private static Kernel reduce(Shape in, int[] axes, boolean mean) {
        Shape kept = ReduceSum.keptShape(in, axes);
        long[] dst = Indexing.gatherIndex(in, Indexing.broadcastStrides(kept, in));
        double[] acc = new double[Math.toIntExact(kept.size())];
        // The true count: an empty reduced axis gives 0 / 0 = NaN, as NumPy's mean does.
        double count = acc.length == 0 ? 1 : (double) in.size() / acc.length;
        return (ins, out, ctx) -> {
            Arrays.fill(acc, 0);
            Buf x = ins[0];
            for (int i = 0; i < dst.length; i++) acc[(int) dst[i]] += x.get(i);
            for (int i = 0; i < acc.length; i++) out[0].set(i, mean ? acc[i] / count : acc[i]);
        };
    }
}
