// SPDX-License-Identifier: Apache-2.0
// netfencectl explain, run as a binary on the example cluster and policies (what
// scripts/demo.sh asks): the verdict, each direction's outcome and the rule or the isolating
// policies that decided it. Tables without tiers or audit carry no rule flags: explain must
// not read flags that are not there (it once crashed on exactly this cluster).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace netfence {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ExplainCmdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/netfence-explain-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directory(dir_ / "manifests");
    for (const char* sub : {"examples/cluster", "examples/policies"}) {
      for (const auto& f : fs::directory_iterator(fs::path(NETFENCE_SOURCE_DIR) / sub)) {
        fs::copy(f.path(), dir_ / "manifests" / f.path().filename());
      }
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The command's JSON (written beside the manifests, not among them), its exit status in `status`.
  json Explain(const std::string& from, const std::string& to, int port, int* status) {
    const fs::path out = dir_ / "out.json";
    const std::string cmd = std::string(NETFENCECTL) + " explain --manifests " + (dir_ / "manifests").string() +
                            " --from " + from + " --to " + to + " --protocol TCP --port " + std::to_string(port) +
                            " -o json >" + out.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    std::FILE* f = std::fopen(out.c_str(), "r");
    std::string text;
    for (int c; f != nullptr && (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
    if (f != nullptr) std::fclose(f);
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) ADD_FAILURE() << "not JSON: " << text;
    return j;
  }

  fs::path dir_;
};

TEST_F(ExplainCmdTest, TheFrontendMayCallTheApiByTheAppChainsRules) {
  int status = -1;
  const json j = Explain("shop/frontend", "shop/api", 8080, &status);
  ASSERT_EQ(status, 0) << j.dump(2);
  EXPECT_EQ(j["verdict"], "allowed");
  EXPECT_EQ(j["egress"]["outcome"], "allowed");
  EXPECT_EQ(j["egress"]["decided_by"]["name"], "app-chain");
  EXPECT_EQ(j["egress"]["decided_by"]["rule"], 0);
  EXPECT_EQ(j["ingress"]["outcome"], "allowed");
  EXPECT_EQ(j["ingress"]["decided_by"]["namespace"], "shop");
  EXPECT_EQ(j["ingress"]["decided_by"]["name"], "app-chain");
  EXPECT_EQ(j["ingress"]["isolating_policies"],
            json::array({"shop/allow-scrape", "shop/app-chain", "shop/default-deny"}));
  EXPECT_FALSE(j["ingress"].contains("tiers"));
}

TEST_F(ExplainCmdTest, TheSandboxMayNotReachTheDatabaseAndIsToldWhichPoliciesIsolateIt) {
  int status = -1;
  const json j = Explain("dev/debug", "shop/db", 5432, &status);
  ASSERT_EQ(status, 0) << j.dump(2);
  EXPECT_EQ(j["verdict"], "denied");
  EXPECT_EQ(j["egress"]["outcome"], "not-isolated");
  EXPECT_EQ(j["ingress"]["outcome"], "denied");
  EXPECT_FALSE(j["ingress"].contains("decided_by"));
  EXPECT_EQ(j["ingress"]["matching_rules"], json::array());
  EXPECT_EQ(j["ingress"]["isolating_policies"].size(), 3u);
}

}  // namespace
}  // namespace netfence
