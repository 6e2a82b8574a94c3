package dev.stride.engine.cuda;

import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.ConvTranspose2d;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A random valid convolution for the cuda convolution tests: x [n, c, h, w], weight [o, c/groups, kh, kw] and the
 * Conv2d attributes, drawn so that the edge cases come up often: batch 1, one channel, odd sizes, stride larger
 * than the kernel, padding on one side only, dilation, groups, depthwise (groups = c = o), padding larger than
 * the kernel. {@link #draw} retries until Stride's own shape rule accepts the case.
 */
record ConvCase(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr,
                int dh, int dw, int groups, boolean bias) {

    static ConvCase draw(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        while (true) {
            ConvCase k = attempt(r);
            try {
                k.output();
                return k;
            } catch (ShapeException e) {
                // the window does not fit: draw again
            }
        }
    }

    private static ConvCase attempt(SplittableRandom r) {
        int n = r.nextInt(4) == 0 ? 1 : 1 + r.nextInt(3);
        int groups, c, o;
        switch (r.nextInt(5)) {
            case 0 -> { groups = 1; c = 1; o = 1 + r.nextInt(4); }                    // one input channel
            case 1 -> { groups = 1 + r.nextInt(4); c = groups; o = groups; }          // depthwise
            case 2 -> { groups = 2 + r.nextInt(2); c = groups * (1 + r.nextInt(3)); o = groups * (1 + r.nextInt(3)); }
            default -> { groups = 1; c = 1 + r.nextInt(5); o = 1 + r.nextInt(5); }
        }
        int kh = 1 + r.nextInt(4), kw = r.nextInt(3) == 0 ? kh : 1 + r.nextInt(4);
        int sh = r.nextInt(4) == 0 ? 3 + r.nextInt(3) : 1 + r.nextInt(2);           // sometimes above the kernel
        int sw = r.nextInt(3) == 0 ? sh : 1 + r.nextInt(3);
        int dh = r.nextInt(4) == 0 ? 2 + r.nextInt(2) : 1, dw = r.nextInt(4) == 0 ? 2 : 1;
        int h = 1 + r.nextInt(11), w = 1 + r.nextInt(11);
        int[] pad = new int[4];
        switch (r.nextInt(4)) {
            case 0 -> { }                                                            // none
            case 1 -> pad[r.nextInt(4)] = 1 + r.nextInt(3);                          // one side only
            case 2 -> { int p = r.nextInt(3); pad = new int[] {p, p, p, p}; }        // symmetric
            default -> { for (int i = 0; i < 4; i++) pad[i] = r.nextInt(r.nextInt(6) == 0 ? 6 : 3); }
        }
        return new ConvCase(n, c, h, w, o, kh, kw, sh, sw, pad[0], pad[1], pad[2], pad[3], dh, dw, groups,
                r.nextBoolean());
    }

    Conv2d conv() { return new Conv2d(sh, sw, pt, pl, pb, pr, dh, dw, groups); }

    Shape x() { return Shape.of(n, c, h, w); }

    Shape weight() { return Shape.of(o, c / groups, kh, kw); }

    /** y's shape by Stride's rule; throws ShapeException when the window does not fit. */
    Shape output() { return conv().inferShapes(List.of(x(), weight())).getFirst(); }

    /**
     * The transposed convolution whose adjoint is this convolution, with an output padding below the stride or
     * the dilation (drawn from the seed), so that its output is x's shape again (plus the output padding).
     */
    ConvTranspose2d transposed(int outputPaddingH, int outputPaddingW) {
        return new ConvTranspose2d(sh, sw, pt, pl, pb, pr, outputPaddingH, outputPaddingW, dh, dw, groups);
    }

    @Override public String toString() {
        return "x[" + n + "," + c + "," + h + "," + w + "] w[" + o + "," + c / groups + "," + kh + "," + kw + "] s" + sh
                + "," + sw + " pad " + pt + "," + pl + "," + pb + "," + pr + " d" + dh + "," + dw + " g" + groups
                + (bias ? " +bias" : "");
    }
}
