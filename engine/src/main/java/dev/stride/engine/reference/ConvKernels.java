package dev.stride.engine.reference;

import dev.stride.engine.ChunkedOrder;
import dev.stride.graph.Node;
import dev.stride.graph.Shape;
import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;

/**
 * Reference kernels of the convolution family: direct loops, no im2col. Every op is one of three passes over the
 * same convolution geometry ({@link Geom}): the forward correlation, its adjoint in the data (Conv2d's data
 * gradient and ConvTranspose2d's forward pass) and its adjoint in the filter.
 *
 * <p>Each kernel copies one sample of its operands into double scratch arrays bound in the factory and runs the
 * loops on those: one path for float and double buffers, and inner loops over plain arrays the JIT compiles
 * well. The innermost loop always walks an output row of the convolution (contiguous), and its bounds are
 * precomputed per kernel tap so that padding costs no test inside it.
 */
final class ConvKernels {
    private ConvKernels() {}

    static void register(KernelRegistry r) {
        r.register(Conv2d.class, (op, node) -> {
            Geom g = new Geom(in(node, 0), in(node, 1), out(node), op.strideH(), op.strideW(), op.padTop(),
                    op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
            boolean hasBias = node.inputs().size() == 3;
            double[] x = new double[g.inSize()], w = new double[g.weightSize()], y = new double[g.outSize()];
            double[] bias = hasBias ? new double[g.o] : null, row = new double[g.wo];
            return (in, out, ctx) -> {
                load(in[1], 0, w);
                if (hasBias) load(in[2], 0, bias);
                for (int n = 0; n < g.n; n++) {
                    load(in[0], (long) n * x.length, x);
                    fillChannels(y, g.o, g.ho * g.wo, bias);
                    g.forward(x, w, y, row);
                    store(out[0], (long) n * y.length, y);
                }
            };
        });

        r.register(Conv2dBackwardData.class, (op, node) -> {
            Geom g = new Geom(out(node), in(node, 1), in(node, 0), op.strideH(), op.strideW(), op.padTop(),
                    op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
            return backwardDataKernel(g, false);
        });

        // The adjoint of the convolution that maps its output's size back to its input's: the same pass as
        // Conv2d's data gradient, with x in the role of dy.
        r.register(ConvTranspose2d.class, (op, node) -> {
            Geom g = new Geom(out(node), in(node, 1), in(node, 0), op.strideH(), op.strideW(), op.padTop(),
                    op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
            return backwardDataKernel(g, node.inputs().size() == 3);
        });

        r.register(Conv2dBackwardFilter.class, (op, node) -> {
            Geom g = new Geom(in(node, 0), out(node), in(node, 1), op.strideH(), op.strideW(), op.padTop(),
                    op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
            double[] x = new double[g.inSize()], dy = new double[g.outSize()], dw = new double[g.weightSize()];
            return (in, out, ctx) -> {
                java.util.Arrays.fill(dw, 0);
                for (int n = 0; n < g.n; n++) {
                    load(in[0], (long) n * x.length, x);
                    load(in[1], (long) n * dy.length, dy);
                    g.backwardFilter(x, dy, dw);
                }
                store(out[0], 0, dw);
            };
        });

        r.register(BiasGrad.class, (op, node) -> {
            Shape s = in(node, 0);
            int batch = s.dim(0), c = s.dim(1);
            long inner = s.size() / Math.max(1, (long) batch * c);
            double[] acc = new double[c];
            return (in, out, ctx) -> {
                java.util.Arrays.fill(acc, 0);
                long i = 0;
                for (int n = 0; n < batch; n++)
                    for (int ch = 0; ch < c; ch++, i += inner) {
                        for (long from = 0; from < inner; from += ChunkedOrder.CHUNK) {   // in ChunkedOrder
                            double part = 0;
                            for (long k = from, end = Math.min(inner, from + ChunkedOrder.CHUNK); k < end; k++)
                                part += in[0].get(i + k);
                            acc[ch] += part;
                        }
                    }
                store(out[0], 0, acc);
            };
        });

        r.register(BiasBroadcast.class, (op, node) -> {
            Shape s = out(node);
            int batch = s.dim(0), c = s.dim(1);
            long inner = s.size() / Math.max(1, (long) batch * c);
            double[] b = new double[c];
            return (in, out, ctx) -> {
                load(in[0], 0, b);
                long i = 0;
                for (int n = 0; n < batch; n++)
                    for (int ch = 0; ch < c; ch++)
                        for (long k = 0; k < inner; k++) out[0].set(i++, b[ch]);
            };
        });
    }

    /** dx (or a transposed convolution's output, plus its bias) from (dy, w), one sample at a time. */
    private static Kernel backwardDataKernel(Geom g, boolean hasBias) {
        double[] dy = new double[g.outSize()], w = new double[g.weightSize()], dx = new double[g.inSize()];
        double[] bias = hasBias ? new double[g.c] : null;
        return (in, out, ctx) -> {
            load(in[1], 0, w);
            if (hasBias) load(in[2], 0, bias);
            for (int n = 0; n < g.n; n++) {
                load(in[0], (long) n * dy.length, dy);
                fillChannels(dx, g.c, g.h * g.w, bias);
                g.backwardData(dy, w, dx);
                store(out[0], (long) n * dx.length, dx);
            }
        };
    }

    private static Shape in(Node node, int i) { return node.inputs().get(i).shape(); }

    private static Shape out(Node node) { return node.output().shape(); }

    private static void load(Buf b, long offset, double[] dst) {
        for (int i = 0; i < dst.length; i++) dst[i] = b.get(offset + i);
    }

    private static void store(Buf b, long offset, double[] src) {
        for (int i = 0; i < src.length; i++) b.set(offset + i, src[i]);
    }

    /** Sets every plane of {@code a} (channels x plane) to its bias, or to 0 without one. */
    private static void fillChannels(double[] a, int channels, int plane, double[] bias) {
        if (bias == null) {
            java.util.Arrays.fill(a, 0);
            return;
        }
        for (int ch = 0; ch < channels; ch++) java.util.Arrays.fill(a, ch * plane, (ch + 1) * plane, bias[ch]);
    }

    /**
     * One convolution's geometry, x[N, C, H, W] * w[O, C/groups, kH, kW] -> y[N, O, Ho, Wo], with the output
     * rows and columns each kernel tap reaches inside the input. Only the start padding matters here: the end
     * padding has already decided Ho and Wo.
     */
    static final class Geom {
        final int n, c, h, w, o, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw, cg, og;
        /** For kernel row ky, the output rows oy in [oyLo[ky], oyHi[ky]) read an input row inside [0, H). */
        private final int[] oyLo, oyHi;
        /** For kernel column kx, the output columns ox in [oxLo[kx], oxHi[kx]) read inside [0, W). */
        private final int[] oxLo, oxHi;

        Geom(Shape x, Shape weight, Shape y, int sh, int sw, int pt, int pl, int dh, int dw, int groups) {
            n = x.dim(0); c = x.dim(1); h = x.dim(2); w = x.dim(3);
            o = weight.dim(0); kh = weight.dim(2); kw = weight.dim(3);
            ho = y.dim(2); wo = y.dim(3);
            this.sh = sh; this.sw = sw; this.pt = pt; this.pl = pl; this.dh = dh; this.dw = dw;
            cg = c / groups;
            og = o / groups;
            oyLo = new int[kh]; oyHi = new int[kh];
            for (int k = 0; k < kh; k++) range(k * dh - pt, sh, h, ho, oyLo, oyHi, k);
            oxLo = new int[kw]; oxHi = new int[kw];
            for (int k = 0; k < kw; k++) range(k * dw - pl, sw, w, wo, oxLo, oxHi, k);
        }

        /** The outputs i in [0, outN) with 0 <= i*s + off < inN, as [lo[k], hi[k]); empty as lo == hi. */
        private static void range(int off, int s, int inN, int outN, int[] lo, int[] hi, int k) {
            int a = Math.max(0, Math.ceilDiv(-off, s));
            int b = Math.min(outN, Math.floorDiv(inN - 1 - off, s) + 1);
            lo[k] = a;
            hi[k] = Math.max(a, b);
        }

        int inSize() { return c * h * w; }

        int outSize() { return o * ho * wo; }

        int weightSize() { return o * cg * kh * kw; }

        /**
         * y += conv(x, w) for one sample. Each output row is accumulated in {@code row}, a scratch array indexed
         * from 0: on JDK 25 an inner loop with one operand at offset 0 ran about twice as fast as the same loop
         * with two moving offsets (which the JIT must assume may alias).
         */
        void forward(double[] x, double[] wt, double[] y, double[] row) {
            for (int oc = 0; oc < o; oc++) {
                int c0 = (oc / og) * cg;
                for (int oy = 0; oy < ho; oy++) {
                    int yRow = (oc * ho + oy) * wo;
                    System.arraycopy(y, yRow, row, 0, wo);
                    for (int icl = 0; icl < cg; icl++) {
                        int xPlane = (c0 + icl) * h * w, wBase = (oc * cg + icl) * kh * kw;
                        for (int ky = 0; ky < kh; ky++) {
                            if (oy < oyLo[ky] || oy >= oyHi[ky]) continue;   // this tap reads padding
                            int xRow = xPlane + (oy * sh - pt + ky * dh) * w;
                            for (int kx = 0; kx < kw; kx++) {
                                int lo = oxLo[kx];
                                accumulate(oxHi[kx] - lo, wt[wBase + ky * kw + kx], x, xRow + lo * sw - pl + kx * dw,
                                        sw, row, lo);
                            }
                        }
                    }
                    System.arraycopy(row, 0, y, yRow, wo);
                }
            }
        }

        /** dx += conv^T(dy, w) for one sample: every (output, tap) pair scatters back to the input it read. */
        void backwardData(double[] dy, double[] wt, double[] dx) {
            for (int oc = 0; oc < o; oc++) {
                int c0 = (oc / og) * cg;
                for (int icl = 0; icl < cg; icl++) {
                    int xPlane = (c0 + icl) * h * w, wBase = (oc * cg + icl) * kh * kw;
                    for (int ky = 0; ky < kh; ky++) {
                        for (int oy = oyLo[ky]; oy < oyHi[ky]; oy++) {
                            int xRow = xPlane + (oy * sh - pt + ky * dh) * w, yRow = (oc * ho + oy) * wo;
                            for (int kx = 0; kx < kw; kx++) {
                                double wv = wt[wBase + ky * kw + kx];
                                int lo = oxLo[kx], hi = oxHi[kx];
                                scatter(hi - lo, wv, dy, yRow + lo, dx, xRow + lo * sw - pl + kx * dw, sw);
                            }
                        }
                    }
                }
            }
        }

        /** dw += correlation of x with dy for one sample. */
        void backwardFilter(double[] x, double[] dy, double[] dwt) {
            for (int oc = 0; oc < o; oc++) {
                int c0 = (oc / og) * cg;
                for (int icl = 0; icl < cg; icl++) {
                    int xPlane = (c0 + icl) * h * w, wBase = (oc * cg + icl) * kh * kw;
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            int lo = oxLo[kx], hi = oxHi[kx];
                            double acc = 0;
                            for (int oy = oyLo[ky]; oy < oyHi[ky]; oy++) {
                                int xi = xPlane + (oy * sh - pt + ky * dh) * w + lo * sw - pl + kx * dw;
                                acc += dot(hi - lo, dy, (oc * ho + oy) * wo + lo, x, xi, sw);
                            }
                            dwt[wBase + ky * kw + kx] += acc;
                        }
                    }
                }
            }
        }

        // The innermost loops, with a zero-based counter and the unit stride split out: the shapes of loop the JIT
        // compiles best.

        /** row[lo + k] += a * x[xo + k*s] for k < len. */
        private static void accumulate(int len, double a, double[] x, int xo, int s, double[] row, int lo) {
            if (lo == 0) {   // the common case, unpadded columns: row at offset 0
                if (s == 1) for (int k = 0; k < len; k++) row[k] += a * x[xo + k];
                else for (int k = 0; k < len; k++) row[k] += a * x[xo + k * s];
            } else {
                if (s == 1) for (int k = 0; k < len; k++) row[lo + k] += a * x[xo + k];
                else for (int k = 0; k < len; k++) row[lo + k] += a * x[xo + k * s];
            }
        }

        /** x[xo + k*s] += a * y[yo + k] for k < len. */
        private static void scatter(int len, double a, double[] y, int yo, double[] x, int xo, int s) {
            if (s == 1) for (int k = 0; k < len; k++) x[xo + k] += a * y[yo + k];
            else for (int k = 0; k < len; k++) x[xo + k * s] += a * y[yo + k];
        }

        /** sum of y[yo + k] * x[xo + k*s] for k < len. */
        private static double dot(int len, double[] y, int yo, double[] x, int xo, int s) {
            double acc = 0;
            if (s == 1) for (int k = 0; k < len; k++) acc += y[yo + k] * x[xo + k];
            else for (int k = 0; k < len; k++) acc += y[yo + k] * x[xo + k * s];
            return acc;
        }
    }
}
