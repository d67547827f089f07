#include "kernels/x86/x86_kernels.h"
namespace r1::kernels::x86 {
DotKernels Avx512KQuantKernels(GgmlType) { return {}; }
}  // namespace r1::kernels::x86
