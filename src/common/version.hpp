// The cppbx version, in one place so the User-Agent, --version and the logs
// agree. Kept in sync with project(VERSION) in CMakeLists.txt by hand.
#pragma once

#include <string_view>

namespace cppbx {

constexpr std::string_view kVersion = "0.1.0";

}  // namespace cppbx
