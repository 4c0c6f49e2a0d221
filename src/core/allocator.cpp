#include "tiercel/core/allocator.hpp"

#include <malloc.h>

namespace tiercel {

void tune_allocator_for_stripes() {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);   // buffers up to 256 MiB come from the heap and are reused
    mallopt(M_TRIM_THRESHOLD, 1024 << 20);  // keep up to 1 GiB of freed heap instead of returning it at once
    mallopt(M_ARENA_MAX, 4);                // bound per-thread arenas: workers are many, cores are few
}

}  // namespace tiercel
