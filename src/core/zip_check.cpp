// Zip structure validation (APPNOTE.TXT 6.3: local headers, central directory, end of central directory, ZIP64).
#include "zip_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rkhs/error.h"

namespace rkhs::core::detail {

namespace {

struct Reader {
  const unsigned char* p;
  size_t size;
  const std::string& what;

  [[noreturn]] void fail(const std::string& why) const { throw Error(what + " is corrupt or truncated: " + why); }
  void need(uint64_t offset, uint64_t n, const char* field) const {
    if (offset > size || n > size - offset)
      fail(std::string(field) + " at offset " + std::to_string(offset) + " runs past the end (" + std::to_string(size) +
           " bytes)");
  }
  uint64_t le(uint64_t offset, int bytes) const {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t(p[offset + i]) << (8 * i);
    return v;
  }
};

constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50, kEnd64 = 0x06064b50,
                   kLocator64 = 0x07064b50;

uint32_t crc_of(const unsigned char* data, uint64_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, uint64_t(1) << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// Inflates a raw deflate stream of exactly comp bytes into exactly uncomp bytes and returns its CRC-32; false when
// the stream is damaged or its sizes disagree.
bool inflated_crc(const unsigned char* data, uint64_t comp, uint64_t uncomp, uint32_t& crc_out) {
  if (uncomp > comp * 1032 + 64) return false;  // beyond deflate's maximal ratio: a lying size field
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return false;
  std::vector<unsigned char> out(static_cast<size_t>(std::min<uint64_t>(uncomp, uint64_t(1) << 20)) + 1);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t produced = 0, consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && consumed < comp) {
      const uInt chunk = static_cast<uInt>(std::min<uint64_t>(comp - consumed, uint64_t(1) << 30));
      z.next_in = const_cast<unsigned char*>(data + consumed);
      z.avail_in = chunk;
      consumed += chunk;
    }
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    rc = inflate(&z, Z_NO_FLUSH);
    const uint64_t got = out.size() - z.avail_out;
    crc = crc32(crc, out.data(), static_cast<uInt>(got));
    produced += got;
    if (produced > uncomp || (rc != Z_OK && rc != Z_STREAM_END) || (rc == Z_OK && got == 0 && z.avail_in == 0 && consumed == comp)) {
      inflateEnd(&z);
      return false;
    }
  }
  const bool ok = produced == uncomp && z.avail_in == 0 && consumed == comp;
  inflateEnd(&z);
  crc_out = static_cast<uint32_t>(crc);
  return ok;
}

}  // namespace

void check_zip(const char* data, size_t size, const std::string& what) {
  const Reader r{reinterpret_cast<const unsigned char*>(data), size, what};
  // End of central directory: 22 bytes + a comment, ending the data exactly.
  if (size < 22) r.fail(std::to_string(size) + " bytes, too short for a zip archive");
  uint64_t eocd = size;
  const uint64_t lowest = size >= 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t at = size - 22 + 1; at-- > lowest;) {
    if (r.le(at, 4) == kEnd && at + 22 + r.le(at + 20, 2) == size) {
      eocd = at;
      break;
    }
  }
  if (eocd == size) r.fail("no end-of-central-directory record");
  if (r.le(eocd + 4, 2) != 0 || r.le(eocd + 6, 2) != 0) r.fail("multi-disk archives are not supported");
  uint64_t entries = r.le(eocd + 10, 2), cd_size = r.le(eocd + 12, 4), cd_offset = r.le(eocd + 16, 4);
  if (r.le(eocd + 8, 2) != entries) r.fail("inconsistent entry counts in the end record");
  uint64_t cd_limit = eocd;  // the central directory ends before the end records
  // ZIP64: when a locator precedes the end record, readers (miniz among them) take the ZIP64 values, so each 32-bit
  // field must be its "see ZIP64" sentinel or equal to them.
  const bool zip64 = eocd >= 20 && r.le(eocd - 20, 4) == kLocator64;
  if (!zip64 && (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)) r.fail("ZIP64 locator missing");
  if (zip64) {
    const uint64_t loc = eocd - 20;
    const uint64_t rec = r.le(loc + 8, 8);
    r.need(rec, 56, "ZIP64 end record");
    if (rec + 56 > loc) r.fail("ZIP64 end record overlaps its locator");
    if (r.le(rec, 4) != kEnd64) r.fail("bad ZIP64 end record signature");
    if (r.le(rec + 4, 8) + 12 != loc - rec) r.fail("ZIP64 end record size does not match its position");
    if (r.le(rec + 16, 4) != 0 || r.le(rec + 20, 4) != 0 || r.le(loc + 4, 4) != 0 || r.le(loc + 16, 4) != 1)
      r.fail("multi-disk archives are not supported");
    const uint64_t entries64 = r.le(rec + 32, 8), size64 = r.le(rec + 40, 8), offset64 = r.le(rec + 48, 8);
    if (r.le(rec + 24, 8) != entries64) r.fail("inconsistent entry counts in the ZIP64 end record");
    if ((entries != 0xFFFF && entries != entries64) || (cd_size != 0xFFFFFFFF && cd_size != size64) ||
        (cd_offset != 0xFFFFFFFF && cd_offset != offset64))
      r.fail("the end record and the ZIP64 end record disagree");
    entries = entries64;
    cd_size = size64;
    cd_offset = offset64;
    cd_limit = rec;
  }
  r.need(cd_offset, cd_size, "central directory");
  if (cd_offset + cd_size > cd_limit) r.fail("central directory overlaps the end records");
  if (entries == 0) r.fail("no entries");
  if (entries > cd_size / 46) r.fail(std::to_string(entries) + " entries cannot fit a " + std::to_string(cd_size) +
                                     "-byte central directory");

  uint64_t at = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  // LibTorch's archive layout: every name is "<archive>/..." with one common folder, and "<archive>/version" and
  // "<archive>/data.pkl" exist (its reader's constructor requires them and leaks memory when it throws).
  std::string prefix;
  bool has_version = false, has_data = false;
  for (uint64_t e = 0; e < entries; ++e) {
    const std::string entry = "entry " + std::to_string(e + 1);
    if (at + 46 > cd_end) r.fail(entry + ": central header runs past the central directory");
    if (r.le(at, 4) != kCentral) r.fail(entry + ": bad central header signature");
    const uint64_t flags = r.le(at + 8, 2), method = r.le(at + 10, 2), crc = r.le(at + 16, 4);
    uint64_t comp = r.le(at + 20, 4), uncomp = r.le(at + 24, 4);
    const uint64_t name_len = r.le(at + 28, 2), extra_len = r.le(at + 30, 2), comment_len = r.le(at + 32, 2);
    uint64_t local = r.le(at + 42, 4);
    const uint64_t next = at + 46 + name_len + extra_len + comment_len;
    if (next > cd_end) r.fail(entry + ": name or extra field runs past the central directory");
    if (flags & 1) r.fail(entry + ": encrypted entries are not supported");
    if (r.le(at + 34, 2) != 0) r.fail(entry + ": multi-disk archives are not supported");
    // The MS-DOS directory attribute or a trailing '/' make miniz treat the entry as a folder and return no data.
    if ((r.le(at + 38, 4) & 0x10) || (name_len > 0 && r.p[at + 46 + name_len - 1] == '/'))
      r.fail(entry + ": a directory entry (LibTorch archives hold files only)");
    if (method != 0 && method != 8)
      r.fail(entry + ": compression method " + std::to_string(method) + " (stored and deflate are supported)");
    // ZIP64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
    if (uncomp == 0xFFFFFFFF || comp == 0xFFFFFFFF || local == 0xFFFFFFFF) {
      uint64_t x = at + 46 + name_len;
      const uint64_t x_end = x + extra_len;
      bool found = false;
      while (x + 4 <= x_end) {
        const uint64_t id = r.le(x, 2), len = r.le(x + 2, 2);
        if (x + 4 + len > x_end) r.fail(entry + ": extra field runs past its header");
        if (id == 1) {
          uint64_t f = x + 4;
          auto take = [&](uint64_t& v) {
            if (v != 0xFFFFFFFF) return;
            if (f + 8 > x + 4 + len) r.fail(entry + ": ZIP64 extra field too short");
            v = r.le(f, 8);
            f += 8;
          };
          take(uncomp);
          take(comp);
          take(local);
          found = true;
          break;
        }
        x += 4 + len;
      }
      if (!found) r.fail(entry + ": ZIP64 sizes without a ZIP64 extra field");
    }
    const std::string name(reinterpret_cast<const char*>(r.p + at + 46), name_len);
    const size_t slash = name.find('/');
    if (slash == std::string::npos || slash == 0) r.fail(entry + ": name '" + name.substr(0, 60) + "' is not in a folder");
    if (prefix.empty()) prefix = name.substr(0, slash + 1);
    if (name.compare(0, prefix.size(), prefix) != 0)
      r.fail(entry + ": name '" + name.substr(0, 60) + "' is outside the archive folder '" + prefix + "'");
    has_version |= name == prefix + "version";
    has_data |= name == prefix + "data.pkl";
    if (method == 0 && comp != uncomp) r.fail(entry + ": stored entry with different compressed and uncompressed sizes");
    r.need(local, 30, "local header");
    if (r.le(local, 4) != kLocal) r.fail(entry + ": bad local header signature");
    const uint64_t start = local + 30 + r.le(local + 26, 2) + r.le(local + 28, 2);
    if (start > cd_offset || comp > cd_offset - start) r.fail(entry + ": data runs into the central directory");
    if (method == 0) {
      if (crc_of(r.p + start, comp) != crc) r.fail(entry + ": CRC-32 mismatch");
    } else {
      uint32_t got = 0;
      if (!inflated_crc(r.p + start, comp, uncomp, got)) r.fail(entry + ": damaged deflate stream");
      if (got != crc) r.fail(entry + ": CRC-32 mismatch");
    }
    at = next;
  }
  if (!has_version || !has_data) r.fail("not a LibTorch archive (no " + prefix + "version or " + prefix + "data.pkl)");
}

}  // namespace rkhs::core::detail
