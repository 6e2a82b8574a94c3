package dev.stride.cuda;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What the locator found: each library (where, or why not), the versions, the devices, and the problems that make
 * CUDA unusable here. {@link #unavailableReason()} is the cuda backend's explanation; {@link #describe()} is what
 * {@code stride doctor} prints.
 *
 * @param problems  each one makes the cuda backend unusable; empty when it is usable
 * @param notes     worth knowing, not blocking (an optional library missing, a library not loaded because of
 *                  another one's problem)
 */
public record CudaStatus(List<LibraryStatus> libraries, SearchPath searchPath, Versions versions,
                         List<Device> devices, List<String> problems, List<String> notes) {

    public enum State {
        /** Loaded into this process. */
        LOADED,
        /** Found, deliberately not loaded (cuDNN loads it on demand). */
        PRESENT,
        NOT_FOUND,
        /** Only an older major version was found. */
        TOO_OLD,
        /** Found, but no candidate could be used; {@code rejected} says why for each. */
        FAILED,
        /** Not attempted, because a library it depends on is not loaded. */
        SKIPPED
    }

    /**
     * @param path      the file loaded (or found), null otherwise
     * @param source    why its directory was searched ("CUDA_HOME", "pip wheel, ...")
     * @param detail    the explanation for any state but LOADED
     * @param rejected  every candidate passed over, with the reason ("/x/libcudnn.so.9: empty file")
     */
    public record LibraryStatus(CudaLibrary library, State state, Path path, String source, String detail,
                                List<String> rejected) {}

    /**
     * Versions in CUDA's own encodings, -1 when unknown.
     *
     * @param runtime        cudaRuntimeGetVersion (13000 = 13.0)
     * @param driver         cudaDriverGetVersion: the newest CUDA the driver supports, 0 when there is none
     * @param cudnn          cudnnGetVersion (92400 = 9.24.0)
     * @param cudnnBuiltFor  cudnnGetCudartVersion: the CUDA runtime cuDNN was built for
     * @param cublas         "13.1.1", or null
     * @param nvrtc          nvrtcVersion as 1000 * major + 10 * minor (13000 = 13.0), -1 when unknown
     */
    public record Versions(int runtime, int driver, long cudnn, long cudnnBuiltFor, String cublas, int nvrtc) {
        public static final Versions UNKNOWN = new Versions(-1, -1, -1, -1, null, -1);
    }

    /**
     * @param computeCapability  10 * major + minor, -1 when unknown
     * @param totalMemory        bytes, -1 when unknown
     */
    public record Device(int index, String name, int computeCapability, int multiprocessors, long totalMemory) {
        public String capability() {
            return computeCapability < 0 ? "?" : computeCapability / 10 + "." + computeCapability % 10;
        }
    }

    public boolean available() { return problems.isEmpty(); }

    /** {@code null} when CUDA is usable; otherwise every problem, and where the libraries were looked for. */
    public String unavailableReason() {
        if (available()) return null;
        var sb = new StringBuilder("CUDA is not usable: ");
        sb.append(String.join("; ", problems)).append('.');
        if (libraries.stream().anyMatch(l -> l.state() == State.NOT_FOUND && l.library().required()
                && !l.library().isCudnnSublibrary())) {
            sb.append("\nSearched, in this order (set CUDA_HOME, CUDNN_PATH or LD_LIBRARY_PATH, or pip install"
                    + " nvidia-cuda-runtime nvidia-cublas nvidia-cudnn-cu13):\n");
            sb.append(searchPath.describe("  "));
        }
        return sb.toString().stripTrailing();
    }

    public LibraryStatus library(CudaLibrary l) {
        return libraries.stream().filter(s -> s.library() == l).findFirst().orElseThrow();
    }

    public boolean loaded(CudaLibrary l) { return library(l).state() == State.LOADED; }

    /** The report {@code stride doctor} prints. */
    public String describe() {
        var sb = new StringBuilder();
        sb.append("libraries (the first usable file in the search order wins):\n");
        int w = libraries.stream().mapToInt(l -> l.library().what.length()).max().orElse(10);
        boolean noCudnn = libraries.stream().anyMatch(l -> l.library() == CudaLibrary.CUDNN && l.path() == null);
        for (LibraryStatus l : libraries) {
            if (noCudnn && l.library().isCudnnSublibrary()) continue;
            sb.append(String.format(Locale.ROOT, "  %-" + w + "s  %-8s ", l.library().what, label(l.state())));
            switch (l.state()) {
                case LOADED -> sb.append(l.path()).append("  [").append(l.source()).append(']');
                case PRESENT -> sb.append(l.path()).append(" (").append(l.detail()).append(')');
                default -> sb.append(l.detail());
            }
            sb.append('\n');
            for (String r : l.rejected()) sb.append("      passed over ").append(r).append('\n');
        }
        if (noCudnn) sb.append(String.format(Locale.ROOT, "  %-" + w + "s  %-8s %s%n", "cuDNN sub-libraries",
                "skipped", "looked for next to libcudnn.so.9 once it is found"));
        sb.append("versions:\n");
        sb.append("  driver supports CUDA  ").append(versions.driver() < 0 ? "unknown"
                : versions.driver() == 0 ? "none (no driver)" : cuda(versions.driver())).append('\n');
        sb.append("  CUDA runtime          ").append(versions.runtime() < 0 ? "unknown" : cuda(versions.runtime())).append('\n');
        sb.append("  cuBLAS                ").append(versions.cublas() == null ? "unknown" : versions.cublas()).append('\n');
        sb.append("  NVRTC                 ").append(versions.nvrtc() < 0 ? "unknown" : cuda(versions.nvrtc())).append('\n');
        sb.append("  cuDNN                 ").append(versions.cudnn() < 0 ? "unknown" : cudnn(versions.cudnn()));
        if (versions.cudnnBuiltFor() > 0) sb.append(" (built for CUDA ").append(cuda((int) versions.cudnnBuiltFor())).append(')');
        sb.append('\n');
        sb.append("devices:");
        if (devices.isEmpty()) sb.append(" none\n");
        else {
            sb.append('\n');
            for (Device d : devices) {
                sb.append("  ").append(d.index()).append(": ").append(d.name()).append(", compute capability ")
                        .append(d.capability());
                if (d.multiprocessors() > 0) sb.append(", ").append(d.multiprocessors()).append(" SMs");
                if (d.totalMemory() >= 0)
                    sb.append(String.format(Locale.ROOT, ", %.1f GiB", d.totalMemory() / (double) (1L << 30)));
                sb.append('\n');
            }
        }
        if (available()) sb.append("status: usable\n");
        else {
            sb.append("status: not usable\n");
            for (String p : problems) sb.append("  - ").append(p).append('\n');
        }
        if (!notes.isEmpty()) {
            sb.append("notes:\n");
            for (String n : notes) sb.append("  - ").append(n).append('\n');
        }
        sb.append("searched, in this order:\n").append(searchPath.describe("  "));
        return sb.toString();
    }

    private static String label(State s) {
        return switch (s) {
            case LOADED -> "loaded";
            case PRESENT -> "present";
            case NOT_FOUND -> "missing";
            case TOO_OLD -> "too old";
            case FAILED -> "failed";
            case SKIPPED -> "skipped";
        };
    }

    /** 13000 -> "13.0", 12040 -> "12.4". */
    public static String cuda(int v) { return v / 1000 + "." + v % 1000 / 10; }

    /** cuDNN 9 encodes 10000 * major + 100 * minor + patch; cuDNN 8 and older 1000 * major + 100 * minor + patch. */
    public static String cudnn(long v) {
        if (v >= 90000) return v / 10000 + "." + v % 10000 / 100 + "." + v % 100;
        return v / 1000 + "." + v % 1000 / 100 + "." + v % 100;
    }
}
