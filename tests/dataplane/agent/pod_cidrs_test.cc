// SPDX-License-Identifier: Apache-2.0
// The node's pod CIDRs from flags and from CNI configurations: what is read, and errors that
// name the file and the field.
#include "dataplane/agent/pod_cidrs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/testing/test_certs.h"

namespace netfence::agent {
namespace {

std::string Write(const testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.path() + "/10-test.conflist";
  std::ofstream(path) << text;
  return path;
}

TEST(PodCidrsTest, FlagsAreCidrsWithoutHostBits) {
  EXPECT_EQ(ParsePodCidr("10.244.1.0/24")->str(), "10.244.1.0/24");
  EXPECT_EQ(ParsePodCidr("fd00:10:244:1::/64")->family_len(), 64);
  EXPECT_NE(ParsePodCidr("10.244.1.7/24").status().message().find("host bits set: 10.244.1.0/24"), std::string::npos);
  EXPECT_FALSE(ParsePodCidr("10.244.1.0").ok());
  EXPECT_FALSE(ParsePodCidr("banana/8").ok());
}

TEST(PodCidrsTest, TheHostLocalRangesOfACniConfigurationAreRead) {
  testing::TempDir dir;
  const std::string path = Write(dir, R"({"cniVersion": "1.0.0", "name": "n", "plugins": [
    {"type": "bridge", "ipam": {"type": "host-local",
       "ranges": [[{"subnet": "10.22.0.0/24", "gateway": "10.22.0.1"}], [{"subnet": "fd00:22::/64"}]]}},
    {"type": "portmap"}, {"type": "netfence-cni"}]})");
  auto cidrs = PodCidrsOfCniConfig(path);
  ASSERT_TRUE(cidrs.ok()) << cidrs.status().message();
  ASSERT_EQ(cidrs->size(), 2u);
  EXPECT_EQ((*cidrs)[0].str(), "10.22.0.0/24");
  EXPECT_EQ((*cidrs)[1].str(), "fd00:22::/64");
  // A single configuration with the older ipam.subnet.
  auto single =
      PodCidrsOfCniConfig(Write(dir, R"({"type": "ptp", "ipam": {"type": "host-local", "subnet": "10.9.0.0/16"}})"));
  ASSERT_TRUE(single.ok()) << single.status().message();
  EXPECT_EQ(single->at(0).str(), "10.9.0.0/16");
}

TEST(PodCidrsTest, ErrorsNameTheFileAndTheField) {
  testing::TempDir dir;
  auto bad = PodCidrsOfCniConfig(Write(dir, R"({"plugins": [{"type": "bridge", "ipam": {"type": "host-local",
      "ranges": [[{"subnet": "10.22.0.5/24"}]]}}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "10-test.conflist: plugins[0].ipam.ranges[0][0].subnet: '10.22.0.5/24' has host bits"),
            std::string::npos)
      << bad.status().message();
  auto none = PodCidrsOfCniConfig(Write(dir, R"({"plugins": [{"type": "bridge", "ipam": {"type": "dhcp"}}]})"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no host-local subnet"), std::string::npos) << none.status().message();
  auto junk = PodCidrsOfCniConfig(Write(dir, "not json"));
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("not a JSON object"), std::string::npos);
  auto missing = PodCidrsOfCniConfig(dir.path() + "/none.conflist");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("none.conflist"), std::string::npos);
}

}  // namespace
}  // namespace netfence::agent
