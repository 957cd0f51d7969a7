// SPDX-License-Identifier: Apache-2.0
// The network configuration and prevResult parsers (dataplane/cni/netconf.h).
#include "dataplane/cni/netconf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace netfence::cni {
namespace {

using json = nlohmann::json;
using Strings = std::vector<std::string>;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// What the bridge plugin (with host-local IPAM) prints, in the 1.0.0 shape: the bridge, the
// pod's host-side veth, and eth0 inside the pod; ips[] without "version".
json BridgeResult100() {
  return json::parse(R"({
    "cniVersion": "1.0.0",
    "interfaces": [
      {"name": "cni0", "mac": "8a:3e:1c:00:00:01"},
      {"name": "veth1a2b3c4d", "mac": "9e:00:00:00:00:02"},
      {"name": "eth0", "mac": "0a:58:0a:16:00:05", "sandbox": "/var/run/netns/cni-1234"}
    ],
    "ips": [{"interface": 2, "address": "10.22.0.5/16", "gateway": "10.22.0.1"}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {}
  })");
}

// The same in the 0.4.0 shape: ips[].version, and an IPv6 address too; the bridge has an empty
// "sandbox" (some plugins print it so).
json BridgeResult040() {
  return json::parse(R"({
    "cniVersion": "0.4.0",
    "interfaces": [
      {"name": "cni0", "mac": "8a:3e:1c:00:00:01", "sandbox": ""},
      {"name": "veth1a2b3c4d", "mac": "9e:00:00:00:00:02"},
      {"name": "eth0", "mac": "0a:58:0a:16:00:05", "sandbox": "/var/run/netns/cni-1234"}
    ],
    "ips": [
      {"version": "4", "interface": 2, "address": "10.22.0.5/16", "gateway": "10.22.0.1"},
      {"version": "6", "interface": 2, "address": "fd00:22::5/64"}
    ],
    "dns": {"nameservers": ["10.96.0.10"]}
  })");
}

std::optional<CniError> Parse(const json& conf, NetConf* out) { return ParseNetConf(conf.dump(), out); }

json MinimalConf() { return {{"cniVersion", "1.0.0"}, {"name", "k8s-pod-network"}, {"type", "netfence"}}; }

TEST(NetConfTest, DefaultsAndOurKeys) {
  NetConf conf;
  ASSERT_FALSE(Parse(MinimalConf(), &conf));
  EXPECT_EQ(conf.cni_version, "1.0.0");
  EXPECT_EQ(conf.name, "k8s-pod-network");
  EXPECT_EQ(conf.type, "netfence");
  EXPECT_EQ(conf.socket, agent::kDefaultSocket);
  EXPECT_EQ(conf.timeout_seconds, 30) << "above the agent's ADD timeout (20 s)";
  EXPECT_EQ(conf.prev_result(), nullptr);

  json j = MinimalConf();
  j["socket"] = "/tmp/x.sock";
  j["timeoutSeconds"] = 3;
  j["someoneElsesKey"] = {{"nested", true}};  // unknown keys are tolerated
  j["prevResult"] = nullptr;                  // null counts as absent
  NetConf custom;
  ASSERT_FALSE(Parse(j, &custom));
  EXPECT_EQ(custom.socket, "/tmp/x.sock");
  EXPECT_EQ(custom.timeout_seconds, 3);
  EXPECT_EQ(custom.prev_result(), nullptr);
}

TEST(NetConfTest, EverySupportedVersionParses) {
  for (std::string_view v : kSupportedVersions) {
    json j = MinimalConf();
    j["cniVersion"] = std::string(v);
    NetConf conf;
    EXPECT_FALSE(Parse(j, &conf)) << v;
  }
  EXPECT_TRUE(VersionAtLeast("1.1.0", "0.4.0"));
  EXPECT_TRUE(VersionAtLeast("0.4.0", "0.4.0"));
  EXPECT_FALSE(VersionAtLeast("0.3.1", "0.4.0"));
  EXPECT_FALSE(VersionAtLeast("1.0.0", "1.1.0"));
  EXPECT_FALSE(VersionAtLeast("2.0.0", "0.3.0"));
}

TEST(NetConfTest, MalformedJsonIsCode6WithTheParsersReason) {
  for (const char* text : {"", "{", "{\"cniVersion\": }", "[1,2", "{} trailing", "nul"}) {
    NetConf conf;
    auto e = ParseNetConf(text, &conf);
    ASSERT_TRUE(e) << text;
    EXPECT_EQ(e->code, 6) << text;
    EXPECT_TRUE(Contains(e->msg, "decoding the network configuration: ")) << e->msg;
    EXPECT_FALSE(Contains(e->msg, "[json.exception")) << e->msg;
  }
  NetConf conf;
  auto e = ParseNetConf("{\"name\": x}", &conf);
  ASSERT_TRUE(e);
  EXPECT_TRUE(Contains(e->msg, "line 1, column 10")) << e->msg;

  for (const char* text : {"[]", "\"text\"", "42", "null"}) {
    auto not_object = ParseNetConf(text, &conf);
    ASSERT_TRUE(not_object) << text;
    EXPECT_EQ(not_object->code, 6) << text;
    EXPECT_TRUE(Contains(not_object->msg, "must be a JSON object")) << not_object->msg;
  }
}

TEST(NetConfTest, NestingIsBounded) {
  std::string deep = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"x\":" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  NetConf conf;
  auto e = ParseNetConf(deep, &conf);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 6);
  EXPECT_TRUE(Contains(e->msg, "nested deeper than 128 levels")) << e->msg;

  std::string ok = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"x\":" + std::string(100, '[') +
                   std::string(100, ']') + "}";
  EXPECT_FALSE(ParseNetConf(ok, &conf));
}

struct FieldCase {
  const char* what;
  json patch;  // merged into MinimalConf (null values remove the key)
  int code;
  const char* needle;  // must appear in msg
};

TEST(NetConfTest, InvalidFieldsAreNamed) {
  const FieldCase cases[] = {
      {"no name", {{"name", nullptr}}, 7, "missing field 'name'"},
      {"empty name", {{"name", ""}}, 7, "field 'name' must be a non-empty string"},
      {"name not a string", {{"name", 5}}, 7, "field 'name' must be a non-empty string"},
      {"name with bad characters", {{"name", "bad name!"}}, 7, "network name 'bad name!'"},
      {"no type", {{"type", nullptr}}, 7, "missing field 'type'"},
      {"type not a string", {{"type", {1}}}, 7, "field 'type' must be a non-empty string"},
      {"cniVersion not a string", {{"cniVersion", 1.0}}, 7, "field 'cniVersion' must be a string"},
      {"socket not a string", {{"socket", true}}, 7, "field 'socket'"},
      {"socket empty", {{"socket", ""}}, 7, "field 'socket'"},
      {"socket too long", {{"socket", "/" + std::string(120, 's')}}, 7, "field 'socket' is longer"},
      {"timeout zero", {{"timeoutSeconds", 0}}, 7, "field 'timeoutSeconds'"},
      {"timeout negative", {{"timeoutSeconds", -5}}, 7, "field 'timeoutSeconds'"},
      {"timeout string", {{"timeoutSeconds", "10"}}, 7, "field 'timeoutSeconds'"},
      {"timeout fractional", {{"timeoutSeconds", 1.5}}, 7, "field 'timeoutSeconds'"},
      {"timeout huge", {{"timeoutSeconds", 18446744073709551615ull}}, 7, "field 'timeoutSeconds'"},
      {"prevResult not an object", {{"prevResult", "x"}}, 7, "field 'prevResult' must be an object"},
      {"unsupported version", {{"cniVersion", "2.0.0"}}, 1, "cniVersion is \"2.0.0\""},
      {"old version", {{"cniVersion", "0.2.0"}}, 1, "netfence supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"},
      {"no version", {{"cniVersion", nullptr}}, 1, "no cniVersion (which means 0.1.0)"},
  };
  for (const FieldCase& c : cases) {
    json j = MinimalConf();
    j.merge_patch(c.patch);
    NetConf conf;
    auto e = Parse(j, &conf);
    ASSERT_TRUE(e) << c.what;
    EXPECT_EQ(e->code, c.code) << c.what << ": " << e->msg;
    EXPECT_TRUE(Contains(e->msg, c.needle)) << c.what << ": " << e->msg;
  }
}

TEST(NetConfTest, UnsupportedVersionErrorKeepsTheVersionRead) {
  json j = MinimalConf();
  j["cniVersion"] = "9.9.9";
  NetConf conf;
  auto e = Parse(j, &conf);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 1);
  EXPECT_EQ(e->msg.rfind("incompatible CNI versions", 0), 0u) << e->msg;
  EXPECT_EQ(conf.cni_version, "9.9.9");
}

TEST(PrevResultTest, Bridge100Shape) {
  PrevResult r;
  ASSERT_FALSE(ParsePrevResult(BridgeResult100(), &r));
  EXPECT_EQ(r.host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(r.ips, (Strings{"10.22.0.5/16"}));
}

TEST(PrevResultTest, Bridge040ShapeWithVersionFields) {
  PrevResult r;
  ASSERT_FALSE(ParsePrevResult(BridgeResult040(), &r));
  EXPECT_EQ(r.host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(r.ips, (Strings{"10.22.0.5/16", "fd00:22::5/64"}));
}

TEST(PrevResultTest, MinimalAndEmptyResults) {
  PrevResult r;
  ASSERT_FALSE(ParsePrevResult(json::object(), &r));
  EXPECT_TRUE(r.host_interfaces.empty());
  EXPECT_TRUE(r.ips.empty());

  // ptp: only the host veth and eth0; a duplicate host interface is listed once.
  json ptp = {{"interfaces", {{{"name", "veth9"}}, {{"name", "veth9"}}, {{"name", "eth0"}, {"sandbox", "/ns"}}}},
              {"ips", nullptr}};
  PrevResult p;
  ASSERT_FALSE(ParsePrevResult(ptp, &p));
  EXPECT_EQ(p.host_interfaces, (Strings{"veth9"}));
}

TEST(PrevResultTest, MalformedResultsNameTheField) {
  struct Case {
    json prev;
    const char* needle;
  };
  const Case cases[] = {
      {json::array(), "field 'prevResult' must be an object"},
      {{{"interfaces", "cni0"}}, "field 'prevResult.interfaces' must be an array"},
      {{{"interfaces", {7}}}, "field 'prevResult.interfaces[0]' must be an object"},
      {{{"interfaces", {{{"mac", "x"}}}}}, "missing field 'prevResult.interfaces[0].name'"},
      {{{"interfaces", {{{"name", "a"}}, {{"name", 3}}}}}, "field 'prevResult.interfaces[1].name' must be"},
      {{{"interfaces", {{{"name", "a"}, {"sandbox", 1}}}}},
       "field 'prevResult.interfaces[0].sandbox' must be a string"},
      {{{"interfaces", {{{"name", "a-name-longer-than-15"}}}}},
       "'prevResult.interfaces[0].name': interface name is too long"},
      {{{"ips", {{"address", "10.0.0.1/8"}}}}, "field 'prevResult.ips' must be an array"},
      {{{"ips", {"10.0.0.1/8"}}}, "field 'prevResult.ips[0]' must be an object"},
      {{{"ips", {{{"gateway", "10.0.0.1"}}}}}, "missing field 'prevResult.ips[0].address'"},
      {{{"ips", {{{"address", "10.0.0.5/24"}}, {{"address", "10.0.0.6"}}}}},
       "'prevResult.ips[1].address' must be an address with its prefix length, not '10.0.0.6'"},
      {{{"ips", {{{"address", "not-an-ip/24"}}}}}, "'prevResult.ips[0].address'"},
      {{{"ips", {{{"address", "10.0.0.5/33"}}}}}, "'prevResult.ips[0].address'"},
  };
  for (const Case& c : cases) {
    PrevResult r;
    auto e = ParsePrevResult(c.prev, &r);
    ASSERT_TRUE(e) << c.prev.dump();
    EXPECT_EQ(e->code, 7) << c.prev.dump();
    EXPECT_TRUE(Contains(e->msg, c.needle)) << c.prev.dump() << " -> " << e->msg;
  }
}

TEST(ValidAttachmentsTest, SpecKeyLegacyKeyAndAbsence) {
  json conf = MinimalConf();
  conf["cni.dev/valid-attachments"] = {{{"containerID", "c1"}, {"ifname", "eth0"}},
                                       {{"containerID", "c2"}, {"ifname", "net1"}}};
  conf["cni.dev/attachments"] = {{{"containerID", "ignored"}, {"ifname", "eth0"}}};
  std::vector<agent::Attachment> valid;
  ASSERT_FALSE(ParseValidAttachments(conf, &valid));
  EXPECT_EQ(valid, (std::vector<agent::Attachment>{{"c1", "eth0"}, {"c2", "net1"}}));

  json legacy = MinimalConf();
  legacy["cni.dev/attachments"] = {{{"containerID", "c3"}, {"ifname", "eth0"}}};
  std::vector<agent::Attachment> old;
  ASSERT_FALSE(ParseValidAttachments(legacy, &old));
  EXPECT_EQ(old, (std::vector<agent::Attachment>{{"c3", "eth0"}}));

  for (const json& absent : {MinimalConf(), json::object()}) {
    std::vector<agent::Attachment> none;
    EXPECT_FALSE(ParseValidAttachments(absent, &none));
    EXPECT_TRUE(none.empty());
  }
  json null_list = MinimalConf();
  null_list["cni.dev/valid-attachments"] = nullptr;
  std::vector<agent::Attachment> none;
  EXPECT_FALSE(ParseValidAttachments(null_list, &none));
  EXPECT_TRUE(none.empty());
}

TEST(ValidAttachmentsTest, MalformedListsNameTheField) {
  struct Case {
    json list;
    const char* needle;
  };
  const Case cases[] = {
      {"c1", "field 'cni.dev/valid-attachments' must be an array"},
      {{1}, "field 'cni.dev/valid-attachments[0]' must be an object"},
      {{{{"ifname", "eth0"}}}, "missing field 'cni.dev/valid-attachments[0].containerID'"},
      {{{{"containerID", "c1"}}}, "missing field 'cni.dev/valid-attachments[0].ifname'"},
      {{{{"containerID", "c1"}, {"ifname", 0}}}, "field 'cni.dev/valid-attachments[0].ifname' must be"},
  };
  for (const Case& c : cases) {
    json conf = MinimalConf();
    conf["cni.dev/valid-attachments"] = c.list;
    std::vector<agent::Attachment> valid;
    auto e = ParseValidAttachments(conf, &valid);
    ASSERT_TRUE(e) << c.list.dump();
    EXPECT_EQ(e->code, 7);
    EXPECT_TRUE(Contains(e->msg, c.needle)) << e->msg;
  }
}

}  // namespace
}  // namespace netfence::cni
