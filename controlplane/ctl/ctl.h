// SPDX-License-Identifier: Apache-2.0
// netfencectl: the commands, and what they share (loading a cluster, reading flags).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/classifier/classifier.h"
#include "controlplane/k8s/manifests.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::ctl {

// Where the cluster comes from: --manifests DIR, or the live cluster through --kubeconfig
// FILE (with neither: $KUBECONFIG, the in-cluster service account, ~/.kube/config), read
// with the controller's Kubernetes client.
struct SourceFlags {
  std::string manifests;
  std::string kubeconfig;
  int timeout_s = 30;
  std::string default_enforcement = "enforce";  // the controller's --default-enforcement
  bool audit_by_default() const { return default_enforcement == "audit"; }
  void Add(CLI::App* cmd);
};

// Loads the cluster; on any invalid object prints every error to stderr and returns nullopt.
std::optional<k8s::ClusterState> LoadCluster(const SourceFlags& flags);

// The compiled tables and a classifier over them.
struct Compiled {
  std::shared_ptr<const v1::RuleTables> tables;
  std::shared_ptr<const classifier::Classifier> classifier;
};
std::optional<Compiled> CompileCluster(const k8s::ClusterState& state, bool audit_by_default);

// "TCP" / "udp" / "Sctp" -> protocol; nullopt for anything else.
std::optional<k8s::Protocol> ParseProtocolFlag(const std::string& s);

void AddMatrixCommand(CLI::App* app);
void AddExplainCommand(CLI::App* app);
void AddDiffCommand(CLI::App* app);
void AddCompileCommand(CLI::App* app);
void AddFlowsCommand(CLI::App* app);
void AddStatusCommand(CLI::App* app);
void AddStatsCommand(CLI::App* app);

}  // namespace netfence::ctl
