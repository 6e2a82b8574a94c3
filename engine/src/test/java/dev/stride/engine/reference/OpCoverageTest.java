package dev.stride.engine.reference;

import dev.stride.graph.Op;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every op of the IR has a reference kernel: the oracle covers the whole IR, forward and backward. */
class OpCoverageTest {
    static List<Class<? extends Op>> allOps() throws IOException, URISyntaxException, ClassNotFoundException {
        URL url = Op.class.getResource("op/Fill.class");
        Path dir;
        FileSystem jar = null;
        if (url.getProtocol().equals("jar")) {
            jar = FileSystems.newFileSystem(url.toURI(), Map.of());
            dir = jar.getPath("dev/stride/graph/op");
        } else {
            dir = Path.of(url.toURI()).getParent();
        }
        List<Class<? extends Op>> ops = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String f = p.getFileName().toString();
                if (!f.endsWith(".class") || f.contains("$")) continue;
                Class<?> c = Class.forName("dev.stride.graph.op." + f.substring(0, f.length() - 6));
                if (Op.class.isAssignableFrom(c) && c.isRecord()) ops.add(c.asSubclass(Op.class));
            }
        } finally {
            if (jar != null) jar.close();
        }
        return ops;
    }

    @Test
    void everyOpHasAReferenceKernel() throws Exception {
        List<Class<? extends Op>> ops = allOps();
        assertTrue(ops.size() >= 50, "found only " + ops.size() + " ops");
        List<String> missing = ops.stream().filter(c -> !ReferenceBackend.kernels().supports(c))
                .map(Class::getSimpleName).toList();
        assertTrue(missing.isEmpty(), "ops without a reference kernel: " + missing);
    }
}
