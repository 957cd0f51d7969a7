// SPDX-License-Identifier: Apache-2.0
// Reading manifests: YAML and JSON files, multi-document YAML, List kinds, directories
// where invalid objects are rejected one by one and the valid ones kept.
#include "controlplane/k8s/manifests.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace netfence::k8s {
namespace {

namespace fs = std::filesystem;
using Type = FieldError::Type;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/netfence-manifests-XXXXXX";
    const char* made = mkdtemp(tmpl);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Write(const std::string& rel, const std::string& text) const {
    fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::string path_;
};

std::string Dump(const std::vector<ObjectError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e.str();
  return out.empty() ? " (none)" : out;
}

LoadResult LoadText(const std::string& text, const std::string& source) {
  LoadResult r;
  LoadManifestText(text, source, &r);
  return r;
}

constexpr char kNamespaceYaml[] = R"(apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    team: a
)";

constexpr char kPodYaml[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: prod
  labels: {app: web}
spec:
  containers:
  - name: app
    ports:
    - name: http
      containerPort: 8080
status:
  podIP: 10.0.0.5
)";

constexpr char kPolicyYaml[] = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-http
  namespace: prod
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - ports:
    - port: http
    - port: 80
      endPort: 90
)";

TEST(ManifestsTest, MultiDocumentYaml) {
  std::string text =
      std::string("---\n") + kNamespaceYaml + "---\n" + kPodYaml + "---\n# only a comment\n---\n" + kPolicyYaml;
  auto r = LoadText(text, "all.yaml");
  EXPECT_TRUE(r.errors.empty()) << Dump(r.errors);
  ASSERT_EQ(r.state.namespaces.size(), 1u);
  ASSERT_EQ(r.state.pods.size(), 1u);
  ASSERT_EQ(r.state.policies.size(), 1u);
  EXPECT_EQ(r.state.namespaces[0].meta.labels.at("team"), "a");
  EXPECT_EQ(r.state.pods[0].ResolveNamedPort("http", Protocol::kTCP), 8080);
  const auto& ports = r.state.policies[0].ingress.at(0).ports;
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].str(), "TCP/http");
  EXPECT_EQ(ports[1].str(), "TCP/80-90");
}

TEST(ManifestsTest, JsonFile) {
  auto r = LoadText(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"prod"},
    "status":{"podIPs":[{"ip":"10.0.0.7"},{"ip":"fd00::7"}]}})",
                    "db.json");
  EXPECT_TRUE(r.errors.empty()) << Dump(r.errors);
  ASSERT_EQ(r.state.pods.size(), 1u);
  EXPECT_EQ(r.state.pods[0].pod_ips.size(), 2u);
}

TEST(ManifestsTest, V1ListOfMixedKinds) {
  auto r = LoadText(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: prod}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny, namespace: prod}
  spec: {podSelector: {}}
)",
                    "list.yaml");
  EXPECT_TRUE(r.errors.empty()) << Dump(r.errors);
  EXPECT_EQ(r.state.namespaces.size(), 1u);
  EXPECT_EQ(r.state.policies.size(), 1u);
  EXPECT_EQ(r.ignored_kinds["Service"], 1);
}

TEST(ManifestsTest, NetworkPolicyListItemsInheritKindAndApiVersion) {
  auto r = LoadText(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicyList","items":[
      {"metadata":{"name":"a","namespace":"prod"},"spec":{"podSelector":{}}},
      {"metadata":{"name":"b","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Egress"]}}]})",
                    "policies.json");
  EXPECT_TRUE(r.errors.empty()) << Dump(r.errors);
  ASSERT_EQ(r.state.policies.size(), 2u);
  EXPECT_EQ(r.state.policies[1].meta.name, "b");
  EXPECT_TRUE(r.state.policies[1].CoversEgress());
}

TEST(ManifestsTest, InvalidListItemNamedByIndex) {
  auto r = LoadText(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicyList","items":[
      {"metadata":{"name":"ok"},"spec":{"podSelector":{}}},
      {"metadata":{"name":"bad"},"spec":{"podSelector":{},"policyTypes":["Sideways"]}}]})",
                    "policies.json");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_EQ(r.errors[0].source, "policies.json items[1]");
  EXPECT_EQ(r.errors[0].name, "bad");
  EXPECT_EQ(r.state.policies.size(), 1u);
}

TEST(ManifestsTest, QuotedPortStaysString) {
  // "80" quoted is a named port, and not a valid one (no letter): the API server says so too.
  auto r = LoadText(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: quoted, namespace: prod}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: "80"
)",
                    "quoted.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  ASSERT_FALSE(r.errors[0].errors.empty());
  const auto& e = r.errors[0].errors[0];
  EXPECT_EQ(e.path, "spec.ingress[0].ports[0].port");
  EXPECT_EQ(e.value, "\"80\"");
  EXPECT_NE(e.detail.find("must contain at least one letter"), std::string::npos);
  EXPECT_TRUE(r.state.policies.empty());
}

TEST(ManifestsTest, YamlScalarsBecomeJsonTypes) {
  std::vector<nlohmann::json> docs;
  std::string error;
  ASSERT_TRUE(ParseYamlDocuments("a: 80\nb: \"80\"\nc: true\nd: ~\ne: web\nf: '7'\ng: -3\nh: 1.5\n---\n[1, x]\n", &docs,
                                 &error))
      << error;
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["a"], 80);
  EXPECT_EQ(docs[0]["b"], "80");
  EXPECT_EQ(docs[0]["c"], true);
  EXPECT_TRUE(docs[0]["d"].is_null());
  EXPECT_EQ(docs[0]["e"], "web");
  EXPECT_EQ(docs[0]["f"], "7");
  EXPECT_EQ(docs[0]["g"], -3);
  EXPECT_TRUE(docs[0]["h"].is_number_float());
  EXPECT_EQ(docs[1], nlohmann::json::parse(R"([1, "x"])"));
}

TEST(ManifestsTest, MalformedYamlNamedByFile) {
  auto r = LoadText("kind: Pod\nmetadata: {name: [unclosed\n", "dir/broken.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].source, "dir/broken.yaml");
  EXPECT_NE(r.errors[0].str().find("dir/broken.yaml"), std::string::npos);
  EXPECT_NE(r.errors[0].str().find("malformed YAML"), std::string::npos);
}

TEST(ManifestsTest, MalformedJsonNamedByFile) {
  auto r = LoadText(R"({"kind": "Pod",)", "broken.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].source, "broken.json");
  EXPECT_EQ(r.errors[0].errors.at(0).path, "<file>");
}

TEST(ManifestsTest, DirectoryKeepsValidRejectsInvalid) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  dir.Write("00-namespace.yaml", kNamespaceYaml);
  dir.Write("pods/web.yml", kPodYaml);
  // The second document of this file is invalid; the first and third are fine.
  std::string bad_file = dir.Write("policies.yaml", std::string(kPolicyYaml) + R"(---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad-range
  namespace: prod
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 80
      endPort: 70
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: prod}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
)");
  dir.Write(
      "extra/db.json",
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","namespace":"prod"},"status":{"podIP":"10.0.0.9"}})");
  dir.Write("README.md", "not a manifest");

  auto r = LoadManifestDir(dir.path());
  EXPECT_EQ(r.files, 4);
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  const auto& e = r.errors[0];
  EXPECT_EQ(e.source, bad_file + " (document 2)");
  EXPECT_EQ(e.kind, "NetworkPolicy");
  EXPECT_EQ(e.ns, "prod");
  EXPECT_EQ(e.name, "bad-range");
  std::string msg = e.str();
  EXPECT_NE(msg.find("policies.yaml (document 2): NetworkPolicy \"prod/bad-range\" is invalid: "
                     "spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to `port`"),
            std::string::npos)
      << msg;

  EXPECT_EQ(r.state.namespaces.size(), 1u);
  EXPECT_EQ(r.state.pods.size(), 2u);
  ASSERT_EQ(r.state.policies.size(), 2u);
  EXPECT_EQ(r.state.policies[0].meta.name, "allow-http");
  EXPECT_EQ(r.state.policies[1].meta.name, "deny-all");
}

TEST(ManifestsTest, InvalidObjectWithoutNamespaceNamedInDefault) {
  auto r = LoadText(R"(apiVersion: v1
kind: Pod
metadata: {name: Web}
)",
                    "pod.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ns, "default");
  EXPECT_NE(r.errors[0].str().find("Pod \"default/Web\" is invalid: metadata.name: Invalid value: \"Web\""),
            std::string::npos)
      << r.errors[0].str();
}

TEST(ManifestsTest, DuplicateObjectRejectedFirstKept) {
  TempDir dir;
  dir.Write("a.yaml", kPolicyYaml);
  dir.Write("b.yaml", kPolicyYaml);
  dir.Write("c.yaml", kNamespaceYaml);
  auto r = LoadManifestDir(dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_EQ(r.errors[0].kind, "NetworkPolicy");
  EXPECT_EQ(r.errors[0].name, "allow-http");
  ASSERT_EQ(r.errors[0].errors.size(), 1u);
  EXPECT_EQ(r.errors[0].errors[0].type, Type::kDuplicate);
  // Both places are named: the rejected copy's file, and where the kept one is.
  EXPECT_NE(r.errors[0].source.find("b.yaml"), std::string::npos) << r.errors[0].str();
  EXPECT_NE(r.errors[0].errors[0].detail.find("a.yaml"), std::string::npos) << r.errors[0].str();
  EXPECT_EQ(r.state.policies.size(), 1u);
  EXPECT_EQ(r.state.namespaces.size(), 1u);
}

TEST(ManifestsTest, AliasBombIsRejectedNotExpanded) {
  std::string yaml = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  const char* names = "abcdefgh";
  for (int i = 1; i < 8; ++i) {
    yaml += std::string(1, names[i]) + ": &" + names[i] + " [";
    for (int k = 0; k < 10; ++k) yaml += std::string(k ? "," : "") + "*" + names[i - 1];
    yaml += "]\n";
  }  // 10^8 nodes if expanded
  LoadResult r;
  LoadManifestText(yaml, "bomb.yaml", &r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].str().find("through aliases"), std::string::npos) << r.errors[0].str();
}

TEST(ManifestsTest, MalformedStreamThatLoopsYamlCppLoadAllIsRejected) {
  // Found by fuzzing: yaml-cpp 0.7's LoadAll never returns on this stream (and allocates
  // until the process dies). netfence parses document by document and reports it.
  TempDir dir;
  std::ifstream in(std::string(NETFENCE_SOURCE_DIR) + "/tests/controlplane/k8s/testdata/yaml_cpp_loadall_loop.yaml");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty());
  dir.Write("loop.yaml", text.str());
  auto r = LoadManifestDir(dir.path());
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_NE(r.errors[0].str().find("loop.yaml"), std::string::npos);
  EXPECT_NE(r.errors[0].str().find("malformed YAML"), std::string::npos) << r.errors[0].str();
}

TEST(ManifestsTest, DocumentsSplitOnSeparatorsWithComments) {
  LoadResult r;
  LoadManifestText(
      "--- # first\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n...\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
      "t.yaml", &r);
  ASSERT_TRUE(r.errors.empty()) << Dump(r.errors);
  ASSERT_EQ(r.state.namespaces.size(), 2u);
  EXPECT_EQ(r.state.namespaces[1].meta.name, "b");
}

TEST(ManifestsTest, YamlIsReadAsYaml12SoYAndOnStayStrings) {
  LoadResult r;
  LoadManifestText("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: y, labels: {debug: on}}\n", "t.yaml", &r);
  ASSERT_TRUE(r.errors.empty()) << Dump(r.errors);
  ASSERT_EQ(r.state.pods.size(), 1u);
  EXPECT_EQ(r.state.pods[0].meta.ns, "y");
  EXPECT_EQ(r.state.pods[0].meta.labels.at("debug"), "on");
}

TEST(ManifestsTest, SameNameInOtherNamespaceOrKindIsNoDuplicate) {
  TempDir dir;
  dir.Write("a.yaml", kPolicyYaml);
  std::string other = kPolicyYaml;
  other.replace(other.find("namespace: prod"), 15, "namespace: dev");
  dir.Write("b.yaml", other);
  auto r = LoadManifestDir(dir.path());
  EXPECT_TRUE(r.errors.empty()) << Dump(r.errors);
  EXPECT_EQ(r.state.policies.size(), 2u);
}

TEST(ManifestsTest, MissingDirectory) {
  auto r = LoadManifestDir("/tmp/netfence-manifests-does-not-exist");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].source, "/tmp/netfence-manifests-does-not-exist");
  EXPECT_EQ(r.files, 0);
}

TEST(ManifestsTest, EmptyDirectory) {
  TempDir dir;
  auto r = LoadManifestDir(dir.path());
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.files, 0);
  EXPECT_TRUE(r.state.pods.empty());
}

}  // namespace
}  // namespace netfence::k8s
