// The layout family (CudaLayoutKernels): transpose, slice, concat, pad in every mode and its gradient, gather and
// its gradient. Copies move float bits unchanged; the two gradients that add (PadBackward, GatherBackward) are
// written as gathers, one thread per output element summing its sources in the reference's order, so they need no
// atomics and give the reference's bits.
#include "common.cuh"

// y[i] = x[base + offset of i]: the output walked row-major over layout = [dims (rank), x strides (rank)].
// Transpose (strides permuted) and Slice (base at the box's corner).
extern "C" __global__ void stride_strided_copy(const float* x, float* y, long long n, long long base, int rank,
                                               const long long* layout) {
    STRIDE_FOR(i, n) y[i] = x[base + stride_offset(i, rank, layout, layout + rank)];
}

// One input of a concatenation: x is [outer, slab], written into y [outer, out_slab] at column `at`.
extern "C" __global__ void stride_concat_part(const float* x, float* y, long long n, long long slab, long long out_slab,
                                              long long at) {
    STRIDE_FOR(j, n) y[(j / slab) * out_slab + at + j % slab] = x[j];
}

// Pad.Mode, as CudaLayoutKernels numbers it.
#define LAYOUT_CONSTANT 0
#define LAYOUT_REFLECT 1
#define LAYOUT_EDGE 2
#define LAYOUT_WRAP 3

// Pad.sourceIndex: which cell of an axis of size n the padded position i (counted from the first real cell)
// copies, or -1 for a constant cell. n >= 1 whenever a copying mode pads (Pad's shape rule).
__device__ __forceinline__ long long layout_pad_source(int mode, long long i, long long n) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case LAYOUT_EDGE: return i < 0 ? 0 : n - 1;
        case LAYOUT_WRAP: {
            long long m = i % n;
            return m < 0 ? m + n : m;   // Math.floorMod
        }
        case LAYOUT_REFLECT: {
            if (n == 1) return 0;
            long long period = 2 * (n - 1), m = i % period;
            if (m < 0) m += period;
            return m < n ? m : period - m;
        }
        default: return -1;   // LAYOUT_CONSTANT
    }
}

// y = x padded: layout = [y dims, x dims, before, x strides], rank entries each.
extern "C" __global__ void stride_pad(const float* x, float* y, long long n, int rank, const long long* layout, int mode,
                                     double value) {
    STRIDE_FOR(i, n) {
        const long long *ydims = layout, *xdims = layout + rank, *before = layout + 2 * rank, *xs = layout + 3 * rank;
        long long rest = i, at = 0;
        bool inside = true;
        for (int d = rank - 1; d >= 0; d--) {
            long long c = rest % ydims[d];
            rest /= ydims[d];
            long long s = layout_pad_source(mode, c - before[d], xdims[d]);
            if (s < 0) inside = false;
            else at += s * xs[d];
        }
        y[i] = inside ? x[at] : (float)value;
    }
}

// dx[cell] = sum of dy over the padded cells that copy it. Per axis d, the padded positions copying x coordinate c
// are t[t[2 rank + d] + c] .. t[t[2 rank + d] + c + 1] - 1 (indices into t, increasing positions); the layout head
// is [x dims (rank), dy strides (rank), where each axis's offsets start (rank)]. The cells are walked row-major,
// last axis fastest: increasing dy index, the reference's order of accumulation.
extern "C" __global__ void stride_pad_backward(const float* dy, float* dx, long long n, int rank, const long long* t) {
    STRIDE_FOR(i, n) {
        const long long *xdims = t, *ys = t + rank, *start = t + 2 * rank;
        long long lo[STRIDE_MAX_RANK], hi[STRIDE_MAX_RANK], at[STRIDE_MAX_RANK];
        long long rest = i;
        bool none = false;
        for (int d = rank - 1; d >= 0; d--) {
            long long c = rest % xdims[d];
            rest /= xdims[d];
            lo[d] = t[start[d] + c];
            hi[d] = t[start[d] + c + 1];
            at[d] = lo[d];
            none = none || lo[d] == hi[d];
        }
        double acc = 0;
        while (!none) {
            long long o = 0;
            for (int d = 0; d < rank; d++) o += t[at[d]] * ys[d];
            acc += dy[o];
            int d = rank - 1;
            while (d >= 0 && ++at[d] == hi[d]) {
                at[d] = lo[d];
                d--;
            }
            none = d < 0;   // every combination done
        }
        dx[i] = (float)acc;
    }
}

// y [outer, m, inner] = x [outer, axis, inner] at the m (non-negative) indices.
extern "C" __global__ void stride_gather(const float* x, float* y, long long n, long long m, long long axis,
                                         long long inner, const long long* index) {
    STRIDE_FOR(i, n) {
        long long t = i % inner, q = i / inner;
        y[i] = x[((q / m) * axis + index[q % m]) * inner + t];
    }
}

// dx [outer, axis, inner]: dx[o, c, t] = sum of dy[o, j, t] over the positions j whose index is c, in increasing j
// (the reference's order). Positions of c: list[list[c]] .. list[list[c + 1]] - 1, list = [offsets (axis + 1), js].
extern "C" __global__ void stride_gather_backward(const float* dy, float* dx, long long n, long long m, long long axis,
                                                  long long inner, const long long* list) {
    STRIDE_FOR(i, n) {
        long long t = i % inner, q = i / inner, c = q % axis, o = q / axis;
        double acc = 0;
        for (long long k = list[c]; k < list[c + 1]; k++) acc += dy[(o * m + list[k]) * inner + t];
        dx[i] = (float)acc;
    }
}
