package dev.stride.engine.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The CUDA C kernels of the cuda backend as one translation unit: {@value #COMMON} first, then each family's
 * {@code .cu} file from the resources in {@value #DIR}, in the order given. A {@code #line} directive before each
 * file makes compiler messages name the file and line the kernel author wrote; each file's
 * {@code #include "common.cuh"} (there so that an editor or nvcc can compile the file alone) is blanked, because
 * the unit has it already. NVRTC compiles the unit for a GPU ({@link CudaDevice}), g++ for the emulated device.
 */
public final class KernelSources {
    /** The resource folder of the kernel sources (engine/src/main/resources/dev/stride/engine/cuda/kernels). */
    public static final String DIR = "/dev/stride/engine/cuda/kernels/";
    /** Helpers and the kernel contract, first in every unit. */
    public static final String COMMON = "common.cuh";

    private static final Pattern INCLUDE_COMMON = Pattern.compile("(?m)^[ \\t]*#[ \\t]*include[ \\t]+\"common\\.cuh\"[ \\t]*$");

    private final List<String> files;
    private final String unit;
    private final String hash;

    private KernelSources(List<String> files, String unit) {
        this.files = files;
        this.unit = unit;
        this.hash = sha256(unit);
    }

    /** The unit of {@value #COMMON} and these {@code .cu} files (duplicates once, first position). */
    public static KernelSources of(List<String> cuFiles) {
        List<String> files = List.copyOf(new LinkedHashSet<>(cuFiles));
        StringBuilder sb = new StringBuilder();
        append(sb, COMMON);
        for (String f : files) append(sb, f);
        return new KernelSources(files, sb.toString());
    }

    private static void append(StringBuilder sb, String file) {
        String text = INCLUDE_COMMON.matcher(resource(file)).replaceAll("// (common.cuh: at the top of the unit)");
        sb.append("#line 1 \"").append(file).append("\"\n").append(text);
        if (!text.endsWith("\n")) sb.append('\n');
    }

    /** The text of a file of {@value #DIR}; fails naming it when it is not there. */
    public static String resource(String file) {
        try (InputStream in = KernelSources.class.getResourceAsStream(DIR + file)) {
            if (in == null) throw new IllegalArgumentException("no kernel source " + DIR + file + " on the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel source " + DIR + file, e);
        }
    }

    /** The {@code .cu} files, in unit order (without {@value #COMMON}). */
    public List<String> files() { return files; }

    /** The translation unit. */
    public String unit() { return unit; }

    /** SHA-256 of the unit in hex: the key of compiled modules and emulation libraries. */
    public String hash() { return hash; }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public String toString() { return "kernel sources " + COMMON + " + " + files; }
}
