// SPDX-License-Identifier: Apache-2.0
// A complete LIST of one resource in pages, as client-go's pager and reflector do it:
//   - `limit=N` pages, following metadata.continue; continue pages carry no resourceVersion
//     (the token pins the list's RV, which every page shares);
//   - a continue token that expired (410 on a page after the first) restarts the list from
//     scratch, still in pages (client-go's pager falls back to one unpaged full list, which
//     for a large cluster is a body of hundreds of megabytes held whole: memory stays bounded
//     by one page here), at most kMaxContinueRestarts times before the list fails (the
//     reflector retries it with backoff);
//   - a relist asks for data not older than the last RV it saw (resourceVersion=RV with
//     resourceVersionMatch=NotOlderThan); when that RV is expired or too large it lists
//     the most recent state instead (client-go's relistResourceVersion).
// Items come back as JSON with kind and apiVersion filled in (list items omit them).
#pragma once

#include <utility>  // before awaitable.hpp (Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controlplane/kube/api_client.h"
#include "controlplane/kube/api_error.h"
#include "controlplane/kube/resources.h"

namespace netfence::kube {

inline constexpr int kMaxContinueRestarts = 3;

struct ListRequest {
  int page_size = 500;           // 0 = no limit
  std::string resource_version;  // "" = the most recent state; else not older than this
};

struct ListResult {
  bool ok = false;
  ApiError error;                // when !ok
  std::string resource_version;  // the list's RV (of its first page)
  std::vector<nlohmann::json> items;
  int pages = 0;
  int continue_restarts = 0;  // expired continue tokens that restarted the list
  int rv_fallbacks = 0;       // relists whose RV was expired or too large
};

// The query string for one page ("?limit=500&resourceVersion=7&resourceVersionMatch=NotOlderThan").
std::string ListQuery(int limit, const std::string& resource_version, const std::string& continue_token);

// (Callers pass `request` as a named variable: g++ 12 destroys a braced temporary argument
// of a coroutine twice.)
boost::asio::awaitable<ListResult> ListAll(ApiClient& client, const ResourceSpec& resource, const ListRequest& request,
                                           ConnectionSlot* slot);

}  // namespace netfence::kube
