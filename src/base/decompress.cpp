#include "base/decompress.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <fmt/format.h>

#include <memory>

#include <provium/error.h>

namespace provium::base {

namespace {

constexpr std::size_t kChunk = 1 << 20;

// Grows `out` by a chunk (at most to `limit`) and returns the new room.
std::size_t grow(std::string& out, std::size_t used, std::size_t limit, std::string_view format) {
  if (used >= limit) throw Error(fmt::format("{}: the stream decompresses to more than {} bytes", format, limit));
  out.resize(std::min(limit, used + kChunk));
  return out.size() - used;
}

std::string inflate_gzip(std::string_view data, std::size_t limit) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw Error("gzip: cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> end(&stream, inflateEnd);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  for (;;) {
    stream.avail_out = static_cast<uInt>(grow(out, stream.total_out, limit, "gzip"));
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + stream.total_out);
    const int status = inflate(&stream, Z_NO_FLUSH);
    if (status == Z_STREAM_END) break;
    if (status != Z_OK && status != Z_BUF_ERROR) throw Error("gzip: corrupt stream");
    if (stream.avail_out != 0) throw Error("gzip: truncated stream");
  }
  out.resize(stream.total_out);
  return out;
}

std::string decode_xz(std::string_view data, std::size_t limit) {
  lzma_stream stream = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&stream, UINT64_MAX, 0) != LZMA_OK) throw Error("xz: cannot initialise liblzma");
  std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> end(&stream, lzma_end);
  stream.next_in = reinterpret_cast<const uint8_t*>(data.data());
  stream.avail_in = data.size();
  std::string out;
  for (;;) {
    stream.avail_out = grow(out, stream.total_out, limit, "xz");
    stream.next_out = reinterpret_cast<uint8_t*>(out.data() + stream.total_out);
    const lzma_ret status = lzma_code(&stream, LZMA_FINISH);
    if (status == LZMA_STREAM_END) break;
    if (status != LZMA_OK && status != LZMA_BUF_ERROR) throw Error("xz: corrupt stream");
    if (stream.avail_out != 0) throw Error("xz: truncated stream");
  }
  out.resize(stream.total_out);
  return out;
}

std::string decode_zstd(std::string_view data, std::size_t limit) {
  std::unique_ptr<ZSTD_DStream, std::size_t (*)(ZSTD_DStream*)> stream(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!stream) throw Error("zstd: cannot initialise libzstd");
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string out;
  std::size_t used = 0;
  for (;;) {
    const std::size_t room = grow(out, used, limit, "zstd");
    ZSTD_outBuffer buffer{out.data() + used, room, 0};
    const std::size_t left = ZSTD_decompressStream(stream.get(), &buffer, &in);
    used += buffer.pos;
    if (ZSTD_isError(left)) throw Error(fmt::format("zstd: {}", ZSTD_getErrorName(left)));
    if (left == 0) break;  // a whole frame
    if (in.pos == in.size && buffer.pos < room) throw Error("zstd: truncated stream");
  }
  out.resize(used);
  return out;
}

}  // namespace

std::string_view compression_of(std::string_view data) {
  if (data.starts_with("\x1f\x8b")) return "gzip";
  if (data.starts_with(std::string_view("\xfd" "7zXZ\0", 6))) return "xz";
  if (data.starts_with("\x28\xb5\x2f\xfd")) return "zstd";
  return "";
}

std::string decompress(std::string_view format, std::string_view data, std::size_t limit) {
  if (format == "gzip") return inflate_gzip(data, limit);
  if (format == "xz") return decode_xz(data, limit);
  if (format == "zstd") return decode_zstd(data, limit);
  throw Error(fmt::format("{}-compressed data cannot be decompressed here (gzip, xz, zstd)", format));
}

}  // namespace provium::base
