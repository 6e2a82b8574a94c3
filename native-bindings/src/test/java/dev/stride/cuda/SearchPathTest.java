package dev.stride.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SearchPathTest {
    private static int index(SearchPath sp, Path p) {
        List<Path> paths = sp.dirs().stream().map(SearchPath.Dir::path).toList();
        int i = paths.indexOf(p.toAbsolutePath().normalize());
        assertTrue(i >= 0, p + " is not searched; searched:\n" + sp.describe("  "));
        return i;
    }

    @Test
    void namedVariablesThenActiveEnvironmentThenLdLibraryPathThenOtherPythonsThenSystem(@TempDir Path dir) throws Exception {
        var t = new FakeCuda.Tree(dir);
        Path cudnn = Files.createDirectories(dir.resolve("opt/cudnn")), cudaHome = Files.createDirectories(dir.resolve("opt/cuda13"));
        Path cudaPath = Files.createDirectories(dir.resolve("opt/cuda-path"));
        Path venv = dir.resolve("venv"), conda = dir.resolve("conda-env"), ld = Files.createDirectories(dir.resolve("ld"));
        Files.createDirectories(venv.resolve("lib/python3.12/site-packages/nvidia/cu13/lib"));
        Files.createDirectories(conda.resolve("lib/python3.11/site-packages/nvidia/cudnn/lib"));
        Files.createDirectories(t.home.resolve(".local/lib/python3.12/site-packages/nvidia/cudnn/lib"));
        Files.createDirectories(t.sys("/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib"));
        Files.createDirectories(t.sys("/usr/local/cuda/lib64"));
        Files.createDirectories(t.sys("/usr/lib/x86_64-linux-gnu"));
        t.env("CUDNN_PATH", cudnn).env("CUDA_HOME", cudaHome).env("CUDA_PATH", cudaPath).env("VIRTUAL_ENV", venv)
                .env("CONDA_PREFIX", conda).env("LD_LIBRARY_PATH", ld + "::" + dir.resolve("absent"));
        SearchPath sp = t.searchPath();
        int[] order = {
                index(sp, cudnn.resolve("lib64")), index(sp, cudnn.resolve("lib")), index(sp, cudnn),
                index(sp, cudaHome.resolve("lib64")), index(sp, cudaHome.resolve("targets/x86_64-linux/lib")),
                index(sp, cudaPath.resolve("lib64")),
                index(sp, venv.resolve("lib/python3.12/site-packages/nvidia/cu13/lib")),
                index(sp, conda.resolve("lib")), index(sp, conda.resolve("lib/python3.11/site-packages/nvidia/cudnn/lib")),
                index(sp, ld), index(sp, dir.resolve("absent")),
                index(sp, t.home.resolve(".local/lib/python3.12/site-packages/nvidia/cudnn/lib")),
                index(sp, t.sys("/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib")),
                index(sp, t.sys("/usr/local/cuda/lib64")), index(sp, t.sys("/usr/lib/x86_64-linux-gnu")),
                index(sp, t.sys("/usr/lib/wsl/lib"))};
        for (int i = 1; i < order.length; i++)
            assertTrue(order[i - 1] < order[i], "position " + i + " out of order:\n" + sp.describe("  "));
        String text = sp.describe("  ");
        assertTrue(text.contains(cudaHome.resolve("lib64") + "  [CUDA_HOME] (no such directory)"), text);
        assertTrue(text.contains(ld + "  [LD_LIBRARY_PATH]\n"), text);
        assertTrue(text.contains("pip wheel, VIRTUAL_ENV (python3.12)"), text);
    }

    @Test
    void aDirectoryIsListedOnceAtItsFirstPositionAndStubsNever(@TempDir Path dir) throws Exception {
        var t = new FakeCuda.Tree(dir);
        Path cuda = Files.createDirectories(t.sys("/usr/local/cuda/lib64/stubs"));
        t.env("CUDA_HOME", t.sys("/usr/local/cuda")).env("CUDA_PATH", t.sys("/usr/local/cuda/"))
                .env("LD_LIBRARY_PATH", cuda + ":" + t.sys("/usr/local/cuda/lib64"));
        SearchPath sp = t.searchPath();
        List<SearchPath.Dir> lib64 = sp.dirs().stream().filter(d -> d.path().equals(t.sys("/usr/local/cuda/lib64"))).toList();
        assertEquals(1, lib64.size(), sp.describe("  "));
        assertEquals("CUDA_HOME", lib64.getFirst().source());
        assertFalse(sp.dirs().stream().anyMatch(d -> d.path().endsWith("stubs")), sp.describe("  "));
    }

    @Test
    void versionedToolkitsNewestFirst(@TempDir Path dir) throws Exception {
        var t = new FakeCuda.Tree(dir);
        for (String v : List.of("cuda-11.8", "cuda-12.4", "cuda-12.10", "cuda-13.0")) Files.createDirectories(t.sys("/usr/local/" + v));
        SearchPath sp = t.searchPath();
        int c13 = index(sp, t.sys("/usr/local/cuda-13.0/lib64")), c1210 = index(sp, t.sys("/usr/local/cuda-12.10/lib64"));
        int c124 = index(sp, t.sys("/usr/local/cuda-12.4/lib64")), c118 = index(sp, t.sys("/usr/local/cuda-11.8/lib64"));
        assertTrue(c13 < c1210 && c1210 < c124 && c124 < c118, sp.describe("  "));
    }

    @Test
    void pythonsWithoutNvidiaPackagesAreShownAsSearched(@TempDir Path dir) throws Exception {
        var t = new FakeCuda.Tree(dir);
        Files.createDirectories(t.home.resolve(".pyenv/versions/3.12.1/lib/python3.12/site-packages"));
        Files.createDirectories(t.sys("/usr/lib/python3/dist-packages"));
        String text = t.searchPath().describe("  ");
        assertTrue(text.contains(t.home.resolve(".pyenv/versions/3.12.1/lib/python3.12/site-packages/nvidia")
                + "  [pip wheels, pyenv 3.12.1 (python3.12)] (no such directory)"), text);
        assertTrue(text.contains(t.sys("/usr/lib/python3/dist-packages/nvidia").toString()), text);
    }

    @Test
    void anEmptyMachineStillHasTheStandardDirectories(@TempDir Path dir) {
        SearchPath sp = SearchPath.of(new SearchPath.Environment(Map.of(), dir.resolve("nohome"), dir, "aarch64"));
        assertTrue(sp.dirs().stream().noneMatch(SearchPath.Dir::exists));
        index(sp, dir.resolve("usr/local/cuda/targets/sbsa-linux/lib"));
        index(sp, dir.resolve("usr/lib/aarch64-linux-gnu"));
    }
}
