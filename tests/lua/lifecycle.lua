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
  assert_eq(ok, false)
  assert_contains(err, "no-such-profile")
  assert_contains(err, "default")
end)

test("create gives a VM that is not booted yet", function()
  local vm = provium.create()  -- the profile "default"
  assert_eq(vm:running(), false)
  assert_eq(pcall(vm.exec, vm, "true"), false)
  assert_eq(provium.create("default"):running(), false)
end)

test("boot options that cannot work are errors", function()
  local vm = provium.create()
  assert_eq(pcall(vm.boot, vm, {memory = "lots"}), false)
  vm = provium.create()
  assert_eq(pcall(vm.boot, vm, {files = {["/opt/x"] = "tests/lua_helpers/no-such-file"}}), false)
  vm = provium.create()
  assert_eq(pcall(vm.boot, vm, {disks = {{path = "tests/lua_helpers/no-such-disk.img"}}}), false)
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
    disks = {{path = raw, format = "raw"}, {path = qcow, format = "qcow2", readonly = true}},
  })
  assert_eq(vm:running(), true)
  vm:mount_vfs()
  assert_eq(vm:read_file("/opt/provium/values.lua"), host_file("tests/lua_helpers/values.lua"))
  local kib = tonumber(vm:read_file("/proc/meminfo"):match("MemTotal:%s+(%d+) kB"))
  assert(kib > 256 * 1024 and kib <= 384 * 1024, "MemTotal " .. kib .. " kB with 384M")
  assert_eq(vm:exec("nproc").stdout.trim(), "2")
  -- disks in order: /dev/vda, /dev/vdb
  assert_eq(vm:exec("head -c 16 /dev/vda").stdout.value, "provium-raw-disk")
  assert_eq(vm:read_file("/sys/block/vda/ro"), "0\n")
  assert_eq(vm:read_file("/sys/block/vdb/ro"), "1\n")
  assert_eq(vm:read_file("/sys/block/vdb/size"), "2048\n")  -- 1 MiB in 512-byte sectors
  assert(vm:exec("printf guest-wrote | dd of=/dev/vda bs=512 seek=1 conv=notrunc 2>/dev/null && sync").ok)
  -- max_workers = 2: a third worker at once is refused
  worker = vm:spawn()
  local second = vm:spawn({thread = true})
  assert_eq(pcall(vm.spawn, vm), false)
  second:kill()
end)

test("shutdown is graceful, and later calls are errors", function()
  vm:shutdown()
  assert_eq(vm:running(), false)
  assert_eq(pcall(vm.exec, vm, "true"), false)
  assert_eq(pcall(vm.read_file, vm, "/proc/version"), false)
  assert_eq(pcall(vm.syscall, vm, 39), false)
  assert_eq(pcall(vm.spawn, vm), false)
  assert_eq(pcall(worker.exec, worker, "true"), false)  -- its workers went with it
  -- what the guest wrote reached the raw disk
  assert_eq(host_file(raw):sub(513, 523), "guest-wrote")
end)

os.remove(raw)
os.remove(qcow)

test("a boot that takes longer than its timeout is an error", function()
  local slow = provium.create()
  local ok, err = pcall(slow.boot, slow, {timeout = 1})  -- a TCG boot takes seconds
  assert_eq(ok, false)
  assert_eq(type(err), "string")
  assert_eq(slow:running(), false)
end)

test("kill is immediate, and later calls are errors", function()
  local own = provium.fixture("base")
  local w = own:spawn()
  own:kill()
  assert_eq(own:running(), false)
  assert_eq(pcall(own.exec, own, "true"), false)
  assert_eq(pcall(own.write_file, own, "/tmp/x", "x"), false)
  assert_eq(pcall(w.exec, w, "true"), false)
end)

test("shutdown_all shuts down every VM this file created", function()
  local a, b = provium.fixture("base"), provium.fixture("base")
  local w = b:spawn({thread = true})
  assert_eq(a:running(), true)
  provium.shutdown_all()  -- the VMs already shut down and killed above are no trouble
  assert_eq(a:running(), false)
  assert_eq(b:running(), false)
  assert_eq(pcall(a.exec, a, "true"), false)
  assert_eq(pcall(w.exec, w, "true"), false)
  -- new VMs can still be made
  local c = provium.fixture("base")
  assert(c:exec("true").ok)
end)

-- Left running on purpose (with a job and a worker): cleaned up when the file ends.
local leftover = provium.fixture("base")
leftover:background("sleep 1000")
leftover:spawn():background("sleep 1000")
