package dev.stride.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The directories searched for the CUDA libraries, in priority order, each with the reason it is on the list.
 * Built from an {@link Environment} (variables, home directory, file-system root), so tests can point everything
 * at a temporary tree.
 *
 * <p>Order: the variables that name an installation ({@code CUDNN_PATH}, {@code CUDA_HOME}, {@code CUDA_PATH}),
 * the active Python environment ({@code VIRTUAL_ENV}, {@code CONDA_PREFIX}), {@code LD_LIBRARY_PATH}, the
 * site-packages of every other Python found (pip's {@code nvidia/<package>/lib}), conda installations, then the
 * standard system directories. A directory appears once, at its first position. Directories named {@code stubs}
 * are never searched: the toolkit's stub libcuda.so only answers "stub library" to every call.
 */
public record SearchPath(List<Dir> dirs) {
    /** A candidate directory and why it is searched, e.g. "CUDA_HOME" or "pip site-packages of python3.12". */
    public record Dir(Path path, String source) {
        public boolean exists() { return Files.isDirectory(path); }
    }

    /**
     * What the search path is built from.
     *
     * @param env    environment variables
     * @param home   the user's home directory
     * @param root   where absolute system paths ("/usr/local/cuda") are resolved: "/" normally, a temporary
     *               directory in tests
     * @param arch   {@code os.arch} (amd64, aarch64): chooses the multiarch directory names
     */
    public record Environment(Map<String, String> env, Path home, Path root, String arch) {
        public static Environment current() {
            return new Environment(System.getenv(), Path.of(System.getProperty("user.home")), Path.of("/"),
                    System.getProperty("os.arch"));
        }

        Path system(String absolute) { return root.resolve(absolute.substring(1)); }

        String triple() { return arch.equals("aarch64") ? "aarch64-linux-gnu" : "x86_64-linux-gnu"; }

        /** The CUDA toolkit's targets/ directory name for this architecture. */
        String cudaTarget() { return arch.equals("aarch64") ? "sbsa-linux" : "x86_64-linux"; }
    }

    private static final Pattern PYTHON_DIR = Pattern.compile("python3(\\.\\d+)?");
    private static final Pattern CUDA_VERSIONED = Pattern.compile("cuda-\\d+(\\.\\d+)*");

    public static SearchPath of(Environment e) {
        var b = new Builder();
        for (String var : List.of("CUDNN_PATH", "CUDA_HOME", "CUDA_PATH")) {
            String v = e.env().get(var);
            if (v != null && !v.isBlank()) b.installation(Path.of(v), var, e);
        }
        String venv = e.env().get("VIRTUAL_ENV");
        if (venv != null && !venv.isBlank()) b.sitePackagesUnder(Path.of(venv), "VIRTUAL_ENV");
        String conda = e.env().get("CONDA_PREFIX");
        if (conda != null && !conda.isBlank()) b.conda(Path.of(conda), "CONDA_PREFIX");
        String ld = e.env().get("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String part : ld.split(":")) if (!part.isBlank()) b.add(Path.of(part), "LD_LIBRARY_PATH");
        }
        String pythonPath = e.env().get("PYTHONPATH");
        if (pythonPath != null) {
            for (String part : pythonPath.split(":")) if (!part.isBlank()) b.nvidiaLibs(Path.of(part), "PYTHONPATH");
        }
        b.sitePackagesUnder(e.home().resolve(".local"), "pip --user site-packages");
        String pyenv = e.env().getOrDefault("PYENV_ROOT", e.home().resolve(".pyenv").toString());
        for (Path version : children(Path.of(pyenv).resolve("versions"), Files::isDirectory))
            b.sitePackagesUnder(version, "pyenv " + version.getFileName());
        for (Path base : List.of(e.home().resolve("miniconda3"), e.home().resolve("anaconda3"),
                e.home().resolve("miniforge3"), e.system("/opt/conda"))) {
            b.conda(base, "conda at " + base);
            for (Path env : children(base.resolve("envs"), Files::isDirectory)) b.conda(env, "conda env " + env);
        }
        for (String prefix : List.of("/usr/local", "/usr")) {
            for (String lib : List.of("lib", "lib64")) {
                for (Path py : children(e.system(prefix + "/" + lib), p -> PYTHON_DIR.matcher(name(p)).matches())) {
                    b.nvidiaLibs(py.resolve("site-packages"), "python site-packages");
                    b.nvidiaLibs(py.resolve("dist-packages"), "python dist-packages");
                }
            }
        }
        b.nvidiaLibs(e.system("/usr/lib/python3/dist-packages"), "python dist-packages");
        b.installation(e.system("/usr/local/cuda"), "standard", e);
        List<Path> versioned = children(e.system("/usr/local"), p -> CUDA_VERSIONED.matcher(name(p)).matches());
        versioned.sort(Comparator.comparing(SearchPath::versionKey).reversed());
        for (Path p : versioned) b.installation(p, "standard", e);
        for (String dir : List.of("/usr/lib/" + e.triple(), "/lib/" + e.triple(), "/usr/lib64", "/lib64", "/usr/lib",
                "/usr/local/lib", "/usr/lib/wsl/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib",
                "/usr/lib/" + e.triple() + "/nvidia/current"))
            b.add(e.system(dir), "standard");
        return new SearchPath(List.copyOf(b.dirs.values()));
    }

    /** Every directory, one per line, each with its source and whether it exists. */
    public String describe(String indent) {
        var sb = new StringBuilder();
        for (Dir d : dirs) {
            sb.append(indent).append(d.path()).append("  [").append(d.source()).append(']');
            if (!d.exists()) sb.append(" (no such directory)");
            sb.append('\n');
        }
        return sb.toString();
    }

    private static final class Builder {
        final Map<String, Dir> dirs = new LinkedHashMap<>();

        void add(Path p, String source) {
            Path n = p.toAbsolutePath().normalize();
            if (n.getFileName() != null && n.getFileName().toString().equals("stubs")) return;
            dirs.putIfAbsent(n.toString(), new Dir(n, source));
        }

        /** A toolkit or cuDNN root: its lib64, lib and targets/ directories, and the root itself (tarballs). */
        void installation(Path root, String source, Environment e) {
            add(root.resolve("lib64"), source);
            add(root.resolve("lib"), source);
            add(root.resolve("targets").resolve(e.cudaTarget()).resolve("lib"), source);
            add(root, source);
        }

        /** A virtualenv or any prefix with lib/python3.X/site-packages. */
        void sitePackagesUnder(Path prefix, String source) {
            for (Path py : children(prefix.resolve("lib"), p -> PYTHON_DIR.matcher(name(p)).matches()))
                nvidiaLibs(py.resolve("site-packages"), source + " (" + name(py) + ")");
        }

        /** A conda prefix: conda packages put their libraries in lib/, pip wheels in site-packages. */
        void conda(Path prefix, String source) {
            if (!Files.isDirectory(prefix)) return;
            add(prefix.resolve("lib"), source);
            sitePackagesUnder(prefix, source);
        }

        /** pip's NVIDIA wheels: site-packages/nvidia/{cu13,cudnn,cublas,cuda_runtime,...}/lib. */
        void nvidiaLibs(Path sitePackages, String source) {
            if (!Files.isDirectory(sitePackages)) return;
            // Listed even when absent, so that "searched" shows which Pythons were looked at.
            if (!Files.isDirectory(sitePackages.resolve("nvidia"))) add(sitePackages.resolve("nvidia"), "pip wheels, " + source);
            for (Path pkg : children(sitePackages.resolve("nvidia"), Files::isDirectory)) {
                add(pkg.resolve("lib"), "pip wheel, " + source);
            }
        }
    }

    /** Sorted children of a directory matching a test; empty when it is not a readable directory. */
    static List<Path> children(Path dir, Predicate<Path> test) {
        if (!Files.isDirectory(dir)) return new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(test).sorted().toList());
        } catch (IOException | SecurityException e) {
            return new ArrayList<>();
        }
    }

    private static String name(Path p) { return p.getFileName() == null ? "" : p.getFileName().toString(); }

    /** "cuda-12.4" -> "00012.00004" so that a plain string sort is a version sort. */
    private static String versionKey(Path p) {
        var sb = new StringBuilder();
        for (String part : name(p).substring("cuda-".length()).split("\\."))
            sb.append(String.format("%05d.", Integer.parseInt(part.length() > 5 ? part.substring(0, 5) : part)));
        return sb.toString();
    }
}
