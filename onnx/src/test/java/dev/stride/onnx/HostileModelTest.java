package dev.stride.onnx;

import com.sun.management.ThreadMXBean;
import dev.stride.onnx.proto.Onnx.TensorProto;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Truncated and bit-flipped copies of real models: the import either succeeds or throws OnnxImportException, never
 * another exception or an out-of-memory, and allocates no more than a bound proportional to the file's size.
 */
class HostileModelTest {
    private static final List<byte[]> MODELS = load();

    /** A model built here that touches every path (initializers raw and typed, Constant, folding, most ops) and,
     *  when the conformance data is present, light SqueezeNet, light ResNet-50 and the PaddleOCR classifier. */
    private static List<byte[]> load() {
        List<byte[]> models = new ArrayList<>();
        models.add(builtModel());
        Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path p = root; p != null; p = p.getParent()) {
            Path shared = p.resolveSibling("shared").resolve("conformance");
            if (!Files.exists(p.resolve("mvnw")) || !Files.isDirectory(shared)) continue;
            for (String f : new String[] {"onnx-light/light_squeezenet.onnx", "onnx-light/light_resnet50.onnx",
                    "pretrained/paddleocr_cls_mobile_v2.0/model.onnx"}) {
                try {
                    models.add(Files.readAllBytes(shared.resolve(f)));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            break;
        }
        return models;
    }

    static byte[] builtModel() {
        float[] w = new float[4 * 3 * 3 * 3], g = {1, 1.5f, 0.5f, 2}, z = {0, 0.1f, -0.1f, 0}, fc = new float[10 * 16];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(i);
        for (int i = 0; i < fc.length; i++) fc[i] = (float) Math.cos(i);
        TensorProto typed = TensorProto.newBuilder().setName("v").setDataType(Models.FLOAT).addDims(4)
                .addFloatData(1).addFloatData(2).addFloatData(1).addFloatData(0.5f).build();
        return Models.opset(13).input("x", 1, 3, 8, 8)
                .initializer(Models.floats("W", new long[] {4, 3, 3, 3}, w))
                .initializer(Models.floats("g", new long[] {4}, g)).initializer(Models.floats("b", new long[] {4}, z))
                .initializer(Models.floats("m", new long[] {4}, z)).initializer(typed)
                .initializer(Models.floats("fc", new long[] {10, 16}, fc))
                .node("Conv", new String[] {"x", "W"}, new String[] {"c"}, "pads", new long[] {1, 1, 1, 1})
                .node("BatchNormalization", "bn", "c", "g", "b", "m", "v")
                .node("Relu", "r", "bn")
                .node("MaxPool", new String[] {"r"}, new String[] {"p"}, "kernel_shape", new long[] {2, 2},
                        "strides", new long[] {2, 2})
                .node("Constant", new String[] {}, new String[] {"zero"}, "value", Models.longs("zv", new long[0], 0))
                .node("Constant", new String[] {}, new String[] {"axes"}, "value", Models.vector("av", 0))
                .node("Shape", "shape", "p")
                .node("Gather", new String[] {"shape", "zero"}, new String[] {"n"}, "axis", 0L)
                .node("Unsqueeze", "n1", "n", "axes")
                .node("Constant", new String[] {}, new String[] {"m1"}, "value", Models.vector("mv", -1))
                .node("Concat", new String[] {"n1", "m1"}, new String[] {"target"}, "axis", 0L)
                .node("Reshape", "flat", "p", "target")
                .node("AveragePool", new String[] {"p"}, new String[] {"ap"}, "kernel_shape", new long[] {2, 2},
                        "strides", new long[] {2, 2})
                .node("Flatten", "apf", "ap")
                .node("Constant", new String[] {}, new String[] {"fill_shape"}, "value", Models.vector("fs", 1, 10))
                .node("ConstantOfShape", new String[] {"fill_shape"}, new String[] {"bias"}, "value",
                        Models.floats("fv", new long[] {1}, 0.5f))
                .node("Gemm", new String[] {"apf", "fc", "bias"}, new String[] {"logits"}, "transB", 1L)
                .node("Softmax", "y", "logits")
                .node("Add", "y2", "flat", "flat")
                .output("y").output("y2").bytes();
    }

    private static final ThreadMXBean MX = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Imports; anything but success or OnnxImportException fails the property, as does an outsized allocation. */
    private static void importChecked(byte[] bytes, String what) {
        long before = MX.getCurrentThreadAllocatedBytes();
        try {
            OnnxImporter.importModel(bytes, OnnxImporter.Options.defaults().batch(1));
        } catch (OnnxImportException e) {
            assertNotNull(e.getMessage());
        } catch (Throwable t) {
            fail(what + ": " + t, t);
        }
        long allocated = MX.getCurrentThreadAllocatedBytes() - before;
        long bound = (160L << 20) + 40L * bytes.length;   // folding budget 64 MiB + 4x, parsing, the graph
        assertTrue(allocated <= bound, what + ": allocated " + allocated + " bytes for a " + bytes.length
                + "-byte file, bound " + bound);
    }

    @Example
    void theUntouchedModelsImportOrAreRefusedAsUnsupported() {
        for (byte[] m : MODELS) {
            try {
                OnnxImporter.importModel(m, OnnxImporter.Options.defaults().batch(1));
            } catch (OnnxImportException e) {
                assertTrue(e.unsupported(), e.getMessage());   // the OCR classifier needs Clip
            }
        }
    }

    @Property(tries = 150)
    void truncatedModelsFailCleanly(@ForAll @IntRange(min = 0, max = 99) int which,
                                    @ForAll @DoubleRange(min = 0, max = 1, maxIncluded = false) double cut) {
        byte[] m = MODELS.get(which % MODELS.size());
        int n = (int) (cut * m.length);
        importChecked(java.util.Arrays.copyOf(m, n), "model " + which % MODELS.size() + " cut at " + n);
    }

    @Property(tries = 250)
    void bitFlippedModelsFailCleanly(@ForAll @IntRange(min = 0, max = 99) int which, @ForAll long seed,
                                     @ForAll @IntRange(min = 1, max = 4) int flips) {
        byte[] m = MODELS.get(which % MODELS.size()).clone();
        Random r = new Random(seed);
        StringBuilder where = new StringBuilder();
        for (int k = 0; k < flips; k++) {
            int pos = r.nextInt(m.length), bit = r.nextInt(8);
            m[pos] ^= (byte) (1 << bit);
            where.append(' ').append(pos).append('.').append(bit);
        }
        importChecked(m, "model " + which % MODELS.size() + " with bits flipped at" + where);
    }
}
