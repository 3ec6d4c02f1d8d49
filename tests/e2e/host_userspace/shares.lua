-- vm:boot{shares = ...} from Lua, run by host_userspace_test through `provium test` on its
-- profile "own" (a kernel with 9p). SHARE_DIR is the host directory the test made.
local dir = os.getenv("SHARE_DIR")

test("a share is written from both sides", function()
  local vm = provium.create("own")
  vm:boot({shares = {{host = dir, guest = "/mnt/lua"}, {host = dir, guest = "/mnt/lua-ro", readonly = true}}})
  assert_eq("host\n", vm:read_file("/mnt/lua/from-host"))
  vm:write_file("/mnt/lua/from-lua", "lua\n")
  local f = assert(io.open(dir .. "/from-lua"))
  assert_eq("lua\n", f:read("a"))
  f:close()
  local r = vm:exec("echo x > /mnt/lua-ro/x")
  assert(r.exit_code ~= 0, "a read-only share took a write")
end)
