#pragma once
// Dense labelled CSV: "label,f1,f2,...". Exact rules and error messages: docs/DATA.md.
#include <cstdint>
#include <string>

#include "rkhs/data/dataset.h"

namespace rkhs::data {

// Rows "label, feature, feature, ..." separated by ','; spaces and tabs around fields are ignored; an optional
// header on line 1 (recognised by a label field that is not an integer); blank lines are skipped.
// Labels are integers in [0, num_classes) (num_classes = 0: max label + 1). Features: finite numbers
// (std::from_chars, whole field), stored as float32, x of shape (n, features).
// Throws rkhs::Error "PATH:LINE: what" on an empty file, ragged rows, non-numeric / NaN / Inf fields, or a
// non-integer, negative or out-of-range label.
Dataset load_csv(const std::string& path, int64_t num_classes = 0);

}  // namespace rkhs::data
