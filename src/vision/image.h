// Image input for the vision tower: decoding (PNG/JPEG via stb_image), Pillow-exact bicubic
// resizing, and the Gemma 4 preprocessing of gemma4-multimodal.md §3 (aspect-preserving resize
// to a multiple of pooling·patch pixels within the soft-token budget, rescale to [0,1],
// row-major patches with (x, y) positions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

// 8-bit RGB, row-major: pixels[(y * width + x) * 3 + c].
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a PNG or JPEG file's bytes to RGB (gray is replicated, alpha dropped — as PIL's
// convert("RGB")). Anything else -> ember::Error kInvalidArgument naming `source`.
RgbImage decode_image(std::string_view bytes, const std::string& source);

// Resizes with Pillow's BICUBIC filter (a = -0.5, support widened by the scale when
// downscaling, 22-bit fixed-point coefficients, horizontal then vertical pass with uint8
// rounding in between), so the result equals PIL.Image.resize(..., Image.BICUBIC) bit for bit.
RgbImage resize_bicubic_pil(const RgbImage& in, int out_width, int out_height);

// The target size of transformers' get_aspect_ratio_preserving_size: the largest
// (height, width), both multiples of pooling·patch, with at most max_patches patches.
// Throws kInvalidArgument when the image is too small/thin to give any patch.
void gemma4_target_size(int height, int width, int patch, int max_patches, int pooling, int* out_height,
                        int* out_width, const std::string& source);

// Patches of a preprocessed image: f32 [n, patch·patch·3] in [0, 1], patch (py·patch + px)·3 + c,
// patches row-major (y outer); position of patch i: (i mod grid_w, i div grid_w).
struct ImagePatches {
  int64_t n = 0, dim = 0;
  int grid_w = 0, grid_h = 0;  // patches per row / column
  std::vector<float> values;
};

struct ImagePreprocess {
  int patch = 16;
  int pooling = 3;
  int soft_token_budget = 280;  // one of 70, 140, 280, 560, 1120
};

// The Gemma 4 image processor: resize (skipped when the size already fits), /255, patchify.
ImagePatches gemma4_preprocess(const RgbImage& img, const ImagePreprocess& p, const std::string& source);

// Checks a soft-token budget (70, 140, 280, 560, 1120; 0 -> 280) and returns it.
int gemma4_image_budget(int requested, const std::string& source);

}  // namespace ember
