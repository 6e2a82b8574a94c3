package dev.stride.engine;

import dev.stride.graph.DType;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;

import java.util.SplittableRandom;

/**
 * Fills a tensor from an {@link Init}. The stream is seeded from (session seed, tensor name), so a tensor's
 * initial value does not depend on how many other tensors the graph has or their order.
 */
public final class Initializers {
    private Initializers() {}

    public static Tensor create(Init init, String name, Shape shape, DType dtype, long seed) {
        Tensor t = Tensor.zeros(dtype, shape);
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode() * 0xC2B2AE3D27D4EB4FL);
        long n = t.size();
        switch (init.kind()) {
            case CONSTANT -> { for (long i = 0; i < n; i++) t.set(i, init.value()); }
            case KAIMING_NORMAL -> {
                double a = init.value();
                double std = Math.sqrt(2.0 / (1 + a * a)) / Math.sqrt(Init.fanIn(shape));
                for (long i = 0; i < n; i++) t.set(i, std * gaussian(rnd));
            }
            case XAVIER_UNIFORM -> {
                double bound = init.value() * Math.sqrt(6.0 / (Init.fanIn(shape) + Init.fanOut(shape)));
                for (long i = 0; i < n; i++) t.set(i, rnd.nextDouble(-bound, bound));
            }
            case FAN_IN_UNIFORM -> {
                double bound = 1 / Math.sqrt(Init.fanIn(shape));
                for (long i = 0; i < n; i++) t.set(i, rnd.nextDouble(-bound, bound));
            }
        }
        return t;
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }
}
