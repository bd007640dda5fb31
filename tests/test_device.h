#pragma once
// The device the tests run on: RKHS_TEST_DEVICE (cpu, cuda, cuda:N or lazy; default cpu), read in one place so
// that a test written against test_device() runs unchanged on a GPU (scripts/gpu_check.sh sets it to cuda).
#include <c10/core/Device.h>

#include <cstdlib>
#include <string>

#include "rkhs/compat.h"

namespace rkhs::test {

inline std::string test_device_name() {
  const char* name = std::getenv("RKHS_TEST_DEVICE");
  return name != nullptr && *name != '\0' ? std::string(name) : std::string("cpu");
}

inline c10::Device test_device() { return compat::parse_device(test_device_name()); }

}  // namespace rkhs::test
