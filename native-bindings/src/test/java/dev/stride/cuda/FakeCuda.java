package dev.stride.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Fake CUDA installations for the locator's tests: directory trees, a loader and a probe that pretend. */
final class FakeCuda {
    private FakeCuda() {}

    /**
     * A 64-bit little-endian ELF shared-object header for {@code machine} with one program header, PT_GNU_STACK
     * (so HotSpot does not warn about an executable stack) and no loadable segment: the real dynamic loader
     * refuses it with "object file has no loadable segments", the checks before loading accept it.
     */
    static byte[] elf(int machine) {
        ByteBuffer b = ByteBuffer.allocate(64 + 56).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 3).putShort(18, (short) machine).putInt(20, 1);
        b.putLong(32, 64).putShort(52, (short) 64).putShort(54, (short) 56).putShort(56, (short) 1);
        b.putInt(64, 0x6474e551).putInt(68, 6).putLong(64 + 48, 16);
        return b.array();
    }

    static byte[] elf() { return elf(ElfCheck.EM_X86_64); }

    /** A temporary tree: {@code root} stands for "/", the environment variables are set by the test. */
    static final class Tree {
        final Path root;
        final Path home;
        final Map<String, String> env = new HashMap<>();

        Tree(Path root) {
            this.root = root;
            this.home = root.resolve("home/user");
        }

        /** Path of an absolute name inside the tree: sys("/usr/local/cuda") = root/usr/local/cuda. */
        Path sys(String absolute) { return root.resolve(absolute.substring(1)); }

        Path file(Path p, byte[] content) {
            try {
                Files.createDirectories(p.getParent());
                return Files.write(p, content);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Valid fake libraries in one directory. */
        Tree libs(Path dir, String... names) {
            for (String n : names) file(dir.resolve(n), elf());
            return this;
        }

        Tree env(String k, Object v) {
            env.put(k, v.toString());
            return this;
        }

        /** Every library of a complete pip install (CUDA 13 layout: runtime and cuBLAS share nvidia/cu13/lib). */
        Tree pipInstall(Path sitePackages) {
            libs(sitePackages.resolve("nvidia/cu13/lib"), "libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13",
                    "libnvrtc.so.13", "libnvrtc-builtins.so.13.0");
            libs(sitePackages.resolve("nvidia/cudnn/lib"), "libcudnn.so.9", "libcudnn_graph.so.9",
                    "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                    "libcudnn_heuristic.so.9", "libcudnn_engines_tensor_ir.so.9", "libcudnn_ops.so.9",
                    "libcudnn_cnn.so.9", "libcudnn_adv.so.9");
            return this;
        }

        Tree driver() { return libs(sys("/usr/lib/x86_64-linux-gnu"), "libcuda.so.1"); }

        SearchPath searchPath() {
            return SearchPath.of(new SearchPath.Environment(Map.copyOf(env), home, root, "amd64"));
        }

        CudaStatus load(FakeLoader loader, FakeProbe probe) {
            return new CudaLibraries(searchPath(), loader, probe.factory(), "amd64").load();
        }
    }

    /** Pretends to load: records the order, refuses chosen files, hides chosen symbols. */
    static final class FakeLoader implements LibraryLoader {
        final List<Path> loaded = new ArrayList<>();
        final Map<String, String> refuse = new HashMap<>();      // file name -> loader's reason
        final Map<String, String> hide = new HashMap<>();        // file name -> symbol it lacks
        Path bySoname;                                            // what the system loader would find, or null

        @Override public SymbolLookup load(Path path) throws LoadException {
            String name = path.getFileName().toString();
            if (refuse.containsKey(name)) throw new LoadException(refuse.get(name));
            loaded.add(path);
            String hidden = hide.get(name);
            return symbol -> symbol.equals(hidden) ? Optional.empty() : Optional.of(MemorySegment.NULL);
        }

        @Override public Optional<Loaded> loadBySoname(String soname) throws LoadException {
            if (bySoname == null) return Optional.empty();
            return Optional.of(new Loaded(bySoname, load(bySoname)));
        }

        List<String> loadedNames() { return loaded.stream().map(p -> p.getFileName().toString()).toList(); }
    }

    /** Answers like a healthy machine with one H100 unless told otherwise; counts calls. */
    static final class FakeProbe implements CudaProbe {
        Result runtime = Result.ok(13000), driver = Result.ok(13000), count = Result.ok(1);
        long cudnn = 92400, cudnnFor = 13000;
        String cublas = "13.1.1";
        int nvrtc = 13000;
        RuntimeException fail;
        Set<CudaLibrary> createdWith;
        int created;

        CudaProbe.Factory factory() {
            return loaded -> {
                created++;
                createdWith = loaded;
                return this;
            };
        }

        private void maybeFail() { if (fail != null) throw fail; }

        @Override public Result runtimeVersion() { maybeFail(); return runtime; }
        @Override public Result driverVersion() { return driver; }
        @Override public Result deviceCount() { return count; }
        @Override public String describeError(int status) {
            return switch (status) {
                case 35 -> "cudaErrorInsufficientDriver (CUDA driver version is insufficient for CUDA runtime version)";
                case 100 -> "cudaErrorNoDevice (no CUDA-capable device is detected)";
                default -> "cudaError" + status;
            };
        }
        @Override public Result computeCapability(int device) { return Result.ok(90); }
        @Override public Result multiprocessors(int device) { return Result.ok(132); }
        @Override public String deviceName(int device) { return "NVIDIA H100 80GB HBM3"; }
        @Override public long totalMemory(int device) { return 80L << 30; }
        @Override public long cudnnVersion() { return cudnn; }
        @Override public long cudnnCudartVersion() { return cudnnFor; }
        @Override public String cublasVersion() { return cublas; }
        @Override public int nvrtcVersion() { return nvrtc; }
    }
}
