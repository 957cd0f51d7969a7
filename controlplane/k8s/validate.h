// SPDX-License-Identifier: Apache-2.0
// Validation with the API server's rules (k8s.io/apimachinery validation and
// pkg/apis/networking/validation), each failure a FieldError naming the field path.
// DecodeObject calls these after decoding; a valid object has no errors.
#pragma once

#include <string>
#include <string_view>

#include "controlplane/k8s/errors.h"
#include "controlplane/k8s/model.h"

namespace netfence::k8s {

void ValidateNamespace(const Namespace& ns, FieldErrors* errors);
void ValidatePod(const Pod& pod, FieldErrors* errors);
void ValidateNetworkPolicy(const NetworkPolicy& np, FieldErrors* errors);
void ValidateNode(const Node& node, FieldErrors* errors);  // metadata; addresses are checked when decoded

// Building blocks, exposed for tests and for other object kinds later.
void ValidateObjectMeta(const ObjectMeta& meta, bool namespaced, FieldErrors* errors);
// The annotation netfence.io/enforcement, when present, is "audit" or "enforce" (Namespace,
// NetworkPolicy, cluster policies; other objects ignore it).
void ValidateEnforcement(const ObjectMeta& meta, FieldErrors* errors);
void ValidateLabels(const Labels& labels, const std::string& path, FieldErrors* errors);
void ValidateLabelSelector(const LabelSelector& sel, const std::string& path, FieldErrors* errors);

bool IsQualifiedName(std::string_view s);     // label key: [prefix/]name
bool IsValidLabelValue(std::string_view s);   // <= 63, alnum ends, [-_.] inside, or empty
bool IsDNS1123Label(std::string_view s);      // namespace names
bool IsDNS1123Subdomain(std::string_view s);  // object names
bool IsValidPortName(std::string_view s);     // IANA_SVC_NAME: <= 15, [a-z0-9-], a letter, no "--"
std::string Quote(std::string_view s);        // a value the way the API server prints strings ("..." escaped)

}  // namespace netfence::k8s
