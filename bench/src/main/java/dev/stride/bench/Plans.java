package dev.stride.bench;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.engine.cuda.CudaBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;

import java.util.SplittableRandom;

/** What the benchmarks share: targets, sessions, random inputs. */
final class Plans {
    private Plans() {}

    /**
     * The compile target of a backend by name: the cpu backend's heuristic target, the cuda backend's (cuDNN's
     * heuristics choose its convolutions' engines when the session loads), or the reference one.
     */
    static Compiler.Target target(String backend) {
        return switch (backend) {
            case CpuBackend.NAME -> new CpuBackend().target();
            case CudaBackend.NAME -> new CudaBackend().target();
            case "reference" -> Compiler.Target.reference();
            default -> throw new IllegalArgumentException("backend must be cpu, cuda or reference, got '" + backend + "'");
        };
    }

    static Session open(Plan plan, String backend, int threads) {
        return Session.open(plan, backend, SessionOptions.defaults().withSeed(42).withThreads(threads));
    }

    /** Uniform in [lo, hi), from a fixed seed. */
    static Tensor uniform(Shape shape, double lo, double hi, long seed) {
        float[] v = new float[Math.toIntExact(shape.size())];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        return Tensor.of(shape, v);
    }

    /** Class indices in [0, classes) as floats, the labels input of a classifier's training plan. */
    static Tensor labels(int n, int classes, long seed) {
        float[] v = new float[n];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) v[i] = rnd.nextInt(classes);
        return Tensor.of(Shape.of(n), v);
    }

    /** Standard normal samples, from a fixed seed. */
    static Tensor gaussian(Shape shape, long seed) {
        float[] v = new float[Math.toIntExact(shape.size())];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i += 2) {           // Box-Muller, two at a time
            double u = 1 - rnd.nextDouble(), t = 2 * Math.PI * rnd.nextDouble(), r = Math.sqrt(-2 * Math.log(u));
            v[i] = (float) (r * Math.cos(t));
            if (i + 1 < v.length) v[i + 1] = (float) (r * Math.sin(t));
        }
        return Tensor.of(shape, v);
    }
}
