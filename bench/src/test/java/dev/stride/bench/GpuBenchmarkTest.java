package dev.stride.bench;

import dev.stride.cuda.CudaLibraries;
import dev.stride.engine.cuda.CudaBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.Plan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The GPU benchmark harness without a GPU: its statistics, its file, the side-by-side report, the conv plans. */
class GpuBenchmarkTest {
    @Test
    void percentilesInterpolateAsNumpyDoes() {
        double[] v = {5, 1, 4, 2, 3};
        assertEquals(3, GpuBenchmark.percentile(v, 50));
        assertEquals(1.4, GpuBenchmark.percentile(v, 10), 1e-12);      // numpy.percentile([1..5], 10) = 1.4
        assertEquals(4.6, GpuBenchmark.percentile(v, 90), 1e-12);
        assertEquals(2.0, GpuBenchmark.percentile(new double[] {4, 1, 2, 3}, 100.0 / 3), 1e-12);   // rank 1
        assertEquals(2.5, GpuBenchmark.percentile(new double[] {1, 2, 3, 4}, 50), 1e-12);
    }

    @Test
    void argumentsAndTheirErrors() {
        var s = GpuBenchmark.parse(new String[] {"--batch", "8", "--runs", "5", "--warmup", "0", "--tuned", "--only", "conv"});
        assertEquals(8, s.batch());
        assertEquals(5, s.runs());
        assertTrue(s.tuned());
        var e = assertThrows(IllegalArgumentException.class, () -> GpuBenchmark.parse(new String[] {"--fast"}));
        assertTrue(e.getMessage().startsWith("unknown option '--fast'"), e.getMessage());
    }

    /** Every distinct conv layer of ResNet-50 is a plan the cuda backend has every kernel for. */
    @Test
    void resnet50ConvLayerPlansNeedOnlyCudaKernels() {
        var layers = ConvLayers.distinct("resnet50", 224);
        assertTrue(layers.size() >= 15, layers.size() + " layers");
        for (ConvLayers.Layer l : layers) {
            Plan p = GpuBenchmark.convPlan(l, 2, new CudaBackend().target());
            assertNull(CudaBackend.kernels().missing(p), l.key());
            assertEquals(l.flops(2), p.flops(), l.key());
            Map<String, Object> spec = GpuBenchmark.convSpec(l, 2);
            assertEquals(List.of(2, l.channels(), l.height(), l.width()), spec.get("x"));
        }
    }

    /**
     * The conv-layer measurement runs end to end on the emulated cuda device (small: ResNet-50 at 32x32, batch 1):
     * the plan binds, each call's time is the node's own and positive.
     */
    @Test
    void aConvLayerIsMeasuredOnTheEmulatedDevice() throws Exception {
        assumeTrue(CudaBackend.emulated().unavailableReason() == null, () -> "no emulated device: "
                + CudaBackend.emulated().unavailableReason());
        ConvLayers.Layer l = ConvLayers.distinct("resnet50", 32).getLast();
        long[] t = GpuBenchmark.measureConv(CudaBackend.emulated(), l, 1, 3);
        assertEquals(3, t.length);
        for (long ns : t) assertTrue(ns > 0, l.key() + ": " + java.util.Arrays.toString(t));
    }

    @Test
    void withoutAGpuTheFileSaysWhy(@TempDir Path dir) throws IOException {
        assumeFalse(CudaLibraries.system().available(), "a GPU is usable here: this would measure everything");
        Path out = dir.resolve("gpu-stride.json");
        GpuBenchmark.main(new String[] {"--out", out.toString()});
        Map<?, ?> doc = (Map<?, ?>) Report.Json.parse(Files.readString(out));
        assertEquals("stride", doc.get("runner"));
        assertTrue(String.valueOf(doc.get("unavailable")).startsWith("CUDA is not usable"), String.valueOf(doc.get("unavailable")));
        assertEquals(List.of(), doc.get("results"));
    }

    /** Two runners' files, one case each skipped by one of them: the table pairs them by case and batch. */
    @Test
    void theGpuReportPutsRunnersSideBySide(@TempDir Path dir) throws IOException {
        Path stride = dir.resolve("s.json"), torch = dir.resolve("t.json");
        GpuBenchmark.write(stride, new java.util.LinkedHashMap<>(Map.of("runner", "stride", "device", "H100")), List.of(
                new GpuBenchmark.Result("resnet50.forward", Map.of("batch", 32), new double[] {20, 10, 30}, null, Map.of()),
                new GpuBenchmark.Result("resnet50.train", Map.of("batch", 32), null, "no kernel for MaxPool2d", Map.of())));
        Files.writeString(torch, """
                {"runner": "pytorch", "device": "H100", "settings": {"warmup": 10},
                 "results": [{"case": "resnet50.forward", "batch": 32, "median_ms": 10.0, "images_per_s": 3200.0},
                             {"case": "resnet50.train", "batch": 32, "median_ms": 40.0, "images_per_s": 800.0}]}
                """);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Report.gpu(List.of(stride, torch), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String table = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("| case | batch | stride ms | stride images/s | pytorch ms | pytorch images/s |"
                + " stride / pytorch time | note |"), table);
        assertTrue(table.contains("| resnet50.forward | 32 | 20.000 | 1600.0 | 10.000 | 3200.0 | 2.00 |"), table);
        assertTrue(table.contains("| resnet50.train | 32 | - | - | 40.000 | 800.0 | - | stride skipped: no kernel for MaxPool2d |"),
                table);
    }

    @Test
    void cudaIsABenchmarkBackend() {
        Compiler.Target t = Plans.target("cuda");
        assertEquals("cuda", t.name());
        var e = assertThrows(IllegalArgumentException.class, () -> Plans.target("tpu"));
        assertEquals("backend must be cpu, cuda or reference, got 'tpu'", e.getMessage());
    }
}
