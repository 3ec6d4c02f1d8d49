#include "protocol/messages.h"

#include <fmt/format.h>

#include "wire.h"

namespace provium::protocol {

uint32_t PayloadReader::u32() { return provium_get_u32(bytes(4).data()); }

int64_t PayloadReader::i64() { return static_cast<int64_t>(provium_get_u64(bytes(8).data())); }

std::string_view PayloadReader::bytes(std::size_t n) {
  if (n > data_.size() - offset_)
    throw ProtocolError(fmt::format("{} payload truncated: {} bytes wanted at offset {} of {}",
                                    message_, n, offset_, data_.size()));
  auto field = data_.substr(offset_, n);
  offset_ += n;
  return field;
}

void PayloadReader::expect_end() const {
  if (offset_ != data_.size())
    throw ProtocolError(fmt::format("{} payload has {} unexpected trailing bytes", message_,
                                    data_.size() - offset_));
}

ExecAnswer decode_exec_result(std::string_view payload) {
  PayloadReader reader(payload, "EXEC_RESULT");
  ExecAnswer answer;
  answer.result.exit_code = reader.i32();
  answer.ending = reader.u32();
  if (answer.ending > PROVIUM_EXEC_KILL_FAILED)
    throw ProtocolError(fmt::format("EXEC_RESULT ending is {}", answer.ending));
  answer.result.out = reader.sized_bytes();
  answer.result.err = reader.sized_bytes();
  reader.expect_end();
  return answer;
}

ExecOutput decode_exec_output(std::string_view payload) {
  PayloadReader reader(payload, "EXEC_OUTPUT");
  ExecOutput output;
  const uint32_t stream = reader.u32();
  if (stream != 1 && stream != 2) throw ProtocolError(fmt::format("EXEC_OUTPUT stream is {}", stream));
  output.stream = static_cast<int>(stream);
  output.bytes = payload.substr(4);
  return output;
}

}  // namespace provium::protocol
