package dev.stride.engine.reference;

import dev.stride.engine.PoolWindows;
import dev.stride.engine.ResampleTaps;
import dev.stride.graph.Shape;
import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AdaptiveAvgPool2dBackward;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.AvgPool2dBackward;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.MaxPool2dBackward;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Upsample2d;
import dev.stride.graph.op.Upsample2dBackward;

import java.util.Arrays;

/**
 * Reference kernels of pooling, resizing, padding, slicing and concatenation. Window geometry is separable
 * (a tap is valid when its row and its column are), so each factory precomputes per output row and per
 * output column which input rows and columns it reads; the kernels are plain loops over (plane, row, col).
 * Gradients accumulate in a double scratch plane, then store once, so float buffers round once.
 */
final class PoolKernels {
    private PoolKernels() {}

    static void register(KernelRegistry r) {
        r.register(MaxPool2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.output().shape();
            int[][] rows = PoolWindows.taps(y.dim(2), x.dim(2), op.kH(), op.strideH(), op.padTop(), op.dilationH());
            int[][] cols = PoolWindows.taps(y.dim(3), x.dim(3), op.kW(), op.strideW(), op.padLeft(), op.dilationW());
            int planes = x.dim(0) * x.dim(1), inW = x.dim(3), inPlane = x.dim(2) * inW, outPlane = y.dim(2) * y.dim(3);
            return (in, out, ctx) -> {
                for (int p = 0; p < planes; p++) {
                    long ib = (long) p * inPlane, ob = (long) p * outPlane;
                    for (int oh = 0; oh < rows.length; oh++)
                        for (int ow = 0; ow < cols.length; ow++)
                            out[0].set(ob++, in[0].get(ib + argmax(in[0], ib, inW, rows[oh], cols[ow])));
                }
            };
        });
        r.register(MaxPool2dBackward.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.inputs().get(1).shape();
            int[][] rows = PoolWindows.taps(y.dim(2), x.dim(2), op.kH(), op.strideH(), op.padTop(), op.dilationH());
            int[][] cols = PoolWindows.taps(y.dim(3), x.dim(3), op.kW(), op.strideW(), op.padLeft(), op.dilationW());
            int planes = x.dim(0) * x.dim(1), inW = x.dim(3), inPlane = x.dim(2) * inW, outPlane = y.dim(2) * y.dim(3);
            double[] acc = new double[inPlane];
            return (in, out, ctx) -> {
                for (int p = 0; p < planes; p++) {
                    long ib = (long) p * inPlane, ob = (long) p * outPlane;
                    Arrays.fill(acc, 0);
                    for (int oh = 0; oh < rows.length; oh++)
                        for (int ow = 0; ow < cols.length; ow++)
                            acc[argmax(in[0], ib, inW, rows[oh], cols[ow])] += in[1].get(ob++);
                    store(acc, out[0], ib);
                }
            };
        });

        r.register(AvgPool2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.output().shape();
            return boxAverage(Box.avg(op, x.dim(2), x.dim(3), y.dim(2), y.dim(3)), x.dim(0) * x.dim(1));
        });
        r.register(AvgPool2dBackward.class, (op, node) -> {
            Shape dy = node.inputs().getFirst().shape();
            return boxAverageGrad(Box.avg(op.forward(), op.inH(), op.inW(), dy.dim(2), dy.dim(3)), dy.dim(0) * dy.dim(1));
        });
        r.register(AdaptiveAvgPool2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape();
            return boxAverage(Box.adaptive(x.dim(2), x.dim(3), op.outH(), op.outW()), x.dim(0) * x.dim(1));
        });
        r.register(AdaptiveAvgPool2dBackward.class, (op, node) -> {
            Shape dy = node.inputs().getFirst().shape();
            return boxAverageGrad(Box.adaptive(op.inH(), op.inW(), dy.dim(2), dy.dim(3)), dy.dim(0) * dy.dim(1));
        });

        r.register(Upsample2d.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.output().shape();
            ResampleTaps h = ResampleTaps.upsample(op.mode(), x.dim(2), y.dim(2), op.alignCorners());
            ResampleTaps w = ResampleTaps.upsample(op.mode(), x.dim(3), y.dim(3), op.alignCorners());
            return resize(h, w, x.dim(0) * x.dim(1), x.dim(2), x.dim(3), op.mode() == Upsample2d.Mode.NEAREST);
        });
        r.register(Upsample2dBackward.class, (op, node) -> {
            Shape dy = node.inputs().getFirst().shape();
            ResampleTaps h = ResampleTaps.upsample(op.mode(), op.inH(), dy.dim(2), op.alignCorners());
            ResampleTaps w = ResampleTaps.upsample(op.mode(), op.inW(), dy.dim(3), op.alignCorners());
            return resizeGrad(h, w, dy.dim(0) * dy.dim(1), op.inH(), op.inW());
        });

        r.register(Pad.class, (op, node) -> {
            long[] src = padSources(node.inputs().getFirst().shape(), node.output().shape(), op.before(), op.mode());
            double v = op.value();
            return (in, out, ctx) -> {
                for (int i = 0; i < src.length; i++) out[0].set(i, src[i] < 0 ? v : in[0].get(src[i]));
            };
        });
        r.register(Slice.class, (op, node) -> {
            Shape x = node.inputs().getFirst().shape(), y = node.output().shape();
            long[] src = Indexing.gatherIndex(y, x.strides());       // which input element each output reads
            long base = offset(op.starts(), x.strides());
            return (in, out, ctx) -> { for (int i = 0; i < src.length; i++) out[0].set(i, in[0].get(base + src[i])); };
        });
        r.register(Concat.class, (op, node) -> {
            // Row-major: the output is `outer` repetitions of every input's contiguous slab, input after input.
            Shape y = node.output().shape();
            long inner = 1;
            for (int i = op.axis() + 1; i < y.rank(); i++) inner *= y.dim(i);
            long outer = 1;
            for (int i = 0; i < op.axis(); i++) outer *= y.dim(i);
            int n = node.inputs().size();
            long[] slab = new long[n];
            for (int k = 0; k < n; k++) slab[k] = node.inputs().get(k).shape().dim(op.axis()) * inner;
            long outSlab = y.dim(op.axis()) * inner, outerF = outer;
            return (in, out, ctx) -> {
                long at = 0;
                for (int k = 0; k < n; k++) {
                    long s = slab[k];
                    for (long o = 0; o < outerF; o++) {
                        long src = o * s, dst = o * outSlab + at;
                        for (long i = 0; i < s; i++) out[0].set(dst + i, in[k].get(src + i));
                    }
                    at += s;
                }
            };
        });
    }

    /**
     * Offset (within the plane at {@code base}) of the window's maximum: the first in row-major order, strict
     * {@code >} as PyTorch, and a NaN wins so that it propagates. Shape inference guarantees at least one tap.
     */
    private static int argmax(Buf x, long base, int w, int[] rows, int[] cols) {
        int best = rows[0] * w + cols[0];
        double m = Double.NEGATIVE_INFINITY;
        for (int i : rows) {
            int rb = i * w;
            for (int j : cols) {
                double v = x.get(base + rb + j);
                if (v > m || Double.isNaN(v)) { m = v; best = rb + j; }
            }
        }
        return best;
    }

    private static void store(double[] acc, Buf out, long base) {
        for (int i = 0; i < acc.length; i++) out.set(base + i, acc[i]);
    }

    /**
     * For every cell of the padded shape {@code y}, the flat index of the cell of {@code x} it copies, or -1 where
     * it holds the constant ({@link Pad#sourceIndex} per axis).
     */
    static long[] padSources(Shape x, Shape y, int[] before, Pad.Mode mode) {
        int r = x.rank();
        long[] xs = x.strides();
        long[][] axis = new long[r][];   // per axis and padded position: its share of the flat index, or -1
        for (int d = 0; d < r; d++) {
            axis[d] = new long[y.dim(d)];
            for (int o = 0; o < y.dim(d); o++) {
                int s = Pad.sourceIndex(mode, o - before[d], x.dim(d));
                axis[d][o] = s < 0 ? -1 : s * xs[d];
            }
        }
        long[] src = new long[Math.toIntExact(y.size())];
        int[] c = new int[r];
        for (int k = 0; k < src.length; k++) {
            long at = 0;
            for (int d = 0; d < r && at >= 0; d++) at = axis[d][c[d]] < 0 ? -1 : at + axis[d][c[d]];
            src[k] = at;
            for (int d = r - 1; d >= 0 && ++c[d] == y.dim(d); d--) c[d] = 0;   // row-major odometer
        }
        return src;
    }

    private static long offset(int[] at, long[] strides) {
        long o = 0;
        for (int i = 0; i < at.length; i++) o += at[i] * strides[i];
        return o;
    }

    /**
     * Windows that are boxes of input rows {@code [h0, h1)} and columns {@code [w0, w1)}, each with its divisor
     * (indexed {@code oh * outW + ow}): shared by average and adaptive average pooling.
     */
    record Box(int inH, int inW, int[] h0, int[] h1, int[] w0, int[] w1, double[] div) {
        /** PyTorch's avg_pool2d ({@link PoolWindows#average}). */
        static Box avg(AvgPool2d op, int inH, int inW, int outH, int outW) {
            var rows = PoolWindows.average(inH, outH, op.kH(), op.strideH(), op.padTop(), op.padBottom());
            var cols = PoolWindows.average(inW, outW, op.kW(), op.strideW(), op.padLeft(), op.padRight());
            return of(inH, inW, rows, cols, PoolWindows.divisors(rows, cols, op.countIncludePad()));
        }

        static Box adaptive(int inH, int inW, int outH, int outW) {
            var rows = PoolWindows.adaptive(inH, outH);
            var cols = PoolWindows.adaptive(inW, outW);
            return of(inH, inW, rows, cols, PoolWindows.divisors(rows, cols, false));
        }

        private static Box of(int inH, int inW, PoolWindows.Boxes rows, PoolWindows.Boxes cols, double[] div) {
            return new Box(inH, inW, rows.lo(), rows.hi(), cols.lo(), cols.hi(), div);
        }
    }

    private static Kernel boxAverage(Box b, int planes) {
        int outH = b.h0().length, outW = b.w0().length, inW = b.inW(), inPlane = b.inH() * inW;
        int[] h0 = b.h0(), h1 = b.h1(), w0 = b.w0(), w1 = b.w1();
        double[] div = b.div();
        return (in, out, ctx) -> {
            long ob = 0;
            for (int p = 0; p < planes; p++) {
                long ib = (long) p * inPlane;
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++) {
                        double s = 0;
                        for (int i = h0[oh]; i < h1[oh]; i++) {
                            long rb = ib + (long) i * inW;
                            for (int j = w0[ow]; j < w1[ow]; j++) s += in[0].get(rb + j);
                        }
                        out[0].set(ob++, s / div[oh * outW + ow]);
                    }
            }
        };
    }

    private static Kernel boxAverageGrad(Box b, int planes) {
        int outH = b.h0().length, outW = b.w0().length, inW = b.inW(), inPlane = b.inH() * inW;
        int[] h0 = b.h0(), h1 = b.h1(), w0 = b.w0(), w1 = b.w1();
        double[] div = b.div();
        double[] acc = new double[inPlane];
        return (in, out, ctx) -> {
            long ob = 0;
            for (int p = 0; p < planes; p++) {
                Arrays.fill(acc, 0);
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++) {
                        double g = in[0].get(ob++) / div[oh * outW + ow];
                        for (int i = h0[oh]; i < h1[oh]; i++)
                            for (int j = w0[ow], rb = i * inW; j < w1[ow]; j++) acc[rb + j] += g;
                    }
                store(acc, out[0], (long) p * inPlane);
            }
        };
    }

    static Kernel resize(ResampleTaps h, ResampleTaps w, int planes, int inH, int inW, boolean nearest) {
        int outH = h.i0().length, outW = w.i0().length, inPlane = inH * inW;
        int[] hi0 = h.i0(), hi1 = h.i1(), wi0 = w.i0(), wi1 = w.i1();
        double[] hw0 = h.w0(), hw1 = h.w1(), ww0 = w.w0(), ww1 = w.w1();
        return (in, out, ctx) -> {
            long ob = 0;
            for (int p = 0; p < planes; p++) {
                long ib = (long) p * inPlane;
                for (int oh = 0; oh < outH; oh++) {
                    long r0 = ib + (long) hi0[oh] * inW, r1 = ib + (long) hi1[oh] * inW;
                    if (nearest) {
                        for (int ow = 0; ow < outW; ow++) out[0].set(ob++, in[0].get(r0 + wi0[ow]));
                        continue;
                    }
                    double a0 = hw0[oh], a1 = hw1[oh];
                    for (int ow = 0; ow < outW; ow++) {
                        int j0 = wi0[ow], j1 = wi1[ow];
                        double b0 = ww0[ow], b1 = ww1[ow];
                        out[0].set(ob++, a0 * (b0 * in[0].get(r0 + j0) + b1 * in[0].get(r0 + j1))
                                + a1 * (b0 * in[0].get(r1 + j0) + b1 * in[0].get(r1 + j1)));
                    }
                }
            }
        };
    }

    static Kernel resizeGrad(ResampleTaps h, ResampleTaps w, int planes, int inH, int inW) {
        int outH = h.i0().length, outW = w.i0().length, inPlane = inH * inW;
        int[] hi0 = h.i0(), hi1 = h.i1(), wi0 = w.i0(), wi1 = w.i1();
        double[] hw0 = h.w0(), hw1 = h.w1(), ww0 = w.w0(), ww1 = w.w1();
        double[] acc = new double[inPlane];
        return (in, out, ctx) -> {
            long ob = 0;
            for (int p = 0; p < planes; p++) {
                Arrays.fill(acc, 0);
                for (int oh = 0; oh < outH; oh++) {
                    int r0 = hi0[oh] * inW, r1 = hi1[oh] * inW;
                    double a0 = hw0[oh], a1 = hw1[oh];
                    for (int ow = 0; ow < outW; ow++) {
                        double g = in[0].get(ob++);
                        int j0 = wi0[ow], j1 = wi1[ow];
                        double b0 = ww0[ow], b1 = ww1[ow];
                        acc[r0 + j0] += a0 * b0 * g;
                        acc[r0 + j1] += a0 * b1 * g;
                        acc[r1 + j0] += a1 * b0 * g;
                        acc[r1 + j1] += a1 * b1 * g;
                    }
                }
                store(acc, out[0], (long) p * inPlane);
            }
        };
    }
}
