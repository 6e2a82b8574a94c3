package dev.stride.graph.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static dev.stride.graph.io.AtomicFile.Option.CREATE_DIRECTORIES;
import static dev.stride.graph.io.AtomicFile.Option.READABLE_BY_ALL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class AtomicFileTest {
    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void replacesTheTargetAndLeavesNoTemporaryFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("a.bin");
        Files.writeString(f, "old");
        AtomicFile.write(f, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        assertEquals(List.of("a.bin"), listing(dir));
    }

    @Test
    void createsDirectoriesOnlyWhenAsked(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("x/y/a.bin");
        assertThrows(NoSuchFileException.class, () -> AtomicFile.write(f, new byte[] {1}));
        AtomicFile.write(f, new byte[] {1}, CREATE_DIRECTORIES);
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(f));
    }

    @Test
    void permissionsAreOwnerOnlyUnlessReadableByAll(@TempDir Path dir) throws IOException {
        assumeTrue(Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class));
        Path plain = dir.resolve("plain"), shared = dir.resolve("shared");
        AtomicFile.write(plain, new byte[0]);
        AtomicFile.write(shared, new byte[0], READABLE_BY_ALL);
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(plain));
        assertEquals(PosixFilePermissions.fromString("rw-r--r--"), Files.getPosixFilePermissions(shared));
    }

    @Test
    void aFailedRenameRemovesTheTemporaryFileAndKeepsTheTarget(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("t");
        Files.createDirectories(target.resolve("inside"));   // a non-empty directory cannot be replaced
        assertThrows(IOException.class, () -> AtomicFile.write(target, new byte[] {1}, READABLE_BY_ALL));
        assertEquals(List.of("t"), listing(dir));
        assertTrue(Files.isDirectory(target.resolve("inside")));
    }
}
