-- vm:exec: the result table, the output wrappers (.value, .contains, .starts_with, .trim,
-- called with a dot), tostring() and .. on them.
local vm = provium.fixture("base")

test("the result has ok, exit_code, stdout and stderr", function()
  local r = vm:exec("echo out; echo err >&2")
  assert_eq(r.ok, true)
  assert_eq(r.exit_code, 0)
  assert_eq(type(r.stdout), "table")
  assert_eq(type(r.stderr), "table")
  assert_eq(r.stdout.value, "out\n")
  assert_eq(r.stderr.value, "err\n")
end)

test("a non-zero exit is not ok and keeps its code", function()
  local r = vm:exec("echo partial; exit 3")
  assert_eq(r.ok, false)
  assert_eq(r.exit_code, 3)
  assert_eq(r.stdout.value, "partial\n")
  assert_eq(r.stderr.value, "")
  assert_eq(vm:exec("false").exit_code, 1)
  local missing = vm:exec("no-such-command-here")
  assert_eq(missing.exit_code, 127)
  assert(missing.stderr.contains("not found"), missing.stderr.value)
end)

test("commands run through /bin/sh -c", function()
  local r = vm:exec("a=5; for i in 1 2; do a=$((a + i)); done; echo $a | tr 8 X; cd /srv && pwd")
  assert_eq(r.stdout.value, "X\n/srv\n")
  -- quotes, redirections and && / || are the shell's
  assert_eq(vm:exec("echo 'one two' > /tmp/q && cat /tmp/q || echo never").stdout.value, "one two\n")
  assert(vm:exec("readlink /proc/$$/exe").stdout.contains("busybox"))  -- the default /bin/sh
end)

test("the wrappers are closures called with a dot", function()
  local out = vm:exec("printf '  hello world \\n\\n'").stdout
  assert_eq(out.value, "  hello world \n\n")
  assert(out.contains("hello"))
  assert(out.contains("world \n"))
  assert(not out.contains("bye"))
  assert(out.starts_with("  hel"))
  assert(not out.starts_with("hello"))
  assert_eq(out.trim(), "hello world")
  assert_eq(type(out.trim()), "string")
  -- a closure keeps its output when taken out of the table
  local contains, trim = out.contains, out.trim
  assert(contains("lo wo"))
  assert_eq(trim(), "hello world")
  -- stderr has the same wrappers
  local err = vm:exec("echo '  oops  ' >&2").stderr
  assert(err.contains("oops"))
  assert(err.starts_with("  oo"))
  assert_eq(err.trim(), "oops")
end)

test("contains and starts_with take plain text, not Lua patterns", function()
  local out = vm:exec("echo axb").stdout
  assert(not out.contains("a.b"))
  assert(not out.starts_with("a.b"))
  assert(not out.contains("%a"))
  local literal = vm:exec("printf 'a.b%%d(x'").stdout
  assert_eq(literal.value, "a.b%d(x")
  assert(literal.contains("a.b"))
  assert(literal.contains("%d("))
  assert(literal.starts_with("a.b%"))
end)

test("tostring and .. give the bytes", function()
  local r = vm:exec("echo out; echo err >&2")
  assert_eq(tostring(r.stdout), "out\n")
  assert_eq(tostring(r.stderr), "err\n")
  assert_eq("<" .. r.stdout, "<out\n")
  assert_eq(r.stdout .. ">", "out\n>")
  assert_eq("[" .. r.stdout .. "]", "[out\n]")
  assert_eq(r.stdout .. r.stderr, "out\nerr\n")
  assert_eq(string.format("%s", r.stdout), "out\n")
end)

test("empty output", function()
  local r = vm:exec("true")
  assert_eq(r.stdout.value, "")
  assert_eq(r.stdout.trim(), "")
  assert_eq(tostring(r.stdout), "")
  assert(not r.stdout.contains("x"))
end)

test("output is binary-safe", function()
  local r = vm:exec("printf 'a\\000b\\377\\001'")
  assert_eq(r.stdout.value, "a\0b\255\1")
  assert_eq(#r.stdout.value, 5)
  assert(r.stdout.contains("\0b\255"))
  assert(r.stdout.starts_with("a\0"))
end)

test("a MiB of output arrives whole", function()
  local r = vm:exec("head -c 1048576 /dev/zero | tr '\\000' x")
  assert_eq(r.exit_code, 0)
  assert_eq(#r.stdout.value, 1048576)
  assert_eq(r.stdout.value, string.rep("x", 1048576))
end)
