# LibTorch without its own CMake files: the target `torch` (and TORCH_LIBRARIES, TORCH_INCLUDE_DIRS,
# TORCH_INSTALL_PREFIX, as TorchConfig.cmake sets them) from the torch package of the Python interpreter
# RKHS_TORCH_FROM_PYTHON. Why: find_package(Torch) on a CUDA build of PyTorch 2.x enables CMake's CUDA language and
# looks for the CUDA toolkit (nvcc, its headers and libraries) and fails where they are missing or do not match,
# although rkhs compiles no CUDA code; scripts/gpu_check.sh configures with this where find_package(Torch) failed
# (docs/DEVICES.md). The CUDA libraries of such a build are linked with --no-as-needed, as TorchConfig.cmake does:
# nothing in rkhs references them, and without them LibTorch has no CUDA device.
if(TARGET torch)
  return()
endif()
execute_process(
  COMMAND "${RKHS_TORCH_FROM_PYTHON}" -c
          "import os, torch; print(os.path.dirname(torch.__file__)); print(int(getattr(torch._C, '_GLIBCXX_USE_CXX11_ABI', True))); print(torch.__version__)"
  OUTPUT_VARIABLE _rkhs_torch_query OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rkhs_torch_status
  ERROR_VARIABLE _rkhs_torch_error)
if(NOT _rkhs_torch_status EQUAL 0)
  message(FATAL_ERROR "RKHS_TORCH_FROM_PYTHON=${RKHS_TORCH_FROM_PYTHON}: cannot import torch: ${_rkhs_torch_error}")
endif()
string(REPLACE "\n" ";" _rkhs_torch_query "${_rkhs_torch_query}")
list(GET _rkhs_torch_query 0 TORCH_INSTALL_PREFIX)
list(GET _rkhs_torch_query 1 _rkhs_torch_abi)
list(GET _rkhs_torch_query 2 _rkhs_torch_version)
set(TORCH_INCLUDE_DIRS ${TORCH_INSTALL_PREFIX}/include ${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include)

set(_rkhs_torch_links "")
foreach(lib torch torch_cpu c10)
  find_library(RKHS_TORCH_LIB_${lib} ${lib} PATHS ${TORCH_INSTALL_PREFIX}/lib NO_DEFAULT_PATH REQUIRED)
  list(APPEND _rkhs_torch_links ${RKHS_TORCH_LIB_${lib}})
endforeach()
set(_rkhs_torch_cuda "")
foreach(lib torch_cuda c10_cuda)
  find_library(RKHS_TORCH_LIB_${lib} ${lib} PATHS ${TORCH_INSTALL_PREFIX}/lib NO_DEFAULT_PATH)
  if(RKHS_TORCH_LIB_${lib})
    list(APPEND _rkhs_torch_links "-Wl,--no-as-needed,${RKHS_TORCH_LIB_${lib}}")
    set(_rkhs_torch_cuda " with CUDA")
  endif()
endforeach()

add_library(torch INTERFACE IMPORTED)
set_target_properties(torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INCLUDE_DIRS}"
  INTERFACE_LINK_LIBRARIES "${_rkhs_torch_links}"
  INTERFACE_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=${_rkhs_torch_abi}")
if(_rkhs_torch_cuda)
  # libtorch_cuda needs CUDA's own libraries (in a wheel: the nvidia-* packages beside torch, found at run time through
  # its RUNPATH); the linker of an executable need not resolve them.
  set_property(TARGET torch PROPERTY INTERFACE_LINK_OPTIONS "-Wl,--allow-shlib-undefined")
endif()
set(TORCH_LIBRARIES torch)
set(Torch_FOUND TRUE)
message(STATUS "LibTorch ${_rkhs_torch_version}${_rkhs_torch_cuda} from ${TORCH_INSTALL_PREFIX} "
               "(RKHS_TORCH_FROM_PYTHON, without TorchConfig.cmake)")
