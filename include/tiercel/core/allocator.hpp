// Contract: process-wide allocator tuning, called once at the start of main() (and of benchmarks).
// The data path allocates and frees stripe-sized buffers (1-64 MiB) at a high rate. glibc serves such sizes with
// fresh mmap()s by default, so every buffer costs page faults and zeroing; keeping them in the heap instead lets
// freed buffers be reused. Measured: minor faults for a 1 GiB get fell from ~55k to ~18k and its CPU time by ~20%
// (docs/performance.md).
#pragma once

namespace tiercel {

void tune_allocator_for_stripes();

}  // namespace tiercel
