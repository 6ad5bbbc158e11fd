// Known-answer tests: one hand-built block per GGML type with chosen bytes, and the values the
// format specification (ggml-common.h layouts, ggml dequantize_row_* semantics) gives for them,
// worked out by hand in the comments. These pin the byte layout independently of our quantizer.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "flame/core/dtype.h"
#include "flame/kernels/quant.h"

namespace flame {
namespace {

constexpr uint8_t kOneLo = 0x00, kOneHi = 0x3C;   // fp16 1.0 = 0x3C00 (little-endian bytes 00 3C)
constexpr uint8_t kTwoHi = 0x40, kHalfHi = 0x38;  // 2.0 = 0x4000, 0.5 = 0x3800
constexpr uint8_t kQuarterHi = 0x34;              // 0.25 = 0x3400
constexpr uint8_t kMinusOneHi = 0xBC;             // -1.0 = 0xBC00

std::vector<float> decode(DType type, const std::vector<uint8_t>& bytes) {
  const auto& info = dtype_info(type);
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), info.type_size);
  std::vector<float> out(info.block_size);
  dequantize_row(type, bytes.data(), out.data(), info.block_size);
  return out;
}

TEST(QuantKnownAnswer, Q4_0) {
  // d (fp16) then 16 bytes; byte j: low nibble = element j, high nibble = element j+16; x = d*(q-8).
  std::vector<uint8_t> b(18, 0);
  b[0] = kOneLo, b[1] = kTwoHi;  // d = 2
  b[2 + 0] = 0x1F;               // element 0: q=15 -> 2*7 = 14; element 16: q=1 -> 2*(-7) = -14
  b[2 + 15] = 0x80;              // element 15: q=0 -> -16; element 31: q=8 -> 0
  const auto y = decode(DType::Q4_0, b);
  EXPECT_EQ(y[0], 14.0f);
  EXPECT_EQ(y[16], -14.0f);
  EXPECT_EQ(y[15], -16.0f);
  EXPECT_EQ(y[31], 0.0f);
  EXPECT_EQ(y[1], -16.0f);  // q = 0
}

TEST(QuantKnownAnswer, Q4_1) {
  // d, m (fp16) then 16 nibble bytes; x = d*q + m.
  std::vector<uint8_t> b(20, 0);
  b[1] = kOneHi;       // d = 1
  b[3] = kMinusOneHi;  // m = -1
  b[4 + 3] = 0xA5;     // element 3: 5-1 = 4; element 19: 10-1 = 9
  const auto y = decode(DType::Q4_1, b);
  EXPECT_EQ(y[3], 4.0f);
  EXPECT_EQ(y[19], 9.0f);
  EXPECT_EQ(y[0], -1.0f);
}

TEST(QuantKnownAnswer, Q5_0) {
  // d, qh (uint32 LE: bit j = 5th bit of element j), 16 nibble bytes; x = d*(q-16).
  std::vector<uint8_t> b(22, 0);
  b[1] = kOneHi;
  b[2] = 0x01;       // qh bit 0 -> element 0
  b[5] = 0x80;       // qh bit 31 -> element 31
  b[6 + 0] = 0x32;   // element 0: 2|16 = 18 -> 2; element 16: 3 -> -13
  b[6 + 15] = 0xF0;  // element 15: 0 -> -16; element 31: 15|16 = 31 -> 15
  const auto y = decode(DType::Q5_0, b);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[16], -13.0f);
  EXPECT_EQ(y[15], -16.0f);
  EXPECT_EQ(y[31], 15.0f);
}

TEST(QuantKnownAnswer, Q5_1) {
  // d, m, qh, qs; x = d*q + m.
  std::vector<uint8_t> b(24, 0);
  b[1] = kHalfHi;   // d = 0.5
  b[3] = kOneHi;    // m = 1
  b[4 + 2] = 0x01;  // qh bit 16 -> element 16
  b[8 + 0] = 0x21;  // element 0: q=1 -> 1.5; element 16: 2|16 = 18 -> 10
  const auto y = decode(DType::Q5_1, b);
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[16], 10.0f);
  EXPECT_EQ(y[1], 1.0f);
}

TEST(QuantKnownAnswer, Q8_0) {
  std::vector<uint8_t> b(34, 0);
  b[1] = kQuarterHi;                      // d = 0.25
  b[2 + 5] = static_cast<uint8_t>(-100);  // element 5 -> -25
  b[2 + 31] = 127;                        // element 31 -> 31.75
  const auto y = decode(DType::Q8_0, b);
  EXPECT_EQ(y[5], -25.0f);
  EXPECT_EQ(y[31], 31.75f);
  EXPECT_EQ(y[0], 0.0f);
}

TEST(QuantKnownAnswer, Q2_K) {
  // scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
  // Element i: half h = i/128, run r = (i%128)/32, l = i%32 -> bits 2r of qs[32h + l];
  // x = d*(scales[i/16] & 15)*q - dmin*(scales[i/16] >> 4).
  std::vector<uint8_t> b(84, 0);
  for (int j = 0; j < 16; ++j) b[j] = static_cast<uint8_t>(0x10 | j);  // scale j, min 1
  b[16 + 0] = 0xE4;                                                    // q of elements 0, 32, 64, 96 = 0, 1, 2, 3
  b[16 + 48] = 0x03;    // element 128+16 = 144: q = 3 (sub-block 9); element 176: q = 0
  b[80 + 1] = kOneHi;   // d = 1
  b[82 + 1] = kHalfHi;  // dmin = 0.5
  const auto y = decode(DType::Q2_K, b);
  EXPECT_EQ(y[0], -0.5f);    // 0*0 - 0.5
  EXPECT_EQ(y[32], 1.5f);    // 2*1 - 0.5
  EXPECT_EQ(y[64], 7.5f);    // 4*2 - 0.5
  EXPECT_EQ(y[96], 17.5f);   // 6*3 - 0.5
  EXPECT_EQ(y[144], 26.5f);  // 9*3 - 0.5
  EXPECT_EQ(y[176], -0.5f);  // 11*0 - 0.5
}

TEST(QuantKnownAnswer, Q3_K) {
  // hmask[32], qs[64], scales[12], d. Scale j (6 bits, minus 32): low 4 bits from byte j (j<8) or
  // the high nibble of byte j-8, top 2 bits from byte 8 + j%4 at bit 2*(j/4).
  // Element i: q = ((qs[32h + l] >> 2r) & 3) - (hmask[i%32] bit i/32 ? 0 : 4).
  std::vector<uint8_t> b(110, 0);
  uint8_t* hmask = b.data();
  uint8_t* qs = b.data() + 32;
  uint8_t* sc = b.data() + 96;
  sc[0] = 0x21;                      // scale 0 low = 1, scale 8 low = 2
  sc[8] = 0x02;                      // scale 0 top bits = 2 -> 1 | 32 = 33 -> 1; scale 8 top 0 -> 2 - 32 = -30
  b[108] = kOneLo, b[109] = kOneHi;  // d = 1
  qs[0] = 0x03, hmask[0] = 0x01;     // element 0: 3, high bit set -> 3; x = 1*3
  qs[32] = 0x01;                     // element 128: 1, hmask[0] bit 4 clear -> -3; x = -30*-3
  const auto y = decode(DType::Q3_K, b);
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[128], 90.0f);
  EXPECT_EQ(y[1], -4.0f);    // q = 0 - 4, scale 1
  EXPECT_EQ(y[32], 128.0f);  // element 32: sub-block 2, scale 0 - 32 = -32, q = -4
}

// Q4_K/Q5_K header: d, dmin, 12 scale bytes. Sub-block j<4: scale = s[j]&63, min = s[j+4]&63;
// j>=4: scale = (s[j+4]&15) | (s[j-4]>>6)<<4, min = (s[j+4]>>4) | (s[j]>>6)<<4.
void fill_k4_header(std::vector<uint8_t>& b) {
  b[1] = kOneHi;  // d = 1
  b[3] = kTwoHi;  // dmin = 2
  uint8_t* s = b.data() + 4;
  s[0] = 0x45;  // scale0 = 5; top bits 01 -> scale4 high = 1
  s[1] = 0x03;  // scale1 = 3
  s[4] = 0x83;  // min0 = 3; top bits 10 -> min4 high = 2
  s[8] = 0x76;  // scale4 = 6 | 16 = 22, min4 = 7 | 32 = 39
}

TEST(QuantKnownAnswer, Q4_K) {
  // qs: each 64-element chunk c uses bytes 32c..32c+31, low nibbles = first 32, high = next 32.
  std::vector<uint8_t> b(144, 0);
  fill_k4_header(b);
  uint8_t* qs = b.data() + 16;
  qs[0] = 0x49;   // element 0: 9 -> 1*5*9 - 2*3 = 39; element 32: 4 -> 3*4 - 0 = 12
  qs[64] = 0x0A;  // element 128 (sub-block 4): 10 -> 22*10 - 2*39 = 142
  const auto y = decode(DType::Q4_K, b);
  EXPECT_EQ(y[0], 39.0f);
  EXPECT_EQ(y[32], 12.0f);
  EXPECT_EQ(y[128], 142.0f);
  EXPECT_EQ(y[1], -6.0f);  // q = 0: -dmin*min0
}

TEST(QuantKnownAnswer, Q5_K) {
  // As Q4_K plus qh[32]: bit 2c of qh[l] is bit 4 of element 64c+l, bit 2c+1 of element 64c+32+l.
  std::vector<uint8_t> b(176, 0);
  fill_k4_header(b);
  uint8_t* qh = b.data() + 16;
  uint8_t* qs = b.data() + 48;
  qh[0] = 0x11;   // bit 0 -> element 0, bit 4 -> element 128
  qs[0] = 0x49;   // element 0: 9|16 = 25 -> 5*25 - 6 = 119; element 32: 4 -> 12
  qs[64] = 0x0A;  // element 128: 10|16 = 26 -> 22*26 - 78 = 494
  const auto y = decode(DType::Q5_K, b);
  EXPECT_EQ(y[0], 119.0f);
  EXPECT_EQ(y[32], 12.0f);
  EXPECT_EQ(y[128], 494.0f);
}

TEST(QuantKnownAnswer, Q6_K) {
  // ql[128], qh[64], scales[16] (int8), d. Per 128-half h: ql[64h + l] low = element l, high =
  // element l+64; ql[64h + 32 + l] low = l+32, high = l+96; qh[32h + l] bits 2r = top 2 bits of
  // element 32r + l. x = d * scales[i/16] * (q - 32).
  std::vector<uint8_t> b(210, 0);
  uint8_t* ql = b.data();
  uint8_t* qh = b.data() + 128;
  auto* scales = reinterpret_cast<int8_t*>(b.data() + 192);
  b[208] = 0x00, b[209] = kHalfHi;  // d = 0.5
  scales[0] = 2, scales[2] = -1, scales[4] = 3, scales[8] = 4;
  ql[0] = 0x5A;                  // element 0 low 10, element 64 low 5
  ql[32] = 0x07;                 // element 32 low 7, element 96 low 0
  qh[0] = 0xC6;                  // top bits: element 0 -> 2, element 32 -> 1, element 64 -> 0, element 96 -> 3
  ql[64] = 0x0F, qh[32] = 0x03;  // element 128: 15 | 3<<4 = 63
  const auto y = decode(DType::Q6_K, b);
  EXPECT_EQ(y[0], 10.0f);    // 42-32 = 10; 0.5*2*10
  EXPECT_EQ(y[32], 4.5f);    // 23-32 = -9; 0.5*-1*-9
  EXPECT_EQ(y[64], -40.5f);  // 5-32 = -27; 0.5*3*-27
  EXPECT_EQ(y[96], 0.0f);    // scale 6 is 0
  EXPECT_EQ(y[128], 62.0f);  // 31; 0.5*4*31
}

}  // namespace
}  // namespace flame
