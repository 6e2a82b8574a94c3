package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.reference.ReferenceBackend;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.SumTo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What {@link CrossBackend} cannot do, for the elementwise and training kernel tests: run one graph on the cpu
 * backend with other thread counts and compare bits, on a program whose elementwise and training kernels are
 * made with another {@link ElementwiseKernels.Tuning}: the scalar path ({@code stride.cpu.simd=false}) in this
 * same JVM, or work estimates scaled up so that small tensors are split among threads.
 * Graphs are built as CrossBackend builds them: inputs x0.., outputs out0.., and with gradients, weights r0.. and
 * outputs grad_x&lt;i&gt; of L = sum_k sum(out_k * r_k).
 */
final class KernelRuns {
    private KernelRuns() {}

    static final int STEP = 3;

    static Graph graph(DType dtype, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                       int... gradInputs) {
        GraphBuilder b = new GraphBuilder(dtype, gradInputs.length > 0, 17);
        List<Value> xs = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, xs);
        for (int k = 0; k < outs.size(); k++) b.output("out" + k, outs.get(k));
        if (gradInputs.length > 0) {
            Value loss = null;
            for (int k = 0; k < outs.size(); k++) {
                Value rk = b.input("r" + k, outs.get(k).shape());
                Value term = b.apply("weighted", new SumTo(new int[0]),
                        b.apply("mul", new Binary(Binary.Kind.MUL), outs.get(k), rk));
                loss = loss == null ? term : b.apply("add", new Binary(Binary.Kind.ADD), loss, term);
            }
            List<Value> wrt = new ArrayList<>();
            for (int i : gradInputs) wrt.add(xs.get(i));
            for (var e : Autodiff.gradients(b, loss, wrt).entrySet()) b.output("grad_" + e.getKey().name(), e.getValue());
        }
        return b.build();
    }

    /** Float32-rounded uniform [-1, 1) values (as float64 tensors) for every input of {@code g} not in {@code fixed}. */
    static Map<String, Tensor> feeds(Graph g, long seed, Map<String, Tensor> fixed) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Value v : g.values()) {
            if (v.kind() != Value.Kind.INPUT) continue;
            Tensor t = fixed.get(v.name());
            if (t == null) {
                t = Tensor.zeros(DType.F64, v.shape());
                for (long i = 0; i < t.size(); i++) t.set(i, (float) (r.nextDouble() * 2 - 1));
            }
            m.put(v.name(), t.as(DType.F64));
        }
        return m;
    }

    static Map<String, Tensor> session(Graph g, String backend, int threads, Map<String, Tensor> feeds) {
        Plan plan = backend.equals("cpu") ? Compiler.compile(g, new CpuBackend().target()) : Compiler.compile(g);
        try (Session s = Session.open(plan, backend, SessionOptions.defaults().withThreads(threads))) {
            s.setStep(STEP);
            Map<String, Tensor> in = new LinkedHashMap<>();
            feeds.forEach((k, v) -> in.put(k, v.as(g.dtype())));
            return s.run(in);
        }
    }

    /** Splits every loop of more than one block or chunk among the threads. */
    static final ElementwiseKernels.Tuning SPLIT = new ElementwiseKernels.Tuning(true, 1 << 14);
    static final ElementwiseKernels.Tuning SCALAR = new ElementwiseKernels.Tuning(false, 1);

    /**
     * Runs float32 graph {@code g} on a cpu program whose elementwise and training kernels are made with
     * {@code tuning}; every other op runs its reference kernel. Fails if a node ran on the fallback although this
     * configuration has a kernel for it.
     */
    static Map<String, Tensor> program(Graph g, ElementwiseKernels.Tuning tuning, int threads,
                                       Map<String, Tensor> feeds) {
        CpuKernelRegistry registry = new CpuKernelRegistry();
        ElementwiseKernels.register(registry, tuning);
        TrainKernels.register(registry, tuning);
        Plan plan = Compiler.compile(g, new CpuBackend().target());
        try (CpuProgram p = new CpuProgram(plan, registry, ReferenceBackend.kernels(), threads)) {
            for (var n : plan.scheduledNodes())
                if (registry.supports(n.op().getClass()) && p.algorithm(n.id()).equals(CpuAlgorithms.REFERENCE))
                    fail("node '" + n.name() + "' ran on the reference fallback");
            for (Value v : g.values())
                if (v.kind() == Value.Kind.INPUT) p.write(v, feeds.get(v.name()).as(DType.F32));
            p.run(new RunContext(STEP));
            Map<String, Tensor> out = new LinkedHashMap<>();
            g.outputs().forEach((name, v) -> out.put(name, p.read(v)));
            return out;
        }
    }

    /** Every output within {@code tolerance} of {@code want}, as {@link CrossBackend} measures it. */
    static void assertClose(Map<String, Tensor> got, Map<String, Tensor> want, String tolerance, String what) {
        Tolerances.Tol tol = Tolerances.of(tolerance);
        assertEquals(want.keySet(), got.keySet(), what);
        for (String name : want.keySet()) {
            Tensor g = got.get(name), w = want.get(name);
            for (long i = 0; i < w.size(); i++) {
                if (Double.isNaN(w.get(i)) && Double.isNaN(g.get(i))) continue;      // as CrossBackend: NaN agrees
                if (Double.isInfinite(w.get(i)) && g.get(i) == w.get(i)) continue;
                double err = Math.abs(g.get(i) - w.get(i)), allowed = tol.atol() + tol.rtol() * Math.abs(w.get(i));
                if (!(err <= allowed))
                    fail(what + ": output '" + name + "' " + w.shape() + " at " + i + ": got " + g.get(i) + ", want "
                            + w.get(i) + ", |err| " + err + " > " + allowed + " (" + tolerance + ")");
            }
        }
    }

    /** Every output of {@code got} has exactly the float bits of {@code want}. */
    static void assertBitEqual(Map<String, Tensor> got, Map<String, Tensor> want, String what) {
        assertEquals(want.keySet(), got.keySet(), what);
        for (String name : want.keySet()) {
            float[] g = got.get(name).as(DType.F32).toFloatArray(), w = want.get(name).as(DType.F32).toFloatArray();
            for (int i = 0; i < w.length; i++)
                if (Float.floatToRawIntBits(g[i]) != Float.floatToRawIntBits(w[i]))
                    fail(what + ": output '" + name + "' at " + i + ": " + g[i] + " vs " + w[i] + " (bits differ)");
        }
    }
}
