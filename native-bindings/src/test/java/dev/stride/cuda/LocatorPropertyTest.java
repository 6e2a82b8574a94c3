package dev.stride.cuda;

import dev.stride.cuda.CudaStatus.State;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random fake installations: the first usable file in search order wins, every other one is explained. */
class LocatorPropertyTest {
    enum Kind { ABSENT, VALID, EMPTY, NOT_ELF, WRONG_ARCH, DIRECTORY, BROKEN_LINK, REFUSED }

    /** Six places, in the order the search path visits them. */
    private static List<Path> places(FakeCuda.Tree t) {
        return List.of(t.root.resolve("cudnn/lib"), t.root.resolve("cuda/lib64"), t.root.resolve("ld"),
                t.home.resolve(".local/lib/python3.12/site-packages/nvidia/cu13/lib"), t.sys("/usr/local/cuda/lib64"),
                t.sys("/usr/lib/x86_64-linux-gnu"));
    }

    @Provide Arbitrary<List<Kind>> layouts() {
        return Arbitraries.of(Kind.class).list().ofSize(6);
    }

    @Property(tries = 40)
    void firstUsableWinsAndEveryOtherCandidateIsExplained(@ForAll("layouts") List<Kind> layout) throws IOException {
        Path dir = Files.createTempDirectory("stride-locator");
        try {
            var t = new FakeCuda.Tree(dir).env("CUDNN_PATH", dir.resolve("cudnn")).env("CUDA_HOME", dir.resolve("cuda"))
                    .env("LD_LIBRARY_PATH", dir.resolve("ld"));
            var loader = new FakeCuda.FakeLoader();
            List<Path> places = places(t);
            Path expected = null;
            List<Path> passedOver = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Path f = places.get(i).resolve("libcudart.so.13");
                Files.createDirectories(places.get(i));
                switch (layout.get(i)) {
                    case ABSENT -> { continue; }
                    case VALID -> t.file(f, FakeCuda.elf());
                    case EMPTY -> t.file(f, new byte[0]);
                    case NOT_ELF -> t.file(f, "garbage".getBytes());
                    case WRONG_ARCH -> t.file(f, FakeCuda.elf(ElfCheck.EM_AARCH64));
                    case DIRECTORY -> Files.createDirectories(f);
                    case BROKEN_LINK -> Files.createSymbolicLink(f, places.get(i).resolve("nowhere"));
                    case REFUSED -> {
                        t.file(f, FakeCuda.elf());
                        // Each place's file gets its own name so that the loader refuses only this one.
                        Path renamed = places.get(i).resolve("libcudart.so.13.0." + i);
                        Files.move(f, renamed);
                        loader.refuse.put(renamed.getFileName().toString(), "refused " + i);
                        f = renamed;
                    }
                }
                if (expected == null) {
                    if (layout.get(i) == Kind.VALID) expected = f;
                    else passedOver.add(f);
                }
            }
            CudaStatus s = t.load(loader, new FakeCuda.FakeProbe());
            CudaStatus.LibraryStatus rt = s.library(CudaLibrary.CUDART);
            String report = s.describe();
            if (expected != null) {
                assertEquals(State.LOADED, rt.state(), report);
                assertEquals(expected, rt.path(), report);
            } else {
                assertNull(rt.path(), report);
                assertEquals(passedOver.isEmpty() ? State.NOT_FOUND : State.FAILED, rt.state(), report);
                assertTrue(s.unavailableReason().startsWith("CUDA is not usable: "), s.unavailableReason());
            }
            // Every file before the winner is named with a reason; none after it was touched.
            assertEquals(passedOver.size(), rt.rejected().size(), report);
            for (int i = 0; i < passedOver.size(); i++)
                assertTrue(rt.rejected().get(i).startsWith(passedOver.get(i) + ": "), rt.rejected().get(i));
            assertTrue(loader.loaded.stream().filter(p -> p.getFileName().toString().startsWith("libcudart"))
                    .allMatch(p -> p.equals(rt.path())), loader.loaded.toString());
        } finally {
            try (Stream<Path> w = Files.walk(dir)) {
                for (Path p : w.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }
}
