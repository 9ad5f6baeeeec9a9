// Reading small data files that may be gzip-compressed (tokenizer.json.gz, fixtures).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ember {

// True when bytes start with the gzip magic number.
bool is_gzip(std::string_view bytes);

// Inflates a gzip stream (all members). Fails with kCorruptFile naming `source` when the data
// is not valid gzip, or when the output would exceed max_out bytes (a guard against bombs).
std::string gunzip(std::string_view bytes, const std::string& source, size_t max_out = size_t{1} << 31);

// Reads a whole file (kNotFound / kIo naming the path); gzip content is inflated transparently.
std::string read_file_maybe_gzip(const std::string& path, size_t max_out = size_t{1} << 31);

}  // namespace ember
