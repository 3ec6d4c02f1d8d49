// Why a guest does not answer, as its console tells it.
#pragma once

#include <string>
#include <string_view>

namespace provium::vm {

// "the agent died (...)" when the agent's watcher reported its end, "the kernel is hung (...)"
// when the kernel reported a lockup or a stall, each with the console's line; empty when the
// console says neither. `console` is any text holding the console's last lines.
std::string why_silent(std::string_view console);

}  // namespace provium::vm
