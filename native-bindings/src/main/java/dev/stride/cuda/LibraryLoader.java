package dev.stride.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Loads a shared library into this process. The locator goes through this interface so that tests can load fake
 * libraries; {@link #system()} is the real one.
 */
public interface LibraryLoader {
    /**
     * Loads the library at an absolute path.
     *
     * @return a lookup of that library's own symbols
     * @throws LoadException with the dynamic loader's reason
     */
    SymbolLookup load(Path path) throws LoadException;

    /**
     * Loads a library by soname through the system loader's own search (the ld.so cache), for the driver when it
     * is in none of the searched directories.
     *
     * @return where it was loaded from, or empty when the system loader does not know the name
     */
    Optional<Loaded> loadBySoname(String soname) throws LoadException;

    record Loaded(Path path, SymbolLookup lookup) {}

    /** A library that was found but could not be loaded; the message is the loader's reason. */
    final class LoadException extends Exception {
        public LoadException(String message) { super(message); }
    }

    static LibraryLoader system() { return SystemLoader.INSTANCE; }

    /**
     * Loads each library twice over, on purpose. {@code System.load} puts it among the libraries of this class
     * loader: the jextract-generated bindings resolve their functions through {@code SymbolLookup.loaderLookup()}
     * (generated without {@code --library}, so that no class initialiser opens a library on a machine without
     * CUDA), and that lookup sees exactly those libraries. Its error also carries the dynamic loader's reason
     * ("file too short", "libz.so.1: cannot open shared object file"), which
     * {@code SymbolLookup.libraryLookup} does not. Then {@code SymbolLookup.libraryLookup(path, arena)} opens the
     * same file again (the loader only counts a reference) for a lookup of that library's own symbols, so the
     * locator can check that each library exports what it should. The global arena: a loaded CUDA library stays
     * for the life of the process, as {@code System.load} keeps it anyway.
     */
    final class SystemLoader implements LibraryLoader {
        static final SystemLoader INSTANCE = new SystemLoader();

        private SystemLoader() {}

        @Override public SymbolLookup load(Path path) throws LoadException {
            String p = path.toAbsolutePath().toString();
            try {
                System.load(p);
            } catch (UnsatisfiedLinkError e) {
                throw new LoadException(reason(e, p));
            }
            try {
                return SymbolLookup.libraryLookup(path.toAbsolutePath(), Arena.global());
            } catch (IllegalArgumentException e) {
                throw new LoadException("loaded with System.load, but SymbolLookup.libraryLookup failed: " + e.getMessage());
            }
        }

        @Override public Optional<Loaded> loadBySoname(String soname) throws LoadException {
            SymbolLookup lookup;
            try {
                lookup = SymbolLookup.libraryLookup(soname, Arena.global());
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
            // The loader found it; learn the file it mapped, so it can be registered for the generated bindings.
            Path path = mappedFile(soname);
            if (path == null)
                throw new LoadException("the system loader opened " + soname + " but it is not in /proc/self/maps");
            return Optional.of(new Loaded(path, load(path)));
        }

        /** The file of a mapped library whose name starts with the soname's stem, e.g. libcuda.so.550.54.14. */
        private static Path mappedFile(String soname) {
            String stem = soname.substring(0, soname.indexOf(".so") + 3);
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                    int slash = line.indexOf('/');
                    if (slash < 0) continue;
                    Path file = Path.of(line.substring(slash).trim());
                    if (file.getFileName() != null && file.getFileName().toString().startsWith(stem)) return file;
                }
            } catch (IOException | RuntimeException e) {
                return null;
            }
            return null;
        }

        /** "X: X: file too short" -> "file too short"; "Can't load library: X" -> "cannot be opened". */
        static String reason(UnsatisfiedLinkError e, String path) {
            String m = e.getMessage() == null ? "" : e.getMessage();
            while (m.startsWith(path + ": ")) m = m.substring(path.length() + 2);
            if (m.equals("Can't load library: " + path)) return "the dynamic loader cannot open it";
            return m.isBlank() ? e.toString() : m;
        }
    }
}
