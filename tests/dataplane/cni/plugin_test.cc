// SPDX-License-Identifier: Apache-2.0
// The netfence CNI plugin run in-process (RunPlugin) against a scripted agent: what it prints,
// which error codes it returns, and exactly what it asks the agent.
#include "tests/dataplane/cni/plugin_test_util.h"

namespace netfence::cni {
namespace {

using namespace testing_peer;  // NOLINT: the test vocabulary

// --- VERSION and the environment -----------------------------------------------------------

TEST(CniPluginTest, VersionEchoesTheRequestedVersion) {
  PluginRun r = RunWith({{"CNI_COMMAND", "VERSION"}}, std::string(R"({"cniVersion":"0.4.0"})"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.result, json::parse(R"({"cniVersion":"0.4.0",
      "supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));

  for (const std::string& stdin_text : {std::string(""), std::string("not json"), std::string("{}")}) {
    PluginRun bare = RunWith({{"CNI_COMMAND", "VERSION"}}, stdin_text);
    EXPECT_EQ(bare.status, 0);
    EXPECT_EQ(bare.result.value("cniVersion", ""), "1.1.0") << stdin_text;
    EXPECT_EQ(bare.result["supportedVersions"].size(), 5u);
  }
}

TEST(CniPluginTest, MissingOrUnknownCommand) {
  NoAgent agent;
  std::string conf = Conf("1.0.0", agent.socket()).dump();
  std::string msg = ExpectError(RunWith({}, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_COMMAND")) << msg;

  Env env = MakeEnv("FROB");
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "unknown CNI_COMMAND: FROB")) << msg;
  env["CNI_COMMAND"] = "add";  // commands are case-sensitive
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "unknown CNI_COMMAND: add")) << msg;
}

TEST(CniPluginTest, MissingVariablesAreNamedPerCommand) {
  NoAgent agent;
  std::string conf = Conf("1.0.0", agent.socket(), BridgeResult100()).dump();
  struct Case {
    const char* command;
    Strings unset;
    Strings named;      // must appear in msg
    Strings not_named;  // must not
  };
  const Case cases[] = {
      {"ADD", {"CNI_NETNS"}, {"CNI_NETNS"}, {"CNI_CONTAINERID", "CNI_IFNAME"}},
      {"ADD", {"CNI_CONTAINERID"}, {"CNI_CONTAINERID"}, {"CNI_NETNS"}},
      {"ADD", {"CNI_IFNAME"}, {"CNI_IFNAME"}, {"CNI_NETNS"}},
      {"ADD", {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, {}},
      {"CHECK", {"CNI_NETNS"}, {"CNI_NETNS"}, {}},
      {"CHECK", {"CNI_IFNAME"}, {"CNI_IFNAME"}, {}},
      {"DEL", {"CNI_CONTAINERID"}, {"CNI_CONTAINERID"}, {}},
      {"DEL", {"CNI_IFNAME", "CNI_NETNS"}, {"CNI_IFNAME"}, {"CNI_NETNS"}},
  };
  for (const Case& c : cases) {
    Env env = MakeEnv(c.command);
    for (const std::string& name : c.unset) env[name] = "";  // empty is unset, as in libcni
    std::string msg = ExpectError(RunWith(env, conf), 4);
    for (const std::string& name : c.named) EXPECT_TRUE(Contains(msg, name)) << c.command << ": " << msg;
    for (const std::string& name : c.not_named) EXPECT_FALSE(Contains(msg, name)) << c.command << ": " << msg;
  }
}

TEST(CniPluginTest, DelNeedsNoNetnsAndStatusAndGcNeedNoContainer) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  Env del = MakeEnv("DEL");
  del.erase("CNI_NETNS");
  PluginRun r = RunWith(del, Conf("1.0.0", agent.socket()));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");

  for (const char* command : {"STATUS", "GC"}) {
    PluginRun s = RunWith({{"CNI_COMMAND", command}}, Conf("1.1.0", agent.socket()));
    EXPECT_EQ(s.status, 0) << command << ": " << s.out;
    EXPECT_EQ(s.out, "") << command;
  }
  ASSERT_EQ(agent.requests().size(), 3u);
  EXPECT_EQ(agent.requests()[0].op, "del");
  EXPECT_EQ(agent.requests()[0].netns, "");
  EXPECT_EQ(agent.requests()[1].op, "status");
  EXPECT_EQ(agent.requests()[2].op, "gc");
}

TEST(CniPluginTest, InvalidVariableValues) {
  NoAgent agent;
  std::string conf = Conf("1.0.0", agent.socket(), BridgeResult100()).dump();
  Env env = MakeEnv("ADD");
  env["CNI_CONTAINERID"] = "bad/id";
  std::string msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_CONTAINERID: invalid characters in containerID")) << msg;

  env = MakeEnv("DEL");
  env["CNI_IFNAME"] = "eth0-much-too-long";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_IFNAME: interface name is too long")) << msg;

  env = MakeEnv("ADD");
  env["CNI_ARGS"] = "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=\xff\xfe";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_ARGS is not valid UTF-8")) << msg;

  env = MakeEnv("ADD");
  env["CNI_NETNS"] = "/run/netns/\xc0\x80";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_NETNS is not valid UTF-8")) << msg;
}

// --- configuration errors ------------------------------------------------------------------

TEST(CniPluginTest, MalformedConfigurationIsCode6) {
  for (const char* command : {"ADD", "DEL", "CHECK", "STATUS", "GC"}) {
    std::string msg = ExpectError(RunWith(MakeEnv(command), std::string("{\"cniVersion\": \"1.0.0\",")), 6, "1.1.0");
    EXPECT_TRUE(Contains(msg, "decoding the network configuration")) << msg;
  }
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), std::string("[\"a\"]")), 6, "1.1.0");
  EXPECT_TRUE(Contains(msg, "must be a JSON object")) << msg;
}

TEST(CniPluginTest, InvalidConfigurationIsCode7NamingTheField) {
  NoAgent agent;
  struct Case {
    json patch;
    const char* needle;
  };
  const Case cases[] = {
      {{{"name", nullptr}}, "missing field 'name'"},
      {{{"type", 42}}, "field 'type' must be a non-empty string"},
      {{{"socket", 1}}, "field 'socket'"},
      {{{"timeoutSeconds", 0}}, "field 'timeoutSeconds'"},
      {{{"timeoutSeconds", "5"}}, "field 'timeoutSeconds'"},
      {{{"prevResult", {1, 2}}}, "field 'prevResult' must be an object"},
      {{{"prevResult", {{"ips", {{{"address", "10.1.1.1"}}}}}}}, "'prevResult.ips[0].address'"},
      {{{"prevResult", {{"interfaces", {{{"name", 5}}}}}}}, "'prevResult.interfaces[0].name'"},
  };
  for (const Case& c : cases) {
    json conf = Conf("1.0.0", agent.socket(), BridgeResult100());
    conf.merge_patch(c.patch);
    std::string msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 7);
    EXPECT_TRUE(Contains(msg, c.needle)) << c.patch.dump() << " -> " << msg;
  }
}

TEST(CniPluginTest, UnsupportedVersionIsCode1) {
  NoAgent agent;
  json conf = Conf("2.0.0", agent.socket(), BridgeResult100());
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 1, "1.1.0");
  EXPECT_TRUE(Contains(msg, "incompatible CNI versions")) << msg;
  EXPECT_TRUE(Contains(msg, "\"2.0.0\"")) << msg;
  EXPECT_TRUE(Contains(msg, "0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0")) << msg;

  conf.erase("cniVersion");
  msg = ExpectError(RunWith(MakeEnv("DEL"), conf), 1, "1.1.0");
  EXPECT_TRUE(Contains(msg, "no cniVersion")) << msg;

  conf["cniVersion"] = 1;
  msg = ExpectError(RunWith(MakeEnv("DEL"), conf), 7, "1.1.0");
  EXPECT_TRUE(Contains(msg, "field 'cniVersion' must be a string")) << msg;
}

TEST(CniPluginTest, CommandsNewerThanTheConfigVersionAreCode1) {
  NoAgent agent;
  std::string msg =
      ExpectError(RunWith(MakeEnv("CHECK"), Conf("0.3.1", agent.socket(), BridgeResult040())), 1, "0.3.1");
  EXPECT_TRUE(Contains(msg, "config version 0.3.1 does not allow CHECK")) << msg;
  msg = ExpectError(RunWith({{"CNI_COMMAND", "GC"}}, Conf("1.0.0", agent.socket())), 1);
  EXPECT_TRUE(Contains(msg, "does not allow GC")) << msg;
  msg = ExpectError(RunWith({{"CNI_COMMAND", "STATUS"}}, Conf("1.0.0", agent.socket())), 1);
  EXPECT_TRUE(Contains(msg, "does not allow STATUS")) << msg;
}

// --- ADD ---------------------------------------------------------------------------------

TEST(CniPluginTest, AddWithoutPrevResultSaysItIsChained) {
  NoAgent agent;
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket())), 7);
  EXPECT_TRUE(Contains(msg, "prevResult")) << msg;
  EXPECT_TRUE(Contains(msg, "chained plugin")) << msg;
  EXPECT_TRUE(Contains(msg, "bridge")) << msg;
  EXPECT_TRUE(Contains(msg, "ptp")) << msg;
}

TEST(CniPluginTest, AddWithoutPodIdentityNamesTheKeys) {
  NoAgent agent;
  json conf = Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv"), nettest::UniqueName("nfb")));
  Env env = MakeEnv("ADD");
  env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_UID=1";
  std::string msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "K8S_POD_NAMESPACE")) << msg;
  EXPECT_TRUE(Contains(msg, "K8S_POD_NAME")) << msg;

  env["CNI_ARGS"] = "K8S_POD_NAMESPACE=shop";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_FALSE(Contains(msg, "K8S_POD_NAMESPACE")) << msg;
  EXPECT_TRUE(Contains(msg, "K8S_POD_NAME")) << msg;

  env["CNI_ARGS"] = "K8S_POD_NAMESPACE=shop;junk";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_ARGS: invalid pair 'junk'")) << msg;
}

TEST(CniPluginTest, AddSendsThePodAndPassesPrevResultThrough100) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json prev = BridgeResult100();
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), prev));
  ASSERT_EQ(r.status, 0) << r.out << r.log;
  EXPECT_EQ(r.result, prev);  // unchanged, every key kept
  EXPECT_EQ(r.out.back(), '\n');

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 1u);
  const agent::Request& q = requests[0];
  EXPECT_EQ(q.op, "add");
  EXPECT_EQ(q.container_id, "c0ffee01");
  EXPECT_EQ(q.ifname, "eth0");
  EXPECT_EQ(q.netns, "/var/run/netns/cni-1234");
  EXPECT_EQ(q.pod_namespace, "shop");
  EXPECT_EQ(q.pod_name, "cart-7d9");
  EXPECT_EQ(q.host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(q.ips, (Strings{"10.22.0.5/16"}));
  EXPECT_TRUE(q.valid.empty());
  EXPECT_TRUE(agent.malformed().empty());
  EXPECT_TRUE(Contains(r.log, "generation 7")) << r.log;
}

TEST(CniPluginTest, AddPassesA040ResultThroughWithEveryKey) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json prev = BridgeResult040();
  prev["someFutureKey"] = {{"kept", true}};
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("0.4.0", agent.socket(), prev));
  ASSERT_EQ(r.status, 0) << r.out << r.log;
  EXPECT_EQ(r.result, prev);
  ASSERT_EQ(agent.requests().size(), 1u);
  EXPECT_EQ(agent.requests()[0].host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(agent.requests()[0].ips, (Strings{"10.22.0.5/16", "fd00:22::5/64"}));
}

TEST(CniPluginTest, AddOutputCarriesTheConfigVersion) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json prev = BridgeResult100();
  prev.erase("cniVersion");  // libcni parses prevResult in the configuration's version
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("1.1.0", agent.socket(), prev));
  ASSERT_EQ(r.status, 0) << r.out << r.log;
  json expected = prev;
  expected["cniVersion"] = "1.1.0";
  EXPECT_EQ(r.result, expected);
}

TEST(CniPluginTest, AddWithNoAgentIsTryAgainLater) {
  NoAgent agent;
  std::string veth = nettest::UniqueName("nfv");  // exists nowhere: nothing to set down here
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), BridgeResult100(veth))), 11);
  EXPECT_TRUE(Contains(msg, "pod shop/cart-7d9")) << msg;
  EXPECT_TRUE(Contains(msg, agent.socket())) << msg;
  EXPECT_TRUE(Contains(msg, "try again later")) << msg;
  EXPECT_TRUE(Contains(msg, "no host-side veth")) << msg;
}

TEST(CniPluginTest, AddRefusedCarriesTheAgentsCodeAndMessage) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  agent.Refuse(agent::kUnknownPod, "pod shop/cart-7d9: unknown to the tables of generation 7");
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv"))));
  std::string msg = ExpectError(r, agent::kUnknownPod);
  EXPECT_TRUE(Contains(msg, "unknown to the tables of generation 7")) << msg;
  EXPECT_TRUE(Contains(msg, "pod shop/cart-7d9")) << msg;
  EXPECT_TRUE(Contains(msg, agent.socket())) << msg;
  EXPECT_EQ(agent.requests().size(), 1u);

  agent::Response no_code;  // ok=false and no code: still an error, never a success
  no_code.message = "confused";
  agent.Script(FakeAgent::Mode::kAnswer, no_code);
  r = RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv"))));
  msg = ExpectError(r, 999);
  EXPECT_TRUE(Contains(msg, "confused")) << msg;
}

TEST(CniPluginTest, AddWhenTheAgentHangsUpOrNeverAnswers) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json conf = Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv")));
  agent.Script(FakeAgent::Mode::kCloseWithoutAnswer);
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 11);
  EXPECT_TRUE(Contains(msg, "closed the connection without answering")) << msg;

  agent.Script(FakeAgent::Mode::kNeverAnswer);
  conf["timeoutSeconds"] = 1;
  auto start = std::chrono::steady_clock::now();
  msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 11);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(Contains(msg, "did not answer within 1000 ms")) << msg;
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(agent.requests().size(), 2u);
}

// --- DEL, CHECK, STATUS, GC ----------------------------------------------------------------

TEST(CniPluginTest, DelWithNoAgentSucceedsIsIdempotentAndIsJournaledForTheAgent) {
  NoAgent agent;
  for (int i = 0; i < 2; ++i) {
    PluginRun r = RunWith(MakeEnv("DEL"), Conf("1.0.0", agent.socket(), BridgeResult100()));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(Contains(r.log, "unreachable")) << r.log;
    EXPECT_TRUE(Contains(r.log, agent.socket())) << r.log;
    EXPECT_TRUE(Contains(r.log, "journaled")) << r.log;
  }
  // One journal entry for the attachment, which the agent reads back at start.
  std::vector<std::string> errors;
  auto journaled = agent::ReadJournaledDeletes(agent::DeletedJournalDir(agent.socket()), &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(journaled.size(), 1u);
  const agent::Request& del = journaled[0].request;
  EXPECT_EQ(del.op, "del");
  EXPECT_EQ(del.container_id, MakeEnv("DEL").at("CNI_CONTAINERID"));
  EXPECT_EQ(del.ifname, "eth0");
  EXPECT_EQ(del.pod_namespace, "shop");
}

TEST(CniPluginTest, AddWithAMalformedPrevResultStillFailsClosedOnTheVethItNames) {
  NoAgent agent;
  json prev = BridgeResult100();
  prev["ips"] = "not a list";
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), prev));
  EXPECT_NE(r.status, 0);
  // No such veth on this machine: the plugin says it tried (the root test sees it set down).
  EXPECT_TRUE(Contains(r.out, "prevResult.ips")) << r.out;
  EXPECT_TRUE(Contains(r.log, "fail closed")) << r.log;
}

TEST(CniPluginTest, DelSendsWhatItKnows) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  PluginRun with_prev = RunWith(MakeEnv("DEL"), Conf("1.0.0", agent.socket(), BridgeResult100()));
  EXPECT_EQ(with_prev.status, 0) << with_prev.out;
  Env bare = MakeEnv("DEL");
  bare.erase("CNI_ARGS");
  bare.erase("CNI_NETNS");
  PluginRun without = RunWith(bare, Conf("1.0.0", agent.socket()));
  EXPECT_EQ(without.status, 0) << without.out;
  // A malformed prevResult or CNI_ARGS does not stop a DEL.
  bare["CNI_ARGS"] = "junk";
  PluginRun broken = RunWith(bare, Conf("1.0.0", agent.socket(), {{"interfaces", 3}}));
  EXPECT_EQ(broken.status, 0) << broken.out;
  EXPECT_TRUE(Contains(broken.log, "ignoring prevResult")) << broken.log;
  EXPECT_TRUE(Contains(broken.log, "ignoring CNI_ARGS")) << broken.log;

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].op, "del");
  EXPECT_EQ(requests[0].container_id, "c0ffee01");
  EXPECT_EQ(requests[0].ifname, "eth0");
  EXPECT_EQ(requests[0].pod_namespace, "shop");
  EXPECT_EQ(requests[0].pod_name, "cart-7d9");
  EXPECT_EQ(requests[0].host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(requests[1].op, "del");
  EXPECT_EQ(requests[1].container_id, "c0ffee01");
  EXPECT_EQ(requests[1].pod_name, "");
  EXPECT_TRUE(requests[1].host_interfaces.empty());
  EXPECT_TRUE(requests[2].host_interfaces.empty());
}

TEST(CniPluginTest, DelRefusedIsAnError) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  agent.Refuse(agent::kProgrammingFailed, "detaching veth1a2b3c4d: device busy");
  std::string msg = ExpectError(RunWith(MakeEnv("DEL"), Conf("1.0.0", agent.socket())), agent::kProgrammingFailed);
  EXPECT_TRUE(Contains(msg, "device busy")) << msg;
}

TEST(CniPluginTest, Check) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json conf = Conf("1.0.0", agent.socket(), BridgeResult100());
  PluginRun ok = RunWith(MakeEnv("CHECK"), conf);
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out, "");
  ASSERT_EQ(agent.requests().size(), 1u);
  agent::Request q = agent.requests()[0];
  EXPECT_EQ(q.op, "check");
  EXPECT_EQ(q.container_id, "c0ffee01");
  EXPECT_EQ(q.netns, "/var/run/netns/cni-1234");
  EXPECT_EQ(q.pod_name, "cart-7d9");
  EXPECT_EQ(q.host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(q.ips, (Strings{"10.22.0.5/16"}));

  agent.Refuse(agent::kNotEnforced, "veth1a2b3c4d has no XDP program");
  std::string msg = ExpectError(RunWith(MakeEnv("CHECK"), conf), agent::kNotEnforced);
  EXPECT_TRUE(Contains(msg, "veth1a2b3c4d has no XDP program")) << msg;

  NoAgent none;
  msg = ExpectError(RunWith(MakeEnv("CHECK"), Conf("1.0.0", none.socket(), BridgeResult100())), 11);
  EXPECT_TRUE(Contains(msg, none.socket())) << msg;

  msg = ExpectError(RunWith(MakeEnv("CHECK"), Conf("1.0.0", none.socket())), 7);
  EXPECT_TRUE(Contains(msg, "prevResult")) << msg;
}

TEST(CniPluginTest, Status) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  Env env = {{"CNI_COMMAND", "STATUS"}};
  PluginRun ok = RunWith(env, Conf("1.1.0", agent.socket()));
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out, "");

  agent.Refuse(agent::kNotEnforced, "no generation programmed yet");
  std::string msg = ExpectError(RunWith(env, Conf("1.1.0", agent.socket())), 50, "1.1.0");
  EXPECT_TRUE(Contains(msg, "plugin not available")) << msg;
  EXPECT_TRUE(Contains(msg, "no generation programmed yet")) << msg;

  NoAgent none;
  msg = ExpectError(RunWith(env, Conf("1.1.0", none.socket())), 50, "1.1.0");
  EXPECT_TRUE(Contains(msg, "plugin not available")) << msg;
  EXPECT_TRUE(Contains(msg, none.socket())) << msg;
}

TEST(CniPluginTest, GcSendsTheValidAttachments) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  Env env = {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/opt/cni/bin"}};
  json conf = Conf("1.1.0", agent.socket());
  conf["cni.dev/valid-attachments"] = {{{"containerID", "c1"}, {"ifname", "eth0"}},
                                       {{"containerID", "c2"}, {"ifname", "eth0"}}};
  EXPECT_EQ(RunWith(env, conf).status, 0);
  json legacy = Conf("1.1.0", agent.socket());
  legacy["cni.dev/attachments"] = {{{"containerID", "c3"}, {"ifname", "net1"}}};
  EXPECT_EQ(RunWith(env, legacy).status, 0);
  EXPECT_EQ(RunWith(env, Conf("1.1.0", agent.socket())).status, 0);  // none valid: libcni omits the key

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].op, "gc");
  EXPECT_EQ(requests[0].valid, (std::vector<agent::Attachment>{{"c1", "eth0"}, {"c2", "eth0"}}));
  EXPECT_EQ(requests[1].valid, (std::vector<agent::Attachment>{{"c3", "net1"}}));
  EXPECT_TRUE(requests[2].valid.empty());

  conf["cni.dev/valid-attachments"] = {{{"containerID", 5}, {"ifname", "eth0"}}};
  std::string msg = ExpectError(RunWith(env, conf), 7, "1.1.0");
  EXPECT_TRUE(Contains(msg, "cni.dev/valid-attachments[0].containerID")) << msg;

  agent.Refuse(agent::kBadRequest, "gc already running");
  msg = ExpectError(RunWith(env, legacy), agent::kBadRequest, "1.1.0");
  EXPECT_TRUE(Contains(msg, "gc already running")) << msg;

  NoAgent none;
  msg = ExpectError(RunWith(env, Conf("1.1.0", none.socket())), 11, "1.1.0");
  EXPECT_TRUE(Contains(msg, none.socket())) << msg;
}

// --- robustness ----------------------------------------------------------------------------

TEST(CniPluginTest, ArbitraryInputNeverCrashesAndErrorsAreJson) {
  NoAgent agent;
  json good = Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv")));
  std::string text = good.dump();
  Strings inputs = {"",
                    "{",
                    "}",
                    "null",
                    "[[[[",
                    "{\"a\":\"\\ud800\"}",
                    "{\"a\":1e999}",
                    "\xff\xfe\x00",
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"interfaces\":[{}]}}"};
  for (size_t cut = 0; cut < text.size(); cut += 7) inputs.push_back(text.substr(0, cut));  // truncations
  std::string flipped = text;
  for (size_t i = 0; i < flipped.size(); i += 13) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  inputs.push_back(flipped);
  for (const char* command : {"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"}) {
    for (const std::string& input : inputs) {
      PluginRun r = RunWith(MakeEnv(command), input);
      if (r.status == 0) continue;
      EXPECT_EQ(r.status, 1);
      ASSERT_TRUE(r.result.is_object()) << command << " on '" << input << "' printed: " << r.out;
      EXPECT_TRUE(r.result["code"].is_number_integer()) << r.out;
    }
  }
}

}  // namespace
}  // namespace netfence::cni
