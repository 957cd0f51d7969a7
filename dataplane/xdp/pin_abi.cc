// SPDX-License-Identifier: Apache-2.0
#include "dataplane/xdp/pin_abi.h"

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/unique_fd.h"

namespace netfence::xdp {

namespace {

std::string StampPath(const std::string& dir) { return dir + "/" + kAbiStampName; }

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

uint32_t PinnedAbi(const std::string& dir) {
  UniqueFd fd(bpf_obj_get(StampPath(dir).c_str()));
  if (!fd.valid()) return 0;
  const uint32_t key = 0;
  uint32_t version = 0;
  return bpf_map_lookup_elem(fd.get(), &key, &version) == 0 ? version : 0;
}

StatusOr<std::string> RetirePinsOfOtherAbi(const std::string& dir, const std::vector<std::string>& names,
                                           uint32_t abi) {
  const uint32_t pinned = PinnedAbi(dir);
  if (pinned == abi) return std::string();
  std::vector<std::string> present;
  for (const std::string& name : names) {
    if (Exists(dir + "/" + name)) present.push_back(name);
  }
  if (present.empty()) return std::string();
  for (const std::string& name : present) {
    const std::string path = dir + "/" + name;
    if (unlink(path.c_str()) != 0) {
      return Status::Error("pinned map " + path + " (of map layout version " + std::to_string(pinned) +
                           "): unpin: " + std::strerror(errno));
    }
  }
  if (Exists(StampPath(dir)) && unlink(StampPath(dir).c_str()) != 0) {
    return Status::Error("pin " + StampPath(dir) + ": unpin: " + std::strerror(errno));
  }
  const std::string from =
      pinned == 0 ? "no version stamp (pinned before stamps)" : "version " + std::to_string(pinned);
  return "the " + std::to_string(present.size()) + " maps pinned in " + dir + " have map layout " + from +
         ", this program " + std::to_string(abi) +
         ": unpinned, fresh maps replace them (connection state, counters and traffic totals start afresh)";
}

Status StampPinnedAbi(const std::string& dir, uint32_t abi) {
  if (PinnedAbi(dir) == abi) return Status::Ok();
  if (Exists(StampPath(dir))) unlink(StampPath(dir).c_str());
  UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "nf_abi", sizeof(uint32_t), sizeof(uint32_t), 1, nullptr));
  if (!fd.valid()) return Status::Error(std::string("XDP map abi_version: create: ") + std::strerror(errno));
  const uint32_t key = 0;
  if (bpf_map_update_elem(fd.get(), &key, &abi, BPF_ANY) != 0 || bpf_obj_pin(fd.get(), StampPath(dir).c_str()) != 0) {
    return Status::Error("pin " + StampPath(dir) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace netfence::xdp
