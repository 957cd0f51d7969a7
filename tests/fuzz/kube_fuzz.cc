// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: what the Kubernetes API server (or a kubeconfig) hands the controller.
// The first byte picks: a LIST page of one of the watched resources, whose items are then
// decoded and validated as objects; a watch event line; or a kubeconfig file. Nothing may
// crash or throw.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base/json_depth.h"
#include "controlplane/kube/kube_config.h"
#include "controlplane/kube/list_page.h"
#include "controlplane/kube/object_codec.h"
#include "controlplane/kube/resources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace netfence::kube;
  const auto& resources = Resources();
  const ResourceSpec& resource = resources[data[0] % resources.size()];
  switch ((data[0] / resources.size()) % 3) {
    case 0: {
      Page page;
      std::string error;
      if (!ParsePage(text, resource, &page, &error)) return 0;
      for (const auto& item : page.items) {
        netfence::k8s::ObjectError e;
        (void)DecodeResourceObject(item, resource, "fuzz", &e);
      }
      break;
    }
    case 1: {
      if (!netfence::CheckJsonDepth(text).ok()) return 0;
      const nlohmann::json ev = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!ev.is_object() || !ev.contains("object") || !ev["object"].is_object()) return 0;
      netfence::k8s::ObjectError e;
      (void)DecodeResourceObject(ev["object"], resource, "fuzz watch", &e);
      std::string ns, name;
      (void)ObjectName(ev["object"], &ns, &name);
      break;
    }
    default: {
      static const std::string path = "/tmp/netfence-kube-fuzz-" + std::to_string(::getpid()) + ".kubeconfig";
      std::ofstream(path, std::ios::trunc | std::ios::binary) << text;
      (void)LoadKubeconfig(path);
      break;
    }
  }
  return 0;
}
