// lab.c: the matmul kernel lab. Builds a kernel file (default ../../Kernels/matmul.cl) with the
// given -D defines, checks its packed (CPU) design against OpenBLAS on one product, then times it
// and OpenBLAS alternately (so that load from other processes hits both alike) and prints the
// minimum and median GFLOP/s of each. Used to tune the defines of MatmulTuning.swift.
//
// Usage: lab [-f kernel.cl] [-s columnsPerItem] [-p panelsPerItem] [-c cores to plan for] [-r repeats]
//            [-t OpenBLAS threads] M K N op [DEFINE=value ...]
//   op: fwd (C = A·B), dX (dY·Wᵀ) or dW (Xᵀ·dY), as in `gputrain bench kernels`.
#define _POSIX_C_SOURCE 200112L
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

void openblas_set_num_threads(int);

#define CHECK(x) do { cl_int s_ = (x); if (s_ != CL_SUCCESS) { fprintf(stderr, "%s: %d\n", #x, s_); exit(1); } } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

// CPU seconds used by all threads of the process: unlike wall time, not inflated while other
// processes hold the cores (with one thread this is the work's own time).
static double cpu(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *readFile(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, f) != (size_t)size) exit(1);
    text[size] = 0;
    fclose(f);
    return text;
}

static int define(int count, char **defines, const char *name, int fallback) {
    size_t length = strlen(name);
    for (int i = 0; i < count; i++)
        if (strncmp(defines[i], name, length) == 0 && defines[i][length] == '=') return atoi(defines[i] + length + 1);
    return fallback;
}

int main(int argc, char **argv) {
    const char *file = "../../Kernels/matmul.cl";
    int strip = 0, panelsPerItem = 0, repeats = 7, threads = 2, cores = 2, opt;
    while ((opt = getopt(argc, argv, "f:s:p:r:t:c:")) != -1) {
        if (opt == 'f') file = optarg;
        else if (opt == 's') strip = atoi(optarg);
        else if (opt == 'p') panelsPerItem = atoi(optarg);
        else if (opt == 'r') repeats = atoi(optarg);
        else if (opt == 't') threads = atoi(optarg);
        else if (opt == 'c') cores = atoi(optarg);
    }
    if (argc - optind < 4) { fprintf(stderr, "usage: lab [-f file] [-s strip] [-p panels] [-r n] [-t threads] M K N op [D=v ...]\n"); return 2; }
    int M = atoi(argv[optind]), K = atoi(argv[optind + 1]), N = atoi(argv[optind + 2]);
    const char *op = argv[optind + 3];
    char **defines = argv + optind + 4;
    int defineCount = argc - optind - 4;
    int mr = define(defineCount, defines, "MR", 6), nr = define(defineCount, defines, "NR", 16);
    int maxStrip = define(defineCount, defines, "STRIP", 256);

    // The product as MatmulShape sees it.
    int m, n, k, transA = 0, transB = 0;
    if (!strcmp(op, "fwd")) { m = M; n = N; k = K; }
    else if (!strcmp(op, "dX")) { m = M; n = K; k = N; transB = 1; }
    else { m = K; n = N; k = M; transA = 1; }

    char options[2048] = "-cl-std=CL1.2";
    for (int i = 0; i < defineCount; i++) { strcat(options, " -D "); strcat(options, defines[i]); }

    cl_platform_id platform; cl_device_id device;
    CHECK(clGetPlatformIDs(1, &platform, NULL));
    CHECK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    cl_int status;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &status); CHECK(status);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &status); CHECK(status);
    const char *source = readFile(file);
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &status); CHECK(status);
    if (clBuildProgram(program, 1, &device, options, NULL, NULL) != CL_SUCCESS) {
        char log[65536];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        fprintf(stderr, "build failed (%s):\n%s\n", options, log);
        return 1;
    }
    {
        char log[65536] = "";
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        if (strstr(log, "warning")) fprintf(stderr, "build log:\n%s\n", log);
    }
    cl_kernel pack = clCreateKernel(program, "matmul_pack_a", &status); CHECK(status);
    cl_kernel gemm = clCreateKernel(program, "matmul_packed", &status); CHECK(status);

    size_t aCount = (size_t)m * k, bCount = (size_t)k * n, cCount = (size_t)m * n;
    float *a = malloc(aCount * 4), *b = malloc(bCount * 4), *c = malloc(cCount * 4), *expected = malloc(cCount * 4);
    unsigned seed = 1;
    for (size_t i = 0; i < aCount; i++) a[i] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
    for (size_t i = 0; i < bCount; i++) b[i] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
    int panels = (m + mr - 1) / mr;
    cl_mem aBuffer = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, aCount * 4, a, &status); CHECK(status);
    cl_mem bBuffer = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bCount * 4, b, &status); CHECK(status);
    cl_mem cBuffer = clCreateBuffer(context, CL_MEM_READ_WRITE, cCount * 4, NULL, &status); CHECK(status);
    cl_mem packed = clCreateBuffer(context, CL_MEM_READ_WRITE, (size_t)panels * mr * k * 4, NULL, &status); CHECK(status);

    // The split, as MatmulTuning.packedPlan chooses it for one product on `cores` cores, unless
    // given: -s sets the columns per work-item, -p the row panels per work-item.
    int columnPanels = (n + nr - 1) / nr, splits = 1;
    while (splits % cores != 0 && splits < 4 * cores && splits < panels * columnPanels) splits++;
    int columnBlocks = 1, rowBlocks = 1;
    if (columnPanels >= 4 * splits || panels < splits) columnBlocks = splits < columnPanels ? splits : columnPanels;
    else rowBlocks = splits;
    int columnsPerItem = strip ? strip : ((n + columnBlocks - 1) / columnBlocks + nr - 1) / nr * nr;
    if (!panelsPerItem) panelsPerItem = (panels + rowBlocks - 1) / rowBlocks;
    int stripsPerItem = (columnsPerItem + maxStrip - 1) / maxStrip;
    strip = ((columnsPerItem + stripsPerItem - 1) / stripsPerItem + nr - 1) / nr * nr;
    size_t packGlobal[3] = {(size_t)(k + 127) / 128 * 16, (size_t)panels, 1}, packLocal[3] = {16, 1, 1};
    size_t gemmGlobal[3] = {(size_t)(n + columnsPerItem - 1) / columnsPerItem, (size_t)(panels + panelsPerItem - 1) / panelsPerItem, 1};
    size_t gemmLocal[3] = {1, 1, 1};
    int zero = 0;
    float alpha = 1, beta = 0;
    CHECK(clSetKernelArg(pack, 0, sizeof(cl_mem), &aBuffer));
    CHECK(clSetKernelArg(pack, 1, sizeof(int), &zero));
    CHECK(clSetKernelArg(pack, 2, sizeof(int), &transA));
    CHECK(clSetKernelArg(pack, 3, sizeof(int), &m));
    CHECK(clSetKernelArg(pack, 4, sizeof(int), &k));
    CHECK(clSetKernelArg(pack, 5, sizeof(float), &alpha));
    CHECK(clSetKernelArg(pack, 6, sizeof(cl_mem), &packed));
    int arg = 0;
    CHECK(clSetKernelArg(gemm, arg++, sizeof(cl_mem), &packed));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &zero));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(cl_mem), &bBuffer));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &zero));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &transB));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(cl_mem), &cBuffer));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &zero));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &m));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &n));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &k));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(float), &beta));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &zero));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &columnsPerItem));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &strip));
    CHECK(clSetKernelArg(gemm, arg++, sizeof(int), &panelsPerItem));

    openblas_set_num_threads(threads);
    #define RUN_KERNEL() do { \
        CHECK(clEnqueueNDRangeKernel(queue, pack, 3, NULL, packGlobal, packLocal, 0, NULL, NULL)); \
        CHECK(clEnqueueNDRangeKernel(queue, gemm, 3, NULL, gemmGlobal, gemmLocal, 0, NULL, NULL)); \
        CHECK(clFinish(queue)); } while (0)
    #define RUN_BLAS(out) cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, \
        m, n, k, 1, a, transA ? m : k, b, transB ? k : n, 0, out, n)

    RUN_KERNEL();
    CHECK(clEnqueueReadBuffer(queue, cBuffer, CL_TRUE, 0, cCount * 4, c, 0, NULL, NULL));
    RUN_BLAS(expected);
    double worst = 0;
    for (size_t i = 0; i < cCount; i++) {
        double error = fabs(c[i] - expected[i]) / (1 + fabs(expected[i]));
        if (error > worst) worst = error;
    }
    if (worst > 1e-3) { fprintf(stderr, "WRONG: worst relative error %g\n", worst); return 1; }

    double *mine = malloc(repeats * sizeof(double)), *blas = malloc(repeats * sizeof(double));
    double *mineCPU = malloc(repeats * sizeof(double)), *blasCPU = malloc(repeats * sizeof(double));
    for (int r = 0; r < repeats; r++) {
        double t = now(), u = cpu();
        RUN_KERNEL();
        mine[r] = now() - t;
        mineCPU[r] = cpu() - u;
        t = now(); u = cpu();
        RUN_BLAS(expected);
        blas[r] = now() - t;
        blasCPU[r] = cpu() - u;
    }
    double packCPU = 1e9;
    for (int r = 0; r < repeats; r++) {
        double u = cpu();
        CHECK(clEnqueueNDRangeKernel(queue, pack, 3, NULL, packGlobal, packLocal, 0, NULL, NULL));
        CHECK(clFinish(queue));
        if (cpu() - u < packCPU) packCPU = cpu() - u;
    }
    qsort(mine, repeats, sizeof(double), compare);
    qsort(blas, repeats, sizeof(double), compare);
    qsort(mineCPU, repeats, sizeof(double), compare);
    qsort(blasCPU, repeats, sizeof(double), compare);
    double flops = 2.0 * m * n * k * 1e-9;
    printf("%s %dx%dx%d columns/item %d strip %d panels/item %d items %zux%zu [%s]: kernel best %.1f median %.1f | openblas best %.1f median %.1f GFLOP/s | ratio best %.2f median %.2f\n",
           op, M, K, N, columnsPerItem, strip, panelsPerItem, gemmGlobal[0], gemmGlobal[1], options + 14,
           flops / mine[0], flops / mine[repeats / 2], flops / blas[0], flops / blas[repeats / 2],
           blas[0] / mine[0], blas[repeats / 2] / mine[repeats / 2]);
    printf("    busy cores while the kernel ran: %.2f (median CPU / median wall)\n", mineCPU[repeats / 2] / mine[repeats / 2]);
    printf("    per CPU-second: kernel best %.1f | openblas best %.1f GFLOP/s | ratio %.2f | packing A %.1f%%\n",
           flops / mineCPU[0], flops / blasCPU[0], blasCPU[0] / mineCPU[0], 100 * packCPU / mineCPU[0]);
    return 0;
}
