// Hardware (F16C) conversions used as the independent oracle for core/half.h.
#include <immintrin.h>

#include <cstdint>

namespace flame {
float hw_f16_to_f32(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }
uint16_t hw_f32_to_f16(float f) {
  return static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}
}  // namespace flame
