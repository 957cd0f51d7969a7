// SPDX-License-Identifier: Apache-2.0
// The node's pod CIDRs for the agent's guard (AgentOptions::pod_cidrs): from --pod-cidr, or
// read from the node's CNI configuration (its host-local ranges), which the installer writes
// per node and which says exactly which addresses the interface plugin hands out here.
#pragma once

#include <string>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"

namespace netfence::agent {

// "10.244.1.0/24" or "fd00:10:244:1::/64": a CIDR with its host bits zero.
StatusOr<IpPrefix> ParsePodCidr(const std::string& text);

// The subnets of every host-local IPAM in a CNI configuration list (or single configuration)
// file: ipam.ranges[][].subnet and the older ipam.subnet. Errors name the file and the field.
StatusOr<std::vector<IpPrefix>> PodCidrsOfCniConfig(const std::string& path);

}  // namespace netfence::agent
