// SPDX-License-Identifier: Apache-2.0
// One page of a Kubernetes LIST response, parsed (pager.h fetches the pages). Apart from the
// HTTP client so that it can be fuzzed and tested on its own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controlplane/kube/resources.h"

namespace netfence::kube {

// Its RV, its continue token, its items (kind and apiVersion filled in from the resource when
// the page omits them, as list items do).
struct Page {
  std::string resource_version;
  std::string continue_token;
  std::vector<nlohmann::json> items;
};

// Parses a page body; false with *error naming what is wrong (nesting depth, not an object,
// no metadata, items not a list).
bool ParsePage(const std::string& body, const ResourceSpec& resource, Page* page, std::string* error);

}  // namespace netfence::kube
