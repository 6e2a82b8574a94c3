package dev.stride.engine.reference;

import dev.stride.engine.ChunkedOrder;
import dev.stride.graph.Shape;
import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.BatchNorm2dBackward;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dInferBackward;
import dev.stride.graph.op.BatchNorm2dTrain;
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

/** Reference kernels of training: batch norm, dropout, noise, losses, optimizer updates and gradient clipping. */
final class TrainKernels {
    private TrainKernels() {}

    static void register(KernelRegistry r) {
        registerBatchNorm(r);
        registerRandom(r);
        registerLosses(r);
        r.register(SgdUpdate.class, (op, node) -> {
            double mu = op.momentum(), wd = op.weightDecay();
            boolean nesterov = op.nesterov();
            return (in, out, ctx) -> {
                Buf p = in[0], v = in[1], g = in[2], pOut = out[0], vOut = out[1];
                double lr = in[3].get(0);
                for (long i = 0, n = p.length(); i < n; i++) {
                    double gi = g.get(i) + wd * p.get(i);
                    double vi = mu * v.get(i) + gi;
                    double step = nesterov ? gi + mu * vi : vi;
                    vOut.set(i, vi);
                    pOut.set(i, p.get(i) - lr * step);
                }
            };
        });
        registerOptimizers(r);
    }

    private static void registerOptimizers(KernelRegistry r) {
        r.register(AdamUpdate.class, (op, node) -> {
            double b1 = op.beta1(), b2 = op.beta2(), eps = op.eps(), wd = op.weightDecay();
            boolean decoupled = op.decoupled();
            return (in, out, ctx) -> {
                Buf p = in[0], m = in[1], v = in[2], g = in[3], pOut = out[0], mOut = out[1], vOut = out[2];
                double lr = in[4].get(0), t = in[5].get(0);
                // PyTorch's order of operations: step_size = lr/bc1, denom = sqrt(v)/sqrt(bc2) + eps.
                double stepSize = lr / (1 - Math.pow(b1, t)), sqrtBc2 = Math.sqrt(1 - Math.pow(b2, t));
                double shrink = decoupled ? 1 - lr * wd : 1, l2 = decoupled ? 0 : wd;
                for (long i = 0, n = p.length(); i < n; i++) {
                    double pi = p.get(i), gi = g.get(i) + l2 * pi;
                    double mi = b1 * m.get(i) + (1 - b1) * gi;
                    double vi = b2 * v.get(i) + (1 - b2) * gi * gi;
                    mOut.set(i, mi);
                    vOut.set(i, vi);
                    pOut.set(i, pi * shrink - stepSize * mi / (Math.sqrt(vi) / sqrtBc2 + eps));
                }
            };
        });
        r.register(RmsPropUpdate.class, (op, node) -> {
            double alpha = op.alpha(), eps = op.eps(), mu = op.momentum(), wd = op.weightDecay();
            boolean momentum = mu > 0, centered = op.centered();
            int buf = momentum ? 2 : -1, avg = centered ? (momentum ? 3 : 2) : -1, grad = op.states() + 1;
            return (in, out, ctx) -> {
                Buf p = in[0], sq = in[1], g = in[grad], pOut = out[0], sqOut = out[1];
                double lr = in[grad + 1].get(0);
                for (long i = 0, n = p.length(); i < n; i++) {
                    double pi = p.get(i), gi = g.get(i) + wd * pi;
                    double si = alpha * sq.get(i) + (1 - alpha) * gi * gi;
                    sqOut.set(i, si);
                    double d;
                    if (centered) {
                        double ai = alpha * in[avg].get(i) + (1 - alpha) * gi;
                        out[avg].set(i, ai);
                        d = Math.sqrt(si - ai * ai) + eps;
                    } else {
                        d = Math.sqrt(si) + eps;
                    }
                    if (momentum) {
                        double bi = mu * in[buf].get(i) + gi / d;
                        out[buf].set(i, bi);
                        pOut.set(i, pi - lr * bi);
                    } else {
                        pOut.set(i, pi - lr * gi / d);
                    }
                }
            };
        });
        r.register(GlobalNormScale.class, (op, node) -> {
            double maxNorm = op.maxNorm();
            return (in, out, ctx) -> {
                double sq = 0;                          // in ChunkedOrder: gradient after gradient, chunk after chunk
                for (Buf g : in) {
                    for (long from = 0, n = g.length(); from < n; from += ChunkedOrder.CHUNK) {
                        double part = 0;
                        for (long i = from, end = Math.min(n, from + ChunkedOrder.CHUNK); i < end; i++) {
                            double x = g.get(i);
                            part += x * x;
                        }
                        sq += part;
                    }
                }
                out[0].set(0, Math.min(1, maxNorm / (Math.sqrt(sq) + GlobalNormScale.EPS)));
            };
        });
    }

    /** Layout facts of an NCHW tensor for per-channel loops: element (n, c, s) is at (n*C + c)*HW + s. */
    private record Nchw(int n, int c, int hw) {
        static Nchw of(Shape x) { return new Nchw(x.dim(0), x.dim(1), x.dim(2) * x.dim(3)); }

        long base(int ni, int ci) { return ((long) ni * c + ci) * hw; }

        /** Values per channel. */
        long m() { return (long) n * hw; }
    }

    private static void registerBatchNorm(KernelRegistry r) {
        r.register(BatchNorm2dTrain.class, (op, node) -> {
            Nchw d = Nchw.of(node.inputs().getFirst().shape());
            double eps = op.eps();
            return (in, out, ctx) -> {
                Buf x = in[0], gamma = in[1], beta = in[2], y = out[0], mean = out[1], var = out[2];
                double m = d.m();
                for (int c = 0; c < d.c(); c++) {
                    // Two passes: the mean first, then squared deviations (no cancellation of E[x^2] - E[x]^2),
                    // each summed in ChunkedOrder.
                    double sum = 0;
                    for (int n = 0; n < d.n(); n++) {
                        long b = d.base(n, c);
                        for (int from = 0; from < d.hw(); from += ChunkedOrder.CHUNK) {
                            double part = 0;
                            for (int s = from, end = Math.min(d.hw(), from + ChunkedOrder.CHUNK); s < end; s++)
                                part += x.get(b + s);
                            sum += part;
                        }
                    }
                    double mu = sum / m, sq = 0;
                    for (int n = 0; n < d.n(); n++) {
                        long b = d.base(n, c);
                        for (int from = 0; from < d.hw(); from += ChunkedOrder.CHUNK) {
                            double part = 0;
                            for (int s = from, end = Math.min(d.hw(), from + ChunkedOrder.CHUNK); s < end; s++) {
                                double t = x.get(b + s) - mu;
                                part += t * t;
                            }
                            sq += part;
                        }
                    }
                    double v = sq / m;
                    double scale = gamma.get(c) / Math.sqrt(v + eps), shift = beta.get(c) - mu * scale;
                    for (int n = 0; n < d.n(); n++) {
                        long b = d.base(n, c);
                        for (int s = 0; s < d.hw(); s++) y.set(b + s, x.get(b + s) * scale + shift);
                    }
                    mean.set(c, mu);
                    var.set(c, v);
                }
            };
        });
        r.register(BatchNorm2dBackward.class, (op, node) -> {
            Nchw d = Nchw.of(node.inputs().getFirst().shape());
            double eps = op.eps();
            double[] sums = new double[2];
            return (in, out, ctx) -> {
                Buf x = in[0], gamma = in[1], mean = in[2], var = in[3], dy = in[4];
                Buf dx = out[0], dgamma = out[1], dbeta = out[2];
                double m = d.m();
                for (int c = 0; c < d.c(); c++) {
                    double mu = mean.get(c), inv = 1 / Math.sqrt(var.get(c) + eps);
                    gradientSums(d, c, x, dy, mu, inv, sums);
                    double sdy = sums[0], sdyx = sums[1];
                    double k = gamma.get(c) * inv / m;
                    for (int n = 0; n < d.n(); n++) {
                        long b = d.base(n, c);
                        for (int s = 0; s < d.hw(); s++) {
                            double xhat = (x.get(b + s) - mu) * inv;
                            dx.set(b + s, k * (m * dy.get(b + s) - sdy - xhat * sdyx));
                        }
                    }
                    dgamma.set(c, sdyx);
                    dbeta.set(c, sdy);
                }
            };
        });
        r.register(BatchNorm2dInfer.class, (op, node) -> {
            Nchw d = Nchw.of(node.inputs().getFirst().shape());
            double eps = op.eps();
            return (in, out, ctx) -> {
                Buf x = in[0], gamma = in[1], beta = in[2], rm = in[3], rv = in[4], y = out[0];
                for (int c = 0; c < d.c(); c++) {
                    double scale = gamma.get(c) / Math.sqrt(rv.get(c) + eps), shift = beta.get(c) - rm.get(c) * scale;
                    for (int n = 0; n < d.n(); n++) {
                        long b = d.base(n, c);
                        for (int s = 0; s < d.hw(); s++) y.set(b + s, x.get(b + s) * scale + shift);
                    }
                }
            };
        });
        r.register(BatchNorm2dInferBackward.class, (op, node) -> {
            Nchw d = Nchw.of(node.inputs().getFirst().shape());
            double eps = op.eps();
            double[] sums = new double[2];
            return (in, out, ctx) -> {
                Buf x = in[0], gamma = in[1], rm = in[2], rv = in[3], dy = in[4];
                Buf dx = out[0], dgamma = out[1], dbeta = out[2];
                for (int c = 0; c < d.c(); c++) {
                    double mu = rm.get(c), inv = 1 / Math.sqrt(rv.get(c) + eps), k = gamma.get(c) * inv;
                    gradientSums(d, c, x, dy, mu, inv, sums);
                    for (int n = 0; n < d.n(); n++) {
                        long b = d.base(n, c);
                        for (int s = 0; s < d.hw(); s++) dx.set(b + s, dy.get(b + s) * k);
                    }
                    dgamma.set(c, sums[1]);
                    dbeta.set(c, sums[0]);
                }
            };
        });
    }

    /** Channel c's sum(dy) and sum(dy * (x - mu) * inv), in {@link ChunkedOrder}, into sums[0] and sums[1]. */
    private static void gradientSums(Nchw d, int c, Buf x, Buf dy, double mu, double inv, double[] sums) {
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < d.n(); n++) {
            long b = d.base(n, c);
            for (int from = 0; from < d.hw(); from += ChunkedOrder.CHUNK) {
                double pdy = 0, pdyx = 0;
                for (int s = from, end = Math.min(d.hw(), from + ChunkedOrder.CHUNK); s < end; s++) {
                    double g = dy.get(b + s);
                    pdy += g;
                    pdyx += g * (x.get(b + s) - mu) * inv;
                }
                sdy += pdy;
                sdyx += pdyx;
            }
        }
        sums[0] = sdy;
        sums[1] = sdyx;
    }

    private static void registerRandom(KernelRegistry r) {
        r.register(Dropout.class, (op, node) -> {
            double p = op.p(), keep = 1 / (1 - p);
            long seed = op.seed();
            return (in, out, ctx) -> {
                long key = CounterRng.key(seed, ctx.step());
                Buf x = in[0], y = out[0], mask = out[1];
                for (long i = 0, n = x.length(); i < n; i++) {
                    mask.set(i, CounterRng.uniform(key, i) >= p ? keep : 0);
                    // Multiply by the mask as stored (rounded in float), the factor the gradient dy*mask uses.
                    y.set(i, x.get(i) * mask.get(i));
                }
            };
        });
        r.register(GaussianNoise.class, (op, node) -> {
            long seed = op.seed();
            return (in, out, ctx) -> {
                long key = CounterRng.key(seed, ctx.step());
                for (long i = 0, n = out[0].length(); i < n; i++) out[0].set(i, CounterRng.gaussian(key, i));
            };
        });
        r.register(Reparameterize.class, (op, node) -> {
            long seed = op.seed();
            return (in, out, ctx) -> {
                long key = CounterRng.key(seed, ctx.step());
                Buf mu = in[0], logvar = in[1], z = out[0], noise = out[1];
                for (long i = 0, n = mu.length(); i < n; i++) {
                    double e = CounterRng.gaussian(key, i);
                    noise.set(i, e);
                    z.set(i, mu.get(i) + Math.exp(0.5 * logvar.get(i)) * e);
                }
            };
        });
        r.register(ReparameterizeBackward.class, (op, node) -> (in, out, ctx) -> {
            Buf logvar = in[0], noise = in[1], dz = in[2], d = out[0];
            for (long i = 0, n = d.length(); i < n; i++)
                d.set(i, 0.5 * dz.get(i) * Math.exp(0.5 * logvar.get(i)) * noise.get(i));
        });
    }

    /** The class index in row {@code row}, refused unless it is an integer in [0, classes). */
    static int label(Buf labels, int row, int classes) {
        double v = labels.get(row);
        if (!(v >= 0 && v < classes && v == Math.rint(v)))
            throw new IllegalArgumentException("label of row " + row + " is " + v + ", not a class index in [0, "
                    + classes + ")");
        return (int) v;
    }

    private static void registerLosses(KernelRegistry r) {
        r.register(SoftmaxCrossEntropy.class, (op, node) -> {
            Shape s = node.inputs().getFirst().shape();
            int rows = s.dim(0), classes = s.dim(1);
            return (in, out, ctx) -> {
                Buf logits = in[0];
                double total = 0;
                for (int n = 0; n < rows; n++) {
                    int label = label(in[1], n, classes);
                    long b = (long) n * classes;
                    total += logSumExp(logits, b, classes) - logits.get(b + label);
                }
                out[0].set(0, total / rows);
            };
        });
        r.register(SoftmaxCrossEntropyBackward.class, (op, node) -> {
            Shape s = node.inputs().getFirst().shape();
            int rows = s.dim(0), classes = s.dim(1);
            return (in, out, ctx) -> {
                Buf logits = in[0], d = out[0];
                double k = in[2].get(0) / rows;
                for (int n = 0; n < rows; n++) {
                    int label = label(in[1], n, classes);
                    long b = (long) n * classes;
                    double lse = logSumExp(logits, b, classes);
                    for (int c = 0; c < classes; c++)
                        d.set(b + c, (Math.exp(logits.get(b + c) - lse) - (c == label ? 1 : 0)) * k);
                }
            };
        });
        r.register(BceWithLogits.class, (op, node) -> (in, out, ctx) -> {
            Buf x = in[0], t = in[1];
            long n = x.length();
            double total = ChunkedOrder.sum(n, i -> {
                double xi = x.get(i);
                return Math.max(xi, 0) - xi * t.get(i) + Math.log1p(Math.exp(-Math.abs(xi)));
            });
            out[0].set(0, total / n);
        });
        r.register(BceWithLogitsBackward.class, (op, node) -> (in, out, ctx) -> {
            Buf x = in[0], t = in[1];
            long n = x.length();
            double k = in[2].get(0) / n;
            for (long i = 0; i < n; i++) {
                double xi = x.get(i);
                out[0].set(i, (UnaryFormulas.sigmoid(xi) - t.get(i)) * k);
                out[1].set(i, -xi * k);
            }
        });
        r.register(MseLoss.class, (op, node) -> (in, out, ctx) -> {
            long n = in[0].length();
            double total = ChunkedOrder.sum(n, i -> {
                double e = in[0].get(i) - in[1].get(i);
                return e * e;
            });
            out[0].set(0, total / n);
        });
        r.register(L1Loss.class, (op, node) -> (in, out, ctx) -> {
            long n = in[0].length();
            double total = ChunkedOrder.sum(n, i -> Math.abs(in[0].get(i) - in[1].get(i)));
            out[0].set(0, total / n);
        });
        r.register(L1LossBackward.class, (op, node) -> (in, out, ctx) -> {
            long n = in[0].length();
            double k = in[2].get(0) / n;
            for (long i = 0; i < n; i++) out[0].set(i, Math.signum(in[0].get(i) - in[1].get(i)) * k);
        });
        r.register(GaussianKl.class, (op, node) -> {
            int batch = node.inputs().getFirst().shape().dim(0);
            return (in, out, ctx) -> {
                Buf mu = in[0], logvar = in[1];
                double total = ChunkedOrder.sum(mu.length(), i -> {
                    double m = mu.get(i), lv = logvar.get(i);
                    return -0.5 * (1 + lv - m * m - Math.exp(lv));
                });
                out[0].set(0, total / batch);
            };
        });
        r.register(GaussianKlBackward.class, (op, node) -> {
            int batch = node.inputs().getFirst().shape().dim(0);
            return (in, out, ctx) -> {
                Buf mu = in[0], logvar = in[1];
                double k = in[2].get(0) / batch;
                for (long i = 0, n = mu.length(); i < n; i++) {
                    out[0].set(i, mu.get(i) * k);
                    out[1].set(i, 0.5 * (Math.exp(logvar.get(i)) - 1) * k);
                }
            };
        });
    }

    /** log(sum_c exp(row[c])), shifted by the row maximum so no exp overflows. */
    private static double logSumExp(Buf x, long base, int count) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < count; c++) max = Math.max(max, x.get(base + c));
        double sum = 0;
        for (int c = 0; c < count; c++) sum += Math.exp(x.get(base + c) - max);
        return max + Math.log(sum);
    }
}
