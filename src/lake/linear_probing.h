#pragma once

// Open addressing with linear probing, as KeyIndex and RowCache use it: a flat vector of
// slots, each with a `hash`; `is_empty(slot)` tells a free slot, `home(hash)` the slot a hash's
// probe run starts at (computed for the vector's current size). Deletion shifts later entries
// of the run back, so lookups never meet tombstones.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

namespace freshet::lake::probing {

// An allocator for slot tables: one of 2 MB or more is aligned to 2 MB and advised to use
// transparent huge pages (madvise mode) before anything touches it. Lookups land at random
// all over a table of tens of megabytes; with 4 KB pages nearly each one also misses the TLB
// (and under virtualisation a page walk costs several more cache misses), with 2 MB pages the
// whole table fits the TLB. Where huge pages are off, the advice is ignored.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePageBytes = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(size_t count) {
    size_t bytes = count * sizeof(T);
    if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes));
    size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* memory = std::aligned_alloc(kHugePageBytes, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    ::madvise(memory, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
    return static_cast<T*>(memory);
  }
  void deallocate(T* memory, size_t count) noexcept {
    if (count * sizeof(T) < kHugePageBytes) {
      ::operator delete(memory);
    } else {
      std::free(memory);
    }
  }
  template <typename U>
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) noexcept {
    return true;
  }
};

template <typename Slot>
using SlotVector = std::vector<Slot, HugePageAllocator<Slot>>;

// The first free slot at or after `start`, wrapping around. REQUIRES: a free slot exists.
template <typename Slots, typename IsEmpty>
size_t FreeSlotFrom(const Slots& slots, size_t start, IsEmpty is_empty) {
  size_t slot = start;
  while (!is_empty(slots[slot])) slot = slot + 1 == slots.size() ? 0 : slot + 1;
  return slot;
}

// Moves every entry into a table of `capacity` free slots.
template <typename Slots, typename IsEmpty, typename Home>
void Rehash(Slots& slots, size_t capacity, IsEmpty is_empty, Home home) {
  using Slot = typename Slots::value_type;
  Slots old = std::move(slots);
  slots.assign(capacity, Slot{});
  for (const Slot& entry : old) {
    if (is_empty(entry)) continue;
    slots[FreeSlotFrom(slots, home(entry.hash), is_empty)] = entry;
  }
}

// Empties `slot`, moving later entries of its probe run into the hole where the hole lies on
// their probe path (home..their slot).
template <typename Slots, typename IsEmpty, typename Home>
void EraseSlot(Slots& slots, size_t slot, IsEmpty is_empty, Home home) {
  using Slot = typename Slots::value_type;
  size_t capacity = slots.size();
  size_t hole = slot;
  size_t next = hole;
  while (true) {
    next = next + 1 == capacity ? 0 : next + 1;
    const Slot& entry = slots[next];
    if (is_empty(entry)) break;
    size_t start = home(entry.hash);
    if ((next + capacity - start) % capacity >= (next + capacity - hole) % capacity) {
      slots[hole] = entry;
      hole = next;
    }
  }
  slots[hole] = Slot{};
}

}  // namespace freshet::lake::probing
