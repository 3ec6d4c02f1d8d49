// VM and worker objects in Lua: userdata pointing at entries their FileContext owns.
#pragma once

#include "lua/context.h"

namespace provium::lua {

// The metatables of VMs and workers, with their methods (docs/lua.md, "VMs" and "Workers").
void register_guest_types(lua_State* L);
// provium.tap(vm, cmd, {timeout, stream}), also vm:tap(cmd, ...): run_tap's result as a table.
int tap(lua_State* L);
// Pushes the VM object of `entry`.
void push_vm(lua_State* L, VmEntry& entry);

}  // namespace provium::lua
