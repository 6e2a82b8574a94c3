package dev.stride.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Checks that a file can be a shared library for this JVM before handing it to the dynamic loader: a wrong file
 * (an empty placeholder, a linker script, a 32-bit or other-architecture build) gets a plain reason here, instead
 * of a loader error or a JVM warning.
 */
final class ElfCheck {
    private ElfCheck() {}

    static final int ELF_HEADER_BYTES = 64;
    static final int EM_X86_64 = 62, EM_AARCH64 = 183;

    /** The ELF machine number for an {@code os.arch}, or -1 when unknown (then the machine is not checked). */
    static int machineFor(String osArch) {
        return switch (osArch) {
            case "amd64", "x86_64" -> EM_X86_64;
            case "aarch64" -> EM_AARCH64;
            default -> -1;
        };
    }

    /** {@code null} when the file looks like a loadable 64-bit little-endian shared object for this machine. */
    static String problem(Path file, String osArch) {
        if (Files.isSymbolicLink(file) && !Files.exists(file)) return "broken symbolic link";
        if (Files.isDirectory(file)) return "a directory, not a file";
        if (!Files.isRegularFile(file)) return "not a regular file";
        byte[] h = new byte[ELF_HEADER_BYTES];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(h, 0, h.length);
        } catch (IOException | SecurityException e) {
            return "cannot be read: " + e.getMessage();
        }
        if (n == 0) return "empty file";
        if (n < 4 || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F')
            return "not an ELF file (starts with " + hex(h, Math.min(n, 8)) + ")";
        if (n < ELF_HEADER_BYTES) return "truncated ELF file (" + n + " bytes)";
        if (h[4] != 2) return "not a 64-bit ELF file (class " + h[4] + ")";
        if (h[5] != 1) return "not a little-endian ELF file";
        int type = (h[16] & 0xff) | (h[17] & 0xff) << 8;
        if (type != 3) return "not a shared object (ELF type " + type + ")";
        int machine = (h[18] & 0xff) | (h[19] & 0xff) << 8;
        int expected = machineFor(osArch);
        if (expected >= 0 && machine != expected)
            return "built for " + machineName(machine) + ", this JVM runs on " + osArch;
        return null;
    }

    static String realPathOrSame(Path p) {
        try {
            return p.toRealPath().toString();
        } catch (IOException | SecurityException e) {
            return p.toAbsolutePath().normalize().toString();
        }
    }

    static boolean exists(Path p) { return Files.exists(p, LinkOption.NOFOLLOW_LINKS); }

    private static String machineName(int m) {
        return switch (m) {
            case EM_X86_64 -> "x86_64";
            case EM_AARCH64 -> "aarch64";
            case 3 -> "i386";
            case 40 -> "arm";
            case 21 -> "ppc64";
            default -> "ELF machine " + m;
        };
    }

    private static String hex(byte[] b, int n) {
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append(i == 0 ? "" : " ").append(String.format("%02x", b[i] & 0xff));
        return sb.toString();
    }
}
