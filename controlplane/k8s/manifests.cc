// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/manifests.h"

#include "common/base/json_depth.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace netfence::k8s {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json ScalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  // YAML 1.2 core schema: only true/false are booleans. (YAML 1.1 also reads y/n/yes/no/
  // on/off as booleans, which would turn the namespace `y` of the usual x/y/z test
  // clusters into `true`; netfence keeps them strings.)
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  // YAML 1.2 core schema integers and floats.
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end && *end == '\0' && errno == 0 &&
      (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+')) {
    return v;
  }
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.')) {
    return d;
  }
  return s;
}

// Aliases let a few bytes of YAML stand for an exponential tree ("billion laughs"): the
// conversion stops at a node budget instead of exhausting memory. Without aliases every
// node takes at least one byte of text, so the budget grows with the document.
size_t NodeBudget(size_t document_bytes) { return 1024 + 4 * document_bytes; }

bool YamlToJson(const YAML::Node& n, json* out, size_t* budget) {
  if ((*budget)-- == 0) return false;
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      *out = nullptr;
      return true;
    case YAML::NodeType::Scalar:
      *out = ScalarToJson(n);
      return true;
    case YAML::NodeType::Sequence:
      *out = json::array();
      for (const auto& e : n) {
        json item;
        if (!YamlToJson(e, &item, budget)) return false;
        out->push_back(std::move(item));
      }
      return true;
    case YAML::NodeType::Map:
      *out = json::object();
      for (const auto& kv : n) {
        json value;
        if (!YamlToJson(kv.second, &value, budget)) return false;
        (*out)[kv.first.as<std::string>()] = std::move(value);
      }
      return true;
  }
  return true;
}

// Splits a YAML stream into its documents at "---" / "..." lines. yaml-cpp 0.7's LoadAll
// can loop forever on some malformed streams (found by fuzzing); one Load per document
// cannot.
std::vector<std::string> SplitDocuments(const std::string& text) {
  std::vector<std::string> docs(1);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    auto marker = [&](std::string_view m) {
      return line.substr(0, 3) == m && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    };
    if (marker("---")) {
      docs.emplace_back(line.size() > 3 ? std::string(line.substr(4)) + "\n" : "");
    } else if (marker("...")) {
      docs.emplace_back();
    } else {
      docs.back().append(line);
      docs.back() += '\n';
    }
    pos = eol + 1;
  }
  return docs;
}

// True when a document has more than comments and blank lines (and is not a bare null).
bool HasContent(const std::string& doc) {
  std::string content;
  size_t pos = 0;
  while (pos < doc.size()) {
    size_t eol = doc.find('\n', pos);
    if (eol == std::string::npos) eol = doc.size();
    size_t first = doc.find_first_not_of(" \t\r", pos);
    if (first < eol && doc[first] != '#') content.append(doc, first, eol - first);
    pos = eol + 1;
  }
  return !content.empty() && content != "~" && content != "null" && content != "Null" && content != "NULL";
}

std::string ObjectKey(const std::string& kind, const ObjectMeta& m) { return kind + " " + m.ns + "/" + m.name; }

}  // namespace

bool ParseYamlDocuments(const std::string& text, std::vector<json>* docs, std::string* error) {
  int index = 0;
  for (const auto& doc : SplitDocuments(text)) {
    ++index;
    try {
      YAML::Node node = YAML::Load(doc);
      if (node.IsNull()) {
        if (!HasContent(doc)) continue;  // an empty document between separators
        // yaml-cpp gives up on some malformed documents without an exception.
        *error = "document " + std::to_string(index) + " could not be parsed";
        return false;
      }
      json j;
      size_t budget = NodeBudget(doc.size());
      if (!YamlToJson(node, &j, &budget)) {
        *error = "document " + std::to_string(index) + " expands to more than " +
                 std::to_string(NodeBudget(doc.size())) + " nodes through aliases";
        return false;
      }
      docs->push_back(std::move(j));
    } catch (const YAML::Exception& e) {
      *error = "document " + std::to_string(index) + ": " + e.what();
      return false;
    }
  }
  return true;
}

void AddManifestObject(const json& j, const std::string& source, LoadResult* out) {
  if (j.is_object()) {
    auto kind = j.find("kind");
    auto items = j.find("items");
    if (kind != j.end() && kind->is_string() && items != j.end() &&
        (*kind == "List" || kind->get<std::string>().ends_with("List"))) {
      if (!items->is_array()) {
        out->errors.push_back({source,
                               kind->get<std::string>(),
                               "",
                               "",
                               {{FieldError::Type::kTypeMismatch, "items", "", "expected array"}}});
        return;
      }
      std::string item_kind = kind->get<std::string>();
      item_kind = item_kind == "List" ? "" : item_kind.substr(0, item_kind.size() - 4);
      for (size_t i = 0; i < items->size(); ++i) {
        json item = (*items)[i];
        // Typed lists (PodList) may omit kind/apiVersion on their items.
        if (!item_kind.empty() && item.is_object()) {
          if (!item.contains("kind")) item["kind"] = item_kind;
          if (!item.contains("apiVersion") && j.contains("apiVersion")) item["apiVersion"] = j["apiVersion"];
        }
        AddManifestObject(item, source + " items[" + std::to_string(i) + "]", out);
      }
      return;
    }
  }
  FieldErrors errors;
  std::string ignored;
  auto obj = DecodeObject(j, &errors, &ignored);
  if (!errors.empty()) {
    ObjectError e{source, "", "", "", std::move(errors)};
    IdentifyObject(j, &e.kind, &e.ns, &e.name);
    if (e.ns.empty() && (e.kind == "Pod" || e.kind == "NetworkPolicy")) e.ns = "default";
    out->errors.push_back(std::move(e));
    return;
  }
  if (!obj) {
    if (!ignored.empty()) out->ignored_kinds[ignored]++;
    return;
  }
  // The same object twice is ambiguous: keep the first, reject the next naming both places.
  const ObjectMeta& meta = MetaOf(*obj);
  auto [first, inserted] = out->sources.try_emplace(ObjectKey(KindOf(*obj), meta), source);
  if (!inserted) {
    out->errors.push_back({source,
                           KindOf(*obj),
                           meta.ns,
                           meta.name,
                           {{FieldError::Type::kDuplicate, "metadata.name", "\"" + meta.name + "\"",
                             "already defined in " + first->second}}});
    return;
  }
  std::visit(
      [&](auto&& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Namespace>) {
          out->state.namespaces.push_back(std::move(o));
        } else if constexpr (std::is_same_v<T, Pod>) {
          out->state.pods.push_back(std::move(o));
        } else if constexpr (std::is_same_v<T, Node>) {
          out->state.nodes.push_back(std::move(o));
        } else if constexpr (std::is_same_v<T, ClusterNetworkPolicy>) {
          out->state.cluster_policies.push_back(std::move(o));
        } else {
          out->state.policies.push_back(std::move(o));
        }
      },
      std::move(*obj));
}

void LoadManifestText(const std::string& text, const std::string& source, LoadResult* out) {
  std::vector<json> docs;
  std::string error;
  bool is_json = source.ends_with(".json");
  if (is_json) {
    if (Status depth = CheckJsonDepth(text); !depth.ok()) {
      out->errors.push_back({source, "", "", "", {{FieldError::Type::kInvalid, "<file>", "", depth.message()}}});
      return;
    }
    try {
      docs.push_back(json::parse(text));
    } catch (const json::exception& e) {
      out->errors.push_back({source, "", "", "", {{FieldError::Type::kInvalid, "<file>", "", e.what()}}});
      return;
    }
  } else if (!ParseYamlDocuments(text, &docs, &error)) {
    out->errors.push_back(
        {source, "", "", "", {{FieldError::Type::kInvalid, "<file>", "", "malformed YAML: " + error}}});
    return;
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string where = docs.size() > 1 ? source + " (document " + std::to_string(i + 1) + ")" : source;
    AddManifestObject(docs[i], where, out);
  }
}

LoadResult LoadManifestDir(const std::string& dir) {
  LoadResult out;
  std::error_code ec;
  std::vector<fs::path> files;
  if (!fs::is_directory(dir, ec)) {
    out.errors.push_back({dir, "", "", "", {{FieldError::Type::kInvalid, "<dir>", "", "not a readable directory"}}});
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto ext = it->path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      out.errors.push_back({f.string(), "", "", "", {{FieldError::Type::kInvalid, "<file>", "", "cannot read"}}});
      continue;
    }
    ++out.files;
    LoadManifestText(ss.str(), f.string(), &out);
  }
  return out;
}

}  // namespace netfence::k8s
