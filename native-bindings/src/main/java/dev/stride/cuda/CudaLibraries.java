package dev.stride.cuda;

import dev.stride.cuda.CudaStatus.Device;
import dev.stride.cuda.CudaStatus.LibraryStatus;
import dev.stride.cuda.CudaStatus.State;
import dev.stride.cuda.CudaStatus.Versions;
import dev.stride.cuda.cudart.Cudart;

import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds and loads the CUDA libraries (driver, runtime, cuBLASLt, cuBLAS, NVRTC, cuDNN and its sub-libraries) by
 * absolute path, in dependency order, then asks them for versions and devices. Every failure is explained: not
 * found (with every directory searched), found but unusable (empty, not ELF, wrong architecture, the dynamic
 * loader's reason, a missing entry point), no driver, no device, versions too old.
 *
 * <p>{@link #system()} does this once per process for the real machine; its result is what the cuda backend and
 * {@code stride doctor} report. The generated bindings in {@code dev.stride.cuda.cudart}, {@code .cublas},
 * {@code .cudnn} and {@code .driver} may be called only when their library is {@link CudaStatus#loaded loaded}:
 * they resolve symbols among the libraries this class loaded, and a call before that fails for good.
 *
 * <p>Tests build an instance over a fake directory tree ({@link SearchPath.Environment}), with a fake
 * {@link LibraryLoader} and {@link CudaProbe}.
 */
public final class CudaLibraries {
    /** Older than this, the runtime is refused (the bindings are built from CUDA 13 headers; 12 has the same calls). */
    public static final int MIN_RUNTIME = 12000;
    /** cuDNN 9: the backend API as bound. */
    public static final long MIN_CUDNN = 90000;
    /** Devices described at most (the rest are counted). */
    static final int MAX_DEVICES = 16;

    private final SearchPath searchPath;
    private final LibraryLoader loader;
    private final CudaProbe.Factory probes;
    private final String arch;

    public CudaLibraries(SearchPath searchPath, LibraryLoader loader, CudaProbe.Factory probes, String arch) {
        this.searchPath = searchPath;
        this.loader = loader;
        this.probes = probes;
        this.arch = arch;
    }

    private static final class SystemHolder {
        static final CudaStatus STATUS = new CudaLibraries(SearchPath.of(SearchPath.Environment.current()),
                LibraryLoader.system(), NativeProbe::new, System.getProperty("os.arch")).load();
    }

    /** The real machine's status, computed (and the libraries loaded) on first use. */
    public static CudaStatus system() { return SystemHolder.STATUS; }

    /** {@link #system()}, or an exception carrying {@link CudaStatus#unavailableReason()}. */
    public static CudaStatus require() {
        CudaStatus s = system();
        if (!s.available()) throw new CudaUnavailableException(s.unavailableReason());
        return s;
    }

    /** A file named like the library: a candidate when {@code problem} is null, otherwise why it is unusable. */
    private record Entry(Path path, String source, String problem) {
        String rejection() { return path + ": " + problem; }
    }

    /**
     * The search result for one library, before loading.
     *
     * @param majors   the majors looked for
     * @param why      why only those, for messages ("" when all the library accepts)
     * @param entries  every file named like it, in search order
     * @param tooOld   files of majors too old to use
     */
    private record Found(List<Integer> majors, String why, List<Entry> entries, List<String> tooOld) {
        static Found none(CudaLibrary lib) { return new Found(lib.majors, "", List.of(), List.of()); }

        List<Entry> candidates() { return entries.stream().filter(e -> e.problem() == null).toList(); }

        /** The unusable files before the first candidate: those a search in order passes over. */
        List<String> passedOver() {
            List<String> r = new ArrayList<>();
            for (Entry e : entries) {
                if (e.problem() == null) break;
                r.add(e.rejection());
            }
            return r;
        }
    }

    /** Never throws: an unexpected error becomes a problem in the status. */
    public CudaStatus load() {
        try {
            return loadUnchecked();
        } catch (RuntimeException | LinkageError e) {
            return new CudaStatus(List.of(), searchPath, Versions.UNKNOWN, List.of(),
                    List.of("the CUDA library locator failed: " + e), List.of());
        }
    }

    private CudaStatus loadUnchecked() {
        List<SearchPath.Dir> all = searchPath.dirs().stream().filter(SearchPath.Dir::exists).toList();
        Map<CudaLibrary, Found> found = new EnumMap<>(CudaLibrary.class);
        for (CudaLibrary lib : CudaLibrary.values()) {
            if (lib == CudaLibrary.CUBLASLT || lib == CudaLibrary.NVRTC_BUILTINS || lib.isCudnnSublibrary()) continue;
            found.put(lib, find(lib, lib.majors, "", all));
        }
        // cuBLASLt must be the major cuBLAS needs (DT_NEEDED libcublasLt.so.N); its own directory first.
        List<Entry> cublas = found.get(CudaLibrary.CUBLAS).candidates();
        if (cublas.isEmpty()) found.put(CudaLibrary.CUBLASLT, find(CudaLibrary.CUBLASLT, CudaLibrary.CUBLASLT.majors, "", all));
        else {
            Entry first = cublas.getFirst();
            found.put(CudaLibrary.CUBLASLT, find(CudaLibrary.CUBLASLT, List.of(majorOf(first.path(), CudaLibrary.CUBLAS)),
                    " (the major " + first.path() + " needs)",
                    withFirst(new SearchPath.Dir(first.path().getParent(), first.source()), all)));
        }
        // NVRTC's built-ins: from NVRTC's directory first (NVRTC wants its own minor version, by name).
        List<Entry> nvrtc = found.get(CudaLibrary.NVRTC).candidates();
        found.put(CudaLibrary.NVRTC_BUILTINS, find(CudaLibrary.NVRTC_BUILTINS, CudaLibrary.NVRTC_BUILTINS.majors, "",
                nvrtc.isEmpty() ? all : withFirst(new SearchPath.Dir(nvrtc.getFirst().path().getParent(),
                        "next to " + nvrtc.getFirst().path().getFileName()), all)));
        // cuDNN's sub-libraries: only next to libcudnn.so.9, where cuDNN itself loads them from.
        List<Entry> cudnn = found.get(CudaLibrary.CUDNN).candidates();
        for (CudaLibrary lib : CudaLibrary.values()) {
            if (!lib.isCudnnSublibrary()) continue;
            found.put(lib, cudnn.isEmpty() ? Found.none(lib) : find(lib, lib.majors, "", cudnnDirs(cudnn.getFirst())));
        }

        Map<CudaLibrary, LibraryStatus> status = new EnumMap<>(CudaLibrary.class);
        List<String> problems = new ArrayList<>(), notes = new ArrayList<>();
        for (CudaLibrary lib : CudaLibrary.values()) status.put(lib, load(lib, found.get(lib), status, cudnn.isEmpty()));

        for (LibraryStatus s : status.values()) explain(s, problems, notes);
        Versions versions = Versions.UNKNOWN;
        List<Device> devices = new ArrayList<>();
        if (status.get(CudaLibrary.CUDART).state() == State.LOADED) {
            Set<CudaLibrary> loaded = EnumSet.noneOf(CudaLibrary.class);
            status.forEach((l, s) -> { if (s.state() == State.LOADED) loaded.add(l); });
            try {
                versions = probe(probes.create(loaded), status.get(CudaLibrary.DRIVER), devices, problems, notes);
            } catch (RuntimeException | LinkageError e) {
                problems.add("asking the CUDA libraries for versions and devices failed: " + e);
            }
        }
        return new CudaStatus(List.copyOf(status.values()), searchPath, versions, List.copyOf(devices),
                List.copyOf(problems), List.copyOf(notes));
    }

    /** Files named like the library in each directory, in order: exact soname, then soname.x.y; too-old ones noted. */
    private Found find(CudaLibrary lib, List<Integer> majors, String why, List<SearchPath.Dir> dirs) {
        List<Entry> entries = new ArrayList<>();
        List<String> tooOld = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (SearchPath.Dir dir : dirs) {
            for (int major : majors) {
                for (Path file : named(dir.path(), lib.soname(major))) {
                    if (!seen.add(ElfCheck.realPathOrSame(file))) continue;  // a symlink to a file already listed
                    entries.add(new Entry(file, dir.source(), ElfCheck.problem(file, arch)));
                }
            }
            for (int old : lib.tooOld)
                for (Path file : named(dir.path(), lib.soname(old))) tooOld.add(file.toString());
        }
        return new Found(majors, why, entries, tooOld);
    }

    /** In one directory: the exact soname if present, else files "soname.*" (newest name first). */
    private static List<Path> named(Path dir, String soname) {
        Path exact = dir.resolve(soname);
        if (ElfCheck.exists(exact)) return List.of(exact);
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(soname + "."))
                    .sorted((a, b) -> b.getFileName().toString().compareTo(a.getFileName().toString())).toList();
        } catch (Exception e) {
            return List.of();
        }
    }

    private static int majorOf(Path file, CudaLibrary lib) {
        String rest = file.getFileName().toString().substring((lib.baseName + ".so.").length());
        int dot = rest.indexOf('.');
        return Integer.parseInt(dot < 0 ? rest : rest.substring(0, dot));
    }

    private static List<SearchPath.Dir> withFirst(SearchPath.Dir first, List<SearchPath.Dir> rest) {
        List<SearchPath.Dir> l = new ArrayList<>();
        l.add(first);
        for (SearchPath.Dir d : rest) if (!d.path().equals(first.path())) l.add(d);
        return l;
    }

    /** libcudnn.so.9's directory, and the directory of the file it links to when that differs. */
    private static List<SearchPath.Dir> cudnnDirs(Entry cudnn) {
        List<SearchPath.Dir> dirs = new ArrayList<>();
        dirs.add(new SearchPath.Dir(cudnn.path().getParent(), "next to " + cudnn.path().getFileName()));
        Path real = Path.of(ElfCheck.realPathOrSame(cudnn.path())).getParent();
        if (real != null && !real.equals(cudnn.path().getParent()))
            dirs.add(new SearchPath.Dir(real, "next to " + cudnn.path().getFileName()));
        return dirs;
    }

    private static final Map<CudaLibrary, CudaLibrary> NEEDS = Map.of(
            CudaLibrary.CUBLAS, CudaLibrary.CUBLASLT,
            CudaLibrary.NVRTC_BUILTINS, CudaLibrary.NVRTC,
            CudaLibrary.CUDNN_ENGINES_PRECOMPILED, CudaLibrary.CUDNN_GRAPH,
            CudaLibrary.CUDNN_ENGINES_RUNTIME_COMPILED, CudaLibrary.CUDNN_GRAPH,
            CudaLibrary.CUDNN_HEURISTIC, CudaLibrary.CUDNN_GRAPH,
            CudaLibrary.CUDNN, CudaLibrary.CUDNN_GRAPH);

    private LibraryStatus load(CudaLibrary lib, Found f, Map<CudaLibrary, LibraryStatus> done, boolean noCudnn) {
        List<String> rejected = new ArrayList<>(f.passedOver());
        String names = lib.sonames(f.majors()) + f.why();
        if (lib.isCudnnSublibrary() && noCudnn)
            return new LibraryStatus(lib, State.SKIPPED, null, null, names + " is looked for next to libcudnn.so.9,"
                    + " which was not found", rejected);
        List<Entry> candidates = f.candidates();
        if (lib.role == CudaLibrary.Role.CUDNN_ON_DEMAND) {
            if (candidates.isEmpty())
                return new LibraryStatus(lib, rejected.isEmpty() ? State.NOT_FOUND : State.FAILED, null, null,
                        names + " not next to libcudnn.so.9; cuDNN's calls that need it will fail", rejected);
            Entry c = candidates.getFirst();
            return new LibraryStatus(lib, State.PRESENT, c.path(), c.source(), "loaded by cuDNN when needed", rejected);
        }
        CudaLibrary need = NEEDS.get(lib);
        if (need != null && done.get(need).state() != State.LOADED && !candidates.isEmpty()) {
            Entry c = candidates.getFirst();
            return new LibraryStatus(lib, State.SKIPPED, c.path(), c.source(), "found " + c.path() + ", not loaded: it needs "
                    + need.what + " (" + need.sonames() + "), which is not loaded", rejected);
        }

        rejected.clear();
        for (Entry c : f.entries()) {
            if (c.problem() != null) {
                rejected.add(c.rejection());
                continue;
            }
            try {
                SymbolLookup lookup = loader.load(c.path());
                String missing = lib.entryPoints.stream().filter(s -> lookup.find(s).isEmpty()).findFirst().orElse(null);
                if (missing == null) return new LibraryStatus(lib, State.LOADED, c.path(), c.source(), "", rejected);
                rejected.add(c.path() + ": loads, but does not export " + missing + " (not the expected library)");
            } catch (LibraryLoader.LoadException e) {
                rejected.add(c.path() + ": the dynamic loader refused it: " + e.getMessage());
            }
            // cuDNN's sub-libraries were taken from the first libcudnn.so.9's directory: try only that one.
            if (lib == CudaLibrary.CUDNN) break;
        }
        if (lib.role == CudaLibrary.Role.DRIVER && candidates.isEmpty()) {
            try {
                var byName = loader.loadBySoname(lib.soname(1));
                if (byName.isPresent()) {
                    var l = byName.get();
                    String missing = lib.entryPoints.stream().filter(s -> l.lookup().find(s).isEmpty()).findFirst().orElse(null);
                    if (missing == null)
                        return new LibraryStatus(lib, State.LOADED, l.path(), "system loader (ld.so cache)", "", rejected);
                    rejected.add(l.path() + ": loads, but does not export " + missing);
                }
            } catch (LibraryLoader.LoadException e) {
                rejected.add(lib.soname(1) + " through the system loader: " + e.getMessage());
            }
        }
        if (!rejected.isEmpty())
            return new LibraryStatus(lib, State.FAILED, null, null, "no usable " + names + " ("
                    + rejected.size() + " candidate" + (rejected.size() == 1 ? "" : "s") + " passed over"
                    + (f.tooOld().isEmpty() ? "" : "; older versions, too old: " + String.join(", ", f.tooOld())) + ")",
                    rejected);
        if (!f.tooOld().isEmpty()) {
            String old = Path.of(f.tooOld().getFirst()).getFileName().toString();
            return new LibraryStatus(lib, State.TOO_OLD, Path.of(f.tooOld().getFirst()), null,
                    "only " + String.join(", ", f.tooOld()) + " found: " + lib.what + " " + old.substring(old.indexOf(".so.") + 4)
                            + " is too old, Stride needs " + names, rejected);
        }
        String where = lib.isCudnnSublibrary() ? "next to libcudnn.so.9" : "in any searched directory";
        if (lib.role == CudaLibrary.Role.DRIVER) where += " nor by the system loader";
        return new LibraryStatus(lib, State.NOT_FOUND, null, null, names + " not found " + where, rejected);
    }

    private static void explain(LibraryStatus s, List<String> problems, List<String> notes) {
        CudaLibrary lib = s.library();
        switch (s.state()) {
            case LOADED, PRESENT -> { return; }
            // The cause (cuBLASLt, libcudnn.so.9 or its graph library) is reported on its own.
            case SKIPPED -> { if (!lib.isCudnnSublibrary()) notes.add(lib.what + ": " + s.detail()); return; }
            default -> { }
        }
        String text = switch (s.state()) {
            case NOT_FOUND -> lib.role == CudaLibrary.Role.DRIVER
                    ? "no NVIDIA driver: " + lib.soname(1) + " not found in the searched directories nor by the system"
                    + " loader (it is installed with the NVIDIA driver, not with CUDA or pip)"
                    : lib.what + ": " + s.detail();
            case FAILED -> lib.what + ": " + s.detail() + ": " + String.join("; ", s.rejected());
            default -> lib.what + ": " + s.detail();
        };
        if (lib == CudaLibrary.NVRTC && s.state() == State.NOT_FOUND)
            text += " (the cuda backend compiles its kernels with it; pip install nvidia-cuda-nvrtc)";
        (lib.required() ? problems : notes).add(text);
    }

    private static Versions probe(CudaProbe p, LibraryStatus driverLib, List<Device> devices, List<String> problems,
                                  List<String> notes) {
        CudaProbe.Result rt = p.runtimeVersion(), drv = p.driverVersion();
        int runtime = rt.ok() ? (int) rt.value() : -1;
        int driver = drv.ok() ? (int) drv.value() : -1;
        if (!rt.ok()) problems.add("cudaRuntimeGetVersion failed: " + p.describeError(rt.status()));
        else if (runtime < MIN_RUNTIME)
            problems.add("CUDA runtime " + CudaStatus.cuda(runtime) + " is too old: Stride needs CUDA "
                    + CudaStatus.cuda(MIN_RUNTIME) + " or newer (its bindings are built from CUDA 13 headers)");
        boolean noDriverLib = driverLib.state() != State.LOADED;

        CudaProbe.Result count = p.deviceCount();
        if (count.status() == Cudart.cudaErrorInsufficientDriver()) {
            String err = p.describeError(count.status());
            if (driver > 0 && runtime > driver)
                problems.add("the NVIDIA driver supports CUDA up to " + CudaStatus.cuda(driver) + ", older than the CUDA runtime "
                        + CudaStatus.cuda(runtime) + " (cudaGetDeviceCount: " + err + "): update the driver, or use"
                        + " CUDA " + driver / 1000 + " libraries");
            else if (noDriverLib) notes.add("cudaGetDeviceCount: " + err);  // the missing libcuda is already a problem
            else problems.add("no usable NVIDIA driver (cudaGetDeviceCount: " + err + ")");
        } else if (count.status() == Cudart.cudaErrorNoDevice()) {
            problems.add("no CUDA device (cudaGetDeviceCount: " + p.describeError(count.status()) + ")");
        } else if (!count.ok()) {
            problems.add("cudaGetDeviceCount failed: " + p.describeError(count.status()));
        } else if (count.value() == 0) {
            problems.add("no CUDA device (cudaGetDeviceCount = 0)");
        } else {
            int n = (int) Math.min(count.value(), MAX_DEVICES);
            for (int d = 0; d < n; d++) {
                CudaProbe.Result cc = p.computeCapability(d), sm = p.multiprocessors(d);
                devices.add(new Device(d, p.deviceName(d), cc.ok() ? (int) cc.value() : -1,
                        sm.ok() ? (int) sm.value() : -1, p.totalMemory(d)));
            }
            if (count.value() > n) notes.add(count.value() + " devices, the first " + n + " described");
        }

        long cudnn = p.cudnnVersion(), cudnnFor = p.cudnnCudartVersion();
        if (cudnn >= 0 && cudnn < MIN_CUDNN)
            problems.add("cuDNN " + CudaStatus.cudnn(cudnn) + " is too old: Stride needs cuDNN 9 (the backend API as bound)");
        if (cudnnFor > 0 && runtime > 0 && cudnnFor / 1000 != runtime / 1000)
            notes.add("cuDNN was built for CUDA " + CudaStatus.cuda((int) cudnnFor) + ", the runtime loaded is "
                    + CudaStatus.cuda(runtime));
        return new Versions(runtime, driver, cudnn, cudnnFor, p.cublasVersion(), p.nvrtcVersion());
    }
}
