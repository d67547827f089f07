// Sustained memory read bandwidth, for the roofline figures of `r1 bench`.
#pragma once

#include <cstddef>

#include "kernels/thread_pool.h"

namespace r1::kernels {

// Reads a 1 GiB buffer with every pool thread (each streams its own slice with
// wide loads) and returns the best of several passes in GB/s (1e9 bytes/s).
// Takes about a second, most of it first-touching the buffer.
double MeasureReadBandwidthGBs(ThreadPool& pool);

// The same with an explicit buffer size and number of timed passes.
double MeasureReadBandwidthGBs(ThreadPool& pool, size_t bytes, int passes);

}  // namespace r1::kernels
