// SPDX-License-Identifier: Apache-2.0
// Reading manifests: YAML or JSON files (multi-document YAML, `List` kinds such as
// NetworkPolicyList or v1 List) and whole directories. Invalid objects are rejected one by
// one with their errors; every valid object is kept.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controlplane/k8s/decode.h"
#include "controlplane/k8s/errors.h"
#include "controlplane/k8s/model.h"

namespace netfence::k8s {

struct LoadResult {
  ClusterState state;
  std::vector<ObjectError> errors;           // rejected objects, and files that did not parse
  std::map<std::string, int> ignored_kinds;  // objects of kinds netfence does not read
  int files = 0;
  std::map<std::string, std::string> sources;  // "Kind ns/name" -> where it was first defined
};

// Every *.yaml, *.yml and *.json file under `dir` (recursively, in path order).
LoadResult LoadManifestDir(const std::string& dir);
// One file's text; `source` names it in errors.
void LoadManifestText(const std::string& text, const std::string& source, LoadResult* out);
// Adds one decoded JSON object (or List of them) to `out`.
void AddManifestObject(const nlohmann::json& j, const std::string& source, LoadResult* out);

// Converts one YAML document to JSON the way the API server reads YAML (plain scalars that
// look like numbers, booleans or null become those; quoted scalars stay strings).
// Returns false with `error` on malformed YAML.
bool ParseYamlDocuments(const std::string& text, std::vector<nlohmann::json>* docs, std::string* error);

}  // namespace netfence::k8s
