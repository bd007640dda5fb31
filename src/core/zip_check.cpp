// Zip structure validation (APPNOTE.TXT 6.3: local headers, central directory, end of central directory, ZIP64).
#include "zip_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string>
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

// Where the central directory is, from the end records.
struct Directory {
  uint64_t entries = 0, size = 0, offset = 0;
  uint64_t limit = 0;  // the central directory ends before the end records
};

// End of central directory: 22 bytes + a comment, ending the data exactly.
uint64_t find_end_record(const Reader& r) {
  if (r.size < 22) r.fail(std::to_string(r.size) + " bytes, too short for a zip archive");
  const uint64_t lowest = r.size >= 22 + 65535 ? r.size - 22 - 65535 : 0;
  for (uint64_t at = r.size - 22 + 1; at-- > lowest;)
    if (r.le(at, 4) == kEnd && at + 22 + r.le(at + 20, 2) == r.size) return at;
  r.fail("no end-of-central-directory record");
}

// ZIP64: when a locator precedes the end record, readers (miniz among them) take the ZIP64 values, so each 32-bit
// field must be its "see ZIP64" sentinel or equal to them.
void read_zip64_end(const Reader& r, uint64_t eocd, Directory& d) {
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
  if ((d.entries != 0xFFFF && d.entries != entries64) || (d.size != 0xFFFFFFFF && d.size != size64) ||
      (d.offset != 0xFFFFFFFF && d.offset != offset64))
    r.fail("the end record and the ZIP64 end record disagree");
  d.entries = entries64;
  d.size = size64;
  d.offset = offset64;
  d.limit = rec;
}

Directory read_end_records(const Reader& r) {
  const uint64_t eocd = find_end_record(r);
  if (r.le(eocd + 4, 2) != 0 || r.le(eocd + 6, 2) != 0) r.fail("multi-disk archives are not supported");
  Directory d;
  d.entries = r.le(eocd + 10, 2);
  d.size = r.le(eocd + 12, 4);
  d.offset = r.le(eocd + 16, 4);
  d.limit = eocd;
  if (r.le(eocd + 8, 2) != d.entries) r.fail("inconsistent entry counts in the end record");
  const bool zip64 = eocd >= 20 && r.le(eocd - 20, 4) == kLocator64;
  if (!zip64 && (d.entries == 0xFFFF || d.size == 0xFFFFFFFF || d.offset == 0xFFFFFFFF)) r.fail("ZIP64 locator missing");
  if (zip64) read_zip64_end(r, eocd, d);
  r.need(d.offset, d.size, "central directory");
  if (d.offset + d.size > d.limit) r.fail("central directory overlaps the end records");
  if (d.entries == 0) r.fail("no entries");
  if (d.entries > d.size / 46)
    r.fail(std::to_string(d.entries) + " entries cannot fit a " + std::to_string(d.size) + "-byte central directory");
  return d;
}

// One central directory header.
struct CentralEntry {
  std::string label;  // "entry N", for messages
  uint64_t method = 0, crc = 0, comp = 0, uncomp = 0, local = 0;
  uint64_t name_len = 0, extra_len = 0;
  uint64_t next = 0;  // offset of the next header
  std::string name;
};

// ZIP64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
void read_zip64_extra(const Reader& r, uint64_t at, CentralEntry& e) {
  uint64_t x = at + 46 + e.name_len;
  const uint64_t x_end = x + e.extra_len;
  while (x + 4 <= x_end) {
    const uint64_t id = r.le(x, 2), len = r.le(x + 2, 2);
    if (x + 4 + len > x_end) r.fail(e.label + ": extra field runs past its header");
    if (id == 1) {
      uint64_t f = x + 4;
      auto take = [&](uint64_t& v) {
        if (v != 0xFFFFFFFF) return;
        if (f + 8 > x + 4 + len) r.fail(e.label + ": ZIP64 extra field too short");
        v = r.le(f, 8);
        f += 8;
      };
      take(e.uncomp);
      take(e.comp);
      take(e.local);
      return;
    }
    x += 4 + len;
  }
  r.fail(e.label + ": ZIP64 sizes without a ZIP64 extra field");
}

CentralEntry read_central_header(const Reader& r, uint64_t at, uint64_t cd_end, uint64_t index) {
  CentralEntry e;
  e.label = "entry " + std::to_string(index + 1);
  if (at + 46 > cd_end) r.fail(e.label + ": central header runs past the central directory");
  if (r.le(at, 4) != kCentral) r.fail(e.label + ": bad central header signature");
  const uint64_t flags = r.le(at + 8, 2);
  e.method = r.le(at + 10, 2);
  e.crc = r.le(at + 16, 4);
  e.comp = r.le(at + 20, 4);
  e.uncomp = r.le(at + 24, 4);
  e.name_len = r.le(at + 28, 2);
  e.extra_len = r.le(at + 30, 2);
  e.local = r.le(at + 42, 4);
  e.next = at + 46 + e.name_len + e.extra_len + r.le(at + 32, 2);
  if (e.next > cd_end) r.fail(e.label + ": name or extra field runs past the central directory");
  if (flags & 1) r.fail(e.label + ": encrypted entries are not supported");
  if (r.le(at + 34, 2) != 0) r.fail(e.label + ": multi-disk archives are not supported");
  // The MS-DOS directory attribute or a trailing '/' make miniz treat the entry as a folder and return no data.
  if ((r.le(at + 38, 4) & 0x10) || (e.name_len > 0 && r.p[at + 46 + e.name_len - 1] == '/'))
    r.fail(e.label + ": a directory entry (LibTorch archives hold files only)");
  if (e.method != 0 && e.method != 8)
    r.fail(e.label + ": compression method " + std::to_string(e.method) + " (stored and deflate are supported)");
  if (e.uncomp == 0xFFFFFFFF || e.comp == 0xFFFFFFFF || e.local == 0xFFFFFFFF) read_zip64_extra(r, at, e);
  e.name.assign(reinterpret_cast<const char*>(r.p + at + 46), e.name_len);
  return e;
}

// The entry's local header and data: within the archive, before the central directory, with the right CRC-32.
void check_entry_data(const Reader& r, const CentralEntry& e, uint64_t cd_offset) {
  if (e.method == 0 && e.comp != e.uncomp) r.fail(e.label + ": stored entry with different compressed and uncompressed sizes");
  r.need(e.local, 30, "local header");
  if (r.le(e.local, 4) != kLocal) r.fail(e.label + ": bad local header signature");
  const uint64_t start = e.local + 30 + r.le(e.local + 26, 2) + r.le(e.local + 28, 2);
  if (start > cd_offset || e.comp > cd_offset - start) r.fail(e.label + ": data runs into the central directory");
  if (e.method == 0) {
    if (crc_of(r.p + start, e.comp) != e.crc) r.fail(e.label + ": CRC-32 mismatch");
  } else {
    uint32_t got = 0;
    if (!inflated_crc(r.p + start, e.comp, e.uncomp, got)) r.fail(e.label + ": damaged deflate stream");
    if (got != e.crc) r.fail(e.label + ": CRC-32 mismatch");
  }
}

// LibTorch's archive layout: every name is "<archive>/..." with one common folder, and "<archive>/version" and
// "<archive>/data.pkl" exist (its reader's constructor requires them and leaks memory when it throws).
class ArchiveNames {
 public:
  void add(const Reader& r, const CentralEntry& e) {
    const auto& name = e.name;
    const size_t slash = name.find('/');
    if (slash == std::string::npos || slash == 0) r.fail(e.label + ": name '" + name.substr(0, 60) + "' is not in a folder");
    if (prefix_.empty()) prefix_ = name.substr(0, slash + 1);
    if (name.compare(0, prefix_.size(), prefix_) != 0)
      r.fail(e.label + ": name '" + name.substr(0, 60) + "' is outside the archive folder '" + prefix_ + "'");
    has_version_ |= name == prefix_ + "version";
    has_data_ |= name == prefix_ + "data.pkl";
  }
  void check_complete(const Reader& r) const {
    if (!has_version_ || !has_data_)
      r.fail("not a LibTorch archive (no " + prefix_ + "version or " + prefix_ + "data.pkl)");
  }

 private:
  std::string prefix_;
  bool has_version_ = false, has_data_ = false;
};

}  // namespace

void check_zip(const char* data, size_t size, const std::string& what) {
  const Reader r{reinterpret_cast<const unsigned char*>(data), size, what};
  const Directory d = read_end_records(r);
  ArchiveNames names;
  uint64_t at = d.offset;
  for (uint64_t i = 0; i < d.entries; ++i) {
    const CentralEntry e = read_central_header(r, at, d.offset + d.size, i);
    names.add(r, e);
    check_entry_data(r, e, d.offset);
    at = e.next;
  }
  names.check_complete(r);
}

}  // namespace rkhs::core::detail
