// The declaration in include/CLibFuzzer.h is all this target provides; libFuzzer defines the function.
#include "CLibFuzzer.h"
