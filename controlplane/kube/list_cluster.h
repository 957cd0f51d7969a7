// SPDX-License-Identifier: Apache-2.0
// A one-shot read of the live cluster for `netfencectl matrix|explain --kubeconfig`: paged
// lists of namespaces, pods and networkpolicies (in parallel, through the same client as
// the controller), decoded and validated exactly like a manifest directory. Invalid objects
// are in LoadResult::errors with the field named (source "list pods items[3]"); 429 and 5xx
// are retried with backoff (Retry-After honoured) until `timeout`; other failures (refused
// connection, TLS, 401/403) fail at once with the request and reason named.
#pragma once

#include <chrono>

#include "common/base/status.h"
#include "controlplane/k8s/manifests.h"
#include "controlplane/kube/api_client.h"
#include "controlplane/kube/backoff.h"
#include "controlplane/kube/kube_config.h"

namespace netfence::kube {

struct ListClusterOptions {
  ClientOptions client;
  int page_size = 500;
  BackoffPolicy backoff;
};

StatusOr<k8s::LoadResult> ListCluster(const KubeConfig& config, std::chrono::seconds timeout,
                                      const ListClusterOptions& options = {});

}  // namespace netfence::kube
