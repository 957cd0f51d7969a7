// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/kube_source.h"

namespace netfence::kube {
namespace {

std::vector<std::string> ResourceNames() {
  std::vector<std::string> names;
  for (const ResourceSpec& r : Resources()) names.push_back(r.name);
  return names;
}

}  // namespace

KubeSource::KubeSource(boost::asio::io_context& io, KubeConfig config, KubeSourceOptions options)
    : io_(io), config_(std::move(config)), options_(std::move(options)),
      metrics_(std::make_shared<KubeMetrics>(ResourceNames())) {}

KubeSource::~KubeSource() { Stop(); }

std::string KubeSource::Describe() const { return "kubernetes " + config_.server; }

void KubeSource::Stop() {
  for (auto& r : reflectors_) r->Stop();
  reflectors_.clear();
}

Status KubeSource::Start(source::Observer* observer) {
  if (!reflectors_.empty()) return Status::Error(Describe() + ": already started");
  auto client = ApiClient::Create(config_, options_.client);
  if (!client.ok()) return Status::Error(Describe() + ": " + client.status().message());
  observer_ = observer;
  Reflector::Callbacks cb;
  cb.on_events = [this](std::vector<source::Event> events) { observer_->OnEvents(std::move(events)); };
  cb.on_rejected = [this](const k8s::ObjectError& e) { observer_->OnRejected(e); };
  cb.on_listed = [this] {
    if (++listed_ == static_cast<int>(Resources().size()) && !synced_) {
      synced_ = true;
      metrics_->SetSynced();
      observer_->OnSynced();
    }
  };
  cb.on_log = [this](const std::string& line) {
    if (options_.log) options_.log(Describe() + ": " + line);
  };
  for (size_t i = 0; i < Resources().size(); ++i) {
    ReflectorOptions ro = options_.reflector;
    ro.seed = options_.reflector.seed + i * 0x9e3779b9ULL;
    reflectors_.push_back(
        std::make_shared<Reflector>(io_.get_executor(), *client, Resources()[i], ro, cb, metrics_, i));
  }
  for (auto& r : reflectors_) r->Start();
  return Status::Ok();
}

}  // namespace netfence::kube
