#pragma once
// Process-wide allocator settings for tensor workloads (glibc only; a no-op elsewhere).

namespace rkhs {

// Keeps freed memory in the process: by default glibc serves large allocations with a fresh mmap and unmaps them on
// free, so every large temporary tensor page-faults anew (measured on `rkhs ckn`, 5,000 images: 29.4 s -> 17.8 s,
// system time 37 s -> 2 s; docs/RESULTS.md "CKN"). Sets M_MMAP_THRESHOLD and M_TRIM_THRESHOLD to 1 GiB and
// M_TOP_PAD to 64 MiB. The `rkhs` tool and the benchmarks call it first thing; library users may call it too.
void keep_freed_memory();

}  // namespace rkhs
