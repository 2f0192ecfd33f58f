// Backward-shift deletion for open-addressed tables with linear probing:
// entries later in the same probe run move up into the hole, so every probe
// still reaches its key before an empty slot and no tombstones are needed.
// The table's layout stays its own (an array of structs, parallel arrays):
// the caller says how to read a slot's home, test for empty, move and clear.
#pragma once

#include <cstddef>

namespace cppbx {

// Empties slot `hole` of a table of `mask + 1` slots (a power of two).
// `is_empty(i)`, `home_of(i)` (the slot its key hashes to), `move(from, to)`
// and `clear(i)` act on slot indexes.
template <typename IsEmpty, typename HomeOf, typename Move, typename Clear>
void erase_by_backward_shift(size_t hole, size_t mask, IsEmpty is_empty, HomeOf home_of, Move move, Clear clear) {
  for (size_t next = (hole + 1) & mask; !is_empty(next); next = (next + 1) & mask) {
    const size_t home = home_of(next);
    // The entry must stay when its home lies in (hole, next], cyclically.
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    move(next, hole);
    hole = next;
  }
  clear(hole);
}

}  // namespace cppbx
