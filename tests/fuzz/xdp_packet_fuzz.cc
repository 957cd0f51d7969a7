// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness (root: BPF): arbitrary frames through the XDP program with
// BPF_PROG_TEST_RUN, stateless, against a fixed cluster's tables. The program must end every
// frame with XDP_PASS or XDP_DROP, and whenever it parsed a new flow and decided it by policy,
// the user-space classifier must give the same verdict for the flow key the program read.
#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "common/classifier/classifier.h"
#include "controlplane/compiler/compiler.h"
#include "controlplane/k8s/manifests.h"
#include "tests/dataplane/xdp/xdp_harness.h"

namespace {

constexpr char kCluster[] = R"(
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIPs: [{ip: 10.0.0.2}, {ip: "fd00::2"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-in, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}, {ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}],
             ports: [{port: http}, {protocol: UDP, port: 53, endPort: 60}, {protocol: SCTP, port: 9}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-out, namespace: x}
spec: {podSelector: {matchLabels: {app: b}}, policyTypes: [Egress], egress: [{to: [{podSelector: {}}]}]}
)";

struct Fixture {
  std::unique_ptr<netfence::xdp::XdpProgram> program;
  std::unique_ptr<netfence::xdptest::Harness> harness;
  std::shared_ptr<const netfence::classifier::Classifier> classifier;
};

Fixture* Setup() {
  auto* f = new Fixture;
  netfence::k8s::LoadResult load;
  netfence::k8s::LoadManifestText(kCluster, "fuzz.yaml", &load);
  if (!load.errors.empty()) __builtin_trap();
  auto tables = std::make_shared<const netfence::v1::RuleTables>(netfence::compiler::Compile(load.state));
  auto c = netfence::classifier::Classifier::Load(tables);
  auto p = netfence::xdp::XdpProgram::Load(netfence::xdptest::StatelessOptions());
  if (!c.ok() || !p.ok()) {
    std::fprintf(stderr, "xdp_packet_fuzz: %s\n", (c.ok() ? p.status() : c.status()).message().c_str());
    std::abort();
  }
  f->classifier = *c;
  f->program = std::move(p).value();
  if (!f->program->Program(*tables).ok()) std::abort();
  f->harness = std::make_unique<netfence::xdptest::Harness>(*f->program);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = Setup();
  if (size < 14 || size > 4096) return 0;  // test-run refuses frames shorter than Ethernet
  const auto r = f->harness->Run(std::vector<uint8_t>(data, data + size));
  if (!r.ok) return 0;
  if (r.action != XDP_PASS && r.action != XDP_DROP) __builtin_trap();
  const nf_decision& d = r.decision;
  const bool by_policy =
      (r.action == XDP_PASS && d.path == NF_CNT_PASS_NEW) || (r.action == XDP_DROP && d.drop_reason == NF_DROP_POLICY);
  if (!d.parsed || !by_policy) return 0;
  netfence::IpAddr src, dst;
  std::copy(d.src, d.src + 16, src.bytes.begin());
  std::copy(d.dst, d.dst + 16, dst.bytes.begin());
  const auto want = f->classifier->Classify({src, dst, static_cast<uint8_t>(d.proto), static_cast<uint16_t>(d.dport)});
  if (want.allowed() != (r.action == XDP_PASS)) __builtin_trap();
  return 0;
}
