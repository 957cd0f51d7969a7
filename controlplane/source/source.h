// SPDX-License-Identifier: Apache-2.0
// Sources of cluster state. Every source (the Kubernetes API, a manifest directory) turns
// what it sees into the same stream: batches of upserts and deletes of Namespaces, Pods and
// NetworkPolicies, a "synced" signal once the first complete state has been delivered, and
// one rejection per invalid object. Consumers (the controller's compiler, the agent's
// embedded compiler, netfencectl) never know which source feeds them.
//
// Threading: a source calls its Observer on the io_context it was given, never from
// another thread, and never re-entrantly.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "controlplane/k8s/decode.h"
#include "controlplane/k8s/errors.h"

namespace netfence::source {

enum class Op : uint8_t { kUpsert, kDelete };

struct Event {
  Op op = Op::kUpsert;
  // kUpsert: the object as it is now (valid). kDelete: the last known version; only its
  // kind and metadata matter.
  k8s::Object object;
};

// "Pod shop/web-1", "Namespace shop": the key of an object in a store and in messages.
std::string ObjectKey(const k8s::Object& o);
std::string ObjectKey(const std::string& kind, const std::string& ns, const std::string& name);

class Observer {
 public:
  virtual ~Observer() = default;
  // Changes to apply together (a relist's difference, a re-read directory): consumers
  // compile once per batch.
  virtual void OnEvents(std::vector<Event> events) = 0;
  // Every kind has been listed once and delivered: the state is complete. Called once;
  // later relists are ordinary batches.
  virtual void OnSynced() = 0;
  // An object that failed decoding or validation. The previous valid version of that object
  // (if any) stays in force: no event is emitted for it.
  virtual void OnRejected(const k8s::ObjectError& error) = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  // Starts delivering to `observer` (which outlives the source). May deliver synchronously
  // before returning. Fails when the source cannot start at all (bad configuration).
  virtual Status Start(Observer* observer) = 0;
  // "manifests /etc/netfence", "kubernetes https://10.0.0.1:6443": for logs and status.
  virtual std::string Describe() const = 0;
};

}  // namespace netfence::source
