#pragma once
// Helpers of the loader tests: fixture paths and the message of the rkhs::Error an expression throws.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "rkhs/error.h"

namespace loader_test {

inline std::string fx(const std::string& name) { return std::string(RKHS_FIXTURES) + "/" + name; }

// The message of the rkhs::Error thrown by f ("" when none; any other exception fails the test).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rkhs::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an rkhs::Error: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

}  // namespace loader_test

// Expects expr to throw an rkhs::Error whose message contains every one of the given strings.
#define EXPECT_ERROR_WITH(expr, ...)                                         \
  do {                                                                       \
    const std::string msg_ = loader_test::error_of([&] { (void)(expr); });   \
    for (const std::string& sub_ : {__VA_ARGS__})                            \
      EXPECT_NE(msg_.find(sub_), std::string::npos)                          \
          << "message: " << msg_ << "\nmissing: " << sub_;                   \
  } while (0)
