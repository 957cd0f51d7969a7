// SPDX-License-Identifier: Apache-2.0
// Reading Kubernetes objects out of JSON with field paths: a Reader records a FieldError for
// every member of the wrong type (and never throws), and the readers of the shared parts
// (ObjectMeta, LabelSelector). Used by the decoders of every kind (decode.cc,
// cluster_policy_decode.cc).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/k8s/errors.h"
#include "controlplane/k8s/model.h"

namespace netfence::k8s {

// "object", "array", "string", "boolean", "null" or "number".
const char* JsonTypeName(const nlohmann::json& j);

// Walks a JSON document and records shape errors with their field paths.
class Reader {
 public:
  explicit Reader(FieldErrors* errors) : errors_(errors) {}

  void mismatch(const std::string& path, const nlohmann::json& j, const char* want) {
    // Invalid UTF-8 in the input is shown replaced, never thrown.
    errors_->push_back({FieldError::Type::kTypeMismatch, path,
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                        std::string("expected ") + want + ", got " + JsonTypeName(j)});
  }

  // Returns the member if present and not null.
  const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  bool object(const nlohmann::json& j, const std::string& path) {
    if (j.is_object()) return true;
    mismatch(path, j, "object");
    return false;
  }

  std::optional<std::string> string(const nlohmann::json& obj, const char* key, const std::string& path) {
    const nlohmann::json* m = member(obj, key);
    if (!m) return std::nullopt;
    if (!m->is_string()) {
      mismatch(path, *m, "string");
      return std::nullopt;
    }
    return m->get<std::string>();
  }

  std::optional<int64_t> integer(const nlohmann::json& obj, const char* key, const std::string& path) {
    const nlohmann::json* m = member(obj, key);
    if (!m) return std::nullopt;
    if (!m->is_number_integer()) {
      mismatch(path, *m, "integer");
      return std::nullopt;
    }
    return m->get<int64_t>();
  }

  bool boolean(const nlohmann::json& obj, const char* key, const std::string& path) {
    const nlohmann::json* m = member(obj, key);
    if (!m) return false;
    if (!m->is_boolean()) {
      mismatch(path, *m, "boolean");
      return false;
    }
    return m->get<bool>();
  }

  // Iterates an array member; calls f(element, path) for each element.
  template <typename F>
  void array(const nlohmann::json& obj, const char* key, const std::string& path, F&& f) {
    const nlohmann::json* m = member(obj, key);
    if (!m) return;
    if (!m->is_array()) {
      mismatch(path, *m, "array");
      return;
    }
    for (size_t i = 0; i < m->size(); ++i) f((*m)[i], path + "[" + std::to_string(i) + "]");
  }

  std::vector<std::string> strings(const nlohmann::json& obj, const char* key, const std::string& path) {
    std::vector<std::string> out;
    array(obj, key, path, [&](const nlohmann::json& e, const std::string& p) {
      if (e.is_string()) {
        out.push_back(e.get<std::string>());
      } else {
        mismatch(p, e, "string");
      }
    });
    return out;
  }

  Labels string_map(const nlohmann::json& obj, const char* key, const std::string& path) {
    Labels out;
    const nlohmann::json* m = member(obj, key);
    if (!m) return out;
    if (!m->is_object()) {
      mismatch(path, *m, "map of strings");
      return out;
    }
    for (auto it = m->begin(); it != m->end(); ++it) {
      if (it->is_string()) {
        out[it.key()] = it->get<std::string>();
      } else {
        mismatch(path + "." + it.key(), *it, "string");
      }
    }
    return out;
  }

  void add(FieldError e) { errors_->push_back(std::move(e)); }
  size_t error_count() const { return errors_->size(); }

 private:
  FieldErrors* errors_;
};

ObjectMeta ReadMeta(Reader& r, const nlohmann::json& j);
LabelSelector ReadSelector(Reader& r, const nlohmann::json& j, const std::string& path);
std::optional<LabelSelector> ReadOptionalSelector(Reader& r, const nlohmann::json& obj, const char* key,
                                                  const std::string& path);

}  // namespace netfence::k8s
