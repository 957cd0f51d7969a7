// SPDX-License-Identifier: Apache-2.0
#include "tests/testing/expected_reachability.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "controlplane/k8s/manifests.h"

namespace netfence::testing_util {

using json = nlohmann::json;

std::string ExpectedCase::name() const { return std::string(k8s::ProtocolName(protocol)) + "/" + std::to_string(port); }

// Reads expected.yaml; returns an error text on any malformed part.
std::string ReadExpected(const std::string& path, Expected* out) {
  std::ifstream in(path);
  if (!in) return "cannot read " + path;
  std::stringstream text;
  text << in.rdbuf();
  std::vector<json> docs;
  std::string error;
  if (!k8s::ParseYamlDocuments(text.str(), &docs, &error)) return error;
  if (docs.size() != 1 || !docs[0].is_object()) return "expected one YAML document";
  const json& doc = docs[0];
  try {
    out->columns = doc.at("columns").get<std::vector<std::string>>();
    const size_t n = out->columns.size();
    for (const json& c : doc.at("cases")) {
      ExpectedCase ec;
      auto proto = k8s::ParseProtocol(c.at("protocol").get<std::string>());
      if (!proto) return "unknown protocol " + c.at("protocol").dump();
      ec.protocol = *proto;
      ec.port = c.at("port").get<uint16_t>();
      auto read_table = [&](const char* key, std::vector<std::vector<bool>>* table) -> std::string {
        const auto rows = c.at(key).get<std::vector<std::string>>();
        if (rows.size() != n) return "a table needs " + std::to_string(n) + " rows";
        for (size_t r = 0; r < n; ++r) {
          std::istringstream row(rows[r]);
          std::string label, cells, group;
          row >> label;
          while (row >> group) cells += group;
          if (label != out->columns[r])
            return "row " + std::to_string(r) + " is " + label + ", want " + out->columns[r];
          if (cells.size() != n || cells.find_first_not_of("01") != std::string::npos) return "bad row: " + rows[r];
          std::vector<bool> bits;
          for (char ch : cells) bits.push_back(ch == '1');
          table->push_back(std::move(bits));
        }
        return "";
      };
      if (std::string e = read_table("allowed", &ec.allowed); !e.empty()) return e;
      if (c.contains("audited")) {
        if (std::string e = read_table("audited", &ec.audited); !e.empty()) return "audited: " + e;
      }
      out->cases.push_back(std::move(ec));
    }
  } catch (const json::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace netfence::testing_util
