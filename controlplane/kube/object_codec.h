// SPDX-License-Identifier: Apache-2.0
// Turning the API server's JSON into netfence's model objects, one resource at a time:
// decoding and validation are k8s::DecodeObject's (the API server's rules); this adds the
// resource's kind/apiVersion when the JSON omits them (list items do), names where an
// invalid object was seen ("watch pods"), and finds an object's last good version in a store.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "controlplane/k8s/decode.h"
#include "controlplane/k8s/errors.h"
#include "controlplane/kube/resources.h"
#include "controlplane/source/cluster_store.h"

namespace netfence::kube {

// The object, or nullopt with `*error` filled (source, kind, namespace, name, field errors).
// An object of another kind than the resource's is an error too.
std::optional<k8s::Object> DecodeResourceObject(const nlohmann::json& j, const ResourceSpec& resource,
                                                const std::string& source, k8s::ObjectError* error);

// The namespace and name of a (possibly invalid) object; false when it has no name.
bool ObjectName(const nlohmann::json& j, std::string* ns, std::string* name);

// The store's version of kind ns/name, if any.
std::optional<k8s::Object> FindInStore(const source::ClusterStore& store, const std::string& kind,
                                       const std::string& ns, const std::string& name);

}  // namespace netfence::kube
