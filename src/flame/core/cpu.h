#pragma once
// Run-time CPU feature detection. Kernels choose their fast path with `cpu().avx2` etc.
// FLAME_FORCE_SCALAR=1 in the environment turns every fast path off (tests and debugging).
namespace flame {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  // The AVX2 kernel family needs all three.
  bool has_avx2_fma() const { return avx2 && fma && f16c; }
};

const CpuFeatures& cpu();
// For tests: run a fast path and its scalar twin in one process.
void set_force_scalar(bool force);
bool force_scalar();

// Physical cores (not SMT siblings), at least 1.
int physical_cores();

}  // namespace flame
