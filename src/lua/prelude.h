// src/lua/prelude.lua, embedded at build time (tools/embed.cpp).
#pragma once

#include "embed/blobs.h"

namespace provium::embed {
extern const Blob lua_prelude;
}
