/* FUZZ_CHECK: a property the fuzz targets assert. A violation prints the condition and aborts,
 * which libFuzzer reports as a crash and saves the input that caused it (C and C++). */
#ifndef PROVIUM_FUZZ_CHECK_H
#define PROVIUM_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn)) static inline void fuzz_check_failed(const char *file, int line,
                                                                const char *cond) {
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, cond);
    abort();
}

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_check_failed(__FILE__, __LINE__, #cond))

#endif
