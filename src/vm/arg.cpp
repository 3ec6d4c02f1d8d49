#include <provium/error.h>
#include <provium/syscall.h>

namespace provium {

Arg in(std::string bytes) { return Arg(Arg::Kind::in, std::move(bytes)); }
Arg out(std::size_t size) { return Arg(Arg::Kind::out, std::string(size, '\0')); }
Arg inout(std::string bytes) { return Arg(Arg::Kind::inout, std::move(bytes)); }
Arg cstr(std::string_view text) { return in(std::string(text) + '\0'); }

Arg Arg::ptr(std::size_t offset, Arg buffer) const {
  if (kind_ == Kind::integer) throw Error("ptr(): an integer argument cannot hold a pointer");
  if (buffer.kind_ == Kind::integer) throw Error("ptr(): the pointed-to argument must be a buffer");
  if (!buffer.pointers_.empty())
    throw Error("ptr(): a pointed-to buffer cannot hold pointers itself (one level only)");
  Arg copy = *this;
  copy.pointers_.push_back({offset, std::move(buffer.bytes_), buffer.returned()});
  return copy;
}

}  // namespace provium
