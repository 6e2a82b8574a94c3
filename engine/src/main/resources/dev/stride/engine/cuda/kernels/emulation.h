// The emulated device (EmulatedDevice, for tests only): g++ compiles the kernel sources with this header forced
// in front (-include), into a shared library whose stride_* functions the JVM calls through FFM. A launch calls
// the kernel once per emulated thread of a small grid, in sequence, after setting the thread's coordinates
// through stride_emu_set_thread: a kernel that does not cover its elements with STRIDE_FOR's grid-stride loop
// leaves elements unwritten, and the tests see it.
//
// Only what the kernel contract allows is emulated: no shared memory, no __syncthreads, no atomics, no warp
// intrinsics. Anything else fails to compile here, which is the point.
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))

struct dim3 {
    unsigned int x, y, z;
};
typedef dim3 uint3;

// One set per calling thread, so that tests on several JVM threads do not see each other's coordinates.
static thread_local uint3 blockIdx = {0, 0, 0};
static thread_local uint3 threadIdx = {0, 0, 0};
static thread_local dim3 blockDim = {1, 1, 1};
static thread_local dim3 gridDim = {1, 1, 1};

extern "C" void stride_emu_set_thread(unsigned int block, unsigned int thread, unsigned int blocks,
                                      unsigned int threads) {
    blockIdx.x = block;
    threadIdx.x = thread;
    gridDim.x = blocks;
    blockDim.x = threads;
}
