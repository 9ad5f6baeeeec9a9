#include "core/gzip.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/status.h"

namespace ember {

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(std::string_view bytes, const std::string& source, size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(ErrorCode::kInternal, "zlib inflateInit2 failed");
  std::string out;
  out.resize(std::min<size_t>(max_out, std::max<size_t>(bytes.size() * 4, 1 << 16)));
  size_t in_pos = 0, out_pos = 0;
  int rc = Z_OK;
  while (true) {
    size_t in_chunk = std::min<size_t>(bytes.size() - in_pos, 1u << 30);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + in_pos));
    zs.avail_in = static_cast<uInt>(in_chunk);
    if (out_pos == out.size()) {
      if (out.size() >= max_out) {
        inflateEnd(&zs);
        fail(ErrorCode::kCorruptFile, source, ": decompressed size exceeds ", max_out, " bytes");
      }
      out.resize(std::min(max_out, out.size() * 2));
    }
    size_t out_chunk = std::min<size_t>(out.size() - out_pos, 1u << 30);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(out_chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += in_chunk - zs.avail_in;
    out_pos += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are allowed (as `zcat` does).
      if (in_pos < bytes.size() && is_gzip(bytes.substr(in_pos))) {
        inflateReset(&zs);
        continue;
      }
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&zs);
      fail(ErrorCode::kCorruptFile, source, ": invalid gzip data (", zs.msg ? zs.msg : "zlib error", ")");
    }
    if (rc == Z_BUF_ERROR && in_pos >= bytes.size() && zs.avail_out != 0) {
      inflateEnd(&zs);
      fail(ErrorCode::kCorruptFile, source, ": truncated gzip data");
    }
  }
  inflateEnd(&zs);
  out.resize(out_pos);
  return out;
}

std::string read_file_maybe_gzip(const std::string& path, size_t max_out) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, path,
         ": cannot open: ", std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) fail(ErrorCode::kInvalidArgument, path, ": is a directory, expected a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorCode::kIo, path, ": cannot open for reading");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<size_t>(f.gcount()) != bytes.size()) fail(ErrorCode::kIo, path, ": short read");
  if (is_gzip(bytes)) return gunzip(bytes, path, max_out);
  return bytes;
}

}  // namespace ember
