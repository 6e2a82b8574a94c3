package dev.stride.engine;

import dev.stride.graph.Compiler;
import dev.stride.graph.Plan;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A backend: registered through {@link ServiceLoader} ({@code META-INF/services/dev.stride.engine.Backend}).
 * The compiler asks it for algorithm choices through {@link #target()}; a session asks it to {@link #load} a plan.
 */
public interface Backend {
    String name();

    /** {@code null} when usable here; otherwise why not (no GPU, library not found, ...). */
    String unavailableReason();

    /** The compile target for this backend, on this machine. */
    Compiler.Target target();

    /**
     * Loads a plan: validates that it fits this backend (fails with what and why otherwise), allocates the
     * buffers its memory plan asks for, binds the kernels.
     */
    Program load(Plan plan, SessionOptions options);

    static List<Backend> all() {
        List<Backend> list = new ArrayList<>();
        ServiceLoader.load(Backend.class).forEach(list::add);
        return list;
    }

    static Backend named(String name) {
        List<String> names = new ArrayList<>();
        for (Backend b : all()) {
            if (b.name().equals(name)) {
                String why = b.unavailableReason();
                if (why != null) throw new BackendUnavailableException(name, why);
                return b;
            }
            names.add(b.name());
        }
        throw new IllegalArgumentException("no backend named '" + name + "'; registered: " + names);
    }
}
