// SPDX-License-Identifier: Apache-2.0
// KubeSource: the Kubernetes API server as a source of cluster state (source.h). Three
// reflectors (reflector.h) mirror namespaces, pods and networkpolicies; their changes reach
// the Observer as batches, invalid objects as rejections, and OnSynced() comes once every
// kind has been listed completely. Everything runs and is delivered on the io_context
// given; nothing blocks it.
//
//   boost::asio::io_context io;
//   auto config = kube::ResolveKubeConfig(flag);            // kubeconfig, in-cluster, ...
//   kube::KubeSource source(io, *config);
//   if (Status st = source.Start(&observer); !st.ok()) ...  // bad TLS material, bad URL
//   io.run();
//
// Metrics() may be called from any thread (for the controller's Prometheus endpoint).
// Destroy the source before its io_context, on the io_context's thread or while it is not
// running.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/kube/api_client.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/metrics.h"
#include "controlplane/kube/reflector.h"
#include "controlplane/source/source.h"

namespace netfence::kube {

struct KubeSourceOptions {
  ClientOptions client;
  ReflectorOptions reflector;                   // the seed is varied per resource
  std::function<void(const std::string&)> log;  // one line per failure, relist, ...; may be empty
};

class KubeSource : public source::Source {
 public:
  KubeSource(boost::asio::io_context& io, KubeConfig config, KubeSourceOptions options = {});
  ~KubeSource() override;
  KubeSource(const KubeSource&) = delete;
  KubeSource& operator=(const KubeSource&) = delete;

  // Checks the configuration (URL, TLS material) and starts the reflectors; the first
  // events arrive later, on the io_context. Fails only on bad configuration: an unreachable
  // server is retried forever (see Metrics().resources[i].last_error).
  Status Start(source::Observer* observer) override;
  // "kubernetes https://10.0.0.1:6443"
  std::string Describe() const override;
  // Stops every request; the observer is not called any more.
  void Stop();

  KubeSourceMetrics Metrics() const { return metrics_->Snapshot(); }

 private:
  boost::asio::io_context& io_;
  KubeConfig config_;
  KubeSourceOptions options_;
  std::shared_ptr<KubeMetrics> metrics_;
  std::vector<std::shared_ptr<Reflector>> reflectors_;
  source::Observer* observer_ = nullptr;
  int listed_ = 0;
  bool synced_ = false;
};

}  // namespace netfence::kube
