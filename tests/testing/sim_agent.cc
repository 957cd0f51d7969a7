// SPDX-License-Identifier: Apache-2.0
#include "tests/testing/sim_agent.h"

namespace netfence::testing {

bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

tables::TableSet ExpectedNodeView(const tables::TableSet& all, const std::string& node) {
  tables::TableSet out;
  out.ipcache = all.ipcache;
  for (const auto& [name, e] : all.endpoints) {
    if (e.node() != node) continue;
    out.endpoints[name] = e;
    for (uint64_t t : {e.ingress_table(), e.egress_table()}) {
      const auto& table = all.tables.at(t);
      out.tables[t] = table;
      for (uint32_t id : table.identity_ids()) out.identities[id] = all.identities.at(id);
    }
    out.identities[e.identity()] = all.identities.at(e.identity());
  }
  return out;
}

std::string Difference(const tables::TableSet& held, const tables::TableSet& want) {
  std::string out;
  auto cmp = [&](const auto& x, const auto& y, const char* what) {
    for (const auto& [k, v] : x) {
      auto it = y.find(k);
      if (it == y.end()) {
        out += std::string(what) + ": one too many; ";
      } else if (it->second.SerializeAsString() != v.SerializeAsString()) {
        out += std::string(what) + ": differs; ";
      }
    }
    for (const auto& [k, v] : y) {
      if (!x.contains(k)) out += std::string(what) + ": one missing; ";
    }
  };
  cmp(held.identities, want.identities, "identity");
  cmp(held.ipcache, want.ipcache, "ipcache entry");
  cmp(held.endpoints, want.endpoints, "endpoint");
  cmp(held.tables, want.tables, "table");
  return out;
}

SimAgent::SimAgent(boost::asio::io_context& io, agent::ControllerClientOptions options, OnApplied on_applied,
                   bool assemble, Program program)
    : node_(options.node), on_applied_(std::move(on_applied)), assemble_(assemble), program_(std::move(program)) {
  client_ = std::make_unique<agent::ControllerClient>(io, std::move(options),
                                                      [this](v1::NodeUpdate u) { OnUpdate(std::move(u)); });
}

void SimAgent::Start(v1::EndpointReport endpoints) { client_->Start(generation_, std::move(endpoints)); }

void SimAgent::Stop() { client_->Stop(); }

void SimAgent::OnUpdate(v1::NodeUpdate u) {
  if (drop_next_) {
    drop_next_ = false;
    return;
  }
  if (!u.snapshot() && u.base_generation() != generation_) {
    ++resyncs_;
    client_->Resync("holding " + std::to_string(generation_) + ", delta for " + std::to_string(u.base_generation()));
    return;
  }
  last_bytes_ = u.ByteSizeLong();
  last_tables_ = u.tables_size();
  Status s = tables::ApplyUpdate(std::move(u), generation_, &set_);  // leaves the metadata in u
  if (!s.ok()) {
    client_->Ack(u.generation(), false, s.message());
    return;
  }
  if (assemble_ || program_) {
    v1::RuleTables tables = tables::Assemble(set_, u.generation(), {}, /*fast_path_ipcache=*/true);
    if (program_) program_(tables);
  }
  generation_ = u.generation();
  ++updates_;
  if (u.snapshot()) ++snapshots_;
  client_->SetHeld(generation_);
  client_->Ack(generation_, true);
  last_ = std::move(u);
  if (on_applied_) on_applied_(*this, last_);
}

}  // namespace netfence::testing
