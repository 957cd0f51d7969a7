// SPDX-License-Identifier: Apache-2.0
#include "controlplane/embedded/embedded_table_source.h"

#include <boost/asio/post.hpp>

#include "common/tables/update_chunks.h"
#include "controlplane/controller/controller_core.h"
#include "controlplane/source/manifest_dir_source.h"

namespace netfence::embedded {
namespace {

using agent::TableSource;

// The embedded core's one session: messages go straight to the agent (posted, as from a
// stream), parts reassembled.
class LoopbackSession : public controller::Session {
 public:
  LoopbackSession(boost::asio::io_context& io, TableSource::OnUpdate* on_update) : io_(io), on_update_(on_update) {}
  void Send(std::vector<std::shared_ptr<const v1::ControllerMessage>> messages) override {
    for (auto& m : messages) {
      if (!m->has_update()) continue;
      if (tables::MergeUpdatePart(v1::NodeUpdate(m->update()), &partial_)) {
        boost::asio::post(io_, [cb = on_update_, u = std::move(partial_)]() mutable { (*cb)(std::move(u)); });
        partial_ = v1::NodeUpdate();
      }
    }
  }
  void Close(const std::string&) override {}

 private:
  boost::asio::io_context& io_;
  TableSource::OnUpdate* on_update_;
  v1::NodeUpdate partial_;
};

controller::CoreOptions CoreOptionsFor(std::function<void(const std::string&)> info,
                                       std::function<void(const std::string&)> warn, bool audit_by_default) {
  controller::CoreOptions o;
  o.audit_by_default = audit_by_default;
  o.max_part_bytes = SIZE_MAX;  // in-process: one message per update
  o.info = std::move(info);
  o.warn = std::move(warn);
  return o;
}

class EmbeddedTableSource : public TableSource {
 public:
  EmbeddedTableSource(boost::asio::io_context& io, std::string dir, std::string node,
                      std::function<void(const std::string&)> info, std::function<void(const std::string&)> warn,
                      bool audit_by_default)
      : io_(io), node_(std::move(node)), core_(io, CoreOptionsFor(info, warn, audit_by_default)),
        source_(io, std::move(dir), info) {
    core_.set_source_description(source_.Describe());
  }

  Status Start(uint64_t held, v1::EndpointReport endpoints, OnUpdate on_update) override {
    on_update_ = std::move(on_update);
    session_ = std::make_shared<LoopbackSession>(io_, &on_update_);
    v1::AgentMessage hello;
    hello.mutable_hello()->set_node(node_);
    hello.mutable_hello()->set_generation(held);
    hello.mutable_hello()->set_agent("netfence-agent (embedded)");
    *hello.mutable_hello()->mutable_endpoints() = std::move(endpoints);
    core_.OnMessage(session_, hello);
    return source_.Start(&core_);
  }
  void ReportEndpoints(v1::EndpointReport endpoints) override {
    v1::AgentMessage m;
    *m.mutable_endpoints() = std::move(endpoints);
    core_.OnMessage(session_, m);
  }
  void Ack(uint64_t generation, bool ok, const std::string& error) override {
    v1::AgentMessage m;
    m.mutable_ack()->set_generation(generation);
    m.mutable_ack()->set_ok(ok);
    m.mutable_ack()->set_error(error);
    core_.OnMessage(session_, m);
  }
  void Resync(const std::string& reason) override {
    v1::AgentMessage m;
    m.mutable_resync()->set_reason(reason);
    core_.OnMessage(session_, m);
  }
  bool connected() const override { return true; }
  std::string Describe() const override { return source_.Describe(); }

 private:
  boost::asio::io_context& io_;
  std::string node_;
  OnUpdate on_update_;
  controller::ControllerCore core_;
  source::ManifestDirSource source_;
  std::shared_ptr<LoopbackSession> session_;
};

}  // namespace

std::unique_ptr<agent::TableSource> MakeEmbeddedTableSource(boost::asio::io_context& io, const std::string& dir,
                                                            const std::string& node,
                                                            std::function<void(const std::string&)> info,
                                                            std::function<void(const std::string&)> warn,
                                                            bool audit_by_default) {
  return std::make_unique<EmbeddedTableSource>(io, dir, node, std::move(info), std::move(warn), audit_by_default);
}

}  // namespace netfence::embedded
