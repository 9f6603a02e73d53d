// Header-only: CFuzzerDriver.h declares libFuzzer's LLVMFuzzerRunDriver for the Swift targets.
#include "CFuzzerDriver.h"
