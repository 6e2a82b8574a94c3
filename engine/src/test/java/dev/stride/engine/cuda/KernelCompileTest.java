package dev.stride.engine.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every kernel source compiles for a GPU (NVRTC, no GPU needed: run with CUDA_HOME pointing at CUDA 13 or the pip
 * nvidia/cu13 folder; skipped with the reason otherwise) and for the emulated device (g++), alone and in the unit of
 * all families; every family's file is registered; and the sources keep the kernel contract of common.cuh.
 */
class KernelCompileTest {
    private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__ void (stride_\\w+)\\s*\\(");

    private static List<String> registered() { return CudaBackend.kernels().sources(); }

    /** The stride_* kernels a unit defines. */
    private static TreeSet<String> kernels(String text) {
        TreeSet<String> names = new TreeSet<>();
        Matcher m = KERNEL.matcher(text);
        while (m.find()) names.add(m.group(1));
        return names;
    }

    private static TreeSet<String> ptxEntries(byte[] ptx) {
        TreeSet<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("\\.entry\\s+(stride_\\w+)").matcher(new String(ptx, StandardCharsets.US_ASCII));
        while (m.find()) names.add(m.group(1));
        return names;
    }

    private static void needsNvrtc() {
        String why = NvrtcCompiler.unavailableReason();
        assumeTrue(why == null, () -> "NVRTC not available: " + why);
    }

    private static void needsGxx() {
        String why = EmulatedDevice.unavailableReason();
        assumeTrue(why == null, () -> "g++ not available: " + why);
    }

    @Test
    void nvrtcCompilesEveryKernelForSm80AndSm90() {
        needsNvrtc();
        KernelSources all = CudaBackend.kernels().kernelSources();
        TreeSet<String> want = kernels(all.unit());
        assertTrue(want.contains("stride_unary"), want.toString());
        for (int cc : new int[] {80, 90}) {
            assertEquals(want, ptxEntries(NvrtcCompiler.ptx(all, cc)), "sm_" + cc);
            for (String file : registered()) {   // each family alone: it depends on common.cuh only
                KernelSources one = KernelSources.of(List.of(file));
                assertEquals(kernels(one.unit()), ptxEntries(NvrtcCompiler.ptx(one, cc)), file + " for sm_" + cc);
            }
        }
    }

    @Test
    void nvrtcErrorsNameTheKernelFileAndLine() {
        needsNvrtc();
        var e = assertThrows(NvrtcCompiler.CompileException.class,
                () -> NvrtcCompiler.ptx(KernelSources.of(List.of("broken_test.cu")), 80));
        assertTrue(e.getMessage().contains("broken_test.cu(4)") && e.getMessage().contains("undefined_name"), e.getMessage());
    }

    @Test
    void gxxCompilesEveryKernelThroughTheEmulationHeader() {
        needsGxx();
        List<KernelSources> units = new ArrayList<>();
        units.add(CudaBackend.kernels().kernelSources());
        for (String file : registered()) units.add(KernelSources.of(List.of(file)));
        for (KernelSources u : units) {
            try (Device d = EmulatedDevice.open(u)) {
                for (String k : kernels(u.unit())) d.prepare(k, 0);   // the symbol exists (0 elements: nothing runs)
            }
        }
    }

    /** Each .cu file in the kernel folder is some family's (r.source(...)), so the device compiles it. */
    @Test
    void everyKernelFileIsRegistered() throws IOException, URISyntaxException {
        TreeSet<String> files = new TreeSet<>();
        for (URL url : Collections.list(KernelCompileTest.class.getClassLoader().getResources(KernelSources.DIR.substring(1)))) {
            if (!url.getProtocol().equals("file")) continue;
            try (var s = Files.list(Path.of(url.toURI()))) {
                s.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".cu") && !f.endsWith("_test.cu")).forEach(files::add);
            }
        }
        assumeTrue(!files.isEmpty(), "the kernel folder is not a directory on this class path");
        assertEquals(files, new TreeSet<>(registered()));
    }

    /**
     * The contract that lets one source run on a GPU and on the emulated device: no shared memory, barriers, atomics,
     * warp intrinsics or fast-math intrinsics, and no thread coordinates outside common.cuh's STRIDE_FOR.
     */
    @Test
    void kernelSourcesKeepTheContract() {
        Pattern forbidden = Pattern.compile("__shared__|__syncthreads|\\batomic\\w*|__shfl\\w*|__ballot\\w*|__any_sync|__all_sync"
                + "|__activemask|\\b(threadIdx|blockIdx|blockDim|gridDim)\\b|__(expf|logf|sinf|cosf|tanf|powf|fdividef|exp10f|log2f|log10f)\\b"
                + "|__f(add|sub|mul|div|ma)_r[nzud]|__d(add|sub|mul|div)_r[zud]");
        List<String> problems = new ArrayList<>();
        for (String file : registered()) {
            String[] lines = KernelSources.resource(file).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String code = lines[i].replaceAll("//.*", "");
                Matcher m = forbidden.matcher(code);
                if (m.find()) problems.add(file + ":" + (i + 1) + ": " + m.group() + " in: " + lines[i].strip());
            }
            for (String k : kernels(KernelSources.resource(file)))
                if (!KernelSources.resource(file).contains("STRIDE_FOR")) problems.add(file + ": kernel " + k + " without STRIDE_FOR");
        }
        if (!problems.isEmpty()) fail("kernel contract broken:\n" + String.join("\n", problems));
    }
}
