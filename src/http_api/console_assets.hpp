// The web console's files (console/ in the source tree), embedded into the
// binary at build time by cmake/embed_console.cmake: the running PBX serves
// its pages with no file on disk and needs no network.
#pragma once

#include <string_view>
#include <vector>

namespace cppbx::http_api {

struct ConsoleAsset {
  std::string_view path;    // relative to console/: "index.html", "js/app.js"
  std::string_view bytes;   // the file as it is
  std::string_view sha256;  // hex digest of bytes, computed at build time
};

// Every embedded file, sorted by path (generated source).
const std::vector<ConsoleAsset>& console_assets();

}  // namespace cppbx::http_api
