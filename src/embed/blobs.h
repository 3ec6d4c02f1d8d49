// The guest programs, built from agent/, and the kernel configuration fragments, embedded at
// build time (tools/embed.cpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace provium::embed {

struct Blob {
  const unsigned char* data;
  std::size_t size;
  std::string_view view() const { return {reinterpret_cast<const char*>(data), size}; }
};

extern const Blob agent;    // /provium-agent: serves the wire protocol
extern const Blob wrapper;  // /provium-wrapper: rdinit; loads modules, starts the agent
extern const Blob init;     // /provium-init: minimal init of the built-in default profile

// The kernel configuration fragments of kconfig/ (provium kconfig).
extern const Blob kconfig_provium;  // kconfig/provium.config: what a kernel needs to boot under Provium
extern const Blob kconfig_debug;    // kconfig/debug.config: what debugging it wants

}  // namespace provium::embed
