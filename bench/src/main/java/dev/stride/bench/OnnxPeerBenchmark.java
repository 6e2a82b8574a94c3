package dev.stride.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.onnx.ImportedModel;
import dev.stride.onnx.OnnxImporter;
import dev.stride.onnx.OnnxTensors;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The same ONNX model, on the same input, run by ONNX Runtime (its Java API, CPU execution provider, default graph
 * optimisations) and by Stride (imported with {@code OnnxImporter}, compiled for the cpu target, a session on the cpu
 * backend), in one JMH run: {@link #ort} and {@link #stride} for each {@code model} and {@code threads}
 * (ORT: {@code SessionOptions.setIntraOpNumThreads}, inter-op 1; Stride: {@code SessionOptions.withThreads}).
 *
 * <p>Models, from the conformance data ({@code data}, default {@code ../shared/conformance} from the working
 * directory): the two pretrained PaddleOCR networks at their data set 0 input (the text-direction classifier on a
 * 1x3x48x192 ramp, the PP-OCRv4 detector on a 1x3x192x384 scanned page) and ONNX's light ResNet-50 (every weight
 * 0.02) on its generated 1x3x224x224 input.
 *
 * <p>Setup runs both once and compares their first outputs element by element: it prints the largest absolute
 * difference and fails the trial when an element is further apart than the conformance tolerance of that model
 * (|stride - ort| <= atol + rtol * |ort|, the table of the onnx module's conformance {@code Tolerance}), so a speed
 * is never reported for a wrong answer. A call copies the input in and the output out on both sides. {@code flop}
 * counts Stride's {@code Plan.flops()} for both (the same network).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx4g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class OnnxPeerBenchmark {
    @Param({"paddleocr_cls_mobile_v2.0", "paddleocr_det_ppocrv4", "light_resnet50"})
    public String model;

    @Param({"1", "2"})
    public int threads;

    /** The conformance data folder (pretrained/ and onnx-light/ under it). */
    @Param({"../shared/conformance"})
    public String data;

    private OrtEnvironment env;
    private OrtSession ort;
    private Map<String, OnnxTensor> ortFeed;
    private Session stride;
    private Map<String, Tensor> strideFeed;
    private String strideOutput;
    private long flops;

    /** The model file and its input tensor. */
    record Case(byte[] model, Tensor input, double rtol, double atol) {}

    static Case load(Path root, String model) throws IOException {
        if (model.startsWith("light_")) {
            byte[] bytes = Files.readAllBytes(root.resolve("onnx-light").resolve(model + ".onnx"));
            // ONNX's input for the light models: float32 arange(n).reshape(1, 3, 224, 224) / n.
            int n = 3 * 224 * 224;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) i / n;
            return new Case(bytes, Tensor.of(Shape.of(1, 3, 224, 224), v), 1e-3, 1e-7);
        }
        Path dir = root.resolve("pretrained").resolve(model);
        byte[] bytes = Files.readAllBytes(dir.resolve("model.onnx"));
        Tensor input = OnnxTensors.read(dir.resolve("test_data_set_0").resolve("input_0.pb"));
        // The data's README: ONNX Runtime itself moves by 1.7e-5 (detector) and 1.1e-6 (classifier) between its
        // optimisation levels; the conformance tolerances are atol 1e-4 and 1e-5 with rtol 1e-3.
        return new Case(bytes, input, 1e-3, model.contains("det") ? 1e-4 : 1e-5);
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path root = Path.of(System.getProperty("stride.conformance.dir", data));
        if (!Files.isDirectory(root))
            throw new IllegalStateException("conformance data not found at " + root.toAbsolutePath()
                    + ": run from the worktree root with ../shared/conformance beside it, or pass -p data=DIR");
        Case c = load(root, model);
        List<String> feeds = OnnxImporter.feedInputs(c.model());
        if (feeds.size() != 1) throw new IllegalStateException(model + " has inputs " + feeds + ", expected one");
        String input = feeds.getFirst();
        int[] dims = c.input().shape().dims();

        ImportedModel m = OnnxImporter.importModel(c.model(), OnnxImporter.Options.defaults().inputShape(input, dims));
        Plan plan = m.compile(new CpuBackend().target());
        flops = plan.flops();
        stride = Session.open(plan, CpuBackend.NAME, SessionOptions.defaults().withThreads(threads));
        strideFeed = Map.of(input, c.input());
        strideOutput = m.outputNames().getFirst();

        env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            ort = env.createSession(c.model(), o);
        }
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) shape[i] = dims[i];
        ortFeed = Map.of(input, OnnxTensor.createTensor(env, FloatBuffer.wrap(c.input().toFloatArray()), shape));

        float[] want = ortOutput();
        Tensor got = stride.run(strideFeed).get(strideOutput);
        if (got.size() != want.length)
            throw new IllegalStateException(model + ": Stride's output " + got.shape() + " has " + got.size()
                    + " elements, ONNX Runtime's " + want.length);
        double worst = 0;
        long bad = -1;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(got.get(i) - want[i]);
            if (!(d <= c.atol() + c.rtol() * Math.abs(want[i])) && bad < 0) bad = i;
            if (!(d <= worst)) worst = d;   // NaN counts as the worst
        }
        System.out.printf("# %s %s on %d thread(s): %d FLOP per call; Stride vs ONNX Runtime %s: max |diff| %.3g "
                        + "over %d elements (tolerance atol %.0e + rtol %.0e * |ort|)%n", model, c.input().shape(),
                threads, flops, env.getVersion(), worst, want.length, c.atol(), c.rtol());
        System.out.println("# Stride nodes on the cpu backend's reference fallback: " + fallback(plan));
        if (bad >= 0)
            throw new IllegalStateException(String.format("%s: Stride and ONNX Runtime disagree at element %d: %s vs "
                    + "%s (|diff| %.3g > atol %.0e + rtol %.0e * |ort|)", model, bad, got.get(bad), want[(int) bad],
                    Math.abs(got.get(bad) - want[(int) bad]), c.atol(), c.rtol()));
    }

    /** Op kinds the cpu backend runs on reference kernels, with their node counts (what makes Stride slow today). */
    private String fallback(Plan plan) {
        Map<String, Integer> kinds = new TreeMap<>();
        int n = 0;
        for (Node node : plan.scheduledNodes())
            if (stride.algorithm(node.id()).equals("reference")) {
                kinds.merge(node.op().kind(), 1, Integer::sum);
                n++;
            }
        return n + " of " + plan.scheduledNodes().size() + (kinds.isEmpty() ? "" : " " + kinds);
    }

    private float[] ortOutput() throws OrtException {
        try (OrtSession.Result r = ort.run(ortFeed)) {
            FloatBuffer b = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] v = new float[b.remaining()];
            b.get(v);
            return v;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        if (stride != null) stride.close();
        if (ortFeed != null) ortFeed.values().forEach(OnnxTensor::close);
        if (ort != null) ort.close();
    }

    /** ONNX Runtime: one run, the output copied out of its native buffer. */
    @Benchmark
    public float ort(FlopCounter counter) throws OrtException {
        counter.flop += flops;
        try (OrtSession.Result r = ort.run(ortFeed)) {
            FloatBuffer b = ((OnnxTensor) r.get(0)).getFloatBuffer();
            return b.get(0);
        }
    }

    /** Stride: one plan run on the cpu backend, the input copied in and the output out. */
    @Benchmark
    public Map<String, Tensor> stride(FlopCounter counter) {
        counter.flop += flops;
        return stride.run(strideFeed);
    }
}
