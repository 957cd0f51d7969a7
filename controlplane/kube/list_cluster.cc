// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/list_cluster.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "controlplane/kube/pager.h"
#include "controlplane/kube/resources.h"

namespace netfence::kube {

namespace net = boost::asio;

namespace {

struct Outcome {
  bool done = false;
  ListResult list;
};

net::awaitable<void> ListOne(std::shared_ptr<ApiClient> client, const ResourceSpec& resource,
                             const ListClusterOptions& options, ConnectionSlot* slot, net::steady_timer* timer,
                             Outcome* out) {
  Backoff backoff(options.backoff, std::random_device{}());
  const ListRequest request{options.page_size, ""};
  for (;;) {
    ListResult r = co_await ListAll(*client, resource, request, slot);
    if (slot->stopped()) co_return;  // timed out: keep the last complete attempt's error
    out->list = std::move(r);
    const ApiError& e = out->list.error;
    if (out->list.ok || !(e.throttled() || e.server_error())) break;  // a 404 of a CRD's resource: none
    auto d = backoff.Next();
    if (e.retry_after) d = std::max(d, *e.retry_after);
    timer->expires_after(d);
    boost::system::error_code ec;
    co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
    if (slot->stopped()) co_return;
  }
  out->done = true;
}

}  // namespace

StatusOr<k8s::LoadResult> ListCluster(const KubeConfig& config, std::chrono::seconds timeout,
                                      const ListClusterOptions& options) {
  auto client = ApiClient::Create(config, options.client);
  if (!client.ok()) return client.status();
  net::io_context io;  // first: everything below holds sockets and timers of it
  const auto& resources = Resources();
  std::vector<Outcome> outcomes(resources.size());
  std::vector<ConnectionSlot> slots(resources.size());
  std::vector<std::unique_ptr<net::steady_timer>> timers;
  for (size_t i = 0; i < resources.size(); ++i) {
    timers.push_back(std::make_unique<net::steady_timer>(io));
    net::co_spawn(io, ListOne(*client, resources[i], options, &slots[i], timers[i].get(), &outcomes[i]), net::detached);
  }
  io.run_for(timeout);
  for (size_t i = 0; i < resources.size(); ++i) {
    slots[i].Stop();
    timers[i]->cancel();
  }
  io.restart();
  io.run();  // let the cancelled operations finish before the frames go away
  k8s::LoadResult result;
  for (size_t i = 0; i < resources.size(); ++i) {
    const Outcome& o = outcomes[i];
    const std::string what = "list " + resources[i].name + " from " + config.server;
    if (!o.done) {
      std::string last = o.list.error.message.empty() ? "" : " (last error: " + o.list.error.message + ")";
      return Status::Error(what + ": timed out after " + std::to_string(timeout.count()) + "s" + last);
    }
    if (!o.list.ok && !(resources[i].optional && o.list.error.http_status == 404)) {
      return Status::Error(o.list.error.message);
    }
  }
  for (size_t i = 0; i < resources.size(); ++i) {
    nlohmann::json list = {{"kind", resources[i].kind + "List"},
                           {"apiVersion", resources[i].api_version},
                           {"items", std::move(outcomes[i].list.items)}};
    k8s::AddManifestObject(list, "list " + resources[i].name, &result);
  }
  return result;
}

}  // namespace netfence::kube
