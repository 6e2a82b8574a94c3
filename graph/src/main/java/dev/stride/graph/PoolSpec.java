package dev.stride.graph;

/**
 * Options of a 2-D pooling layer, immutable, built fluently:
 * {@code PoolSpec.of(3).stride(2).pad(1).ceilMode(true)}. Defaults follow PyTorch: stride = kernel, no
 * padding, dilation 1, floor mode, {@code countIncludePad = true}. Nothing is validated here; the pooling op
 * checks the numbers against the input shape when the layer is added, and says which rule failed.
 *
 * @param dilationH       max pool only
 * @param countIncludePad average pool only: whether padded cells count in the divisor
 */
public record PoolSpec(int kH, int kW, int strideH, int strideW,
                       int padTop, int padLeft, int padBottom, int padRight,
                       int dilationH, int dilationW, boolean ceilMode, boolean countIncludePad) {

    /** A square {@code kernel x kernel} window, stride = kernel. */
    public static PoolSpec of(int kernel) { return of(kernel, kernel); }

    /** A {@code kH x kW} window, stride = kernel. */
    public static PoolSpec of(int kH, int kW) {
        return new PoolSpec(kH, kW, kH, kW, 0, 0, 0, 0, 1, 1, false, true);
    }

    public PoolSpec stride(int s) { return stride(s, s); }

    public PoolSpec stride(int sH, int sW) {
        return new PoolSpec(kH, kW, sH, sW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, ceilMode,
                countIncludePad);
    }

    /** The same padding on all four sides. */
    public PoolSpec pad(int p) { return pad(p, p, p, p); }

    public PoolSpec pad(int top, int left, int bottom, int right) {
        return new PoolSpec(kH, kW, strideH, strideW, top, left, bottom, right, dilationH, dilationW, ceilMode,
                countIncludePad);
    }

    public PoolSpec dilation(int d) { return dilation(d, d); }

    public PoolSpec dilation(int dH, int dW) {
        return new PoolSpec(kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, dH, dW, ceilMode,
                countIncludePad);
    }

    public PoolSpec ceilMode(boolean on) {
        return new PoolSpec(kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, on,
                countIncludePad);
    }

    public PoolSpec countIncludePad(boolean on) {
        return new PoolSpec(kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW,
                ceilMode, on);
    }
}
