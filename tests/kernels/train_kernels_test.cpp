// Every training backward kernel against central finite differences of an independent
// double-precision forward written here, and every fp32 forward against that same reference.
// Loss used: L = sum(out * R) for a fixed random R, so dL/dout = R is the incoming gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "flame/core/cpu.h"
#include "flame/kernels/attention_train.h"
#include "flame/kernels/cross_entropy_train.h"
#include "flame/kernels/embedding_train.h"
#include "flame/kernels/matmul_train.h"
#include "flame/kernels/rmsnorm_train.h"
#include "flame/kernels/rope_train.h"
#include "flame/kernels/swiglu_train.h"
#include "flame/kernels/train_math.h"
#include "flame/model/config.h"
#include "support/test_support.h"

namespace flame {
namespace {

using Vec = std::vector<double>;

Vec to_double(const std::vector<float>& v) {
  return Vec(v.begin(), v.end());
}

double dot(const Vec& a, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * r[i];
  return s;
}

// Central differences of f at x (double precision).
Vec finite_difference(const std::function<double(const Vec&)>& f, Vec x, double h = 1e-6) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = f(x);
    x[i] = keep - h;
    const double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// max |a - b| / max |b|
double rel_error(const std::vector<float>& a, const Vec& b) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    mag = std::max(mag, std::abs(b[i]));
  }
  return mag > 0 ? diff / mag : diff;
}

constexpr double kForwardTol = 2e-6;
constexpr double kGradTol = 1e-4;

// A pool with an odd thread count, so splits are uneven.
ThreadPool& test_pool() {
  static ThreadPool pool(3);
  return pool;
}

TEST(TrainKernels, MatmulBackwardMatchesFiniteDifferences) {
  const int64_t M = 37, K = 19, N = 23;
  auto x = test::gaussian(M * K, 1), w = test::gaussian(N * K, 2), r = test::gaussian(M * N, 3);
  auto ref = [&](const Vec& xd, const Vec& wd) {
    Vec y(M * N);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += xd[m * K + k] * wd[n * K + k];
        y[m * N + n] = s;
      }
    return y;
  };
  std::vector<float> y(M * N), acc(M * N, 1.0f);
  matmul_forward(x.data(), w.data(), y.data(), M, K, N, test_pool());
  EXPECT_LT(rel_error(y, ref(to_double(x), to_double(w))), kForwardTol);
  matmul_forward(x.data(), w.data(), acc.data(), M, K, N, test_pool(), true);
  for (int64_t i = 0; i < M * N; ++i) EXPECT_NEAR(acc[i], y[i] + 1.0f, 1e-5);

  std::vector<float> dx(M * K), dw(N * K, 0.5f);
  matmul_backward(r.data(), x.data(), w.data(), dx.data(), dw.data(), M, K, N, test_pool());
  for (auto& v : dw) v -= 0.5f;  // dW accumulates
  const Vec gx = finite_difference([&](const Vec& xd) { return dot(ref(xd, to_double(w)), r); }, to_double(x));
  const Vec gw = finite_difference([&](const Vec& wd) { return dot(ref(to_double(x), wd), r); }, to_double(w));
  EXPECT_LT(rel_error(dx, gx), kGradTol);
  EXPECT_LT(rel_error(dw, gw), kGradTol);
}

TEST(TrainKernels, EmbeddingBackwardMatchesFiniteDifferences) {
  const int64_t V = 11, C = 21, N = 29;
  auto table = test::gaussian(V * C, 4), r = test::gaussian(N * C, 5);
  std::vector<uint32_t> tokens(N);
  for (int64_t n = 0; n < N; ++n) tokens[n] = uint32_t((n * 7) % 5);  // repeated ids, some never used
  auto ref = [&](const Vec& t) {
    Vec x(N * C);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) x[n * C + c] = t[tokens[n] * C + c];
    return x;
  };
  std::vector<float> x(N * C), dt(V * C, 0.0f);
  embedding_forward(table.data(), tokens.data(), x.data(), N, C, test_pool());
  EXPECT_LT(rel_error(x, ref(to_double(table))), kForwardTol);
  embedding_backward(r.data(), tokens.data(), dt.data(), N, C, test_pool());
  EXPECT_LT(rel_error(dt, finite_difference([&](const Vec& t) { return dot(ref(t), r); }, to_double(table))), kGradTol);
}

TEST(TrainKernels, RmsnormBackwardMatchesFiniteDifferences) {
  const int64_t N = 13, C = 24;
  const float eps = 1e-5f;
  auto x = test::gaussian(N * C, 6), w = test::gaussian(C, 7), r = test::gaussian(N * C, 8);
  auto ref = [&](const Vec& xd, const Vec& wd) {
    Vec y(N * C);
    for (int64_t n = 0; n < N; ++n) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += xd[n * C + c] * xd[n * C + c];
      const double rs = 1.0 / std::sqrt(ss / C + eps);
      for (int64_t c = 0; c < C; ++c) y[n * C + c] = xd[n * C + c] * rs * wd[c];
    }
    return y;
  };
  std::vector<float> y(N * C), rstd(N), dx(N * C, 0.0f), dw(C, 0.0f);
  rmsnorm_forward(x.data(), w.data(), y.data(), rstd.data(), N, C, eps, test_pool());
  EXPECT_LT(rel_error(y, ref(to_double(x), to_double(w))), kForwardTol);
  rmsnorm_backward(r.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), N, C, test_pool());
  EXPECT_LT(rel_error(dx, finite_difference([&](const Vec& v) { return dot(ref(v, to_double(w)), r); }, to_double(x))),
            kGradTol);
  EXPECT_LT(rel_error(dw, finite_difference([&](const Vec& v) { return dot(ref(to_double(x), v), r); }, to_double(w))),
            kGradTol);
}

// The cached-angle rotation (RopeAngles, what the training step uses) equals the inference kernel
// rope_apply bit for bit, forward and inverse, with partial rotary dims, Llama 3 divisors and a
// linear position scale.
TEST(TrainKernels, RopeAnglesEqualInferenceRopeBitForBit) {
  const int64_t B = 2, T = 37, H = 3, hd = 16, rope_dim = 12;
  const RopeTable table =
      RopeTable::make(rope_dim, 500000.0f, llama3_freq_factors(rope_dim, 500000.0f, 8, 1, 4, 16), 0.5f);
  const RopeAngles angles = RopeAngles::make(table, T);
  for (bool inverse : {false, true}) {
    auto x = test::gaussian(B * T * H * hd, 40 + inverse, 2.0f);
    auto expected = x;
    for (int64_t b = 0; b < B; ++b) rope_apply(expected.data() + b * T * H * hd, T, H, hd, table, 0, inverse);
    if (inverse)
      rope_backward(x.data(), angles, B, T, H, hd, test_pool());
    else
      rope_forward(x.data(), angles, B, T, H, hd, test_pool());
    EXPECT_EQ(x, expected) << "inverse " << inverse;
  }
}

TEST(TrainKernels, RopeBackwardMatchesFiniteDifferences) {
  LlamaConfig c;
  c.head_dim = 8;
  c.rope_dim = 8;
  c.rope_theta = 100.0f;
  c.rope_scaling.factor = 8.0f;  // llama3 scaling: some pairs get divisors
  c.rope_scaling.original_context = 64;
  const int64_t B = 2, T = 9, H = 3, hd = 8;
  const auto factors =
      llama3_freq_factors(c.rope_dim, c.rope_theta, c.rope_scaling.factor, c.rope_scaling.low_freq_factor,
                          c.rope_scaling.high_freq_factor, c.rope_scaling.original_context);
  const RopeTable table = RopeTable::make(c.rope_dim, c.rope_theta, factors);
  auto x = test::gaussian(B * T * H * hd, 9), r = test::gaussian(B * T * H * hd, 10);
  auto ref = [&](const Vec& xd) {
    Vec y(xd.size());
    for (int64_t bt = 0; bt < B * T; ++bt)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < hd / 2; ++i) {
          const double ang = double(bt % T) * std::pow(100.0, -2.0 * i / hd) / factors[i];
          const int64_t o = (bt * H + h) * hd + 2 * i;
          y[o] = xd[o] * std::cos(ang) - xd[o + 1] * std::sin(ang);
          y[o + 1] = xd[o] * std::sin(ang) + xd[o + 1] * std::cos(ang);
        }
    return y;
  };
  std::vector<float> y = x, dx = r;
  rope_forward(y.data(), table, B, T, H, hd, test_pool());
  EXPECT_LT(rel_error(y, ref(to_double(x))), kForwardTol);
  rope_backward(dx.data(), table, B, T, H, hd, test_pool());
  EXPECT_LT(rel_error(dx, finite_difference([&](const Vec& v) { return dot(ref(v), r); }, to_double(x))), kGradTol);
  // The factors follow the llama3 rule: high frequencies untouched, low ones divided by factor.
  EXPECT_FLOAT_EQ(factors.front(), 1.0f);
  EXPECT_FLOAT_EQ(factors.back(), 8.0f);
}

// Causal GQA reference in double: q [B,T,H,hd], k/v [B,T,KVH,hd].
Vec attention_reference(const Vec& q, const Vec& k, const Vec& v, int64_t B, int64_t T, int64_t H, int64_t KVH,
                        int64_t hd) {
  Vec out(B * T * H * hd, 0.0);
  const double scale = 1.0 / std::sqrt(double(hd));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / KVH);
      for (int64_t t = 0; t < T; ++t) {
        Vec s(t + 1);
        double mx = -1e300;
        for (int64_t j = 0; j <= t; ++j) {
          double d = 0;
          for (int64_t i = 0; i < hd; ++i) d += q[((b * T + t) * H + h) * hd + i] * k[((b * T + j) * KVH + g) * hd + i];
          s[j] = d * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= t; ++j)
          for (int64_t i = 0; i < hd; ++i)
            out[((b * T + t) * H + h) * hd + i] += s[j] / sum * v[((b * T + j) * KVH + g) * hd + i];
      }
    }
  return out;
}

// Both backward entry points (with and without the forward output) against finite differences.
void check_attention(int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t hd, uint32_t seed) {
  auto q = test::gaussian(B * T * H * hd, seed), k = test::gaussian(B * T * KVH * hd, seed + 1),
       v = test::gaussian(B * T * KVH * hd, seed + 2), r = test::gaussian(B * T * H * hd, seed + 3);
  std::vector<float> out(q.size()), probs(B * H * T * T), dq(q.size()), dk(k.size()), dv(v.size());
  std::vector<float> dq2(q.size()), dk2(k.size()), dv2(v.size());
  attention_forward(q.data(), k.data(), v.data(), out.data(), probs.data(), B, T, H, KVH, hd, test_pool());
  const Vec qd = to_double(q), kd = to_double(k), vd = to_double(v);
  EXPECT_LT(rel_error(out, attention_reference(qd, kd, vd, B, T, H, KVH, hd)), kForwardTol);
  attention_backward(r.data(), q.data(), k.data(), v.data(), probs.data(), dq.data(), dk.data(), dv.data(), B, T, H,
                     KVH, hd, test_pool());
  attention_backward(r.data(), q.data(), k.data(), v.data(), out.data(), probs.data(), dq2.data(), dk2.data(),
                     dv2.data(), B, T, H, KVH, hd, test_pool());
  auto L = [&](const Vec& a, const Vec& b, const Vec& c) {
    return dot(attention_reference(a, b, c, B, T, H, KVH, hd), r);
  };
  const Vec fq = finite_difference([&](const Vec& x) { return L(x, kd, vd); }, qd);
  const Vec fk = finite_difference([&](const Vec& x) { return L(qd, x, vd); }, kd);
  const Vec fv = finite_difference([&](const Vec& x) { return L(qd, kd, x); }, vd);
  EXPECT_LT(rel_error(dq, fq), kGradTol);
  EXPECT_LT(rel_error(dk, fk), kGradTol);
  EXPECT_LT(rel_error(dv, fv), kGradTol);
  EXPECT_LT(rel_error(dq2, fq), kGradTol);
  EXPECT_LT(rel_error(dk2, fk), kGradTol);
  EXPECT_LT(rel_error(dv2, fv), kGradTol);
}

TEST(TrainKernels, AttentionBackwardMatchesFiniteDifferencesGqa) {
  check_attention(2, 9, 4, 2, 4, 20);
}
TEST(TrainKernels, AttentionBackwardMatchesFiniteDifferencesMha) {
  check_attention(1, 7, 3, 3, 6, 30);
}
// More than one 64-row block of queries, so the blocked causal products are exercised.
TEST(TrainKernels, AttentionBackwardMatchesFiniteDifferencesLongSequence) {
  check_attention(1, 70, 2, 1, 2, 40);
}
// head_dim a multiple of 16 takes the AVX2 tile path (where present): partial 6-row tiles, a
// partial 16-key panel, GQA and MHA.
TEST(TrainKernels, AttentionBackwardMatchesFiniteDifferencesTiledHeadDim16) {
  check_attention(2, 19, 4, 2, 16, 60);
}
TEST(TrainKernels, AttentionBackwardMatchesFiniteDifferencesTiledHeadDim32) {
  check_attention(1, 13, 2, 2, 32, 70);
}

TEST(TrainKernels, SwigluBackwardMatchesFiniteDifferences) {
  const int64_t n = 301;
  auto g = test::gaussian(n, 11, 2.0f), u = test::gaussian(n, 12), r = test::gaussian(n, 13);
  auto ref = [&](const Vec& gd, const Vec& ud) {
    Vec h(n);
    for (int64_t i = 0; i < n; ++i) h[i] = gd[i] / (1 + std::exp(-gd[i])) * ud[i];
    return h;
  };
  std::vector<float> h(n), dg(n), du(n);
  swiglu_forward(g.data(), u.data(), h.data(), n, test_pool());
  EXPECT_LT(rel_error(h, ref(to_double(g), to_double(u))), kForwardTol);
  swiglu_backward(r.data(), g.data(), u.data(), dg.data(), du.data(), n, test_pool());
  EXPECT_LT(rel_error(dg, finite_difference([&](const Vec& x) { return dot(ref(x, to_double(u)), r); }, to_double(g))),
            kGradTol);
  EXPECT_LT(rel_error(du, finite_difference([&](const Vec& x) { return dot(ref(to_double(g), x), r); }, to_double(u))),
            kGradTol);
}

double cross_entropy_reference(const Vec& logits, const std::vector<uint32_t>& targets, int64_t N, int64_t V) {
  double total = 0;
  for (int64_t n = 0; n < N; ++n) {
    double mx = -1e300, sum = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, logits[n * V + v]);
    for (int64_t v = 0; v < V; ++v) sum += std::exp(logits[n * V + v] - mx);
    total += mx + std::log(sum) - logits[n * V + targets[n]];
  }
  return total;
}

// The one-pass in-place forward+backward against the two-pass kernels: same losses bit for bit,
// dlogits equal to fp32 rounding; on both the AVX2 and the scalar path.
TEST(TrainKernels, CrossEntropyInplaceMatchesTwoPass) {
  const int64_t N = 7, V = 1003;
  const float scale = 0.125f;
  auto logits = test::gaussian(N * V, 15, 4.0f);
  std::vector<uint32_t> targets(N);
  for (int64_t n = 0; n < N; ++n) targets[n] = uint32_t((n * 131 + 7) % V);
  for (bool force_scalar : {false, true}) {
    set_force_scalar(force_scalar);
    std::vector<float> losses(N), lse(N), dlogits(N * V), losses2(N), inplace = logits;
    cross_entropy_forward(logits.data(), targets.data(), losses.data(), lse.data(), N, V, test_pool());
    cross_entropy_backward(logits.data(), lse.data(), targets.data(), dlogits.data(), scale, N, V, test_pool());
    cross_entropy_forward_backward_inplace(inplace.data(), targets.data(), losses2.data(), scale, N, V, test_pool());
    set_force_scalar(false);
    EXPECT_EQ(losses, losses2);
    EXPECT_LT(rel_error(inplace, to_double(dlogits)), 1e-6);
  }
}

TEST(TrainKernels, CrossEntropyBackwardMatchesFiniteDifferences) {
  const int64_t N = 9, V = 17;
  const float scale = 0.25f;
  auto logits = test::gaussian(N * V, 14, 3.0f);
  std::vector<uint32_t> targets(N);
  for (int64_t n = 0; n < N; ++n) targets[n] = uint32_t((n * 5 + 3) % V);
  std::vector<float> losses(N), lse(N), dlogits(N * V);
  cross_entropy_forward(logits.data(), targets.data(), losses.data(), lse.data(), N, V, test_pool());
  double sum = 0;
  for (float l : losses) sum += l;
  EXPECT_NEAR(sum, cross_entropy_reference(to_double(logits), targets, N, V), 1e-5 * std::abs(sum));
  cross_entropy_backward(logits.data(), lse.data(), targets.data(), dlogits.data(), scale, N, V, test_pool());
  const Vec fd = finite_difference([&](const Vec& l) { return scale * cross_entropy_reference(l, targets, N, V); },
                                   to_double(logits));
  EXPECT_LT(rel_error(dlogits, fd), kGradTol);
}

TEST(TrainKernels, FusedClassifierMatchesFiniteDifferencesAcrossChunks) {
  const int64_t N = 45, C = 12, V = 31, chunk_rows = 16;  // 3 chunks, the last one partial
  const float scale = 1.0f / N;
  auto x = test::gaussian(N * C, 15), w = test::gaussian(V * C, 16, 0.5f);
  std::vector<uint32_t> targets(N);
  for (int64_t n = 0; n < N; ++n) targets[n] = uint32_t((n * 11 + 2) % V);
  auto ref = [&](const Vec& xd, const Vec& wd) {
    Vec logits(N * V);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t v = 0; v < V; ++v) {
        double s = 0;
        for (int64_t c = 0; c < C; ++c) s += xd[n * C + c] * wd[v * C + c];
        logits[n * V + v] = s;
      }
    return cross_entropy_reference(logits, targets, N, V);
  };
  std::vector<float> chunk(chunk_rows * V), dx(N * C), dw(V * C, 0.0f);
  const double loss_only =
      classifier_forward(x.data(), w.data(), targets.data(), N, C, V, chunk.data(), chunk_rows, test_pool());
  const double loss = classifier_forward_backward(x.data(), w.data(), targets.data(), N, C, V, chunk.data(), chunk_rows,
                                                  dx.data(), dw.data(), scale, test_pool());
  const double expected = ref(to_double(x), to_double(w));
  EXPECT_NEAR(loss, expected, 1e-5 * expected);
  EXPECT_EQ(loss, loss_only);
  EXPECT_LT(rel_error(dx, finite_difference([&](const Vec& v) { return scale * ref(v, to_double(w)); }, to_double(x))),
            kGradTol);
  EXPECT_LT(rel_error(dw, finite_difference([&](const Vec& v) { return scale * ref(to_double(x), v); }, to_double(w))),
            kGradTol);
}

}  // namespace
}  // namespace flame

namespace flame {
namespace {

// The AVX2 helpers against their scalar twins, on lengths that leave a scalar tail.
TEST(TrainMathAvx2, MatchesScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  for (int64_t n : {1, 7, 8, 29, 256, 4099}) {
    auto x = test::gaussian(n, uint32_t(100 + n), 4.0f), u = test::gaussian(n, uint32_t(200 + n)),
         d = test::gaussian(n, uint32_t(300 + n));
    x[0] = -95.0f;  // underflows to 0
    EXPECT_EQ(avx2::max_of(x.data(), n), scalar::max_of(x.data(), n));
    std::vector<float> ya(n), ys(n), ga(n), gs(n), ua(n), us(n);
    const float sa = avx2::exp_shifted_sum(x.data(), ya.data(), n, 1.5f);
    const float ss = scalar::exp_shifted_sum(x.data(), ys.data(), n, 1.5f);
    double exact = 0;  // fp32 sums in different orders differ by ~n*eps; compare both to double
    for (int64_t i = 0; i < n; ++i) exact += std::exp(double(x[i]) - 1.5);
    EXPECT_NEAR(sa, exact, 1e-5 * exact + 1e-30);
    EXPECT_NEAR(ss, exact, 1e-5 * exact + 1e-30);
    EXPECT_LT(rel_error(ya, to_double(ys)), 2e-6);
    avx2::exp_shifted_scaled(x.data(), ya.data(), n, 0.5f, 0.25f);
    scalar::exp_shifted_scaled(x.data(), ys.data(), n, 0.5f, 0.25f);
    EXPECT_LT(rel_error(ya, to_double(ys)), 2e-6);
    ya = x, ys = x;
    avx2::scale_in_place(ya.data(), n, 0.3f);
    scalar::scale_in_place(ys.data(), n, 0.3f);
    EXPECT_EQ(ya, ys);
    avx2::swiglu_rows(x.data(), u.data(), ya.data(), n);
    scalar::swiglu_rows(x.data(), u.data(), ys.data(), n);
    EXPECT_LT(rel_error(ya, to_double(ys)), 2e-6);
    avx2::swiglu_grad_rows(d.data(), x.data(), u.data(), ga.data(), ua.data(), n);
    scalar::swiglu_grad_rows(d.data(), x.data(), u.data(), gs.data(), us.data(), n);
    EXPECT_LT(rel_error(ga, to_double(gs)), 2e-6);
    EXPECT_LT(rel_error(ua, to_double(us)), 2e-6);
  }
}

// The RMSNorm and softmax-backward row helpers (two-accumulator AVX2 sums) against their scalar
// twins: the same values up to the order of the fp32 sums.
TEST(TrainMathAvx2, NormAndSoftmaxGradRowsMatchScalar) {
  if (!cpu().has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA";
  for (int64_t n : {1, 7, 8, 29, 256, 4099}) {
    auto x = test::gaussian(n, uint32_t(400 + n)), w = test::gaussian(n, uint32_t(500 + n)),
         dy = test::gaussian(n, uint32_t(600 + n)), dx0 = test::gaussian(n, uint32_t(700 + n)),
         dw0 = test::gaussian(n, uint32_t(800 + n));
    double exact = 0;
    for (int64_t i = 0; i < n; ++i) exact += double(x[i]) * double(x[i]);
    EXPECT_NEAR(avx2::sum_of_squares(x.data(), n), exact, 1e-5 * exact);
    EXPECT_NEAR(scalar::sum_of_squares(x.data(), n), exact, 1e-5 * exact);
    std::vector<float> ya(n), ys(n);
    avx2::scaled_product(x.data(), w.data(), 0.7f, ya.data(), n);
    scalar::scaled_product(x.data(), w.data(), 0.7f, ys.data(), n);
    EXPECT_EQ(ya, ys);
    std::vector<float> dxa = dx0, dxs = dx0, dwa = dw0, dws = dw0;
    avx2::rmsnorm_grad_row(dy.data(), x.data(), w.data(), 0.9f, dxa.data(), dwa.data(), n);
    scalar::rmsnorm_grad_row(dy.data(), x.data(), w.data(), 0.9f, dxs.data(), dws.data(), n);
    EXPECT_LT(rel_error(dxa, to_double(dxs)), 1e-5);
    EXPECT_LT(rel_error(dwa, to_double(dws)), 1e-6);
    // Probabilities: a softmax row.
    std::vector<float> p = x, dsa = dy, dss = dy;
    scale_in_place(p.data(), n, 1.0f / exp_shifted_sum(p.data(), p.data(), n, max_of(p.data(), n)));
    avx2::softmax_grad_row(p.data(), dsa.data(), n);
    scalar::softmax_grad_row(p.data(), dss.data(), n);
    EXPECT_LT(rel_error(dsa, to_double(dss)), 1e-5);
  }
}

// The finite-difference checks above ran the AVX2 path (when present); rerun two of them scalar.
TEST(TrainMathAvx2, ScalarPathPassesFiniteDifferences) {
  set_force_scalar(true);
  check_attention(2, 9, 4, 2, 4, 50);
  set_force_scalar(false);
}

// RMSNorm's scalar row path (the TrainKernels test above ran the AVX2 one where present).
TEST(TrainMathAvx2, ScalarRmsnormPassesFiniteDifferences) {
  set_force_scalar(true);
  const int64_t N = 5, C = 29;
  auto x = test::gaussian(N * C, 16), w = test::gaussian(C, 17), r = test::gaussian(N * C, 18);
  auto ref = [&](const Vec& xd, const Vec& wd) {
    Vec y(N * C);
    for (int64_t n = 0; n < N; ++n) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += xd[n * C + c] * xd[n * C + c];
      const double rs = 1.0 / std::sqrt(ss / C + 1e-5);
      for (int64_t c = 0; c < C; ++c) y[n * C + c] = xd[n * C + c] * rs * wd[c];
    }
    return y;
  };
  std::vector<float> y(N * C), rstd(N), dx(N * C, 0.0f), dw(C, 0.0f);
  rmsnorm_forward(x.data(), w.data(), y.data(), rstd.data(), N, C, 1e-5f, test_pool());
  EXPECT_LT(rel_error(y, ref(to_double(x), to_double(w))), kForwardTol);
  rmsnorm_backward(r.data(), x.data(), w.data(), rstd.data(), dx.data(), dw.data(), N, C, test_pool());
  set_force_scalar(false);
  EXPECT_LT(rel_error(dx, finite_difference([&](const Vec& v) { return dot(ref(v, to_double(w)), r); }, to_double(x))),
            kGradTol);
  EXPECT_LT(rel_error(dw, finite_difference([&](const Vec& v) { return dot(ref(to_double(x), v), r); }, to_double(w))),
            kGradTol);
}

}  // namespace
}  // namespace flame
