package dev.stride.graph;

/**
 * How a parameter or state tensor is initialised when a session opens without stored values.
 * Fan-in and fan-out follow PyTorch: for a weight of shape [out, in, kh, kw], fanIn = in*kh*kw, fanOut = out*kh*kw.
 */
public record Init(Kind kind, double value) {
    public enum Kind {
        /** Every element = value. */
        CONSTANT,
        /** N(0, gain^2 * 2/fanIn) with value = negative slope of the following leaky ReLU (0 for ReLU). */
        KAIMING_NORMAL,
        /** U(-a, a), a = sqrt(6 / (fanIn + fanOut)) * value (value = gain). */
        XAVIER_UNIFORM,
        /** U(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default for biases. */
        FAN_IN_UNIFORM
    }

    public static Init constant(double v) { return new Init(Kind.CONSTANT, v); }
    public static Init zeros() { return constant(0); }
    public static Init ones() { return constant(1); }
    public static Init kaimingNormal() { return new Init(Kind.KAIMING_NORMAL, 0); }
    public static Init kaimingNormal(double negativeSlope) { return new Init(Kind.KAIMING_NORMAL, negativeSlope); }
    public static Init xavierUniform() { return new Init(Kind.XAVIER_UNIFORM, 1); }
    public static Init fanInUniform() { return new Init(Kind.FAN_IN_UNIFORM, 0); }

    /** Fan-in of a tensor of this shape: product of every dimension but the first. */
    public static long fanIn(Shape s) {
        if (s.rank() <= 1) return Math.max(1, s.rank() == 0 ? 1 : s.dim(0));
        return s.size() / s.dim(0);
    }

    /** Fan-out: first dimension times the receptive field (dimensions 2..). */
    public static long fanOut(Shape s) {
        if (s.rank() <= 1) return Math.max(1, s.rank() == 0 ? 1 : s.dim(0));
        return s.size() / s.dim(1);
    }
}
