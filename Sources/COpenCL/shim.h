// The OpenCL C API through the ICD loader (Debian: ocl-icd-opencl-dev, opencl-headers).
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
