package dev.stride.engine.reference;

import dev.stride.graph.op.Unary;

/**
 * The reference's scalar formulas of the elementwise functions and their derivatives, in double: the oracle's
 * definition, and what fast kernels compute in their scalar tails so that those round exactly as the oracle does.
 */
public final class UnaryFormulas {
    private UnaryFormulas() {}

    public static double unary(Unary.Fn fn, double a, double b, double x) {
        return switch (fn) {
            case RELU -> Math.max(x, 0);
            case LEAKY_RELU -> x > 0 ? x : a * x;
            case ELU -> x > 0 ? x : a * Math.expm1(x);
            case SIGMOID -> sigmoid(x);
            case TANH -> Math.tanh(x);
            case SOFTPLUS -> Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);   // exp never overflows
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case SQUARE -> x * x;
            case ABS -> Math.abs(x);
            case NEG -> -x;
            case SIGN -> Math.signum(x);
            case SELU -> x > 0 ? b * x : b * a * Math.expm1(x);
            case HARD_SIGMOID -> Math.max(0, Math.min(1, a * x + b));
            case HARD_SWISH -> x * Math.max(0, Math.min(1, x / 6 + 0.5));
        };
    }

    /** dy * f'(x), from x or y = f(x), whichever is cheaper or more accurate. */
    public static double unaryGrad(Unary.Fn fn, double a, double b, double x, double y, double dy) {
        return switch (fn) {
            case RELU -> x > 0 ? dy : 0;
            case LEAKY_RELU -> x > 0 ? dy : a * dy;
            case ELU -> x > 0 ? dy : dy * (y + a);          // d/dx a(e^x - 1) = a e^x = y + a
            case SIGMOID -> dy * y * (1 - y);
            case TANH -> dy * (1 - y * y);
            case SOFTPLUS -> dy * sigmoid(x);
            case EXP -> dy * y;
            case LOG -> dy / x;
            case SQRT -> dy / (2 * y);
            case SQUARE -> 2 * x * dy;
            case ABS -> Math.signum(x) * dy;
            case NEG -> -dy;
            case SIGN -> 0;
            case SELU -> x > 0 ? b * dy : dy * (y + b * a);   // d/dx b a (e^x - 1) = b a e^x = y + b a
            case HARD_SIGMOID -> {
                double v = a * x + b;
                yield v > 0 && v < 1 ? a * dy : 0;
            }
            case HARD_SWISH -> x < -3 ? 0 : x <= 3 ? dy * (x / 3 + 0.5) : dy;
        };
    }

    /** 1 / (1 + e^-x), with exp taken of a non-positive number only. */
    /** 1/(1 + exp(-x)), evaluated on the side where exp cannot overflow. */
    public static double sigmoid(double x) {
        if (x >= 0) return 1 / (1 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1 + e);
    }
}
