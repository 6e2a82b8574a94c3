package dev.stride.tools;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.cuda.LibraryLoader;
import dev.stride.cuda.SearchPath;
import dev.stride.engine.Backend;
import dev.stride.engine.cpu.VectorConfig;
import dev.stride.engine.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code stride doctor} on a machine without CUDA: a fake, empty file system stands for it. */
class DoctorTest {
    private static void contains(String text, String... parts) {
        for (String p : parts) assertTrue(text.contains(p), "expected \"" + p + "\" in:\n" + text);
    }

    @Test
    void withoutCudaTheReportSaysWhatIsMissingAndWhereItLooked(@TempDir Path root) throws Exception {
        Path cudaHome = Files.createDirectories(root.resolve("opt/cuda/lib64"));
        var env = new SearchPath.Environment(Map.of("CUDA_HOME", root.resolve("opt/cuda").toString()),
                root.resolve("home"), root, "amd64");
        // The real loader, except that the system's own search for libcuda.so.1 (a GPU machine has one) finds nothing.
        LibraryLoader noSystemDriver = new LibraryLoader() {
            @Override public java.lang.foreign.SymbolLookup load(Path path) throws LoadException {
                return LibraryLoader.system().load(path);
            }

            @Override public java.util.Optional<Loaded> loadBySoname(String soname) { return java.util.Optional.empty(); }
        };
        CudaStatus cuda = new CudaLibraries(SearchPath.of(env), noSystemDriver, loaded -> {
            throw new AssertionError("nothing was loaded, nothing may be asked");
        }, "amd64").load();
        String report = Doctor.report(cuda, List.of(new ReferenceBackend()));
        contains(report, "JDK      " + Runtime.version(), "CPU      " + VectorConfig.describe(),
                "backends\n  reference: usable\n", "CUDA\n  libraries (the first usable file in the search order wins):",
                "NVIDIA driver (CUDA driver API)", "missing  libcuda.so.1 not found in any searched directory nor by the system loader",
                "missing  libcudart.so.13 or libcudart.so.12 not found in any searched directory",
                "missing  libcudnn.so.9 not found in any searched directory",
                "  devices: none\n", "  status: not usable\n",
                "    - no NVIDIA driver: libcuda.so.1 not found",
                "    - cuDNN: libcudnn.so.9 not found in any searched directory",
                "  searched, in this order:\n    " + cudaHome + "  [CUDA_HOME]\n",
                root.resolve("usr/local/cuda/lib64") + "  [standard] (no such directory)");
        assertFalse(report.contains("loaded "), report);
    }

    @Test
    void theCommandRunsOnThisMachine() {
        var out = new java.io.ByteArrayOutputStream();
        var old = System.out;
        int code;
        try {
            System.setOut(new java.io.PrintStream(out, true));
            code = Stride.run(new String[] {"doctor"});
        } finally {
            System.setOut(old);
        }
        String report = out.toString();
        assertEquals(0, code, report);
        contains(report, "JDK      ", "CPU      " + VectorConfig.describe(), "  reference: usable", "  cuda: ", "CUDA\n",
                "  searched, in this order:");
        CudaStatus here = CudaLibraries.system();
        contains(report, here.available() ? "  status: usable" : "  status: not usable");
        assertTrue(Backend.all().stream().anyMatch(b -> b.name().equals("cuda")));
    }
}
