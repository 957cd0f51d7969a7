// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: what a container runtime hands netfence-cni. The first byte picks what
// the rest is: the network configuration on stdin (with a prevResult), CNI_ARGS, or a
// container id / interface name. Nothing may crash, hang or throw; every error is an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/cni/cni_args.h"
#include "dataplane/cni/netconf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace netfence::cni;
  switch (data[0] % 3) {
    case 0: {
      NetConf conf;
      if (ParseNetConf(text, &conf)) return 0;
      if (const auto* prev = conf.prev_result()) {
        PrevResult result;
        (void)ParsePrevResult(*prev, &result);
        (void)HostInterfacesOf(*prev);
      }
      std::vector<netfence::agent::Attachment> valid;
      (void)ParseValidAttachments(conf.raw, &valid);
      break;
    }
    case 1:
      (void)ParseCniArgs(text);
      break;
    default:
      (void)ValidateContainerId(text);
      (void)ValidateInterfaceName(text);
      (void)IsValidUtf8(text);
      break;
  }
  return 0;
}
