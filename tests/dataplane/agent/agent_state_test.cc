// SPDX-License-Identifier: Apache-2.0
// The agent's endpoint registry: persisted atomically, malformed files refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dataplane/agent/registry.h"

namespace netfence::agent {
namespace {

namespace fs = std::filesystem;

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
  for (const char* text : {"not json", "{\"endpoints\": 3}",
                           "{\"endpoints\": [{\"ips\": [\"nope\"], "
                           "\"container_id\": \"c\", \"host_interface\": \"v\"}]}",
                           "{\"endpoints\": [{\"pod\": \"a\"}]}"}) {
    dir.Write("endpoints.json", text);
    Registry r((dir.path / "endpoints.json").string());
    Status s = r.Load();
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("endpoints.json"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace netfence::agent
