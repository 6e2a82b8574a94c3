package dev.stride.tools;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.Backend;
import dev.stride.engine.cpu.VectorConfig;

import java.util.List;

/**
 * {@code stride doctor}: what this machine offers Stride. The JDK, the CPU's vector width, every registered backend
 * and whether it is usable, and for CUDA what was found where (driver, runtime, cuBLAS, cuDNN and its
 * sub-libraries), their versions and the GPUs, or what is missing and every place it was looked for.
 */
final class Doctor {
    private Doctor() {}

    static int run(String[] args) {
        if (args.length > 0) {
            System.err.println("usage: stride doctor   (no options)");
            return 2;
        }
        System.out.print(report(CudaLibraries.system(), Backend.all()));
        return 0;
    }

    /** The report for a CUDA status and a list of backends (tests pass a status built over a fake tree). */
    static String report(CudaStatus cuda, List<Backend> backends) {
        var sb = new StringBuilder();
        Runtime.Version v = Runtime.version();
        sb.append("JDK      ").append(v).append(" (").append(System.getProperty("java.vendor")).append("), ")
                .append(System.getProperty("java.home")).append('\n');
        sb.append("OS       ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"))
                .append(' ').append(System.getProperty("os.arch")).append(", ")
                .append(Runtime.getRuntime().availableProcessors()).append(" processors, max heap ")
                .append(Units.bytes(Runtime.getRuntime().maxMemory())).append('\n');
        sb.append("CPU      ").append(VectorConfig.describe()).append('\n');
        sb.append("backends\n");
        for (Backend b : backends) {
            String why = b.unavailableReason();
            sb.append("  ").append(b.name()).append(": ");
            if (why == null) sb.append("usable");
            else if (b.name().equals("cuda")) sb.append("not usable (see CUDA below)");  // its reason is that section
            else sb.append("not usable (").append(firstLine(why)).append(')');
            sb.append('\n');
        }
        sb.append("CUDA\n");
        for (String line : cuda.describe().split("\n")) sb.append("  ").append(line).append('\n');
        return sb.toString();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 160 ? line.substring(0, 157) + "..." : line;
    }
}
