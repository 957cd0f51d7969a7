// SPDX-License-Identifier: Apache-2.0
// The endpoint registry: the pods the CNI plugin plugged into this node's agent, keyed by CNI
// attachment (container id, interface name), persisted under the state directory so that a
// restarted agent re-adopts them (and DEL/GC work after a restart).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/base/ip.h"
#include "common/base/status.h"
#include "dataplane/agent/protocol.h"

namespace netfence::agent {

struct EndpointRecord {
  Attachment attachment;
  std::string netns;  // CNI_NETNS, for people reading the state
  std::string pod_namespace;
  std::string pod_name;
  std::string host_interface;  // the pod's host-side veth (node namespace)
  int ifindex = 0;             // its index when registered (a recreated veth is another one)
  std::vector<IpAddr> ips;     // the pod's addresses from the CNI result

  std::string pod_key() const { return pod_namespace + "/" + pod_name; }
};

class Registry {
 public:
  // `path` is the JSON file (e.g. /run/netfence/endpoints.json); nothing is read yet.
  explicit Registry(std::string path) : path_(std::move(path)) {}

  // Reads the file; a missing file is an empty registry, a malformed one an error.
  Status Load();
  // Writes the file atomically (temporary file + rename).
  Status Save() const;

  const EndpointRecord* Find(const Attachment& a) const;
  // Adds or replaces the attachment's record.
  void Put(EndpointRecord record);
  // Removes it; false if it was not there.
  bool Remove(const Attachment& a);
  const std::map<std::string, EndpointRecord>& records() const { return records_; }

 private:
  static std::string Key(const Attachment& a) { return a.container_id + "/" + a.ifname; }
  std::string path_;
  std::map<std::string, EndpointRecord> records_;
};

}  // namespace netfence::agent
