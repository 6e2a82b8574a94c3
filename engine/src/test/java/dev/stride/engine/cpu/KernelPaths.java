package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.engine.Tensor;
import dev.stride.engine.reference.ReferenceBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs a float32 graph of graph inputs only on cpu kernels registered on their SIMD or scalar path, at a chosen
 * thread count, so that one JVM checks the scalar paths ({@code stride.cpu.simd=false} semantics) and that the
 * result does not depend on the number of threads. {@link CrossBackend} checks the default path against the
 * reference; this class compares the other paths with it. (Other vector widths need their own JVM: the species is
 * a static final, see {@code PoolKernels.S}; run the suite with {@code -Dstride.cpu.vectorBits=128}.)
 */
final class KernelPaths {
    private KernelPaths() {}

    /** A way of running the kernels: SIMD or scalar, and threads. */
    record Path(String name, boolean simd, int threads) {
        static Path simd(int threads) { return new Path("simd" + threads, VectorConfig.SIMD, threads); }

        static Path scalar() { return new Path("scalar", false, 1); }
    }

    /** A registration of one kernel family with a SIMD switch. */
    @FunctionalInterface
    interface Family {
        void register(CpuKernelRegistry r, boolean simd);
    }

    /** Random U(-1, 1) inputs in float32, or {@code fixed} ones where given (by input index). */
    static Map<String, Tensor> inputs(List<Shape> shapes, long seed, Map<Integer, Tensor> fixed) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < shapes.size(); i++) {
            Tensor t = fixed.get(i);
            if (t == null) {
                t = Tensor.zeros(DType.F32, shapes.get(i));
                for (long k = 0; k < t.size(); k++) t.set(k, r.nextFloat() * 2 - 1);
            }
            m.put("x" + i, t.as(DType.F32));
        }
        return m;
    }

    /** The outputs of {@code f} on {@code feeds}, run through {@code families} registered as {@code path} says. */
    static Map<String, Tensor> run(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                                   Map<String, Tensor> feeds, Path path, List<Class<?>> mustRunOnCpu,
                                   Family... families) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        List<Value> xs = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, xs);
        for (int k = 0; k < outs.size(); k++) b.output("out" + k, outs.get(k));
        Graph g = b.build();
        CpuKernelRegistry registry = new CpuKernelRegistry();
        for (Family fam : families) fam.register(registry, path.simd());
        Plan plan = Compiler.compile(g, new Compiler.Target(CpuBackend.NAME, Map.of(), new CpuAlgorithms(registry, false)));
        Set<Thread> workersBefore = workers();
        try (CpuProgram p = new CpuProgram(plan, registry, ReferenceBackend.kernels(), path.threads())) {
            for (var n : plan.scheduledNodes())
                if (mustRunOnCpu.contains(n.op().getClass()) && p.algorithm(n.id()).equals(CpuAlgorithms.REFERENCE))
                    fail("node '" + n.name() + "' (" + n.op().kind() + ") has no cpu kernel on path " + path.name());
            for (Value v : g.inputs()) p.write(v, feeds.get(v.name()));
            p.run(new RunContext(0));
            // A runtime's pool starts a worker thread when work is first handed to it: a new one means a split.
            if (path.threads() > 1 && workersBefore.containsAll(workers()))
                fail("the run on " + path.threads() + " threads was not split over them (no worker started):"
                        + " the shapes are too small for the thread-count check to mean anything");
            Map<String, Tensor> out = new LinkedHashMap<>();
            g.outputs().forEach((name, v) -> out.put(name, p.read(v)));
            return out;
        }
    }

    /** The live worker threads of cpu runtimes (tests run one at a time, so new ones belong to the run at hand). */
    private static Set<Thread> workers() {
        Set<Thread> w = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) if (t.getName().equals("stride-cpu-worker")) w.add(t);
        return w;
    }

    /** Fails unless every output is bit for bit the same. */
    static void assertBitIdentical(Map<String, Tensor> want, Map<String, Tensor> got, String what) {
        assertEquals(want.keySet(), got.keySet());
        for (String name : want.keySet()) {
            float[] a = want.get(name).toFloatArray(), b = got.get(name).toFloatArray();
            assertEquals(a.length, b.length);
            for (int i = 0; i < a.length; i++)
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]))
                    fail(what + ": output '" + name + "' differs at flat index " + i + ": " + a[i] + " vs " + b[i]);
        }
    }

    /** Fails unless every output agrees within tolerance {@code key} (the first map is the one trusted). */
    static void assertClose(Map<String, Tensor> want, Map<String, Tensor> got, String key, String what) {
        Tolerances.Tol tol = Tolerances.of(key);
        for (String name : want.keySet()) {
            Tensor w = want.get(name), g = got.get(name);
            for (long i = 0; i < w.size(); i++) {
                double err = Math.abs(w.get(i) - g.get(i)), allowed = tol.atol() + tol.rtol() * Math.abs(w.get(i));
                if (!(err <= allowed))
                    fail(what + ": output '" + name + "' at flat index " + i + ": " + g.get(i) + " vs " + w.get(i)
                            + ", |err| " + err + " > " + allowed + " (tolerance '" + key + "')");
            }
        }
    }

    /**
     * Runs {@code f} on the default path with 1 and 2 threads (must be bit-identical, and the 2-thread run must
     * actually have been split) and on the scalar path (must agree within {@code tolKey}). {@code check} may inspect the default result.
     */
    static void checkPaths(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                           Map<Integer, Tensor> fixed, String tolKey, List<Class<?>> mustRunOnCpu,
                           Consumer<Map<String, Tensor>> check, Family... families) {
        Map<String, Tensor> feeds = inputs(shapes, seed, fixed);
        Map<String, Tensor> one = run(shapes, f, feeds, Path.simd(1), mustRunOnCpu, families);
        check.accept(one);
        assertBitIdentical(one, run(shapes, f, feeds, Path.simd(2), mustRunOnCpu, families), "threads 1 vs 2");
        assertClose(one, run(shapes, f, feeds, Path.scalar(), mustRunOnCpu, families), tolKey, "simd vs scalar");
    }

    /** Fails when {@code t} holds only zeros: a large-case comparison of all-zero outputs would prove nothing. */
    static void assertNotAllZero(Tensor t, String what) {
        double max = 0;
        for (long i = 0; i < t.size(); i++) max = Math.max(max, Math.abs(t.get(i)));
        assertNotEquals(0.0, max, what + " is all zeros");
    }
}
