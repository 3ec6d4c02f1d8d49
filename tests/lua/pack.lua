-- provium.pack / provium.unpack: every type, little-endian at its width, ranges, short data.
-- No VM needed.

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

test("every type, little-endian at its own width", function()
  assert_eq("\xab", provium.pack("u8", 0xab))
  assert_eq("\x02\x01", provium.pack("u16", 0x0102))
  assert_eq("\xfe\xff", provium.pack("i16", -2))
  assert_eq("\x04\x03\x02\x01", provium.pack("u32", 0x01020304))
  assert_eq("\xfe\xff\xff\xff", provium.pack("i32", -2))
  assert_eq("\x08\x07\x06\x05\x04\x03\x02\x01", provium.pack("u64", 0x0102030405060708))
  assert_eq("\xfe\xff\xff\xff\xff\xff\xff\xff", provium.pack("i64", -2))
end)

test("several values, no padding between them", function()
  local data = provium.pack("u8 u16 i16 u32 i32 u64 i64", 1, 2, -3, 4, -5, 6, -7)
  assert_eq(1 + 2 + 2 + 4 + 4 + 8 + 8, #data)
  assert_eq("01" .. "0200" .. "fdff" .. "04000000" .. "fbffffff"
                       .. "0600000000000000" .. "f9ffffffffffffff", hex(data))
  local a, b, c, d, e, f, g = provium.unpack("u8 u16 i16 u32 i32 u64 i64", data)
  assert_eq(1, a); assert_eq(2, b); assert_eq(-3, c); assert_eq(4, d)
  assert_eq(-5, e); assert_eq(6, f); assert_eq(-7, g)
  assert_eq(7, select("#", provium.unpack("u8 u16 i16 u32 i32 u64 i64", data)))
end)

test("the ends of every range round-trip", function()
  local cases = {
    {"u8", 0}, {"u8", 255},
    {"u16", 0}, {"u16", 65535},
    {"i16", -32768}, {"i16", 32767},
    {"u32", 0}, {"u32", 4294967295},
    {"i32", -2147483648}, {"i32", 2147483647},
    {"u64", 0}, {"u64", math.maxinteger},
    {"i64", math.mininteger}, {"i64", math.maxinteger},
  }
  for _, case in ipairs(cases) do
    local fmt, value = case[1], case[2]
    local back = provium.unpack(fmt, provium.pack(fmt, value))
    assert_eq(value, back, fmt .. " " .. value)
    assert_eq("integer", math.type(back), fmt)
  end
  -- unsigned types read the high bit as a value, signed ones as the sign
  assert_eq(255, provium.unpack("u8", "\xff"))
  assert_eq(65535, provium.unpack("u16", "\xff\xff"))
  assert_eq(-1, provium.unpack("i16", "\xff\xff"))
  assert_eq(4294967295, provium.unpack("u32", "\xff\xff\xff\xff"))
  assert_eq(-1, provium.unpack("i32", "\xff\xff\xff\xff"))
  assert_eq(-1, provium.unpack("i64", "\xff\xff\xff\xff\xff\xff\xff\xff"))
end)

test("a value out of its type's range is an error", function()
  local out_of_range = {
    {"u8", 256}, {"u8", -1},
    {"u16", 65536}, {"u16", -1},
    {"i16", 32768}, {"i16", -32769},
    {"u32", 4294967296}, {"u32", -1},
    {"i32", 2147483648}, {"i32", -2147483649},
  }
  for _, case in ipairs(out_of_range) do
    local ok = pcall(provium.pack, case[1], case[2])
    assert_eq(false, ok, case[1] .. " " .. case[2] .. " was packed")
  end
  -- in a list, the bad value is found wherever it is
  assert_eq(false, pcall(provium.pack, "u8 u8 u8", 1, 2, 300))
end)

test("unpack of short data is an error", function()
  local short = {
    {"u8", ""}, {"u16", "\1"}, {"i16", "\1"}, {"u32", "\1\2\3"}, {"i32", "\1\2\3"},
    {"u64", "\1\2\3\4\5\6\7"}, {"i64", "\1\2\3\4\5\6\7"},
    {"u32 u32", "\1\2\3\4\5\6\7"},
  }
  for _, case in ipairs(short) do
    local ok = pcall(provium.unpack, case[1], case[2])
    assert_eq(false, ok, case[1] .. " of " .. #case[2] .. " bytes was unpacked")
  end
end)

test("an unknown type is an error", function()
  assert_eq(false, pcall(provium.pack, "u128", 1))
  assert_eq(false, pcall(provium.unpack, "f32", "\0\0\0\0"))
end)

test("a struct iovec packs to 16 bytes and back", function()
  local iov = provium.pack("u64 u64", 0, 4096)
  assert_eq(16, #iov)
  local base, len = provium.unpack("u64 u64", iov)
  assert_eq(0, base)
  assert_eq(4096, len)
end)
