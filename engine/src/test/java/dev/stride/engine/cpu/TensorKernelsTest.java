package dev.stride.engine.cpu;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.LogSoftmaxBackward;
import dev.stride.graph.op.MatMul;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.SoftmaxBackward;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The cpu data-movement, reduction, GEMM and softmax kernels against the float64 reference ({@link CrossBackend}:
 * forward and the gradient of every differentiable input, which runs the gradient ops' cpu kernels, at 1 and 2
 * threads), and their other paths ({@link KernelPaths}: scalar, and 2 threads bit-identical to 1 on shapes large
 * enough to be split).
 */
class TensorKernelsTest {
    private static final KernelPaths.Family TENSOR = TensorKernels::register;

    private static CrossBackend.Options opts(String tol, int threads, Class<?>... ops) {
        return CrossBackend.Options.forward(tol, ops).withThreads(threads);
    }

    /** A shape of {@code rank} dimensions drawn from [1, max], from {@code seed}. */
    private static Shape shape(int rank, int max, long seed) {
        Random r = new Random(seed);
        return Shape.of(IntStream.range(0, rank).map(i -> 1 + r.nextInt(max)).toArray());
    }

    // ---------------------------------------------------------------------------------------------- data movement

    @Property(tries = 40)
    void reshapeMatchesTheReference(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed,
                                    @ForAll @IntRange(min = 1, max = 2) int threads) {
        Shape s = shape(rank, 9, seed);
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.reshape(x.getFirst(), -1)), seed,
                opts("elementwise", threads, Reshape.class).withGradients(0));
    }

    @Property(tries = 60)
    void padMatchesTheReference(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed,
                                @ForAll @IntRange(min = 1, max = 2) int threads) {
        Shape s = shape(rank, 7, seed);
        Random r = new Random(seed + 1);
        int[] before = new int[rank], after = new int[rank];
        for (int i = 0; i < rank; i++) {
            // Often no padding on an axis, so that the kernel's "last padded axis" moves around.
            before[i] = r.nextInt(3) == 0 ? r.nextInt(3) : 0;
            after[i] = r.nextInt(3) == 0 ? r.nextInt(20) : 0;
        }
        double value = r.nextBoolean() ? 0 : r.nextDouble() * 4 - 2;
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.pad(x.getFirst(), before, after, value)), seed,
                opts("elementwise", threads, Pad.class, Slice.class).withGradients(0));
    }

    @Property(tries = 60)
    void sliceMatchesTheReference(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed,
                                  @ForAll @IntRange(min = 1, max = 2) int threads) {
        Shape s = shape(rank, 30, seed);
        Random r = new Random(seed + 2);
        int[] starts = new int[rank], ends = new int[rank];
        for (int i = 0; i < rank; i++) {
            boolean whole = r.nextBoolean();
            starts[i] = whole ? 0 : r.nextInt(s.dim(i));
            ends[i] = whole ? s.dim(i) : starts[i] + 1 + r.nextInt(s.dim(i) - starts[i]);
        }
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("slice", new Slice(starts, ends), x.getFirst())), seed,
                opts("elementwise", threads, Slice.class, Pad.class).withGradients(0));
    }

    @Property(tries = 50)
    void concatMatchesTheReference(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll @IntRange(min = 1, max = 3) int inputs,
                                   @ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int threads) {
        Shape s = shape(rank, 9, seed);
        Random r = new Random(seed + 3);
        int axis = r.nextInt(rank);
        List<Shape> shapes = new ArrayList<>();
        for (int k = 0; k < inputs; k++) shapes.add(s.with(axis, 1 + r.nextInt(20)));
        Integer[] all = IntStream.range(0, inputs).boxed().toArray(Integer[]::new);
        CrossBackend.check(shapes, (b, x) -> List.of(b.concat(axis, x.toArray(Value[]::new))), seed,
                opts("elementwise", threads, Concat.class).withGradients(all));
    }

    // ---------------------------------------------------------------------------------------------- reductions

    @Property(tries = 80)
    void reductionsMatchTheReference(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed,
                                     @ForAll boolean mean, @ForAll boolean keepDims,
                                     @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = Shape.of(IntStream.range(0, rank).map(i -> r.nextInt(4) == 0 ? 1 : 1 + r.nextInt(r.nextBoolean() ? 9 : 300 / rank)).toArray());
        int[] axes = IntStream.range(0, rank).filter(i -> r.nextBoolean()).map(i -> r.nextBoolean() ? i : i - rank).toArray();
        CrossBackend.check(List.of(s), (b, x) -> List.of(mean ? b.reduceMean(x.getFirst(), keepDims, axes)
                        : b.apply("sum", new ReduceSum(axes, keepDims), x.getFirst())), seed,
                opts("reduction.long", threads, mean ? ReduceMean.class : ReduceSum.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- products

    @Property(tries = 50)
    void matMulMatchesTheReference(@ForAll @IntRange(min = 1, max = 3) int batch, @ForAll boolean batched,
                                   @ForAll @IntRange(min = 1, max = 40) int m, @ForAll @IntRange(min = 1, max = 70) int k,
                                   @ForAll @IntRange(min = 1, max = 40) int n, @ForAll boolean transA, @ForAll boolean transB,
                                   @ForAll @IntRange(min = 1, max = 2) int threads) {
        Shape a = transA ? Shape.of(k, m) : Shape.of(m, k), b = transB ? Shape.of(n, k) : Shape.of(k, n);
        if (batched) {
            a = Shape.of(batch, a.dim(0), a.dim(1));
            b = Shape.of(batch, b.dim(0), b.dim(1));
        }
        CrossBackend.check(List.of(a, b), (g, x) -> List.of(g.matmul(x.get(0), x.get(1), transA, transB)), m * 131L + n,
                opts("gemm", threads, MatMul.class).withGradients(0, 1));
    }

    @Property(tries = 40)
    void denseMatchesTheReference(@ForAll @IntRange(min = 1, max = 20) int rows, @ForAll @IntRange(min = 1, max = 70) int k,
                                  @ForAll @IntRange(min = 1, max = 40) int m, @ForAll boolean bias,
                                  @ForAll @IntRange(min = 1, max = 2) int threads) {
        List<Shape> shapes = bias ? List.of(Shape.of(rows, k), Shape.of(m, k), Shape.of(m)) : List.of(Shape.of(rows, k), Shape.of(m, k));
        Integer[] all = IntStream.range(0, shapes.size()).boxed().toArray(Integer[]::new);
        CrossBackend.check(shapes, (g, x) -> List.of(g.dense(x.get(0), x.get(1), bias ? x.get(2) : null)), rows * 7L + k,
                opts("gemm", threads, Dense.class, MatMul.class).withGradients(all));
    }

    /**
     * A dense layer whose weight is a parameter: packed once, reused while unchanged, re-packed after a write, and
     * not packed ahead while it changes on every run; every run must match the reference with the same weights.
     */
    @Test
    void denseFollowsWeightWrites() {
        int rows = 5, k = 37, m = 19;
        Plan cpuPlan = Compiler.compile(denseGraph(DType.F32, rows, k, m), new CpuBackend().target());
        Plan refPlan = Compiler.compile(denseGraph(DType.F64, rows, k, m));
        for (int threads = 1; threads <= 2; threads++) {
            try (Session cpu = Session.open(cpuPlan, "cpu", SessionOptions.defaults().withThreads(threads));
                 Session ref = Session.open(refPlan, "reference", SessionOptions.defaults())) {
                ref.copyPersistentFrom(cpu);
                Random r = new Random(9);
                Tensor x = random(Shape.of(rows, k), r);
                Tensor previous = null;
                // Runs 1-2 unchanged, then one write, then writes before each of three runs in a row.
                boolean[] writeBefore = {false, false, true, false, true, true, true, false};
                for (boolean write : writeBefore) {
                    if (write) {
                        Tensor w = random(Shape.of(m, k), r);
                        cpu.set("d/weight", w);
                        ref.set("d/weight", w.as(DType.F64));
                    }
                    Tensor got = cpu.run(Map.of("x", x)).get("y"), want = ref.run(Map.of("x", x.as(DType.F64))).get("y");
                    KernelPaths.assertClose(Map.of("y", want), Map.of("y", got), "gemm", "dense after writes " + threads);
                    if (previous != null) assertEquals(!write, sameBits(previous, got), "output changed exactly when the weight did");
                    previous = got;
                }
                assertNotEquals(CpuAlgorithms.REFERENCE, cpu.algorithm(cpuPlan.graph().nodes().getFirst().id()));
            }
        }
    }

    private static dev.stride.graph.Graph denseGraph(DType dt, int rows, int k, int m) {
        GraphBuilder b = new GraphBuilder(dt, false, 4);
        b.output("y", b.dense("d", b.input("x", rows, k), m));
        return b.build();
    }

    private static Tensor random(Shape s, Random r) {
        Tensor t = Tensor.zeros(DType.F32, s);
        for (long i = 0; i < t.size(); i++) t.set(i, r.nextFloat() * 2 - 1);
        return t;
    }

    private static boolean sameBits(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        for (int i = 0; i < x.length; i++) if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) return false;
        return true;
    }

    // ---------------------------------------------------------------------------------------------- softmax

    @Property(tries = 60)
    void softmaxMatchesTheReference(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed, @ForAll boolean log,
                                    @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = Shape.of(IntStream.range(0, rank).map(i -> 1 + r.nextInt(r.nextBoolean() ? 6 : 40)).toArray());
        int axis = r.nextInt(rank) - (r.nextBoolean() ? rank : 0);
        // Inputs in [-8, 8]: the maximum must be subtracted, and exp is taken over a wide range.
        Tensor x = Tensor.zeros(DType.F32, s);
        for (long i = 0; i < x.size(); i++) x.set(i, r.nextFloat() * 16 - 8);
        CrossBackend.check(List.of(s), (b, v) -> List.of(log ? b.logSoftmax(v.getFirst(), axis) : b.softmax(v.getFirst(), axis)),
                seed, opts("softmax", threads, log ? LogSoftmax.class : Softmax.class,
                        log ? LogSoftmaxBackward.class : SoftmaxBackward.class).withGradients(0).withInput(0, x));
    }

    // ---------------------------------------------------------------------------------------------- other paths

    /**
     * One op on shapes large enough to be split over two threads (checked): bit-identical to one thread, and the
     * scalar path agrees with the default.
     */
    private static void paths(String tol, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, Value> f, Class<?> op) {
        KernelPaths.checkPaths(shapes, (b, v) -> List.of(f.apply(b, v)), 4, Map.of(), tol, List.of(op),
                out -> out.values().forEach(t -> KernelPaths.assertNotAllZero(t, "output")), TENSOR);
    }

    @Test
    void dataMovementPathsAgreeAndThreadsDoNotChangeBits() {
        List<Shape> x = List.of(Shape.of(4, 16, 93, 97));
        paths("elementwise", x, (b, v) -> b.reshape(v.get(0), 64, -1), Reshape.class);
        paths("elementwise", x, (b, v) -> b.pad(v.get(0), new int[] {0, 1, 2, 0}, new int[] {1, 0, 3, 5}, -0.5), Pad.class);
        paths("elementwise", x, (b, v) -> b.apply("slice", new Slice(new int[] {1, 2, 3, 0}, new int[] {4, 15, 92, 97}),
                v.get(0)), Slice.class);
        paths("elementwise", List.of(x.getFirst(), Shape.of(4, 12, 93, 97)), (b, v) -> b.concat(1, v.get(0), v.get(1)),
                Concat.class);
    }

    @Test
    void reductionAndSoftmaxPathsAgreeAndThreadsDoNotChangeBits() {
        List<Shape> x = List.of(Shape.of(4, 16, 93, 97));
        paths("reduction", x, (b, v) -> b.reduceSum(v.get(0), false, 0, 2), ReduceSum.class);
        paths("reduction", x, (b, v) -> b.reduceMean(v.get(0), true, 1, 3), ReduceMean.class);
        paths("softmax", x, (b, v) -> b.softmax(v.get(0), 1), Softmax.class);
        paths("softmax", x, (b, v) -> b.logSoftmax(v.get(0), -1), LogSoftmax.class);
        paths("softmax", List.of(x.getFirst(), x.getFirst()), (b, v) -> b.apply("sm_grad", new SoftmaxBackward(1), v.get(0), v.get(1)),
                SoftmaxBackward.class);
        paths("softmax", List.of(x.getFirst(), x.getFirst()), (b, v) -> b.apply("lsm_grad", new LogSoftmaxBackward(-1), v.get(0),
                v.get(1)), LogSoftmaxBackward.class);
    }

    @Test
    void productPathsAgreeAndThreadsDoNotChangeBits() {
        paths("gemm", List.of(Shape.of(256, 640), Shape.of(192, 640)), (b, v) -> b.matmul(v.get(0), v.get(1), false, true),
                MatMul.class);
        // A batch of small products: split by product, each on one worker's GEMM.
        paths("gemm", List.of(Shape.of(128, 48, 40)), (b, v) -> b.matmul(v.get(0), v.get(0), true, false), MatMul.class);
        paths("gemm", List.of(Shape.of(192, 640), Shape.of(256, 640), Shape.of(256)), (b, v) -> b.dense(v.get(0), v.get(1),
                v.get(2)), Dense.class);
    }
}
