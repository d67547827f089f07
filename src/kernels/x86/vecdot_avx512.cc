#include "kernels/x86/x86_kernels.h"
namespace r1::kernels::x86 {
DotKernels Avx512Kernels(GgmlType, bool) { return {}; }
}  // namespace r1::kernels::x86
