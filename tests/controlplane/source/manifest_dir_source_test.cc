// SPDX-License-Identifier: Apache-2.0
// The manifest directory source: the last-good merge (an object turned invalid keeps its
// last good version, a file that does not parse keeps the whole state) and the source itself
// reacting to file changes (inotify, real files) with exactly the events that changed.
#include "controlplane/source/manifest_dir_source.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/testing/policy_fixture.h"

namespace netfence::source {
namespace {

namespace fs = std::filesystem;
using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/netfence-source-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / ("." + name)) << text;
    fs::rename(path / ("." + name), path / name);
  }
};

// Records what a source delivers, applied to a store.
struct Recorder : Observer {
  ClusterStore store;
  std::vector<std::vector<Event>> batches;
  std::vector<k8s::ObjectError> rejected;
  int synced = 0;
  void OnEvents(std::vector<Event> events) override {
    for (const Event& e : events)
      EXPECT_TRUE(store.Apply(e)) << "an event that changes nothing: " << ObjectKey(e.object);
    batches.push_back(std::move(events));
  }
  void OnSynced() override { ++synced; }
  void OnRejected(const k8s::ObjectError& e) override { rejected.push_back(e); }
};

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

TEST(ManifestDirSourceTest, RereadsTheDirectoryWhenAFileChangesAndDeliversTheDifference) {
  TempDir dir;
  dir.Write("cluster.yaml", kCluster);
  boost::asio::io_context io;
  Recorder rec;
  ManifestDirSource source(io, dir.path.string());
  ASSERT_TRUE(source.Start(&rec).ok());
  ASSERT_EQ(rec.synced, 1);
  ASSERT_EQ(rec.batches.size(), 1u);
  EXPECT_EQ(rec.batches[0].size(), 2u);  // the namespace and the pod
  auto run_until = [&](size_t batches, size_t rejected = 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((rec.batches.size() < batches || rec.rejected.size() < rejected) &&
           std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(20));
    }
    return rec.batches.size() >= batches && rec.rejected.size() >= rejected;
  };
  dir.Write("policy.yaml", kGoodPolicy);
  ASSERT_TRUE(run_until(2));
  ASSERT_EQ(rec.batches[1].size(), 1u);  // only the policy
  EXPECT_EQ(rec.batches[1][0].op, Op::kUpsert);
  EXPECT_EQ(rec.store.policies().size(), 1u);
  dir.Write("policy.yaml", kBadPolicy);  // invalid now: rejected, the last good version stays
  ASSERT_TRUE(run_until(2, 1));
  EXPECT_NE(rec.rejected[0].str().find("spec.ingress[0].ports[0].port"), std::string::npos) << rec.rejected[0].str();
  EXPECT_EQ(rec.store.policies().size(), 1u);
  EXPECT_EQ(rec.store.policies().begin()->second.ingress[0].ports[0].port->int_value, 80);
  fs::remove(dir.path / "policy.yaml");
  ASSERT_TRUE(run_until(3));
  ASSERT_EQ(rec.batches.back().size(), 1u);
  EXPECT_EQ(rec.batches.back()[0].op, Op::kDelete);
  EXPECT_TRUE(rec.store.policies().empty());
  EXPECT_EQ(rec.synced, 1);
  ManifestDirSource missing(io, (dir.path / "nope").string());
  Recorder none;
  EXPECT_FALSE(missing.Start(&none).ok());
}

}  // namespace
}  // namespace netfence::source
