package dev.stride.graph.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Whole-file writes that a crash cannot leave half done: the bytes go to a temporary file in the same directory
 * (so the rename stays on one file system), are forced to disk, and the file is renamed over the target. A reader
 * sees the old content or the new, never a mix; a failed write removes its temporary file.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Suffix of the temporary files; nothing else in a checkpoint or log directory ends with it. */
    public static final String TEMP_SUFFIX = ".tmp";

    public enum Option {
        /** Create the target's directory (and its parents) first; without it a missing directory is an error. */
        CREATE_DIRECTORIES,
        /**
         * A temporary file is created owner-only (0600), and the rename keeps that; with this option the file gets
         * the usual rw-r--r-- where the file system has POSIX permissions (logs, plots, checkpoints).
         */
        READABLE_BY_ALL
    }

    public static void write(Path file, byte[] bytes, Option... options) throws IOException {
        Set<Option> opts = Set.of(options);
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        if (opts.contains(Option.CREATE_DIRECTORIES)) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, abs.getFileName() + ".", TEMP_SUFFIX);
        try {
            if (opts.contains(Option.READABLE_BY_ALL)) readableByAll(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        forceDirectory(dir);
    }

    private static void readableByAll(Path tmp) throws IOException {
        if (Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class))
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /** Makes the rename itself durable where a directory can be opened (POSIX); best effort elsewhere. */
    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not supported here (Windows): the data itself is already forced.
        }
    }
}
