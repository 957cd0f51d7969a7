// SPDX-License-Identifier: Apache-2.0
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <iostream>

#include "controlplane/compiler/compiler.h"
#include "controlplane/ctl/ctl.h"

namespace netfence::ctl {

void AddCompileCommand(CLI::App* app) {
  struct Opts {
    SourceFlags source;
    std::string output = "text";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app->add_subcommand("compile", "Compile the policies to rule tables and report their size");
  opts->source.Add(cmd);
  cmd->add_option("-o,--output", opts->output, "text (statistics) or json (the whole tables)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->footer(
      "Identities are distinct (namespace, labels, named ports) sets; endpoints with the same\n"
      "effective policy share one table; each table direction holds one bitmap row per distinct\n"
      "identity, CIDR prefix and port range, of ceil(rules/64) words plus a summary.");
  cmd->callback([opts]() {
    auto state = LoadCluster(opts->source);
    if (!state) throw CLI::RuntimeError(1);
    auto t0 = std::chrono::steady_clock::now();
    v1::RuleTables tables =
        compiler::Compile(*state, compiler::Options{.audit_by_default = opts->source.audit_by_default()});
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (opts->output == "json") {
      std::string out;
      google::protobuf::util::JsonPrintOptions po;
      po.preserve_proto_field_names = true;
      po.always_print_primitive_fields = true;
      if (!google::protobuf::util::MessageToJsonString(tables, &out, po).ok()) throw CLI::RuntimeError(3);
      std::cout << out << "\n";
      return;
    }
    const auto& s = tables.stats();
    std::cout << "generation        " << tables.generation() << "\n"
              << "policies          " << s.policies() << "\n"
              << "endpoints         " << s.endpoints() << "\n"
              << "identities        " << s.identities() << "\n"
              << "tables            " << s.tables() << "\n"
              << "rules (bits)      " << s.rules() << "\n"
              << "rows              " << s.rows() << "\n"
              << "identity entries  " << s.identity_entries() << "\n"
              << "cidr entries      " << s.cidr_entries() << "\n"
              << "port entries      " << s.port_entries() << "\n"
              << "bitmap words      " << s.words() << " (" << s.words() * 8 << " bytes)\n"
              << "serialized size   " << tables.ByteSizeLong() << " bytes\n"
              << "compile time      " << ms << " ms\n";
  });
}

}  // namespace netfence::ctl
