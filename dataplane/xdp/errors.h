// SPDX-License-Identifier: Apache-2.0
// How the XDP loader's files word system errors: errno as text, an interface by its name.
#pragma once

#include <net/if.h>

#include <cstring>
#include <string>

namespace netfence::xdp {

inline std::string ErrnoText(int err) { return std::strerror(err < 0 ? -err : err); }

// The interface's name, or "ifindex N" when it has none (gone, or another namespace's).
inline std::string IfName(int ifindex) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(static_cast<unsigned>(ifindex), name) ? std::string(name)
                                                              : "ifindex " + std::to_string(ifindex);
}

}  // namespace netfence::xdp
