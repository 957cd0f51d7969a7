// SPDX-License-Identifier: Apache-2.0
// The embedded table source (netfence-agent --manifests DIR): the node's first update carries
// the directory's policy, enforced by default and in audit with the agent's
// --default-enforcement audit (as the controller's flag does), and an object's own annotation
// still wins.
#include "controlplane/embedded/embedded_table_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace netfence::embedded {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("netfence-embedded-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

const char* const kCluster = R"(apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {nodeName: node-a, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: plain, namespace: shop}
spec: {podSelector: {}, ingress: [{}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: enforced, namespace: shop, annotations: {netfence.io/enforcement: enforce}}
spec: {podSelector: {}, ingress: [{}]}
)";

// policy name -> audit, from the tables of the first update.
std::map<std::string, bool> AuditOfFirstUpdate(bool audit_by_default) {
  TempDir dir;
  dir.Write("cluster.yaml", kCluster);
  boost::asio::io_context io;
  auto quiet = [](const std::string&) {};
  auto source = MakeEmbeddedTableSource(io, dir.path(), "node-a", quiet, quiet, audit_by_default);
  std::optional<v1::NodeUpdate> got;
  EXPECT_TRUE(source->Start(0, {}, [&](v1::NodeUpdate u) { got = std::move(u); }).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!got && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(20));
  std::map<std::string, bool> audit;
  if (!got) {
    ADD_FAILURE() << "no update";
    return audit;
  }
  for (const auto& unit : got->tables()) {
    for (const auto& p : unit.table().policies()) audit[p.name()] = p.audit();
  }
  return audit;
}

TEST(EmbeddedSource, DefaultEnforcementAppliesToPoliciesWithoutTheirOwnAnnotation) {
  EXPECT_EQ(AuditOfFirstUpdate(false), (std::map<std::string, bool>{{"enforced", false}, {"plain", false}}));
  EXPECT_EQ(AuditOfFirstUpdate(true), (std::map<std::string, bool>{{"enforced", false}, {"plain", true}}));
}

}  // namespace
}  // namespace netfence::embedded
