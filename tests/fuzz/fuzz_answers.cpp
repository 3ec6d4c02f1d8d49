// libFuzzer target: the host's decoders of the agent's answers (src/protocol/messages.cpp and
// requests.cpp) on payloads from a hostile guest. Each decoder either returns what a reference
// reading of docs/protocol.md finds in the payload, or throws provium::Error (ProtocolError)
// exactly when that reading fails. Any other exception escapes and is a finding, as is a crash
// or undefined behaviour.
//
// Input: [decoder u8] then
//   0 EXEC_RESULT, 1 JOB_RESULT, 2 JOB_STARTED, 3 WORKER_STARTED: the payload;
//   4 SYSCALL_RESULT: [layout u8: nbuf = b % 5, npointers = b / 5 % 4]
//                     nbuf x [b u8: size b >> 1, returned b & 1]
//                     npointers x [size u8]
//                     then the payload.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <provium/error.h>

#include "check.h"
#include "protocol/messages.h"
#include "protocol/requests.h"
#include "wire.h"

namespace {

using namespace provium::protocol;

// Reads the payload as docs/protocol.md lays it out; `ok` turns false at the first field
// that is not there.
struct Reference {
  std::string_view rest;
  bool ok = true;

  std::string_view bytes(std::size_t n) {
    if (!ok || n > rest.size()) {
      ok = false;
      return {};
    }
    auto field = rest.substr(0, n);
    rest.remove_prefix(n);
    return field;
  }
  uint32_t u32() {
    auto field = bytes(4);
    return ok ? provium_get_u32(field.data()) : 0;
  }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() {
    auto field = bytes(8);
    return ok ? static_cast<int64_t>(provium_get_u64(field.data())) : 0;
  }
  std::string_view sized_bytes() { return bytes(u32()); }
  // The whole payload read, and only it.
  bool valid() const { return ok && rest.empty(); }
};

// Runs the decoder: on success, `check` compares its result with the reference (which must
// have found the payload valid); on provium::Error, the reference must have found it invalid.
template <typename Decode, typename Check>
void expect(bool valid, Decode decode, Check check) {
  bool decoded = false;
  try {
    auto result = decode();
    decoded = true;
    FUZZ_CHECK(valid);
    check(result);
  } catch (const provium::Error&) {
    FUZZ_CHECK(!decoded);  // not thrown by check()
    FUZZ_CHECK(!valid);
  }
}

void exec_result(std::string_view payload) {
  Reference ref{payload};
  const int32_t code = ref.i32();
  const uint32_t ending = ref.u32();
  const auto out = ref.sized_bytes(), err = ref.sized_bytes();
  expect(ref.valid() && ending <= PROVIUM_EXEC_KILL_FAILED, [&] { return decode_exec_result(payload); },
         [&](const provium::protocol::ExecAnswer& answer) {
           FUZZ_CHECK(answer.ending == ending);
           FUZZ_CHECK(answer.result.exit_code == code);
           FUZZ_CHECK(answer.result.out == out);
           FUZZ_CHECK(answer.result.err == err);
         });
}

void job_result(std::string_view payload) {
  Reference ref{payload};
  const int32_t code = ref.i32();
  const uint32_t flags = ref.u32();
  const auto out = ref.sized_bytes(), err = ref.sized_bytes();
  expect(ref.valid() && flags <= 3, [&] { return decode_job_result(payload); },
         [&](const provium::protocol::JobAnswer& answer) {
           FUZZ_CHECK(answer.result.exit_code == code);
           FUZZ_CHECK(answer.result.running == ((flags & 1) != 0));
           FUZZ_CHECK(answer.restarted == ((flags & 2) != 0));
           FUZZ_CHECK(answer.result.out == out);
           FUZZ_CHECK(answer.result.err == err);
         });
}

void job_started(std::string_view payload) {
  Reference ref{payload};
  const uint32_t id = ref.u32();
  const int32_t pid = ref.i32();
  expect(ref.valid(), [&] { return decode_job_started(payload); },
         [&](const provium::Job& job) {
           FUZZ_CHECK(job.id == id);
           FUZZ_CHECK(job.pid == pid);
         });
}

void worker_started(std::string_view payload) {
  Reference ref{payload};
  const uint32_t port = ref.u32();
  const int32_t pid = ref.i32();
  expect(ref.valid(), [&] { return decode_worker_started(payload); },
         [&](const WorkerStarted& started) {
           FUZZ_CHECK(started.port == port);
           FUZZ_CHECK(started.pid == pid);
         });
}

void syscall_result(std::string_view input) {
  if (input.empty()) return;
  const uint8_t shape = static_cast<uint8_t>(input[0]);
  const std::size_t nbuf = shape % 5, npointers = shape / 5 % 4;
  if (input.size() < 1 + nbuf + npointers) return;
  ResultLayout layout;
  for (std::size_t i = 0; i < nbuf; ++i) {
    const uint8_t b = static_cast<uint8_t>(input[1 + i]);
    layout.buffers.push_back({static_cast<uint32_t>(b >> 1), (b & 1) != 0});
  }
  for (std::size_t i = 0; i < npointers; ++i)
    layout.returned_pointers.push_back(static_cast<uint8_t>(input[1 + nbuf + i]));
  const std::string_view payload = input.substr(1 + nbuf + npointers);

  Reference ref{payload};
  const int64_t ret = ref.i64();
  std::vector<std::string_view> out;
  for (const auto& buffer : layout.buffers) {
    auto bytes = ref.bytes(buffer.size);
    if (buffer.returned) out.push_back(bytes);
  }
  for (uint32_t size : layout.returned_pointers) out.push_back(ref.bytes(size));
  expect(ref.valid(), [&] { return decode_syscall_result(payload, layout); },
         [&](const provium::SyscallResult& result) {
           FUZZ_CHECK(result.ret == ret);
           FUZZ_CHECK(result.out.size() == out.size());
           for (std::size_t i = 0; i < out.size(); ++i) FUZZ_CHECK(result.out[i] == out[i]);
         });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: exec_result(rest); break;
    case 1: job_result(rest); break;
    case 2: job_started(rest); break;
    case 3: worker_started(rest); break;
    case 4: syscall_result(rest); break;
  }
  return 0;
}
