-- vm:read_file / vm:write_file: binary safety, any size (pieces past the 16 MiB frame), errors;
-- vm:copy_to / vm:copy_from between host and guest files.
local vm = provium.fixture("base")

local MiB = 1024 * 1024

test("every byte value round-trips", function()
  local bytes = {}
  for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
  local data = table.concat(bytes):rep(4)
  vm:write_file("/tmp/bytes", data)
  assert_eq(data, vm:read_file("/tmp/bytes"))
  assert_eq("1024", vm:exec("wc -c < /tmp/bytes").stdout.trim())
  -- the guest sees the same bytes: NUL at 0, 0xff at 255
  assert_eq("255 0", vm:exec("od -A n -t u1 -j 255 -N 2 /tmp/bytes").stdout.trim():gsub("%s+", " "))
end)

test("read_file returns what the guest wrote", function()
  assert(vm:exec("printf 'guest\\000data\\377' > /tmp/from-guest").ok)
  assert_eq("guest\0data\255", vm:read_file("/tmp/from-guest"))
  assert_eq("\0base\255", vm:read_file("/srv/blob"))  -- written by the base fixture
end)

test("an empty file", function()
  vm:write_file("/tmp/empty", "")
  assert(vm:exec("test -f /tmp/empty && ! test -s /tmp/empty").ok)
  assert_eq("", vm:read_file("/tmp/empty"))
end)

test("write_file replaces the contents", function()
  vm:write_file("/tmp/replaced", "a long first version")
  vm:write_file("/tmp/replaced", "short")
  assert_eq("short", vm:read_file("/tmp/replaced"))
end)

test("proc files are read to the end", function()
  local version = vm:read_file("/proc/version")
  assert_eq("Linux version", version:sub(1, 13))
  assert_eq(vm:exec("cat /proc/version").stdout.value, version)
end)

test("a MiB round trip", function()
  local parts = {}
  for i = 1, MiB / 16 do parts[i] = string.format("%015d\n", i) end
  local data = table.concat(parts)
  vm:write_file("/tmp/mib", data)
  assert_eq(tostring(MiB), vm:exec("wc -c < /tmp/mib").stdout.trim())
  assert(vm:read_file("/tmp/mib") == data, "the MiB came back changed")
end)

test("15 MiB fit a frame", function()
  local data = string.rep("0123456789abcdef", 15 * MiB / 16)
  vm:write_file("/tmp/fifteen", data)
  local back = vm:read_file("/tmp/fifteen")
  assert_eq(#data, #back)
  assert(back == data, "15 MiB came back changed")
  vm:exec("rm -f /tmp/fifteen")
end)

test("more than 16 MiB goes in pieces and comes back whole", function()
  local data = string.rep("0123456789abcdef", MiB) .. "!"
  vm:write_file("/tmp/huge", data)
  assert_eq(tostring(16 * MiB + 1), vm:exec("wc -c < /tmp/huge").stdout.trim())
  assert(vm:read_file("/tmp/huge") == data, "16 MiB and a byte came back changed")
  vm:exec("rm -f /tmp/huge")
end)

test("copy_to and copy_from move files between host and guest", function()
  local host = os.tmpname()
  local f = assert(io.open(host, "wb"))
  f:write(string.rep("abc\0", 2 * MiB))
  f:close()
  vm:copy_to(host, "/tmp/copied")
  assert_eq(tostring(8 * MiB), vm:exec("wc -c < /tmp/copied").stdout.trim())
  local back = host .. ".back"
  vm:copy_from("/tmp/copied", back)
  local g = assert(io.open(back, "rb"))
  assert(g:read("a") == string.rep("abc\0", 2 * MiB), "the copy came back changed")
  g:close()
  os.remove(host)
  os.remove(back)
  local ok = pcall(vm.copy_from, vm, "/no/such/file", back)
  assert_eq(false, ok)
  assert_eq(nil, io.open(back), "a failed copy left a file")
end)

test("a missing path is an error naming it, with the caller's file:line", function()
  local ok, err = pcall(function() return vm:read_file("/no/such/file") end); local line = debug.getinfo(1, "l").currentline
  assert_eq(false, ok)
  assert_contains(err, "/no/such/file")
  assert_contains(err, "files.lua:" .. line .. ":")
  assert_contains(err, "read_file")  -- the operation
  ok, err = pcall(vm.write_file, vm, "/no/such/dir/file", "x")
  assert_eq(false, ok)
  assert_contains(err, "/no/such/dir/file")
  assert(vm:exec("true").ok)
end)
