// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the e2e tests: a manifest directory the test edits while agents watch it,
// `netfencectl matrix` run on it, a UDP sink that counts what arrives, and a blaster.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "controlplane/reach/matrix.h"
#include "tests/e2e/cluster.h"
#include "tests/testing/netns.h"

namespace netfence::e2e {

// build/bin of this build tree.
std::string BinDir();

// A temporary manifest directory, removed at destruction.
class ManifestDir {
 public:
  ManifestDir();
  ~ManifestDir();
  const std::string& path() const { return path_; }
  // Writes (atomically: temporary file + rename, as editors and kubectl-style tools do) or
  // removes one file.
  void Write(const std::string& name, const std::string& text) const;
  void Remove(const std::string& name) const;

 private:
  std::string path_;
};

// `netfencectl matrix --manifests DIR --protocol P --port N` (the JSON it prints).
StatusOr<nlohmann::json> NetfencectlMatrix(const std::string& dir, k8s::Protocol protocol, uint16_t port);

// A UDP socket bound to addr:port inside a namespace; Count() is how many datagrams arrived.
// The address need not exist yet (IP_FREEBIND): a sink can wait in a pod before its CNI ADD.
class UdpSink {
 public:
  static StatusOr<std::unique_ptr<UdpSink>> Bind(const nettest::Netns& ns, const std::string& addr, uint16_t port);
  int Count();

 private:
  explicit UdpSink(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  int count_ = 0;
};

// Sends `count` datagrams from inside `ns` to dst:port (errors such as no route are ignored:
// the sender keeps trying, like an application would). Returns how many send() accepted.
int UdpBlast(const nettest::Netns& ns, const std::string& dst, uint16_t port, int count);

// p50 and p99 of durations in milliseconds, "p50 x ms, p99 y ms (n samples)".
std::string Percentiles(std::vector<double> ms);

// Creates the cluster or fails the test with the reason (and skips without root).
#define NETFENCE_E2E_CLUSTER(var, options)                   \
  NETFENCE_REQUIRE_NETNS();                                  \
  auto var##_or = ::netfence::e2e::Cluster::Create(options); \
  ASSERT_TRUE(var##_or.ok()) << var##_or.status().message(); \
  auto& var = *var##_or

}  // namespace netfence::e2e
