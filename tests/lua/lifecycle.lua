-- provium.create, vm:boot and its options (memory, cpus, files, disks, timeout, max_workers),
-- vm:shutdown, vm:kill, calls after them, provium.shutdown_all. The only file with cold boots:
-- one that succeeds and one that runs out of its timeout.

local function host_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

local function write_host_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

test("an unknown profile is an error naming it and the known ones", function()
  local ok, err = pcall(provium.create, "no-such-profile")
  assert_eq(false, ok)
  assert_contains(err, "no-such-profile")
  assert_contains(err, "default")
end)

test("create gives a VM that is not booted yet", function()
  local vm = provium.create()  -- the profile "default"
  assert_eq(false, vm:running())
  assert_eq(false, pcall(vm.exec, vm, "true"))
  assert_eq(false, provium.create("default"):running())
end)

test("boot options that cannot work are errors", function()
  local vm = provium.create()
  assert_eq(false, pcall(vm.boot, vm, {memory = "lots"}))
  vm = provium.create()
  assert_eq(false, pcall(vm.boot, vm, {files = {["/opt/x"] = "tests/lua_helpers/no-such-file"}}))
  vm = provium.create()
  assert_eq(false, pcall(vm.boot, vm, {disks = {{path = "tests/lua_helpers/no-such-disk.img"}}}))
  vm = provium.create()
  local ok, err = pcall(vm.boot, vm, {disks = {{"a.img", path = "b.img"}}})
  assert_eq(false, ok)
  assert_contains(tostring(err), "disk 1 gives its path twice")
  ok, err = pcall(vm.boot, vm, {disks = {{42}}})
  assert_eq(false, ok)
  assert_contains(tostring(err), "disk 1's first element, its path, must be a string")
end)

-- Host files for the disks: a raw image with a marker, an empty qcow2 image.
local raw, qcow = os.tmpname(), os.tmpname()
write_host_file(raw, "provium-raw-disk" .. string.rep("\0", 1024 * 1024 - 16))
assert(os.execute("qemu-img create -q -f qcow2 " .. qcow .. " 1M"), "qemu-img create failed: is qemu-utils installed? (tools/debian-packages.txt)")

local vm = provium.create("default")
local worker

test("boot with memory, cpus, files, disks, timeout and max_workers", function()
  vm:boot({
    memory = "384M",
    cpus = 2,
    timeout = 120,
    max_workers = 2,
    files = {["/opt/provium/values.lua"] = "tests/lua_helpers/values.lua"},  -- relative to the start directory
    -- the documented form, the path first, and the named one
    disks = {{raw, format = "raw"}, {path = qcow, format = "qcow2", readonly = true}},
  })
  assert_eq(true, vm:running())
  vm:mount_vfs()
  assert_eq(host_file("tests/lua_helpers/values.lua"), vm:read_file("/opt/provium/values.lua"))
  local kib = tonumber(vm:read_file("/proc/meminfo"):match("MemTotal:%s+(%d+) kB"))
  assert(kib > 256 * 1024 and kib <= 384 * 1024, "MemTotal " .. kib .. " kB with 384M")
  assert_eq("2", vm:exec("nproc").stdout.trim())
  -- disks in order: /dev/vda, /dev/vdb
  assert_eq("provium-raw-disk", vm:exec("head -c 16 /dev/vda").stdout.value)
  assert_eq("0\n", vm:read_file("/sys/block/vda/ro"))
  assert_eq("1\n", vm:read_file("/sys/block/vdb/ro"))
  assert_eq("2048\n", vm:read_file("/sys/block/vdb/size"))  -- 1 MiB in 512-byte sectors
  assert(vm:exec("printf guest-wrote | dd of=/dev/vda bs=512 seek=1 conv=notrunc 2>/dev/null && sync").ok)
  -- max_workers = 2: a third worker at once is refused
  worker = vm:spawn()
  local second = vm:spawn({thread = true})
  assert_eq(false, pcall(vm.spawn, vm))
  second:kill()
end)

test("shutdown is graceful, and later calls are errors", function()
  vm:shutdown()
  assert_eq(false, vm:running())
  assert_eq(false, pcall(vm.exec, vm, "true"))
  assert_eq(false, pcall(vm.read_file, vm, "/proc/version"))
  assert_eq(false, pcall(vm.syscall, vm, 39))
  assert_eq(false, pcall(vm.spawn, vm))
  assert_eq(false, pcall(worker.exec, worker, "true"))  -- its workers went with it
  -- what the guest wrote reached the raw disk
  assert_eq("guest-wrote", host_file(raw):sub(513, 523))
end)

os.remove(raw)
os.remove(qcow)

test("a boot that takes longer than its timeout is an error", function()
  local slow = provium.create()
  local ok, err = pcall(slow.boot, slow, {timeout = 1})  -- a TCG boot takes seconds
  assert_eq(false, ok)
  assert_eq("string", type(err))
  assert_eq(false, slow:running())
end)

test("kill is immediate, and later calls are errors", function()
  local own = provium.fixture("base")
  local w = own:spawn()
  own:kill()
  assert_eq(false, own:running())
  assert_eq(false, pcall(own.exec, own, "true"))
  assert_eq(false, pcall(own.write_file, own, "/tmp/x", "x"))
  assert_eq(false, pcall(w.exec, w, "true"))
end)

test("shutdown_all shuts down every VM this file created", function()
  local a, b = provium.fixture("base"), provium.fixture("base")
  local w = b:spawn({thread = true})
  assert_eq(true, a:running())
  provium.shutdown_all()  -- the VMs already shut down and killed above are no trouble
  assert_eq(false, a:running())
  assert_eq(false, b:running())
  assert_eq(false, pcall(a.exec, a, "true"))
  assert_eq(false, pcall(w.exec, w, "true"))
  -- new VMs can still be made
  local c = provium.fixture("base")
  assert(c:exec("true").ok)
end)

-- Left running on purpose (with a job and a worker): cleaned up when the file ends.
local leftover = provium.fixture("base")
leftover:background("sleep 1000")
leftover:spawn():background("sleep 1000")
