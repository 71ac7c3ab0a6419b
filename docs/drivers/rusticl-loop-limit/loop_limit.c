// Host for loop_limit.cl: runs each kernel with one work-item and reports how many iterations ran.
// Build: gcc -O2 -o loop_limit loop_limit.c -lOpenCL      Run: ./loop_limit [n] [outer] [inner]
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#define CK(x) do { cl_int e_ = (x); if (e_) { fprintf(stderr, "line %d: OpenCL error %d\n", __LINE__, e_); exit(2); } } while (0)

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END); long size = ftell(f); rewind(f);
    char *text = calloc(size + 1, 1);
    if (fread(text, 1, size, f) != (size_t)size) exit(2);
    fclose(f);
    return text;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    int outer = argc > 2 ? atoi(argv[2]) : 1000, inner = argc > 3 ? atoi(argv[3]) : 100;
    cl_platform_id platform; cl_device_id device; cl_int err;
    CK(clGetPlatformIDs(1, &platform, NULL));
    CK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    char name[256]; CK(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL));
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err); CK(err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err); CK(err);
    const char *source = read_text("loop_limit.cl");
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &err); CK(err);
    CK(clBuildProgram(program, 1, &device, "", NULL, NULL));
    int total = n > outer * inner ? n : outer * inner;
    cl_mem out = clCreateBuffer(context, CL_MEM_READ_WRITE, sizeof(int) * total, NULL, &err); CK(err);
    cl_mem count = clCreateBuffer(context, CL_MEM_READ_WRITE, sizeof(int), NULL, &err); CK(err);
    size_t one = 1;
    int ran;

    cl_kernel flat = clCreateKernel(program, "flat_loop", &err); CK(err);
    CK(clSetKernelArg(flat, 0, sizeof out, &out)); CK(clSetKernelArg(flat, 1, sizeof n, &n));
    CK(clSetKernelArg(flat, 2, sizeof count, &count));
    CK(clEnqueueNDRangeKernel(queue, flat, 1, NULL, &one, &one, 0, NULL, NULL));
    CK(clEnqueueReadBuffer(queue, count, CL_TRUE, 0, sizeof ran, &ran, 0, NULL, NULL));
    printf("%s\n  flat_loop:    %d iterations asked, %d ran%s\n", name, n, ran, ran == n ? "" : "  <-- WRONG");

    cl_kernel nested = clCreateKernel(program, "nested_loops", &err); CK(err);
    CK(clSetKernelArg(nested, 0, sizeof out, &out)); CK(clSetKernelArg(nested, 1, sizeof outer, &outer));
    CK(clSetKernelArg(nested, 2, sizeof inner, &inner)); CK(clSetKernelArg(nested, 3, sizeof count, &count));
    CK(clEnqueueNDRangeKernel(queue, nested, 1, NULL, &one, &one, 0, NULL, NULL));
    CK(clEnqueueReadBuffer(queue, count, CL_TRUE, 0, sizeof ran, &ran, 0, NULL, NULL));
    printf("  nested_loops: %d x %d = %d iterations asked, %d ran%s\n", outer, inner, outer * inner, ran,
           ran == outer * inner ? "" : "  <-- WRONG");
    return 0;
}
