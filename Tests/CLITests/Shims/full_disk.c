// A full disk for one folder, injected with LD_PRELOAD: writes to files under $FULL_DISK_PATH
// succeed until $FULL_DISK_BYTES bytes have been written there in all, then fail with ENOSPC
// (a write that crosses the limit writes only what fits, as a full disk does). Nothing else is
// affected. With $FULL_DISK_REPORT set, the bytes written there are saved to that file at exit.
// Used by FullDiskTests; built by the test with the toolchain's clang.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long long remaining = -1;
static long long used = 0;

static void report(void) {
    const char *path = getenv("FULL_DISK_REPORT");
    if (!path) return;
    FILE *file = fopen(path, "w");
    if (!file) return;
    fprintf(file, "%lld\n", used);
    fclose(file);
}

static int under_limited_folder(int fd) {
    const char *prefix = getenv("FULL_DISK_PATH");
    if (!prefix) return 0;
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, target, sizeof target - 1);
    if (length <= 0) return 0;
    target[length] = 0;
    return strncmp(target, prefix, strlen(prefix)) == 0;
}

// How many of `count` bytes may be written to `fd`: all outside the folder, else what is left.
static ssize_t allowed(int fd, size_t count) {
    if (!under_limited_folder(fd)) return (ssize_t)count;
    if (remaining < 0) {
        const char *budget = getenv("FULL_DISK_BYTES");
        remaining = budget ? atoll(budget) : 0;
        atexit(report);
    }
    ssize_t granted = remaining < (long long)count ? (ssize_t)remaining : (ssize_t)count;
    remaining -= granted;
    used += granted;
    return granted;
}

ssize_t write(int fd, const void *buffer, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = dlsym(RTLD_NEXT, "write");
    ssize_t granted = allowed(fd, count);
    if (granted == 0 && count > 0) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buffer, (size_t)granted);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite");
    ssize_t granted = allowed(fd, count);
    if (granted == 0 && count > 0) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buffer, (size_t)granted, offset);
}
