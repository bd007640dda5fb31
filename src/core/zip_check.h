// Structural validation of a zip archive (the container of LibTorch's model files) before LibTorch reads it
// (internal). LibTorch 1.13's zip reader (miniz) reads out of bounds on some malformed archives (found by
// fuzz/fuzz_weights); every offset and size is checked here first, and every entry's CRC-32.
#pragma once
#include <cstddef>
#include <string>

namespace rkhs::core::detail {

// Throws rkhs::Error "<what> is corrupt or truncated: <reason>" unless data[0, size) is a single-disk zip archive
// (ZIP64 allowed) whose end-of-central-directory record ends the data, whose central directory and local headers
// lie inside it, and whose entries are stored or deflated (LibTorch writes both) with matching CRC-32 (deflated
// entries are inflated to check it).
void check_zip(const char* data, size_t size, const std::string& what);

}  // namespace rkhs::core::detail
