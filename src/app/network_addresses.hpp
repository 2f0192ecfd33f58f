// The addresses this host answers on, so that a REGISTER to
// sip:alice@192.0.2.10 is recognised as local without listing every address
// in the configuration.
#pragma once

#include <string>
#include <vector>

namespace cppbx::app {

// Every address of every interface that is up, as text (IPv6 without brackets).
std::vector<std::string> interface_addresses();

}  // namespace cppbx::app
