// Sustained memory read bandwidth, for the roofline figures of `r1 bench`.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "kernels/thread_pool.h"

namespace r1::kernels {

// Reads a 1 GiB buffer with every pool thread (each streams its own slice with
// wide loads) and returns the best of several passes in GB/s (1e9 bytes/s).
// Takes about a second, most of it first-touching the buffer.
double MeasureReadBandwidthGBs(ThreadPool& pool);

// The same with an explicit buffer size and number of timed passes.
double MeasureReadBandwidthGBs(ThreadPool& pool, size_t bytes, int passes);

// Reads the given regions (e.g. a model's packed weights) with every pool
// thread and returns the best of `passes` in GB/s; 0 when there is nothing
// to read. A fresh buffer and the memory the weights were given can differ
// in speed (on some hosts, by 1.7× within one process), so `r1 bench`
// reports both.
double MeasureRegionsReadGBs(ThreadPool& pool, const std::vector<std::pair<const void*, size_t>>& regions,
                             int passes);

}  // namespace r1::kernels
