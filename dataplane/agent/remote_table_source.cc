// SPDX-License-Identifier: Apache-2.0
#include "dataplane/agent/remote_table_source.h"

#include "dataplane/agent/controller_client.h"

namespace netfence::agent {
namespace {

class RemoteTableSource : public TableSource {
 public:
  RemoteTableSource(boost::asio::io_context& io, ControllerClientOptions options,
                    std::function<void(const std::string&)> log)
      : io_(io), options_(std::move(options)), log_(std::move(log)) {}

  Status Start(uint64_t held, v1::EndpointReport endpoints, OnUpdate on_update) override {
    client_ = std::make_unique<ControllerClient>(
        io_, options_, std::move(on_update), [this](bool connected, const std::string& why) {
          if (log_) log_(std::string(connected ? "controller: " : "controller unreachable: ") + why);
        });
    client_->Start(held, std::move(endpoints));
    return Status::Ok();
  }
  void ReportEndpoints(v1::EndpointReport endpoints) override { client_->ReportEndpoints(std::move(endpoints)); }
  void Ack(uint64_t generation, bool ok, const std::string& error) override {
    if (ok) client_->SetHeld(generation);
    client_->Ack(generation, ok, error);
  }
  void Resync(const std::string& reason) override { client_->Resync(reason); }
  void ReportRuleHits(v1::RuleHitReport report) override { client_->ReportRuleHits(std::move(report)); }
  bool connected() const override { return client_ && client_->connected(); }
  std::string Describe() const override { return "controller " + options_.target; }

 private:
  boost::asio::io_context& io_;
  ControllerClientOptions options_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<ControllerClient> client_;
};

}  // namespace

std::unique_ptr<TableSource> MakeRemoteTableSource(boost::asio::io_context& io, ControllerClientOptions options,
                                                   std::function<void(const std::string&)> log) {
  return std::make_unique<RemoteTableSource>(io, std::move(options), std::move(log));
}

}  // namespace netfence::agent
