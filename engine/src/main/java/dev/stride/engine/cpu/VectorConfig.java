package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector species the CPU kernels use by default, read once at class initialisation from two debug knobs:
 * <ul>
 *   <li>{@code -Dstride.cpu.vectorBits=128|256|512} forces a width. Only widths up to the machine's preferred one
 *       are accepted: a wider species has no hardware behind it, and the Vector API then runs in Java fallback
 *       code about a hundred times slower, which is never what anyone wants.</li>
 *   <li>{@code -Dstride.cpu.simd=false} switches the kernels to their plain scalar paths, to tell a SIMD bug from
 *       an algorithm bug.</li>
 * </ul>
 * Kernels take their species as a constructor argument, so tests can run every width in one JVM; these properties
 * only choose the default.
 */
public final class VectorConfig {
    /** The machine's widest usable float species. */
    public static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;

    /** Whether kernels use the Vector API at all ({@code stride.cpu.simd}, default true). */
    public static final boolean SIMD = parseSimd(System.getProperty("stride.cpu.simd"));

    /** The default species ({@code stride.cpu.vectorBits}, default {@link #PREFERRED}). */
    public static final VectorSpecies<Float> SPECIES = parseSpecies(System.getProperty("stride.cpu.vectorBits"));

    private VectorConfig() {}

    /** For plans and benchmark reports: e.g. "x86_64 SIMD 256-bit (8 floats), preferred 256-bit". */
    public static String describe() {
        String arch = System.getProperty("os.arch");
        if (!SIMD) return arch + " scalar (stride.cpu.simd=false), preferred " + PREFERRED.vectorBitSize() + "-bit";
        return arch + " SIMD " + SPECIES.vectorBitSize() + "-bit (" + SPECIES.length() + " floats), preferred "
                + PREFERRED.vectorBitSize() + "-bit";
    }

    /**
     * The float species of {@code bits} bits, if this machine supports it natively.
     *
     * @throws IllegalArgumentException for a width other than 128, 256, 512 or one wider than the preferred species
     */
    public static VectorSpecies<Float> species(int bits) {
        if (bits != 128 && bits != 256 && bits != 512)
            throw new IllegalArgumentException("vector width must be 128, 256 or 512 bits, got " + bits);
        if (bits > PREFERRED.vectorBitSize())
            throw new IllegalArgumentException("vector width " + bits + " bits is wider than this machine's preferred "
                    + PREFERRED.vectorBitSize() + " bits; the Vector API would emulate it in Java code, about 100x"
                    + " slower. Use a width <= " + PREFERRED.vectorBitSize());
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    static boolean parseSimd(String value) {
        if (value == null || value.equalsIgnoreCase("true")) return true;
        if (value.equalsIgnoreCase("false")) return false;
        throw new IllegalArgumentException("stride.cpu.simd must be true or false, got '" + value + "'");
    }

    static VectorSpecies<Float> parseSpecies(String value) {
        if (value == null || value.isBlank()) return PREFERRED;
        int bits;
        try {
            bits = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("stride.cpu.vectorBits must be 128, 256 or 512, got '" + value + "'");
        }
        try {
            return species(bits);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("stride.cpu.vectorBits: " + e.getMessage(), e);
        }
    }
}
