// Start-up's pages given back: the read-only segments leave memory, and come back intact.

#include "exporter/base/memory.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>

namespace cbe {
namespace {

constexpr std::size_t kBlock = 64 * 1024;

constexpr std::array<unsigned char, kBlock> Pattern() {
  std::array<unsigned char, kBlock> a{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<unsigned char>((i * 131 + 7) % 251 + 1);  // never 0: not in .bss
  }
  return a;
}

// Read-only data of this binary, in a read-only segment. 64 KiB aligned: the kernel's
// fault-around maps a page's neighbours within such a window, so no other test process
// touching data nearby maps these pages too (a page mapped by two processes is not paged out).
alignas(kBlock) const std::array<unsigned char, kBlock> kColdData = Pattern();

// How many of the block's pages are in this process's page table (/proc/self/pagemap).
int PresentPages(const void* block) {
  const long page = sysconf(_SC_PAGESIZE);
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  int present = 0;
  const auto first = reinterpret_cast<std::uintptr_t>(block) / static_cast<std::uintptr_t>(page);
  for (std::size_t i = 0; i < kBlock / static_cast<std::size_t>(page); ++i) {
    std::uint64_t entry = 0;
    const off_t at = static_cast<off_t>((first + i) * sizeof(entry));
    REQUIRE(pread(fd, &entry, sizeof(entry), at) == static_cast<ssize_t>(sizeof(entry)));
    present += (entry >> 63) & 1;
  }
  close(fd);
  return present;
}

int Touch(const std::array<unsigned char, kBlock>& block) {
  int sum = 0;
  for (std::size_t i = 0; i < block.size(); i += 512) {
    sum += *static_cast<const volatile unsigned char*>(&block[i]);
  }
  return sum;
}

TEST_CASE("start-up pages: read-only segments are paged out and read back intact", "[unit]") {
  // One CPU throughout: a page just read waits in that CPU's batch before the kernel's lists,
  // and madvise drains only the batch of the CPU it runs on.
  cpu_set_t before;
  REQUIRE(sched_getaffinity(0, sizeof(before), &before) == 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);

  const long page = sysconf(_SC_PAGESIZE);
  const int pages = static_cast<int>(kBlock / static_cast<std::size_t>(page));
  const int sum = Touch(kColdData);
  REQUIRE(PresentPages(kColdData.data()) == pages);

  const StartupPagesResult released = ReleaseStartupPages();
  CHECK(released.error == 0);
  CHECK(released.bytes >= kBlock);
  CHECK(PresentPages(kColdData.data()) == 0);

  // Back from the file on first use, byte for byte.
  CHECK(Touch(kColdData) == sum);
  CHECK(kColdData == Pattern());
  CHECK(PresentPages(kColdData.data()) == pages);

  sched_setaffinity(0, sizeof(before), &before);
}

// Writable data (relocated pointers, a vtable's users, globals) is not touched: a virtual call
// and a written global work after, under ASan's redzones as well.
struct Shape {
  virtual ~Shape() = default;
  virtual int Sides() const { return 0; }
};
struct Square : Shape {
  int Sides() const override { return 4; }
};
int g_written = 1;  // .data: a page of the file, then written

TEST_CASE("start-up pages: writable data and relocated pointers survive", "[unit]") {
  g_written = 12345;
  Square square;
  const Shape* shape = &square;
  ReleaseStartupPages();
  CHECK(g_written == 12345);
  CHECK(shape->Sides() == 4);
}

}  // namespace
}  // namespace cbe
