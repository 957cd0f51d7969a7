// SPDX-License-Identifier: Apache-2.0
// Maps pinned by a program of another map layout (dataplane/xdp/pin_abi.h) are replaced, not
// re-adopted: an agent upgraded across a layout change loads, says what it replaced, and
// enforces; maps of its own layout are re-adopted as before.
#include "dataplane/xdp/pin_abi.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/base/unique_fd.h"
#include "dataplane/xdp/xdp_program.h"
#include "tests/dataplane/xdp/xdp_harness.h"

namespace netfence::xdptest {
namespace {

// What an older netfence pinned: tables_slots whose inner tables hold 20-byte nf_table values
// (version 1, before tiers), and a conntrack map; `stamp` 0 leaves them unstamped.
void PinOlderMaps(const std::string& dir, uint32_t stamp) {
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0) << dir << ": " << std::strerror(errno);
  UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "old_tables", 4, 20, 16, nullptr));
  ASSERT_TRUE(inner.valid()) << std::strerror(errno);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(inner.get()));
  UniqueFd outer(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "tables_slots", 4, 4, NF_SLOTS, &opts));
  ASSERT_TRUE(outer.valid()) << std::strerror(errno);
  ASSERT_EQ(bpf_obj_pin(outer.get(), (dir + "/tables_slots").c_str()), 0) << std::strerror(errno);
  UniqueFd ct(bpf_map_create(BPF_MAP_TYPE_HASH, "conntrack", 40, 64, 128, nullptr));
  ASSERT_TRUE(ct.valid()) << std::strerror(errno);
  ASSERT_EQ(bpf_obj_pin(ct.get(), (dir + "/conntrack").c_str()), 0) << std::strerror(errno);
  if (stamp != 0) {
    ASSERT_TRUE(xdp::StampPinnedAbi(dir, stamp).ok());
  }
}

uint32_t PinnedMapId(const std::string& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  return fd.valid() && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 ? info.id : 0;
}

struct Loaded {
  std::unique_ptr<xdp::XdpProgram> program;
  std::vector<std::string> warnings;
};

Loaded LoadPinned(const std::string& dir) {
  Loaded out;
  xdp::LoadOptions o = StatelessOptions();
  o.pin_dir = dir;
  o.log = [&out](std::string_view m) { out.warnings.emplace_back(m); };
  auto p = xdp::XdpProgram::Load(o);
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (p.ok()) out.program = std::move(p).value();
  return out;
}

TEST(PinnedAbi, MapsOfAnOlderLayoutAreReplacedAndSaidSo) {
  NETFENCE_REQUIRE_BPF();
  for (uint32_t stamp : {0u, 1u}) {
    SCOPED_TRACE("older maps stamped " + std::to_string(stamp));
    PinDir pins("abi");
    PinOlderMaps(pins.path(), stamp);
    const uint32_t old_tables = PinnedMapId(pins.path() + "/tables_slots");
    ASSERT_NE(old_tables, 0u);
    Loaded first = LoadPinned(pins.path());
    ASSERT_TRUE(first.program);
    ASSERT_EQ(first.warnings.size(), 1u);
    EXPECT_NE(first.warnings[0].find(stamp == 0 ? "no version stamp" : "version 1"), std::string::npos)
        << first.warnings[0];
    EXPECT_NE(first.warnings[0].find(pins.path()), std::string::npos) << first.warnings[0];
    EXPECT_EQ(xdp::PinnedAbi(pins.path()), NF_ABI_VERSION);
    const uint32_t new_tables = PinnedMapId(pins.path() + "/tables_slots");
    EXPECT_NE(new_tables, 0u);
    EXPECT_NE(new_tables, old_tables);  // a fresh map, not the old one re-adopted

    // Programmed, then a restart of the same version: re-adopted, nothing replaced.
    v1::RuleTables tables;
    tables.set_generation(7);
    ASSERT_TRUE(first.program->Program(tables).ok());
    first.program.reset();
    Loaded again = LoadPinned(pins.path());
    ASSERT_TRUE(again.program);
    EXPECT_TRUE(again.warnings.empty()) << again.warnings[0];
    EXPECT_EQ(PinnedMapId(pins.path() + "/tables_slots"), new_tables);
    EXPECT_EQ(again.program->live_generation(), 7u);
  }
}

TEST(PinnedAbi, ADirectoryWithoutPinsIsNotReported) {
  NETFENCE_REQUIRE_BPF();
  PinDir pins("abi-empty");
  auto retired = xdp::RetirePinsOfOtherAbi(pins.path(), {"tables_slots", "conntrack"}, NF_ABI_VERSION);
  ASSERT_TRUE(retired.ok()) << retired.status().message();
  EXPECT_EQ(*retired, "");
  EXPECT_EQ(xdp::PinnedAbi(pins.path()), 0u);
}

}  // namespace
}  // namespace netfence::xdptest
