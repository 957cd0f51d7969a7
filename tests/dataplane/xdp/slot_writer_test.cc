// SPDX-License-Identifier: Apache-2.0
// The idle slot rewritten in place (dataplane/xdp/slot_writer.h): after every Program() the
// live slot's maps hold exactly the tables' entries, whether they were rewritten or fresh;
// maps too small, or unknown after re-adopting pins, are replaced by fresh ones; verdicts
// follow each generation.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/base/unique_fd.h"
#include "controlplane/compiler/compiler.h"
#include "dataplane/xdp/map_entries.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/differential/random_cluster.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::xdptest {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
Bytes BytesOf(const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  return Bytes(p, p + sizeof(T));
}

// The inner map in `slot` of an outer map, as an fd (closed by the caller's UniqueFd).
UniqueFd Inner(const xdp::XdpProgram& p, xdp::Map outer, uint32_t slot) {
  uint32_t id = 0;
  if (bpf_map_lookup_elem(p.map_fd(outer), &slot, &id) != 0) return UniqueFd();
  return UniqueFd(bpf_map_get_fd_by_id(id));
}

bpf_map_info InfoOf(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  return info;
}

// Every key -> value of a hash or LPM map.
std::map<Bytes, Bytes> DumpKeyed(int fd) {
  const bpf_map_info info = InfoOf(fd);
  std::map<Bytes, Bytes> out;
  Bytes key(info.key_size), next(info.key_size), value(info.value_size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    EXPECT_EQ(bpf_map_lookup_elem(fd, next.data(), value.data()), 0);
    out[next] = value;
    key = next;
    prev = key.data();
  }
  return out;
}

template <typename K, typename V>
std::map<Bytes, Bytes> Expected(const std::vector<xdp::MapEntry<K, V>>& entries) {
  std::map<Bytes, Bytes> out;
  for (const auto& e : entries) out[BytesOf(e.key)] = BytesOf(e.value);
  return out;
}

// An array map holds values[0..n) and zeros in every cell beyond.
template <typename V>
void ExpectArray(int fd, const V* values, size_t n, const char* name) {
  const bpf_map_info info = InfoOf(fd);
  ASSERT_EQ(info.value_size, sizeof(V)) << name;
  ASSERT_GE(info.max_entries, n) << name;
  size_t wrong = 0;
  for (uint32_t i = 0; i < info.max_entries; ++i) {
    V got{};
    ASSERT_EQ(bpf_map_lookup_elem(fd, &i, &got), 0) << name << " " << i;
    const V want = i < n ? values[i] : V{};
    wrong += std::memcmp(&got, &want, sizeof(V)) != 0;
  }
  EXPECT_EQ(wrong, 0u) << name << ": cells differing from the tables (of " << info.max_entries << ")";
}

uint32_t LiveSlot(const xdp::XdpProgram& p) {
  const uint32_t zero = 0;
  nf_active a{};
  EXPECT_EQ(bpf_map_lookup_elem(p.map_fd(xdp::Map::kActive), &zero, &a), 0);
  return a.slot;
}

// The live slot's six maps hold exactly what BuildMapEntries makes of `t`.
void ExpectLiveSlotHolds(const xdp::XdpProgram& p, const v1::RuleTables& t, const std::string& what) {
  SCOPED_TRACE(what);
  auto e = xdp::BuildMapEntries(t);
  ASSERT_TRUE(e.ok()) << e.status().message();
  const uint32_t slot = LiveSlot(p);
  ASSERT_LT(slot, NF_SLOTS);
  const UniqueFd ipcache = Inner(p, xdp::Map::kIpcacheSlots, slot), tables = Inner(p, xdp::Map::kTablesSlots, slot),
                 id_rows = Inner(p, xdp::Map::kIdRowsSlots, slot), cidr = Inner(p, xdp::Map::kCidrRowsSlots, slot),
                 ports = Inner(p, xdp::Map::kPortRowsSlots, slot), words = Inner(p, xdp::Map::kWordsSlots, slot);
  for (const UniqueFd* fd : {&ipcache, &tables, &id_rows, &cidr, &ports, &words}) ASSERT_TRUE(fd->valid());
  EXPECT_EQ(DumpKeyed(ipcache.get()), Expected(e->ipcache));
  EXPECT_EQ(DumpKeyed(id_rows.get()), Expected(e->id_rows));
  EXPECT_EQ(DumpKeyed(cidr.get()), Expected(e->cidr_rows));
  EXPECT_EQ(DumpKeyed(ports.get()), Expected(e->port_rows));
  ExpectArray(tables.get(), e->tables.data(), e->tables.size(), "tables");
  ExpectArray(words.get(), xdp::Arena(t, *e).data(), e->words, "words");
}

// n pods in namespace `ns`, 10.<octet>.x.y, and a policy letting app=web take TCP `port`.
std::string ManyPods(int n, int octet, uint16_t port) {
  std::string y;
  for (int i = 0; i < n; ++i) {
    y += testing::PodYaml(
        "default", "p" + std::to_string(i), i % 3 == 0 ? "app: web" : "app: db",
        "10." + std::to_string(octet) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  }
  return y + testing::PolicyYaml("default", "web",
                                 "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n"
                                 "  ingress:\n  - ports: [{protocol: TCP, port: " +
                                     std::to_string(port) + "}]\n");
}

TEST(SlotWriter, EveryGenerationLeavesTheLiveMapsHoldingExactlyItsTables) {
  NETFENCE_REQUIRE_BPF();
  auto loaded = xdp::XdpProgram::Load(StatelessOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  xdp::XdpProgram& p = **loaded;
  std::mt19937_64 rng(7);
  uint64_t generation = 0;
  for (int c = 0; c < 40; ++c) {
    v1::RuleTables t = compiler::Compile(reference::RandomCluster(rng));
    t.set_generation(++generation);
    ASSERT_TRUE(p.Program(t).ok());
    ExpectLiveSlotHolds(p, t, "random cluster " + std::to_string(c));
    EXPECT_EQ(p.live_generation(), generation);
  }
  // The first slot starts fresh, the second is prepared with a copy in the background; after
  // that most random clusters fit the maps of two generations ago.
  EXPECT_GE(p.slot_installs(), 1u);
  EXPECT_GT(p.slot_rewrites(), 20u) << "installs " << p.slot_installs();
  EXPECT_EQ(p.slot_rewrites() + p.slot_installs(), 40u);

  // Much larger tables do not fit: fresh maps, then in place again at that size.
  const uint64_t installs = p.slot_installs(), rewrites = p.slot_rewrites();
  for (int i = 0; i < 4; ++i) {
    testing::Cluster big(ManyPods(600, 20 + i % 2, static_cast<uint16_t>(80 + i)));
    v1::RuleTables t = big.tables();
    t.set_generation(++generation);
    ASSERT_TRUE(p.Program(t).ok());
    ExpectLiveSlotHolds(p, t, "600 pods, round " + std::to_string(i));
  }
  EXPECT_EQ(p.slot_installs(), installs + 2);  // each slot once
  EXPECT_GE(p.slot_rewrites(), rewrites + 2);
  // And back down to a small cluster: rewritten in place, the big maps' tails cleared.
  testing::Cluster small(ManyPods(3, 30, 443));
  v1::RuleTables t = small.tables();
  t.set_generation(++generation);
  const uint64_t before = p.slot_rewrites();
  ASSERT_TRUE(p.Program(t).ok());
  EXPECT_EQ(p.slot_rewrites(), before + 1);
  ExpectLiveSlotHolds(p, t, "3 pods after 600");
}

TEST(SlotWriter, VerdictsFollowEachRewrittenGeneration) {
  NETFENCE_REQUIRE_BPF();
  auto loaded = xdp::XdpProgram::Load(StatelessOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  xdp::XdpProgram& p = **loaded;
  Harness harness(p);
  const IpAddr web = *IpAddr::Parse("10.40.0.1"), db = *IpAddr::Parse("10.40.0.2");
  for (uint16_t port = 8000; port < 8012; ++port) {
    testing::Cluster c(ManyPods(30, 40, port));
    ASSERT_TRUE(p.Program(c.tables()).ok());
    for (uint16_t probe : {static_cast<uint16_t>(port - 1), port, static_cast<uint16_t>(port + 1)}) {
      const RunResult r = harness.Run(PacketBuilder().Ip(db, web).Proto(6, probe).Build());
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.action, probe == port ? XDP_PASS : XDP_DROP) << "policy port " << port << ", probe " << probe;
      EXPECT_EQ(c.Allowed("10.40.0.2", "10.40.0.1", probe), probe == port);
    }
  }
  EXPECT_EQ(p.slot_installs(), 1u);
  EXPECT_EQ(p.slot_rewrites(), 11u);
}

TEST(SlotWriter, ReadoptedPinsAreReplacedOnceAndTheOtherSlotPreparedThenRewritten) {
  NETFENCE_REQUIRE_BPF();
  PinDir pins("slots");
  xdp::LoadOptions o = StatelessOptions();
  o.pin_dir = pins.path();
  testing::Cluster a(ManyPods(20, 50, 80)), b(ManyPods(20, 50, 81)), c(ManyPods(25, 50, 82));
  {
    auto first = xdp::XdpProgram::Load(o);
    ASSERT_TRUE(first.ok()) << first.status().message();
    ASSERT_TRUE((*first)->Program(a.tables()).ok());
    ASSERT_TRUE((*first)->Program(b.tables()).ok());
  }
  auto again = xdp::XdpProgram::Load(o);  // a restarted agent: what the slots hold is unknown
  ASSERT_TRUE(again.ok()) << again.status().message();
  xdp::XdpProgram& p = **again;
  ExpectLiveSlotHolds(p, b.tables(), "re-adopted");
  ASSERT_TRUE(p.Program(c.tables()).ok());  // fresh maps in the idle slot ...
  EXPECT_EQ(p.slot_installs(), 1u);
  EXPECT_EQ(p.slot_rewrites(), 0u);
  ExpectLiveSlotHolds(p, c.tables(), "fresh after re-adoption");
  ASSERT_TRUE(p.Program(a.tables()).ok());  // ... and the other slot prepared with c's tables
  EXPECT_EQ(p.slot_installs(), 1u);
  EXPECT_EQ(p.slot_rewrites(), 1u);
  ExpectLiveSlotHolds(p, a.tables(), "rewritten over the prepared copy");
  ASSERT_TRUE(p.Program(b.tables()).ok());
  EXPECT_EQ(p.slot_rewrites(), 2u);
  ExpectLiveSlotHolds(p, b.tables(), "rewritten after re-adoption");
}

}  // namespace
}  // namespace netfence::xdptest
