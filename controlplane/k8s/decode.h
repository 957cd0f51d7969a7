// SPDX-License-Identifier: Apache-2.0
// Decoding Kubernetes objects from JSON (the API server's wire form; YAML manifests are
// converted to the same JSON first). Decoding checks types and shapes; validate.h checks
// the API server's value rules. Both report FieldErrors with the field path.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <variant>

#include "controlplane/k8s/errors.h"
#include "controlplane/k8s/model.h"

namespace netfence::k8s {

using Object = std::variant<Namespace, Pod, NetworkPolicy, Node, ClusterNetworkPolicy>;

// "Namespace", "Pod", "NetworkPolicy", "Node", or a cluster policy's kind (ClusterNetworkPolicy,
// AdminNetworkPolicy, BaselineAdminNetworkPolicy).
std::string KindOf(const Object& o);
const ObjectMeta& MetaOf(const Object& o);

// Decodes one object of kind Namespace, Pod, Node, NetworkPolicy, ClusterNetworkPolicy
// (v1alpha2), AdminNetworkPolicy or BaselineAdminNetworkPolicy (v1alpha1), then validates it.
// Returns the object only when it adds no error; otherwise the errors appended to `errors`
// name each field.
// Objects of other kinds return nullopt with no error (`*ignored_kind` says which kind).
std::optional<Object> DecodeObject(const nlohmann::json& j, FieldErrors* errors, std::string* ignored_kind = nullptr);

// The identity fields of any object, for error messages (best effort on broken input).
void IdentifyObject(const nlohmann::json& j, std::string* kind, std::string* ns, std::string* name);

}  // namespace netfence::k8s
