// The blocking pool for user lookups: SQL backends (database, extension)
// run their queries here, off the SIP I/O threads. See
// common/blocking_pool.hpp for the bounds and the timeout.
#pragma once

#include "common/blocking_pool.hpp"
#include "users/user_backend.hpp"

namespace cppbx::users {

class BlockingPool : public BlockingPoolOf<LookupResult> {
 public:
  explicit BlockingPool(Options options)
      : BlockingPoolOf<LookupResult>(std::move(options), [](std::string why) {
          return LookupResult::error(std::move(why));
        }) {}
};

}  // namespace cppbx::users
