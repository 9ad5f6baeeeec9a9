#include "vision/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/status.h"

// stb_image, PNG and JPEG only, from memory only; compiled here once.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 15)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace ember {

namespace {
constexpr int64_t kMaxPixels = int64_t(1) << 26;  // 64 Mpx: larger is surely not a photo to caption

bool looks_like_png(std::string_view b) {
  return b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}
bool looks_like_jpeg(std::string_view b) {
  return b.size() >= 3 && std::memcmp(b.data(), "\xff\xd8\xff", 3) == 0;
}
}  // namespace

RgbImage decode_image(std::string_view bytes, const std::string& source) {
  if (bytes.empty()) fail(ErrorCode::kInvalidArgument, source, ": empty image file");
  if (!looks_like_png(bytes) && !looks_like_jpeg(bytes))
    fail(ErrorCode::kInvalidArgument, source, ": not a PNG or JPEG image (unrecognized file signature)");
  if (bytes.size() > size_t(INT32_MAX)) fail(ErrorCode::kInvalidArgument, source, ": image file too large");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = int(bytes.size());
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp))
    fail(ErrorCode::kInvalidArgument, source, ": corrupt image (", stbi_failure_reason(), ")");
  if (w <= 0 || h <= 0 || int64_t(w) * h > kMaxPixels)
    fail(ErrorCode::kInvalidArgument, source, ": image of ", w, "x", h,
         " pixels is outside the supported size (", kMaxPixels, " pixels at most)");
  stbi_uc* px = stbi_load_from_memory(data, len, &w, &h, &comp, 3);
  if (!px) fail(ErrorCode::kInvalidArgument, source, ": corrupt image (", stbi_failure_reason(), ")");
  RgbImage img;
  img.width = w, img.height = h;
  img.pixels.assign(px, px + size_t(w) * size_t(h) * 3);
  stbi_image_free(px);
  return img;
}

// ---- Pillow-exact bicubic resampling ---------------------------------------------------------

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed-point precision for 8-bit images

double bicubic(double x) {  // Keys cubic, a = -0.5 (Pillow's BICUBIC)
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Per output pixel: first source index, count, and `ksize` fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> w;  // [out, ksize]
};

// Pillow computes the weights in double, normalizes them to sum 1, then rounds each to
// kPrecisionBits fixed point (half away from zero).
Coeffs precompute(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double fscale = std::max(scale, 1.0);
  const double support = 2.0 * fscale;
  Coeffs c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.first.resize(size_t(out_size)), c.count.resize(size_t(out_size));
  c.w.assign(size_t(out_size) * size_t(c.ksize), 0);
  std::vector<double> k(size_t(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    int xmin = std::max(int(center - support + 0.5), 0);
    int xmax = std::min(int(center + support + 0.5), in_size) - xmin;
    double sum = 0.0;
    for (int x = 0; x < xmax; ++x) sum += k[size_t(x)] = bicubic((x + xmin - center + 0.5) / fscale);
    for (int x = 0; x < xmax; ++x) {
      const double v = sum != 0.0 ? k[size_t(x)] / sum : k[size_t(x)];
      const double f = v * double(1 << kPrecisionBits);
      c.w[size_t(xx) * size_t(c.ksize) + size_t(x)] = int32_t(v < 0 ? -0.5 + f : 0.5 + f);
    }
    c.first[size_t(xx)] = xmin, c.count[size_t(xx)] = xmax;
  }
  return c;
}

uint8_t clip8(int64_t acc) {
  const int64_t v = acc >> kPrecisionBits;
  return uint8_t(std::clamp<int64_t>(v, 0, 255));
}

// One separable pass: out[o] = Σ_k w[o,k] · in[first[o] + k] along one axis, for every line
// of the other axis. `stride_in`/`stride_out` step along the resampled axis (in channels).
void resample_pass(const uint8_t* in, uint8_t* out, const Coeffs& c, int n_out, int n_lines, int64_t line_in,
                   int64_t line_out, int64_t step_in, int64_t step_out) {
  for (int l = 0; l < n_lines; ++l)
    for (int o = 0; o < n_out; ++o) {
      const int32_t* w = &c.w[size_t(o) * size_t(c.ksize)];
      for (int ch = 0; ch < 3; ++ch) {
        int64_t acc = int64_t(1) << (kPrecisionBits - 1);
        const uint8_t* src = in + l * line_in + int64_t(c.first[size_t(o)]) * step_in + ch;
        for (int k = 0; k < c.count[size_t(o)]; ++k) acc += int64_t(src[k * step_in]) * w[k];
        out[l * line_out + o * step_out + ch] = clip8(acc);
      }
    }
}

}  // namespace

RgbImage resize_bicubic_pil(const RgbImage& in, int out_w, int out_h) {
  EMBER_CHECK(out_w > 0 && out_h > 0 && in.width > 0 && in.height > 0);
  RgbImage cur = in;
  if (out_w != cur.width) {  // horizontal pass first, as Pillow
    const Coeffs c = precompute(cur.width, out_w);
    RgbImage t;
    t.width = out_w, t.height = cur.height;
    t.pixels.resize(size_t(out_w) * size_t(cur.height) * 3);
    resample_pass(cur.pixels.data(), t.pixels.data(), c, out_w, cur.height, int64_t(cur.width) * 3,
                  int64_t(out_w) * 3, 3, 3);
    cur = std::move(t);
  }
  if (out_h != cur.height) {
    const Coeffs c = precompute(cur.height, out_h);
    RgbImage t;
    t.width = cur.width, t.height = out_h;
    t.pixels.resize(size_t(cur.width) * size_t(out_h) * 3);
    // Lines are columns: consecutive columns are 3 bytes apart; the axis steps by a row.
    resample_pass(cur.pixels.data(), t.pixels.data(), c, out_h, cur.width, 3, 3, int64_t(cur.width) * 3,
                  int64_t(cur.width) * 3);
    cur = std::move(t);
  }
  return cur;
}

// ---- Gemma 4 preprocessing -------------------------------------------------------------------

int gemma4_image_budget(int requested, const std::string& source) {
  if (requested == 0) return 280;
  for (int b : {70, 140, 280, 560, 1120})
    if (requested == b) return b;
  fail(ErrorCode::kInvalidArgument, source, ": image token budget ", requested,
       " is not one of 70, 140, 280, 560, 1120");
}

void gemma4_target_size(int height, int width, int patch, int max_patches, int pooling, int* out_h,
                        int* out_w, const std::string& source) {
  const double target_px = double(max_patches) * patch * patch;
  const double factor = std::sqrt(target_px / (double(height) * width));
  const int side = pooling * patch;
  int th = int(std::floor(factor * height / side)) * side;
  int tw = int(std::floor(factor * width / side)) * side;
  if (th == 0 && tw == 0)
    fail(ErrorCode::kInvalidArgument, source, ": image of ", width, "x", height,
         " cannot be resized to a multiple of ", side, " pixels");
  const int max_side = (max_patches / (pooling * pooling)) * side;
  if (th == 0) {
    th = side;
    tw = std::min(int(std::floor(double(width) / height)) * side, max_side);
  } else if (tw == 0) {
    tw = side;
    th = std::min(int(std::floor(double(height) / width)) * side, max_side);
  }
  if (double(th) * tw > target_px)
    fail(ErrorCode::kInvalidArgument, source, ": image of ", width, "x", height, " would exceed ",
         max_patches, " patches");
  *out_h = th, *out_w = tw;
}

ImagePatches gemma4_preprocess(const RgbImage& img, const ImagePreprocess& p, const std::string& source) {
  const int max_patches = p.soft_token_budget * p.pooling * p.pooling;
  int th = 0, tw = 0;
  gemma4_target_size(img.height, img.width, p.patch, max_patches, p.pooling, &th, &tw, source);
  const RgbImage r = (th == img.height && tw == img.width) ? img : resize_bicubic_pil(img, tw, th);
  ImagePatches out;
  out.grid_w = tw / p.patch, out.grid_h = th / p.patch;
  out.n = int64_t(out.grid_w) * out.grid_h;
  out.dim = int64_t(p.patch) * p.patch * 3;
  out.values.resize(size_t(out.n * out.dim));
  const double inv255 = 1.0 / 255.0;  // transformers rescales in float64, then casts to float32
  for (int gy = 0; gy < out.grid_h; ++gy)
    for (int gx = 0; gx < out.grid_w; ++gx) {
      float* dst = out.values.data() + (int64_t(gy) * out.grid_w + gx) * out.dim;
      for (int py = 0; py < p.patch; ++py)
        for (int px = 0; px < p.patch; ++px) {
          const uint8_t* src =
              &r.pixels[(size_t(gy * p.patch + py) * size_t(tw) + size_t(gx * p.patch + px)) * 3];
          for (int c = 0; c < 3; ++c) *dst++ = float(double(src[c]) * inv255);
        }
    }
  return out;
}

}  // namespace ember
