// SPDX-License-Identifier: Apache-2.0
// The DPDK workers' verdict cache (dataplane/dpdk/verdict_cache.h): an answer is given again
// only for the same question under the same programming of the tables; a new programming asks
// the tables again (never an old answer), and a pipeline without the cache decides alike.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "dataplane/dpdk/verdict_cache.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::dpdktest {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;
using xdptest::PacketBuilder;

const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
const IpAddr kServer = *IpAddr::Parse("10.0.0.1");

classifier::BurstQuery Query(uint16_t dport, bool from_uplink = false) {
  classifier::BurstQuery q;
  q.key = {kClient, kServer, 6, dport};
  q.from_uplink = from_uplink;
  return q;
}

TEST(VerdictCacheTest, AnswersOnlyTheSameQuestionUnderTheSameProgramming) {
  dpdk::VerdictCache cache(3);  // rounded up to 4 slots
  classifier::BurstAnswer answer;
  answer.decision.ingress.outcome = classifier::Outcome::kAllowed;
  answer.decision.ingress.rule_bit = 7;
  answer.dst_endpoint = true;
  cache.Put(5, Query(80), answer);

  classifier::BurstAnswer got;
  ASSERT_TRUE(cache.Find(5, Query(80), &got));
  EXPECT_EQ(got.decision.ingress.outcome, classifier::Outcome::kAllowed);
  EXPECT_EQ(got.decision.ingress.rule_bit, 7u);
  EXPECT_TRUE(got.dst_endpoint);
  EXPECT_FALSE(cache.Find(6, Query(80), &got)) << "another programming";
  EXPECT_FALSE(cache.Find(5, Query(81), &got)) << "another port";
  EXPECT_FALSE(cache.Find(5, Query(80, true), &got)) << "from an uplink: no egress policy asked";
  EXPECT_FALSE(cache.Find(0, Query(80), &got)) << "no programming: an empty slot's epoch";
  cache.Put(0, Query(80), answer);  // never cached without a programming
  EXPECT_FALSE(cache.Find(0, Query(80), &got));

  dpdk::VerdictCache off(0);
  EXPECT_FALSE(off.enabled());
  off.Put(5, Query(80), answer);
  EXPECT_FALSE(off.Find(5, Query(80), &got));
}

// The server takes TCP from the client on `ports`.
std::string Yaml(const std::string& ports) {
  return PodYaml("default", "client", "app: client", kClient.str()) +
         PodYaml("default", "server", "app: server", kServer.str()) +
         PolicyYaml("default", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: " +
                        ports + "\n");
}

std::vector<uint8_t> Syn(uint16_t dport, uint16_t sport) {
  return PacketBuilder().Ipv4(kClient, kServer).Tcp(dport, sport).Build();
}

class DpdkVerdictCacheTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(DpdkVerdictCacheTest, ARepeatedQuestionIsAnsweredAgainAndANewProgrammingAsksTheTables) {
  NETFENCE_REQUIRE_DPDK();
  dpdk::DatapathOptions o = StatelessOptions();  // every SYN classified
  o.verdict_cache = GetParam();
  auto h = Harness::Create(o);
  ASSERT_TRUE(h.ok()) << h.status().message();
  dpdk::Datapath& dp = (*h)->dp();
  testing::Cluster v1(Yaml("[{port: 80}]")), v2(Yaml("[{port: 443}]"));
  ASSERT_TRUE(dp.Program(v1.tables()).ok());

  // Three connections to :80 and two to :81, one burst: the first question of each misses.
  const std::vector<DpdkRun> first =
      (*h)->Run({Syn(80, 40000), Syn(80, 40001), Syn(81, 40002), Syn(80, 40003), Syn(81, 40004)});
  const std::vector<uint8_t> want = {XDP_PASS, XDP_PASS, XDP_DROP, XDP_PASS, XDP_DROP};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].action, want[i]) << "packet " << i;
  EXPECT_EQ(first[0].decision.verdict.ingress_outcome, static_cast<uint32_t>(NF_ALLOWED));
  // The next burst asks the same questions: all answered from the cache, alike.
  const std::vector<DpdkRun> again = (*h)->Run({Syn(80, 40005), Syn(81, 40006)});
  EXPECT_EQ(again[0].action, XDP_PASS);
  EXPECT_EQ(again[0].decision.verdict.ingress_rule, first[0].decision.verdict.ingress_rule);
  EXPECT_EQ(again[1].action, XDP_DROP);
  auto c = dp.ReadCounters();
  if (GetParam() == 0) {
    EXPECT_EQ(c[NF_CNT_VERDICT_HIT] + c[NF_CNT_VERDICT_MISS], 0u);
  } else {
    // Within the first burst every question went to the tables (they are asked at once).
    EXPECT_EQ(c[NF_CNT_VERDICT_MISS], 5u);
    EXPECT_EQ(c[NF_CNT_VERDICT_HIT], 2u);
  }

  // A new programming (:80 revoked, :443 allowed): the cached answers are not given.
  ASSERT_TRUE(dp.Program(v2.tables()).ok());
  const std::vector<DpdkRun> after = (*h)->Run({Syn(80, 40007), Syn(443, 40008), Syn(80, 40009)});
  EXPECT_EQ(after[0].action, XDP_DROP);
  EXPECT_EQ(after[0].decision.drop_reason, static_cast<uint32_t>(NF_DROP_POLICY));
  EXPECT_EQ(after[1].action, XDP_PASS);
  EXPECT_EQ(after[2].action, XDP_DROP);
  c = dp.ReadCounters();
  if (GetParam() != 0) {
    EXPECT_EQ(c[NF_CNT_VERDICT_MISS], 5u + 3u);
    EXPECT_EQ(c[NF_CNT_VERDICT_HIT], 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(CacheSizes, DpdkVerdictCacheTest, ::testing::Values(0u, 4096u),
                         [](const ::testing::TestParamInfo<uint32_t>& p) {
                           return p.param == 0 ? std::string("Off") : std::string("On");
                         });

}  // namespace
}  // namespace netfence::dpdktest
