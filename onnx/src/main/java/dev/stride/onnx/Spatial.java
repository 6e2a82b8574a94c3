package dev.stride.onnx;

import java.util.Arrays;

/**
 * The window attributes convolution and pooling share (kernel_shape, strides, dilations, pads, auto_pad), read for
 * {@code n} spatial axes and resolved to explicit begin/end pads.
 */
record Spatial(int n, long[] kernel, long[] strides, long[] dilations, long[] padBegin, long[] padEnd, String autoPad) {

    /**
     * Reads the attributes of a convolution or pooling node over spatial input sizes {@code in}. {@code kernel}:
     * the kernel from the weight (convolution) or null (pooling, where kernel_shape is required).
     * {@code dilations}: whether the op version has the attribute.
     */
    static Spatial read(NodeContext c, long[] in, long[] kernel, boolean dilations) {
        int n = in.length;
        long[] k = c.attrInts("kernel_shape", null);
        if (k == null) {
            if (kernel == null) throw c.invalid("attribute kernel_shape is required");
            k = kernel;
        } else if (kernel != null && !Arrays.equals(k, kernel)) {
            throw c.invalid("kernel_shape %s differs from the weight's spatial dims %s", Arrays.toString(k),
                    Arrays.toString(kernel));
        }
        long[] s = c.attrInts("strides", ones(n));
        long[] d = dilations ? c.attrInts("dilations", ones(n)) : ones(n);
        long[] pads = c.attrInts("pads", null);
        String autoPad = c.attrString("auto_pad", "NOTSET");
        requireLength(c, "kernel_shape", k, n);
        requireLength(c, "strides", s, n);
        requireLength(c, "dilations", d, n);
        for (int i = 0; i < n; i++) {
            if (k[i] < 1) throw c.invalid("kernel_shape %s must be >= 1", Arrays.toString(k));
            if (s[i] < 1) throw c.invalid("strides %s must be >= 1", Arrays.toString(s));
            if (d[i] < 1) throw c.invalid("dilations %s must be >= 1", Arrays.toString(d));
        }
        long[] b = new long[n], e = new long[n];
        switch (autoPad) {
            case "NOTSET", "" -> {
                if (pads != null) {
                    requireLength(c, "pads", pads, 2 * n);
                    for (long p : pads) if (p < 0) throw c.invalid("pads %s must be >= 0", Arrays.toString(pads));
                    b = Arrays.copyOfRange(pads, 0, n);
                    e = Arrays.copyOfRange(pads, n, 2 * n);
                }
            }
            case "VALID" -> { }
            case "SAME_UPPER", "SAME_LOWER" -> {
                // Output ceil(in / stride); the total padding that takes, the odd cell at the end (UPPER) or start.
                for (int i = 0; i < n; i++) {
                    long out = Math.ceilDiv(in[i], s[i]);
                    long total = Math.max(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in[i]);
                    long small = total / 2, big = total - small;
                    b[i] = autoPad.equals("SAME_UPPER") ? small : big;
                    e[i] = autoPad.equals("SAME_UPPER") ? big : small;
                }
            }
            default -> throw c.invalid("auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", autoPad);
        }
        return new Spatial(n, k, s, d, b, e, autoPad);
    }

    static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1);
        return a;
    }

    static void requireLength(NodeContext c, String what, long[] a, int n) {
        if (a.length != n) throw c.invalid("%s %s must have %d entries", what, Arrays.toString(a), n);
    }

    /** Spatial rank 1 becomes 2 by a leading axis of size 1 (kernel 1, stride 1, no padding). */
    int[] k2(NodeContext c) { return two(c, kernel, 1); }

    int[] s2(NodeContext c) { return two(c, strides, 1); }

    int[] d2(NodeContext c) { return two(c, dilations, 1); }

    int[] begin2(NodeContext c) { return two(c, padBegin, 0); }

    int[] end2(NodeContext c) { return two(c, padEnd, 0); }

    private int[] two(NodeContext c, long[] a, long fill) {
        long[] v = n == 1 ? new long[] {fill, a[0]} : a;
        return Lowering.ints(c, v);
    }

    /** Requires one or two spatial axes. */
    static void require2d(NodeContext c, int spatial, String what) {
        if (spatial != 1 && spatial != 2)
            throw c.unsupported("%d-D %s (input rank %d): the IR's %s is 2-D (1-D runs as 2-D with height 1)",
                    spatial, what, spatial + 2, what);
    }
}
