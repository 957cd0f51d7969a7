// SPDX-License-Identifier: Apache-2.0
// The EAL's arguments (dataplane/dpdk/eal.h): plain memory unless a hugepages mount is named,
// the workers pinned one CPU each.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dataplane/dpdk/eal.h"

namespace netfence::dpdktest {
namespace {

bool Has(const std::vector<std::string>& args, const std::string& a) {
  return std::find(args.begin(), args.end(), a) != args.end();
}

TEST(DpdkEalTest, PlainMemoryUnlessAHugepagesMountIsNamed) {
  dpdk::EalOptions o;
  o.memory_mb = 256;
  std::vector<std::string> args = dpdk::EalArguments(o);
  EXPECT_TRUE(Has(args, "--no-huge"));
  EXPECT_TRUE(
      std::none_of(args.begin(), args.end(), [](const std::string& a) { return a.rfind("--huge-dir", 0) == 0; }));
  EXPECT_TRUE(Has(args, "256"));

  o.hugepages_dir = "/dev/hugepages";
  args = dpdk::EalArguments(o);
  EXPECT_FALSE(Has(args, "--no-huge"));
  EXPECT_TRUE(Has(args, "--huge-dir=/dev/hugepages"));
  EXPECT_TRUE(Has(args, "--no-pci"));
}

TEST(DpdkEalTest, WorkersArePinnedToTheCpusAskedFor) {
  dpdk::EalOptions o;
  o.workers = 2;
  o.worker_cpus = {3, 5};
  const std::vector<std::string> args = dpdk::EalArguments(o);
  const auto lcores =
      std::find_if(args.begin(), args.end(), [](const std::string& a) { return a.rfind("--lcores=", 0) == 0; });
  ASSERT_NE(lcores, args.end());
  EXPECT_NE(lcores->find(",1@3,2@5"), std::string::npos) << *lcores;
  EXPECT_EQ(lcores->rfind("--lcores=0@(", 0), 0u) << *lcores;
}

}  // namespace
}  // namespace netfence::dpdktest
