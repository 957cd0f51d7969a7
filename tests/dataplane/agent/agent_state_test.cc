// The agent's state pieces without the fast path: the endpoint registry (persisted, atomic,
// malformed files refused), the last-good merge of the manifest source, the manifest source
// reacting to file changes (inotify, real files), and the node's tables (local endpoints only,
// CNI addresses winning over status.podIP).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "dataplane/agent/manifest_source.h"
#include "dataplane/agent/node_tables.h"
#include "dataplane/agent/registry.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::agent {
namespace {

namespace fs = std::filesystem;
using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/netfence-agent-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / ("." + name)) << text;
    fs::rename(path / ("." + name), path / name);
  }
};

EndpointRecord Record(const std::string& id, const std::string& pod, const std::string& ip) {
  EndpointRecord r;
  r.attachment = {id, "eth0"};
  r.pod_namespace = "x";
  r.pod_name = pod;
  r.host_interface = "veth" + id;
  r.ifindex = 7;
  r.ips = {*IpAddr::Parse(ip)};
  return r;
}

TEST(RegistryTest, SavesLoadsAndRemoves) {
  TempDir dir;
  const std::string file = (dir.path / "endpoints.json").string();
  Registry a(file);
  ASSERT_TRUE(a.Load().ok()) << "a missing file is an empty registry";
  a.Put(Record("c1", "a", "10.0.0.1"));
  a.Put(Record("c2", "b", "fd00::2"));
  ASSERT_TRUE(a.Save().ok());
  EXPECT_FALSE(fs::exists(file + ".tmp"));

  Registry b(file);
  ASSERT_TRUE(b.Load().ok());
  ASSERT_EQ(b.records().size(), 2u);
  const EndpointRecord* r = b.Find({"c2", "eth0"});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->pod_key(), "x/b");
  EXPECT_EQ(r->host_interface, "vethc2");
  EXPECT_EQ(r->ifindex, 7);
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].str(), "fd00::2");
  EXPECT_TRUE(b.Remove({"c2", "eth0"}));
  EXPECT_FALSE(b.Remove({"c2", "eth0"}));
  EXPECT_EQ(b.Find({"c2", "eth0"}), nullptr);
}

TEST(RegistryTest, MalformedFilesAreRefusedWithThePath) {
  TempDir dir;
  for (const char* text : {"not json", "{\"endpoints\": 3}", "{\"endpoints\": [{\"ips\": [\"nope\"], "
                                                            "\"container_id\": \"c\", \"host_interface\": \"v\"}]}",
                           "{\"endpoints\": [{\"pod\": \"a\"}]}"}) {
    dir.Write("endpoints.json", text);
    Registry r((dir.path / "endpoints.json").string());
    Status s = r.Load();
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("endpoints.json"), std::string::npos) << s.message();
  }
}

k8s::LoadResult Load(const std::string& yaml, const std::string& source = "dir/cluster.yaml") {
  k8s::LoadResult r;
  k8s::LoadManifestText(yaml, source, &r);
  return r;
}

const std::string kCluster = NamespaceYaml("x", "ns: x") + PodYaml("x", "a", "app: a", "10.0.0.1");
const std::string kGoodPolicy = PolicyYaml("x", "p", "  podSelector: {}\n  ingress: [{ports: [{port: 80}]}]");
const std::string kBadPolicy = PolicyYaml("x", "p", "  podSelector: {}\n  ingress: [{ports: [{port: 70000}]}]");

TEST(MergeWithLastGoodTest, AnObjectTurnedInvalidKeepsItsLastGoodVersion) {
  k8s::LoadResult good = Load(kCluster + kGoodPolicy);
  ASSERT_TRUE(good.errors.empty());
  std::vector<std::string> kept;
  k8s::LoadResult merged = MergeWithLastGood(Load(kCluster + kBadPolicy), &good, &kept);
  ASSERT_EQ(merged.state.policies.size(), 1u);
  EXPECT_EQ(merged.state.policies[0].ingress[0].ports[0].port->int_value, 80);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(kept[0].find("NetworkPolicy x/p is invalid now"), std::string::npos) << kept[0];
  // Without a last good version, the invalid object is simply rejected.
  kept.clear();
  EXPECT_TRUE(MergeWithLastGood(Load(kCluster + kBadPolicy), nullptr, &kept).state.policies.empty());
  // A deleted object is deleted (only invalid ones are kept).
  EXPECT_TRUE(MergeWithLastGood(Load(kCluster), &good, &kept).state.policies.empty());
}

TEST(MergeWithLastGoodTest, AFileThatDoesNotParseKeepsTheWholeState) {
  k8s::LoadResult good = Load(kCluster + kGoodPolicy);
  k8s::LoadResult broken = Load(kCluster);
  k8s::LoadManifestText("a: [unclosed", "dir/half-written.yaml", &broken);
  ASSERT_FALSE(broken.errors.empty());
  std::vector<std::string> kept;
  k8s::LoadResult merged = MergeWithLastGood(broken, &good, &kept);
  EXPECT_EQ(merged.state.policies.size(), 1u);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(kept[0].find("dir/half-written.yaml does not parse"), std::string::npos) << kept[0];
}

TEST(ManifestSourceTest, RereadsTheDirectoryWhenAFileChanges) {
  TempDir dir;
  dir.Write("cluster.yaml", kCluster);
  boost::asio::io_context io;
  std::vector<size_t> policies_seen;
  std::vector<std::string> warnings;
  ManifestSource source(
      io, dir.path.string(), [&](const k8s::ClusterState& s, const std::string&) { policies_seen.push_back(s.policies.size()); },
      [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(source.Start().ok());
  ASSERT_EQ(policies_seen, std::vector<size_t>{0});
  auto run_until = [&](size_t calls) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (policies_seen.size() < calls && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(20));
    }
    return policies_seen.size() >= calls;
  };
  dir.Write("policy.yaml", kGoodPolicy);
  ASSERT_TRUE(run_until(2));
  EXPECT_EQ(policies_seen.back(), 1u);
  dir.Write("policy.yaml", kBadPolicy);  // invalid now: the last good version stays
  ASSERT_TRUE(run_until(3));
  EXPECT_EQ(policies_seen.back(), 1u);
  EXPECT_FALSE(warnings.empty());
  fs::remove(dir.path / "policy.yaml");
  ASSERT_TRUE(run_until(4));
  EXPECT_EQ(policies_seen.back(), 0u);
  ManifestSource missing(io, (dir.path / "nope").string(), nullptr, nullptr);
  EXPECT_FALSE(missing.Start().ok());
}

TEST(NodeTablesTest, OnlyThisNodesEndpointsAndRegisteredAddressesWin) {
  k8s::LoadResult r = Load(NamespaceYaml("x", "ns: x") + PodYaml("x", "a", "app: a", "10.0.0.1") +
                           PodYaml("x", "b", "app: b", "10.0.0.2") + PodYaml("x", "c", "app: c", "10.0.0.3"));
  ASSERT_TRUE(r.errors.empty());
  r.state.pods[0].node_name = "n1";
  r.state.pods[1].node_name = "n2";  // b runs elsewhere
  TempDir dir;
  Registry registry((dir.path / "e.json").string());
  registry.Put(Record("c3", "c", "10.0.0.33"));  // c plugged here by CNI, with its real address
  registry.Put(Record("c9", "ghost", "10.0.0.9"));
  NodeTables t = CompileNodeTables(r.state, "n1", registry, 42);
  EXPECT_EQ(t.tables.generation(), 42u);
  ASSERT_EQ(t.tables.endpoints_size(), 2);
  EXPECT_EQ(t.tables.endpoints(0).name(), "a");
  EXPECT_EQ(t.tables.endpoints(1).name(), "c");
  ASSERT_EQ(t.tables.endpoints(1).ips_size(), 1);
  EXPECT_EQ(t.tables.endpoints(1).ips(0), std::string(reinterpret_cast<const char*>(IpAddr::Parse("10.0.0.33")->bytes.data()), 16));
  EXPECT_EQ(t.tables.stats().endpoints(), 2u);
  EXPECT_EQ(t.unknown_pods, std::vector<std::string>{"x/ghost"});
}

}  // namespace
}  // namespace netfence::agent
