#pragma once

// Open addressing with linear probing, as KeyIndex and RowCache use it: a flat vector of
// slots, each with a `hash`; `is_empty(slot)` tells a free slot, `home(hash)` the slot a hash's
// probe run starts at (computed for the vector's current size). Deletion shifts later entries
// of the run back, so lookups never meet tombstones.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace freshet::lake::probing {

// The first free slot at or after `start`, wrapping around. REQUIRES: a free slot exists.
template <typename Slot, typename IsEmpty>
size_t FreeSlotFrom(const std::vector<Slot>& slots, size_t start, IsEmpty is_empty) {
  size_t slot = start;
  while (!is_empty(slots[slot])) slot = slot + 1 == slots.size() ? 0 : slot + 1;
  return slot;
}

// Moves every entry into a table of `capacity` free slots.
template <typename Slot, typename IsEmpty, typename Home>
void Rehash(std::vector<Slot>& slots, size_t capacity, IsEmpty is_empty, Home home) {
  std::vector<Slot> old = std::move(slots);
  slots.assign(capacity, Slot{});
  for (const Slot& entry : old) {
    if (is_empty(entry)) continue;
    slots[FreeSlotFrom(slots, home(entry.hash), is_empty)] = entry;
  }
}

// Empties `slot`, moving later entries of its probe run into the hole where the hole lies on
// their probe path (home..their slot).
template <typename Slot, typename IsEmpty, typename Home>
void EraseSlot(std::vector<Slot>& slots, size_t slot, IsEmpty is_empty, Home home) {
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
