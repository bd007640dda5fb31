#pragma once
// Sparse LIBSVM / SVMlight text: "label idx:val idx:val ...". Exact rules and error messages: docs/DATA.md.
#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/data/dataset.h"

namespace rkhs::data {

// One sample a line, "label idx:val ..." separated by spaces or tabs, indices 1-based and strictly increasing;
// '#' starts a comment; blank and comment-only lines are skipped. x is dense float32 (n, num_features) with
// num_features = the largest index when 0 is passed (otherwise an index above it is an error).
// Labels are integers. When the distinct labels are exactly 0..C-1 they are kept; otherwise the sorted
// distinct labels are mapped to 0..C-1 (e.g. -1/+1 -> 0/1, 1..10 -> 0..9). original_labels, when given and
// empty, receives the original label of each class index (identity in the first case); when given non-empty
// (e.g. the mapping returned for the training file), it is used as the mapping for this file, so a test file
// gets the same class indices even if it lacks some classes; num_classes is then its size.
// Throws rkhs::Error "PATH:LINE: what" on malformed pairs, a zero or non-increasing index, NaN/Inf values,
// non-integer labels, an index above num_features, or an empty file.
Dataset load_libsvm(const std::string& path, int64_t num_features = 0,
                    std::vector<int64_t>* original_labels = nullptr);

}  // namespace rkhs::data
