package dev.stride.engine.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A TEST DEVICE, not a backend for users: device memory is host memory, and the cuda backend's kernel sources are
 * compiled by g++ (with {@code kernels/emulation.h} forced in front) into a shared library whose kernels are called
 * through FFM. It exists so that every CUDA C kernel can be run and checked against the reference backend on a
 * machine without a GPU, as the tests do; it is slow (each launch calls the kernel once per emulated thread) and
 * checks what it can (every pointer argument and copy must lie in an allocation of this device).
 *
 * <p>Every launch runs a grid of {@value #BLOCKS} blocks of {@value #THREADS} threads, one emulated thread after
 * the other: a kernel whose loop is not {@code STRIDE_FOR}'s grid-stride loop leaves elements unwritten. The
 * library is built once per source text, cached under {@code java.io.tmpdir/stride-cuda-emulated/}. Without g++
 * {@link #unavailableReason()} says so and tests skip.
 */
public final class EmulatedDevice implements Device {
    /** Blocks and threads per block of every emulated launch: small, and neither is 1. */
    public static final int BLOCKS = 2, THREADS = 3;

    /** g++ options: the kernels' semantics (no fast-math, no contraction into FMA, as NVRTC is told too). */
    static final List<String> GXX_FLAGS = List.of("-O1", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=off",
            "-fno-fast-math", "-w");

    private static final Map<String, SymbolLookup> LIBRARIES = new ConcurrentHashMap<>();
    private static volatile String[] gxx;   // {version line or null, reason or null}

    private final KernelSources sources;
    private final SymbolLookup library;
    private final MethodHandle setThread;
    private final Arena arena = Arena.ofShared();
    /** Live allocations by base address, for bounds checks. */
    private final TreeMap<Long, MemorySegment> allocations = new TreeMap<>();
    private final Map<String, MethodHandle> handles = new HashMap<>();
    private boolean closed;

    private EmulatedDevice(KernelSources sources, SymbolLookup library) {
        this.sources = sources;
        this.library = library;
        this.setThread = Linker.nativeLinker().downcallHandle(symbol("stride_emu_set_thread"),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    /** Null when g++ runs here; otherwise why the emulated device is unavailable. */
    public static String unavailableReason() {
        String[] g = probeGxx();
        return g[1];
    }

    /** The emulated device with these sources compiled (once per process and source text). */
    public static EmulatedDevice open(KernelSources sources) {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("the emulated cuda device is unavailable: " + why);
        String key = KernelSources.sha256(sources.unit() + "\u0000" + KernelSources.resource("emulation.h") + "\u0000"
                + probeGxx()[0] + "\u0000" + GXX_FLAGS);
        SymbolLookup lib = LIBRARIES.computeIfAbsent(key, k -> SymbolLookup.libraryLookup(build(sources, k), Arena.global()));
        return new EmulatedDevice(sources, lib);
    }

    private static String[] probeGxx() {
        String[] g = gxx;
        if (g != null) return g;
        try {
            Process p = new ProcessBuilder("g++", "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0)
                g = new String[] {null, "g++ --version failed: " + out.strip()};
            else g = new String[] {out.lines().findFirst().orElse("g++"), null};
        } catch (IOException e) {
            g = new String[] {null, "g++ not found (" + e.getMessage() + "); the emulated device compiles the CUDA C"
                    + " kernels with it (apt install g++)"};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new String[] {null, "interrupted while running g++ --version"};
        }
        gxx = g;
        return g;
    }

    /** Compiles the unit into dir/kernels-KEY.so unless it is there; concurrent builders each rename a whole file. */
    private static Path build(KernelSources sources, String key) {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "stride-cuda-emulated");
        Path so = dir.resolve("kernels-" + key.substring(0, 32) + ".so");
        if (Files.isRegularFile(so)) return so;
        Path work = null;
        try {
            Files.createDirectories(dir);
            work = Files.createTempDirectory(dir, "build-");
            Path header = Files.writeString(work.resolve("emulation.h"), KernelSources.resource("emulation.h"));
            Path unit = Files.writeString(work.resolve("kernels.cu"), sources.unit());
            Path out = work.resolve("kernels.so");
            List<String> cmd = new java.util.ArrayList<>(List.of("g++"));
            cmd.addAll(GXX_FLAGS);
            cmd.addAll(List.of("-x", "c++", "-include", header.toString(), unit.toString(), "-o", out.toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            // The unit's #line directives make g++ name the kernel file and line ("elementwise.cu:12:5: error: ...").
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0)
                throw new IllegalStateException("g++ could not compile the kernel sources " + sources.files()
                        + " for the emulated device:\n" + log.strip());
            Files.move(out, so, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return so;
        } catch (IOException e) {
            throw new UncheckedIOException("building the emulated kernels in " + dir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while compiling the emulated kernels", e);
        } finally {
            deleteQuietly(work);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) return;
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a leftover folder in the temporary directory is harmless
        }
    }

    private MemorySegment symbol(String name) {
        return library.find(name).orElseThrow(() -> new IllegalArgumentException("no kernel '" + name
                + "' in the compiled sources (" + sources.files() + "): is it extern \"C\" __global__?"));
    }

    @Override public String describe() { return "emulated on the host (" + probeGxx()[0] + "; a test device)"; }

    @Override public long alloc(long bytes) {
        ensureOpen();
        MemorySegment s = arena.allocate(Math.max(bytes, 1), 256);
        s.fill((byte) 0x7f);   // not zero: a kernel that skips an element must not pass by luck (0x7f7f7f7f ~ 3.4e38)
        allocations.put(s.address(), s);
        return s.address();
    }

    /** Forgets the allocation; its memory returns when the device closes (an Arena frees everything at once). */
    @Override public void free(long address) {
        ensureOpen();
        if (allocations.remove(address) == null)
            throw new IllegalArgumentException("free of 0x" + Long.toHexString(address) + ", not an allocation of this device");
    }

    @Override public MemorySegment allocHost(long bytes) {
        ensureOpen();
        return arena.allocate(Math.max(bytes, 1), 64);
    }

    /** The device memory [address, address + bytes), checked to lie in one live allocation. */
    private MemorySegment range(long address, long bytes, String what) {
        var e = allocations.floorEntry(address);
        if (e == null || address + bytes > e.getKey() + e.getValue().byteSize() || bytes < 0)
            throw new IllegalArgumentException(what + ": 0x" + Long.toHexString(address) + " + " + bytes
                    + " bytes is not inside an allocation of this device");
        return e.getValue().asSlice(address - e.getKey(), bytes);
    }

    @Override public void copyToDevice(MemorySegment host, long hostOffset, long dst, long bytes) {
        MemorySegment.copy(host, hostOffset, range(dst, bytes, "copy to device"), 0, bytes);
    }

    @Override public void copyToHost(long src, MemorySegment host, long hostOffset, long bytes) {
        MemorySegment.copy(range(src, bytes, "copy to host"), 0, host, hostOffset, bytes);
    }

    @Override public void copy(long src, long dst, long bytes) {
        MemorySegment.copy(range(src, bytes, "device copy source"), 0, range(dst, bytes, "device copy target"), 0, bytes);
    }

    @Override public void memset(long dst, int value, long bytes) { range(dst, bytes, "memset").fill((byte) value); }

    @Override public Launch prepare(String kernel, long elements, Arg... args) {
        ensureOpen();
        if (elements < 0) throw new IllegalArgumentException(kernel + ": " + elements + " elements");
        Object[] values = new Object[args.length];
        MemoryLayout[] layouts = new MemoryLayout[args.length];
        StringBuilder key = new StringBuilder(kernel).append('(');
        for (int i = 0; i < args.length; i++) {
            layouts[i] = layout(args[i]);
            values[i] = value(args[i], kernel, i);
            key.append(args[i].getClass().getSimpleName()).append(',');
        }
        MethodHandle h = handles.computeIfAbsent(key.toString(),
                k -> Linker.nativeLinker().downcallHandle(symbol(kernel), FunctionDescriptor.ofVoid(layouts)));
        return new Launch() {
            @Override public void run() {
                if (elements == 0) return;
                ensureOpen();
                try {
                    for (int b = 0; b < BLOCKS; b++) {
                        for (int t = 0; t < THREADS; t++) {
                            setThread.invokeExact(b, t, BLOCKS, THREADS);
                            h.invokeWithArguments(values);
                        }
                    }
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable e) {
                    throw new IllegalStateException("emulated launch of " + kernel + " failed", e);
                }
            }

            @Override public void set(int index, Arg value) {
                if (value.getClass() != args[index].getClass())
                    throw new IllegalArgumentException(kernel + " argument " + index + " was prepared as "
                            + args[index].getClass().getSimpleName() + ", set as " + value.getClass().getSimpleName());
                values[index] = value(value, kernel, index);
            }
        };
    }

    private static MemoryLayout layout(Arg a) {
        return switch (a) {
            case Arg.Ptr p -> ValueLayout.ADDRESS;
            case Arg.I32 v -> ValueLayout.JAVA_INT;
            case Arg.I64 v -> ValueLayout.JAVA_LONG;
            case Arg.F32 v -> ValueLayout.JAVA_FLOAT;
            case Arg.F64 v -> ValueLayout.JAVA_DOUBLE;
        };
    }

    private Object value(Arg a, String kernel, int index) {
        return switch (a) {
            case Arg.Ptr p -> {
                range(p.address(), 0, kernel + " argument " + index);
                yield MemorySegment.ofAddress(p.address());
            }
            case Arg.I32 v -> v.value();
            case Arg.I64 v -> v.value();
            case Arg.F32 v -> v.value();
            case Arg.F64 v -> v.value();
        };
    }

    @Override public void synchronize() { ensureOpen(); }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the emulated device is closed");
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        allocations.clear();
        arena.close();
    }
}
