package dev.stride.cuda;

import dev.stride.cuda.CudaStatus.State;
import dev.stride.cuda.FakeCuda.FakeLoader;
import dev.stride.cuda.FakeCuda.FakeProbe;
import dev.stride.cuda.FakeCuda.Tree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaLibrariesTest {
    private static Path site(Tree t) { return t.home.resolve(".local/lib/python3.12/site-packages"); }

    private static void contains(String text, String... parts) {
        for (String p : parts) assertTrue(text.contains(p), "expected \"" + p + "\" in:\n" + text);
    }

    @Test
    void nothingInstalledSaysWhatIsMissingAndEveryPlaceItLooked(@TempDir Path dir) {
        var t = new Tree(dir).env("CUDA_HOME", dir.resolve("opt/cuda"));
        var probe = new FakeProbe();
        CudaStatus s = t.load(new FakeLoader(), probe);
        assertFalse(s.available());
        assertEquals(0, probe.created, "nothing loaded, nothing to ask");
        String why = s.unavailableReason();
        contains(why, "no NVIDIA driver: libcuda.so.1 not found", "CUDA runtime: libcudart.so.13 or libcudart.so.12 not found",
                "cuBLAS: libcublas.so.13 or libcublas.so.12 not found", "cuDNN: libcudnn.so.9 not found",
                "Searched, in this order", dir.resolve("opt/cuda/lib64") + "  [CUDA_HOME] (no such directory)",
                dir.resolve("usr/local/cuda/lib64").toString(), dir.resolve("usr/lib/x86_64-linux-gnu").toString());
        for (CudaLibrary lib : CudaLibrary.values())
            assertTrue(s.library(lib).state() == State.NOT_FOUND || s.library(lib).state() == State.SKIPPED, lib.name());
        // The sub-libraries' absence is a consequence: one line in the report, no problem of their own.
        assertTrue(s.problems().stream().noneMatch(p -> p.contains("libcudnn_graph")), s.problems().toString());
        contains(s.describe(), "cuDNN sub-libraries", "status: not usable", "devices: none");
    }

    @Test
    void aCompletePipInstallLoadsInDependencyOrderAndDescribesTheDevice(@TempDir Path dir) {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        var loader = new FakeLoader();
        var probe = new FakeProbe();
        CudaStatus s = t.load(loader, probe);
        assertTrue(s.available(), s.describe());
        assertNull(s.unavailableReason());
        assertEquals(List.of("libcuda.so.1", "libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13",
                "libnvrtc-builtins.so.13.0", "libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                "libcudnn_heuristic.so.9", "libcudnn.so.9"), loader.loadedNames());
        assertEquals(State.PRESENT, s.library(CudaLibrary.CUDNN_OPS).state());
        assertTrue(probe.createdWith.containsAll(List.of(CudaLibrary.CUDART, CudaLibrary.CUBLAS, CudaLibrary.CUDNN, CudaLibrary.DRIVER)));
        assertTrue(s.library(CudaLibrary.CUDART).source().startsWith("pip wheel, pip --user site-packages"),
                s.library(CudaLibrary.CUDART).source());
        contains(s.describe(), "0: NVIDIA H100 80GB HBM3, compute capability 9.0, 132 SMs, 80.0 GiB",
                "CUDA runtime          13.0", "cuBLAS                13.1.1", "NVRTC                 13.0", "cuDNN                 9.24.0 (built for CUDA 13.0)",
                "driver supports CUDA  13.0", "status: usable", "loaded   " + site(t).resolve("nvidia/cudnn/lib/libcudnn.so.9"));
    }

    /** The cuda backend compiles its kernels with NVRTC at session load: without it the backend is not usable. */
    @Test
    void nvrtcIsRequired(@TempDir Path dir) throws Exception {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Files.delete(site(t).resolve("nvidia/cu13/lib/libnvrtc.so.13"));
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertFalse(s.available());
        contains(s.unavailableReason(), "NVRTC (compiles Stride's CUDA kernels): libnvrtc.so.13 or libnvrtc.so.12 not found",
                "pip install nvidia-cuda-nvrtc");
        assertEquals(State.LOADED, s.library(CudaLibrary.CUDNN).state(), "the rest loads regardless");
    }

    /** NVRTC opens its built-ins by name: they come from NVRTC's own directory, whatever precedes it in the search. */
    @Test
    void nvrtcBuiltinsComeFromNvrtcsDirectoryFirst(@TempDir Path dir) throws Exception {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Path other = dir.resolve("other");
        t.libs(other, "libnvrtc-builtins.so.13.1").env("LD_LIBRARY_PATH", other);
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertTrue(s.available(), s.describe());
        assertEquals(site(t).resolve("nvidia/cu13/lib/libnvrtc-builtins.so.13.0"), s.library(CudaLibrary.NVRTC_BUILTINS).path());
        Files.delete(site(t).resolve("nvidia/cu13/lib/libnvrtc-builtins.so.13.0"));
        Files.delete(other.resolve("libnvrtc-builtins.so.13.1"));
        CudaStatus none = t.load(new FakeLoader(), new FakeProbe());
        contains(none.unavailableReason(), "NVRTC built-ins (opened by NVRTC): libnvrtc-builtins.so.13 or libnvrtc-builtins.so.12 not found");
    }

    @Test
    void theFirstDirectoryInSearchOrderWins(@TempDir Path dir) {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Path home = dir.resolve("opt/cuda");
        t.libs(home.resolve("lib64"), "libcudart.so.13", "libcudart.so.12").env("CUDA_HOME", home);
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertEquals(home.resolve("lib64/libcudart.so.13"), s.library(CudaLibrary.CUDART).path());
        assertEquals("CUDA_HOME", s.library(CudaLibrary.CUDART).source());
        assertEquals(site(t).resolve("nvidia/cu13/lib/libcublas.so.13"), s.library(CudaLibrary.CUBLAS).path());
    }

    @Test
    void unusableFilesArePassedOverWithTheirReason(@TempDir Path dir) throws Exception {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Path first = dir.resolve("first");
        t.env("LD_LIBRARY_PATH", first);
        t.file(first.resolve("libcudart.so.13"), new byte[0]);
        t.file(first.resolve("libcudart.so.12"), "INPUT(libcudart.so.12.8)\n".getBytes());
        t.file(first.resolve("libcublas.so.13"), FakeCuda.elf(ElfCheck.EM_AARCH64));
        Files.createDirectories(first.resolve("libcudnn.so.9"));
        Files.createSymbolicLink(first.resolve("libnvrtc.so.13"), first.resolve("gone"));
        t.file(first.resolve("libcuda.so.1"), new byte[] {0x7f, 'E', 'L', 'F', 2});
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertTrue(s.available(), s.describe());
        String d = s.describe();
        contains(d, "passed over " + first.resolve("libcudart.so.13") + ": empty file",
                "passed over " + first.resolve("libcudart.so.12") + ": not an ELF file (starts with 49 4e 50 55 54 28 6c 69)",
                "passed over " + first.resolve("libcublas.so.13") + ": built for aarch64, this JVM runs on amd64",
                "passed over " + first.resolve("libcudnn.so.9") + ": a directory, not a file",
                "passed over " + first.resolve("libnvrtc.so.13") + ": broken symbolic link",
                "passed over " + first.resolve("libcuda.so.1") + ": truncated ELF file (5 bytes)");
        assertEquals(site(t).resolve("nvidia/cu13/lib/libcudart.so.13"), s.library(CudaLibrary.CUDART).path());
    }

    @Test
    void whenEveryCandidateIsUnusableTheProblemListsThemAll(@TempDir Path dir) {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Path a = dir.resolve("a"), b = dir.resolve("b");
        t.env("CUDNN_PATH", a).env("LD_LIBRARY_PATH", b);
        t.file(a.resolve("lib/libcudnn.so.9"), "not a library".getBytes());
        t.file(b.resolve("libcudnn.so.9"), new byte[0]);
        t.file(site(t).resolve("nvidia/cudnn/lib/libcudnn.so.9"), new byte[3]);
        t.file(b.resolve("libcudnn.so.8"), FakeCuda.elf());
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertEquals(State.FAILED, s.library(CudaLibrary.CUDNN).state());
        String why = s.unavailableReason();
        contains(why, "cuDNN: no usable libcudnn.so.9 (3 candidates passed over; older versions, too old: "
                        + b.resolve("libcudnn.so.8") + ")",
                a.resolve("lib/libcudnn.so.9") + ": not an ELF file", b.resolve("libcudnn.so.9") + ": empty file",
                "libcudnn.so.9: not an ELF file (starts with 00 00 00)");
    }

    @Test
    void theDynamicLoadersReasonIsReportedAndTheNextCandidateTried(@TempDir Path dir) {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Path first = dir.resolve("first");
        t.env("CUDA_PATH", first).libs(first.resolve("lib64"), "libcudart.so.12");
        var loader = new FakeLoader();
        loader.refuse.put("libcudart.so.12", "libcudart.so.12: cannot open shared object file: No such file or directory");
        CudaStatus s = t.load(loader, new FakeProbe());
        assertTrue(s.available(), s.describe());
        contains(s.describe(), "passed over " + first.resolve("lib64/libcudart.so.12")
                + ": the dynamic loader refused it: libcudart.so.12: cannot open shared object file");
    }

    @Test
    void theRealLoaderRefusesAFakeLibraryWithoutCrashing(@TempDir Path dir) {
        var t = new Tree(dir);
        t.libs(dir.resolve("opt/cuda/lib64"), "libcudart.so.13").env("CUDA_HOME", dir.resolve("opt/cuda"));
        CudaStatus s = new CudaLibraries(t.searchPath(), LibraryLoader.system(), new FakeProbe().factory(), "amd64").load();
        assertEquals(State.FAILED, s.library(CudaLibrary.CUDART).state());
        contains(s.unavailableReason(), "CUDA runtime: no usable libcudart.so.13 or libcudart.so.12 (1 candidate passed over): "
                + dir.resolve("opt/cuda/lib64/libcudart.so.13") + ": the dynamic loader refused it: object file has no loadable segments");
    }

    @Test
    void aLibraryWithoutItsEntryPointsIsNotTheOneWeWant(@TempDir Path dir) {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        var loader = new FakeLoader();
        loader.hide.put("libcudnn.so.9", "cudnnBackendExecute");
        CudaStatus s = t.load(loader, new FakeProbe());
        contains(s.unavailableReason(), "libcudnn.so.9: loads, but does not export cudnnBackendExecute");
    }

    @Test
    void cublasLtFollowsTheMajorOfCublas(@TempDir Path dir) {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Path old = dir.resolve("cuda12/lib64");
        t.libs(old, "libcublas.so.12").env("CUDA_HOME", dir.resolve("cuda12"));
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertEquals(State.NOT_FOUND, s.library(CudaLibrary.CUBLASLT).state(), "the .13 next door does not fit cuBLAS 12");
        contains(s.unavailableReason(), "cuBLASLt (needed by cuBLAS): libcublasLt.so.12 (the major "
                + old.resolve("libcublas.so.12") + " needs) not found in any searched directory");
        contains(String.join("\n", s.notes()), "cuBLAS: found " + old.resolve("libcublas.so.12") + ", not loaded: it needs cuBLASLt");
        t.libs(site(t).resolve("nvidia/cublas/lib"), "libcublasLt.so.12");
        CudaStatus fixed = t.load(new FakeLoader(), new FakeProbe());
        assertEquals(site(t).resolve("nvidia/cublas/lib/libcublasLt.so.12"), fixed.library(CudaLibrary.CUBLASLT).path());
        assertTrue(fixed.available(), fixed.describe());
    }

    @Test
    void cudnnSublibrariesComeOnlyFromCudnnsDirectory(@TempDir Path dir) throws Exception {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Files.delete(site(t).resolve("nvidia/cudnn/lib/libcudnn_graph.so.9"));
        Files.delete(site(t).resolve("nvidia/cudnn/lib/libcudnn_heuristic.so.9"));
        t.libs(t.sys("/usr/lib/x86_64-linux-gnu"), "libcudnn_graph.so.9");
        var loader = new FakeLoader();
        CudaStatus s = t.load(loader, new FakeProbe());
        assertFalse(loader.loadedNames().contains("libcudnn_graph.so.9"), loader.loadedNames().toString());
        assertFalse(loader.loadedNames().contains("libcudnn.so.9"), "cuDNN without its graph library is not loaded");
        contains(s.unavailableReason(), "cuDNN graph API: libcudnn_graph.so.9 not found next to libcudnn.so.9");
        contains(String.join("\n", s.notes()), "cuDNN heuristics: libcudnn_heuristic.so.9 not found next to libcudnn.so.9");
    }

    @Test
    void onlyAnOldMajorIsTooOld(@TempDir Path dir) throws Exception {
        var t = new Tree(dir).driver();
        t.pipInstall(site(t));
        Files.delete(site(t).resolve("nvidia/cudnn/lib/libcudnn.so.9"));
        t.libs(t.sys("/usr/lib/x86_64-linux-gnu"), "libcudnn.so.8.9.7");
        CudaStatus s = t.load(new FakeLoader(), new FakeProbe());
        assertEquals(State.TOO_OLD, s.library(CudaLibrary.CUDNN).state());
        contains(s.unavailableReason(), "cuDNN: only " + t.sys("/usr/lib/x86_64-linux-gnu/libcudnn.so.8.9.7")
                + " found: cuDNN 8.9.7 is too old, Stride needs libcudnn.so.9");
    }

    @Test
    void theDriverMayComeFromTheSystemLoader(@TempDir Path dir) {
        var t = new Tree(dir);
        t.pipInstall(site(t));
        var loader = new FakeLoader();
        loader.bySoname = t.file(dir.resolve("elsewhere/libcuda.so.575.51"), FakeCuda.elf());
        CudaStatus s = t.load(loader, new FakeProbe());
        assertEquals(State.LOADED, s.library(CudaLibrary.DRIVER).state(), s.describe());
        assertEquals("system loader (ld.so cache)", s.library(CudaLibrary.DRIVER).source());
    }

    /** What the runtime says about driver and devices, through the probe. */
    private static CudaStatus probed(Path dir, boolean driverLibrary, FakeProbe probe) {
        var t = new Tree(dir);
        t.pipInstall(site(t));
        if (driverLibrary) t.driver();
        return t.load(new FakeLoader(), probe);
    }

    @Test
    void noDevice(@TempDir Path dir) {
        var p = new FakeProbe();
        p.count = CudaProbe.Result.error(100);
        contains(probed(dir, true, p).unavailableReason(),
                "no CUDA device (cudaGetDeviceCount: cudaErrorNoDevice (no CUDA-capable device is detected))");
        p.count = CudaProbe.Result.ok(0);
        contains(probed(dir, true, p).unavailableReason(), "no CUDA device (cudaGetDeviceCount = 0)");
    }

    @Test
    void noDriverIsOneProblemWhetherLibcudaIsMissingOrUseless(@TempDir Path dir) {
        var p = new FakeProbe();
        p.count = CudaProbe.Result.error(35);
        p.driver = CudaProbe.Result.ok(0);
        CudaStatus missing = probed(dir.resolve("a"), false, p);
        assertEquals(1, missing.problems().size(), missing.problems().toString());
        contains(missing.problems().getFirst(), "no NVIDIA driver: libcuda.so.1 not found");
        contains(missing.describe(), "driver supports CUDA  none (no driver)", "cudaGetDeviceCount: cudaErrorInsufficientDriver");
        CudaStatus useless = probed(dir.resolve("b"), true, p);
        assertEquals(List.of("no usable NVIDIA driver (cudaGetDeviceCount: cudaErrorInsufficientDriver (CUDA driver version"
                + " is insufficient for CUDA runtime version))"), useless.problems());
    }

    @Test
    void aDriverOlderThanTheRuntime(@TempDir Path dir) {
        var p = new FakeProbe();
        p.count = CudaProbe.Result.error(35);
        p.driver = CudaProbe.Result.ok(12040);
        contains(probed(dir, true, p).unavailableReason(), "the NVIDIA driver supports CUDA up to 12.4, older than the"
                + " CUDA runtime 13.0", "update the driver, or use CUDA 12 libraries");
    }

    @Test
    void versionsTooOld(@TempDir Path dir) {
        var p = new FakeProbe();
        p.runtime = CudaProbe.Result.ok(11080);
        p.cudnn = 8907;
        String why = probed(dir, true, p).unavailableReason();
        contains(why, "CUDA runtime 11.8 is too old: Stride needs CUDA 12.0 or newer", "cuDNN 8.9.7 is too old: Stride needs cuDNN 9");
    }

    @Test
    void aFailingProbeIsAProblemNotACrash(@TempDir Path dir) {
        var p = new FakeProbe();
        p.fail = new IllegalStateException("boom");
        contains(probed(dir, true, p).unavailableReason(), "asking the CUDA libraries for versions and devices failed:"
                + " java.lang.IllegalStateException: boom");
    }

    @Test
    void versionFormats() {
        assertEquals("13.0", CudaStatus.cuda(13000));
        assertEquals("12.4", CudaStatus.cuda(12040));
        assertEquals("9.24.0", CudaStatus.cudnn(92400));
        assertEquals("9.1.1", CudaStatus.cudnn(90101));
        assertEquals("8.9.7", CudaStatus.cudnn(8907));
    }
}
