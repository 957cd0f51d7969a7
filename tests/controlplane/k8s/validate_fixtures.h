// SPDX-License-Identifier: Apache-2.0
// Shared by the validation tests: Validate() overloads returning the errors, and a valid Pod.
#pragma once

#include "controlplane/k8s/validate.h"

namespace netfence::k8s::validate_fixtures {

inline FieldErrors Validate(const NetworkPolicy& np) {
  FieldErrors errors;
  ValidateNetworkPolicy(np, &errors);
  return errors;
}

inline FieldErrors Validate(const Pod& pod) {
  FieldErrors errors;
  ValidatePod(pod, &errors);
  return errors;
}

inline FieldErrors Validate(const Namespace& ns) {
  FieldErrors errors;
  ValidateNamespace(ns, &errors);
  return errors;
}

inline Pod ValidPod() {
  Pod pod;
  pod.meta.name = "web-0";
  pod.meta.ns = "prod";
  pod.meta.labels = {{"app", "web"}, {"app.kubernetes.io/part-of", "shop"}};
  pod.pod_ips = {"10.0.0.5", "fd00::5"};
  pod.ports = {{"http", 8080, "TCP"}, {"dns", 53, "UDP"}, {"", 9000, "SCTP"}};
  return pod;
}

}  // namespace netfence::k8s::validate_fixtures
