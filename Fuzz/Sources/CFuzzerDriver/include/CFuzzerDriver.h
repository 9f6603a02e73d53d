#ifndef SWITCHYARD_CFUZZERDRIVER_H
#define SWITCHYARD_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that have their own `main` (LLVM 12 and later): parses
/// libFuzzer's flags from argv and runs `callback` on every input, as libFuzzer's `main` does.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
