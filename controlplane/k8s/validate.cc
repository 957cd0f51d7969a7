// SPDX-License-Identifier: Apache-2.0
// Validation with the API server's rules and messages. Sources mirrored:
//   k8s.io/apimachinery/pkg/util/validation (names, labels, ports),
//   k8s.io/apimachinery/pkg/apis/meta/v1/validation (labels, LabelSelector),
//   k8s.io/apimachinery/pkg/api/validation (ObjectMeta),
//   pkg/apis/networking/validation (NetworkPolicySpec, Port, Peer, IPBlock),
//   pkg/apis/core/validation (container ports, status.podIPs).
// Every rule appends FieldErrors; nothing throws.
#include "controlplane/k8s/validate.h"

#include <cstdint>
#include <initializer_list>
#include <set>
#include <vector>

#include "common/base/ip.h"

namespace netfence::k8s {

namespace {

using Type = FieldError::Type;
using Messages = std::vector<std::string>;

// ---- formatting -----------------------------------------------------------------------

}  // namespace

// A string value the way the API server prints it (Go's %q, for the ASCII range).
std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\x";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

namespace {

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

void Add(FieldErrors* errors, Type type, std::string path, std::string value, std::string detail) {
  errors->push_back({type, std::move(path), std::move(value), std::move(detail)});
}

// One Invalid error per message, as the API server reports them.
void AddInvalid(FieldErrors* errors, const std::string& path, const std::string& value, const Messages& msgs) {
  for (const auto& m : msgs) Add(errors, Type::kInvalid, path, value, m);
}

// util/validation's RegexError: "<msg> (e.g. 'a',  or 'b', regex used for validation is '<re>')".
std::string RegexError(std::string_view msg, std::string_view re, std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  out += " (e.g. ";
  bool first = true;
  for (auto e : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'" + std::string(e) + "', ";
  }
  return out + "regex used for validation is '" + std::string(re) + "')";
}

std::string MaxLenError(size_t n) { return "must be no more than " + std::to_string(n) + " characters"; }

constexpr std::string_view kPortRangeError = "must be between 1 and 65535, inclusive";

// ---- character classes and the regexes of util/validation, by hand -----------------------

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesLabelName(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool MatchesDNSLabel(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool MatchesDNSSubdomain(std::string_view s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!MatchesDNSLabel(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

constexpr std::string_view kLabelNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelNameMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
constexpr std::string_view kDNSLabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDNSSubdomainFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

Messages DNS1123LabelErrors(std::string_view s) {
  Messages out;
  if (s.size() > 63) out.push_back(MaxLenError(63));
  if (!MatchesDNSLabel(s)) {
    if (MatchesDNSSubdomain(s)) {
      out.emplace_back("must not contain dots");
    } else {
      out.push_back(
          RegexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                     "and must start and end with an alphanumeric character",
                     kDNSLabelFmt, {"my-name", "123-abc"}));
    }
  }
  return out;
}

Messages DNS1123SubdomainErrors(std::string_view s) {
  Messages out;
  if (s.size() > 253) out.push_back(MaxLenError(253));
  if (!MatchesDNSSubdomain(s)) {
    out.push_back(
        RegexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                   "or '.', and must start and end with an alphanumeric character",
                   kDNSSubdomainFmt, {"example.com"}));
  }
  return out;
}

Messages QualifiedNameErrors(std::string_view s) {
  Messages out;
  std::string_view name = s;
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    if (s.find('/', slash + 1) != std::string_view::npos) {
      out.push_back("a qualified name " + RegexError(kLabelNameMsg, kLabelNameFmt, {"MyName", "my.name", "123-abc"}) +
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return out;
    }
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (prefix.empty()) {
      out.emplace_back("prefix part must be non-empty");
    } else {
      for (const auto& m : DNS1123SubdomainErrors(prefix)) out.push_back("prefix part " + m);
    }
  }
  if (name.empty()) {
    out.emplace_back("name part must be non-empty");
  } else if (name.size() > 63) {
    out.push_back("name part " + MaxLenError(63));
  }
  if (!MatchesLabelName(name)) {
    out.push_back("name part " + RegexError(kLabelNameMsg, kLabelNameFmt, {"MyName", "my.name", "123-abc"}));
  }
  return out;
}

Messages LabelValueErrors(std::string_view s) {
  Messages out;
  if (s.size() > 63) out.push_back(MaxLenError(63));
  if (!s.empty() && !MatchesLabelName(s)) {
    out.push_back(
        RegexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                   "or '.', and must start and end with an alphanumeric character",
                   "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  return out;
}

// IANA_SVC_NAME, as util/validation.IsValidPortName.
Messages PortNameErrors(std::string_view s) {
  Messages out;
  if (s.size() > 15) out.push_back(MaxLenError(15));
  bool charset = !s.empty();
  bool letter = false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') charset = false;
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (!charset) out.emplace_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!letter) out.emplace_back("must contain at least one letter (a-z)");
  if (s.find("--") != std::string_view::npos) out.emplace_back("must not contain consecutive hyphens");
  if (!s.empty() && (s.front() == '-' || s.back() == '-')) out.emplace_back("must not begin or end with a hyphen");
  return out;
}

bool IsValidPortNum(int64_t port) { return port >= 1 && port <= 65535; }

// ---- ObjectMeta -------------------------------------------------------------------------

using NameCheck = Messages (*)(std::string_view);

void ValidateMeta(const ObjectMeta& meta, bool namespaced, NameCheck name_check, FieldErrors* errors) {
  if (meta.name.empty()) {
    Add(errors, Type::kRequired, "metadata.name", "", "name or generateName is required");
  } else {
    AddInvalid(errors, "metadata.name", Quote(meta.name), name_check(meta.name));
  }
  if (namespaced) {
    if (meta.ns.empty()) {
      Add(errors, Type::kRequired, "metadata.namespace", "", "");
    } else {
      AddInvalid(errors, "metadata.namespace", Quote(meta.ns), DNS1123LabelErrors(meta.ns));
    }
  } else if (!meta.ns.empty()) {
    Add(errors, Type::kForbidden, "metadata.namespace", "", "not allowed on this type");
  }
  ValidateLabels(meta.labels, "metadata.labels", errors);
}

// ---- LabelSelector ----------------------------------------------------------------------

void ValidateRequirement(const LabelSelectorRequirement& req, const std::string& path, FieldErrors* errors) {
  if (req.op == "In" || req.op == "NotIn") {
    if (req.values.empty()) {
      Add(errors, Type::kRequired, path + ".values", "", "must be specified when `operator` is 'In' or 'NotIn'");
    }
  } else if (req.op == "Exists" || req.op == "DoesNotExist") {
    if (!req.values.empty()) {
      Add(errors, Type::kForbidden, path + ".values", "",
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
  } else {
    Add(errors, Type::kInvalid, path + ".operator", Quote(req.op), "not a valid selector operator");
  }
  AddInvalid(errors, path + ".key", Quote(req.key), QualifiedNameErrors(req.key));
  for (size_t i = 0; i < req.values.size(); ++i) {
    AddInvalid(errors, Index(path + ".values", i), Quote(req.values[i]), LabelValueErrors(req.values[i]));
  }
}

// ---- NetworkPolicy ----------------------------------------------------------------------

void ValidatePolicyPort(const NetworkPolicyPort& port, const std::string& path, FieldErrors* errors) {
  if (port.protocol && !ParseProtocol(*port.protocol)) {
    Add(errors, Type::kUnsupported, path + ".protocol", Quote(*port.protocol),
        "supported values: \"TCP\", \"UDP\", \"SCTP\"");
  }
  const std::string port_path = path + ".port";
  const std::string end_path = path + ".endPort";
  if (!port.port) {
    if (port.end_port) {
      Add(errors, Type::kInvalid, end_path, std::to_string(*port.end_port),
          "may not be specified when `port` is not specified");
    }
    return;
  }
  if (!port.port->is_int) {
    if (port.end_port) {
      Add(errors, Type::kInvalid, end_path, std::to_string(*port.end_port),
          "may not be specified when `port` is non-numeric");
    }
    AddInvalid(errors, port_path, Quote(port.port->str_value), PortNameErrors(port.port->str_value));
    return;
  }
  const int64_t number = port.port->int_value;
  if (!IsValidPortNum(number)) {
    Add(errors, Type::kInvalid, port_path, std::to_string(number), std::string(kPortRangeError));
  }
  if (port.end_port) {
    const int64_t end = *port.end_port;
    if (end < number) {
      Add(errors, Type::kInvalid, end_path, std::to_string(end), "must be greater than or equal to `port`");
    }
    if (!IsValidPortNum(end)) Add(errors, Type::kInvalid, end_path, std::to_string(end), std::string(kPortRangeError));
  }
}

// "10.0.0.0/8" and "::/0" are told apart by how they are written, the way Go's ParseCIDR does.
bool WrittenAsV6(std::string_view cidr) { return cidr.find(':') != std::string_view::npos; }

constexpr std::string_view kCIDRError = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

void ValidateIPBlock(const IPBlock& block, const std::string& path, FieldErrors* errors) {
  if (block.cidr.empty()) {
    Add(errors, Type::kRequired, path + ".cidr", "", "");
    return;
  }
  // Host bits may be set (10.0.0.1/4 means 0.0.0.0/4): the API server has always accepted it.
  auto cidr = IpPrefix::Parse(block.cidr);
  if (!cidr) {
    Add(errors, Type::kInvalid, path + ".cidr", Quote(block.cidr), std::string(kCIDRError));
    return;
  }
  for (size_t i = 0; i < block.except.size(); ++i) {
    const std::string& text = block.except[i];
    const std::string except_path = Index(path + ".except", i);
    auto except = IpPrefix::Parse(text);
    if (!except) {
      Add(errors, Type::kInvalid, except_path, Quote(text), std::string(kCIDRError));
      continue;
    }
    bool same_family = WrittenAsV6(text) == WrittenAsV6(block.cidr);
    if (!same_family || except->len <= cidr->len || !cidr->contains(except->addr)) {
      Add(errors, Type::kInvalid, except_path, Quote(text), "must be a strict subset of `cidr`");
    }
  }
}

void ValidatePeer(const NetworkPolicyPeer& peer, const std::string& path, FieldErrors* errors) {
  int kinds = 0;
  if (peer.pod_selector) {
    ++kinds;
    ValidateLabelSelector(*peer.pod_selector, path + ".podSelector", errors);
  }
  if (peer.namespace_selector) {
    ++kinds;
    ValidateLabelSelector(*peer.namespace_selector, path + ".namespaceSelector", errors);
  }
  if (peer.ip_block) {
    ++kinds;
    ValidateIPBlock(*peer.ip_block, path + ".ipBlock", errors);
  }
  if (kinds == 0) {
    Add(errors, Type::kRequired, path, "", "must specify a peer");
  } else if (kinds > 1 && peer.ip_block) {
    Add(errors, Type::kForbidden, path, "", "may not specify both ipBlock and another peer");
  }
}

void ValidateRule(const NetworkPolicyRule& rule, const std::string& path, const char* peers_key, FieldErrors* errors) {
  for (size_t i = 0; i < rule.ports.size(); ++i) ValidatePolicyPort(rule.ports[i], Index(path + ".ports", i), errors);
  const std::string peers_path = path + "." + peers_key;
  for (size_t i = 0; i < rule.peers.size(); ++i) ValidatePeer(rule.peers[i], Index(peers_path, i), errors);
}

void ValidatePolicyTypes(const std::vector<std::string>& types, FieldErrors* errors) {
  const std::string path = "spec.policyTypes";
  if (types.size() > 2) {
    std::string list = "[";
    for (size_t i = 0; i < types.size(); ++i) list += (i ? ", " : "") + Quote(types[i]);
    Add(errors, Type::kInvalid, path, list + "]", "may not specify more than two policyTypes");
    return;
  }
  // Like the API server, a repeated value ("Ingress", "Ingress") is accepted: it means the same.
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != "Ingress" && types[i] != "Egress") {
      Add(errors, Type::kUnsupported, Index(path, i), Quote(types[i]), "supported values: \"Ingress\", \"Egress\"");
    }
  }
}

// ---- Pod --------------------------------------------------------------------------------

// The model keeps every container's ports in one list, in container order; a port name must
// be unique within its container (the API server's rule).
void ValidateContainerPorts(const std::vector<ContainerPort>& ports, FieldErrors* errors) {
  std::set<std::string> names;
  size_t in_container = 0;
  for (size_t i = 0; i < ports.size(); ++i) {
    const ContainerPort& port = ports[i];
    if (i > 0 && port.container != ports[i - 1].container) {
      names.clear();
      in_container = 0;
    }
    const std::string path = Index("spec.containers[" + std::to_string(port.container) + "].ports", in_container++);
    if (!port.name.empty()) {
      Messages msgs = PortNameErrors(port.name);
      if (!msgs.empty()) {
        AddInvalid(errors, path + ".name", Quote(port.name), msgs);
      } else if (!names.insert(port.name).second) {
        Add(errors, Type::kDuplicate, path + ".name", Quote(port.name), "");
      }
    }
    if (port.container_port == 0) {
      Add(errors, Type::kRequired, path + ".containerPort", "", "");
    } else if (!IsValidPortNum(port.container_port)) {
      Add(errors, Type::kInvalid, path + ".containerPort", std::to_string(port.container_port),
          std::string(kPortRangeError));
    }
    if (port.protocol.empty()) {
      Add(errors, Type::kRequired, path + ".protocol", "", "");
    } else if (!ParseProtocol(port.protocol)) {
      Add(errors, Type::kUnsupported, path + ".protocol", Quote(port.protocol),
          "supported values: \"SCTP\", \"TCP\", \"UDP\"");
    }
  }
}

void ValidatePodIPs(const std::vector<std::string>& ips, FieldErrors* errors) {
  const std::string path = "status.podIPs";
  int v4 = 0;
  int v6 = 0;
  bool all_valid = true;
  for (size_t i = 0; i < ips.size(); ++i) {
    auto ip = IpAddr::Parse(ips[i]);
    if (!ip) {
      all_valid = false;
      Add(errors, Type::kInvalid, Index(path, i), Quote(ips[i]),
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
      continue;
    }
    if (ip->is_v4()) {
      ++v4;
    } else {
      ++v6;
    }
  }
  // More than one IP must be a dual-stack pair: at most one of each family.
  if (all_valid && ips.size() > 1 && (v4 > 1 || v6 > 1)) {
    std::string list = "[";
    for (size_t i = 0; i < ips.size(); ++i) list += (i ? ", " : "") + Quote(ips[i]);
    Add(errors, Type::kInvalid, path, list + "]", "may specify no more than one IP for each IP family");
  }
}

}  // namespace

// ---- public -----------------------------------------------------------------------------

bool IsQualifiedName(std::string_view s) { return QualifiedNameErrors(s).empty(); }
bool IsValidLabelValue(std::string_view s) { return LabelValueErrors(s).empty(); }
bool IsDNS1123Label(std::string_view s) { return DNS1123LabelErrors(s).empty(); }
bool IsDNS1123Subdomain(std::string_view s) { return DNS1123SubdomainErrors(s).empty(); }
bool IsValidPortName(std::string_view s) { return PortNameErrors(s).empty(); }

void ValidateLabels(const Labels& labels, const std::string& path, FieldErrors* errors) {
  for (const auto& [key, value] : labels) {
    AddInvalid(errors, path, Quote(key), QualifiedNameErrors(key));
    AddInvalid(errors, path, Quote(value), LabelValueErrors(value));
  }
}

void ValidateLabelSelector(const LabelSelector& sel, const std::string& path, FieldErrors* errors) {
  ValidateLabels(sel.match_labels, path + ".matchLabels", errors);
  for (size_t i = 0; i < sel.match_expressions.size(); ++i) {
    ValidateRequirement(sel.match_expressions[i], Index(path + ".matchExpressions", i), errors);
  }
}

void ValidateEnforcement(const ObjectMeta& meta, FieldErrors* errors) {
  if (!ParseEnforcement(meta.enforcement)) {
    Add(errors, Type::kUnsupported, std::string("metadata.annotations[") + kEnforcementAnnotation + "]",
        Quote(meta.enforcement), "supported values: \"audit\", \"enforce\"");
  }
}

void ValidateObjectMeta(const ObjectMeta& meta, bool namespaced, FieldErrors* errors) {
  ValidateMeta(meta, namespaced, DNS1123SubdomainErrors, errors);
}

void ValidateNamespace(const Namespace& ns, FieldErrors* errors) {
  ValidateMeta(ns.meta, /*namespaced=*/false, DNS1123LabelErrors, errors);
  ValidateEnforcement(ns.meta, errors);
}

void ValidatePod(const Pod& pod, FieldErrors* errors) {
  ValidateObjectMeta(pod.meta, /*namespaced=*/true, errors);
  ValidateContainerPorts(pod.ports, errors);
  ValidatePodIPs(pod.pod_ips, errors);
}

void ValidateNode(const Node& node, FieldErrors* errors) {
  ValidateObjectMeta(node.meta, /*namespaced=*/false, errors);
}

void ValidateNetworkPolicy(const NetworkPolicy& np, FieldErrors* errors) {
  ValidateObjectMeta(np.meta, /*namespaced=*/true, errors);
  ValidateEnforcement(np.meta, errors);
  ValidateLabelSelector(np.pod_selector, "spec.podSelector", errors);
  for (size_t i = 0; i < np.ingress.size(); ++i) ValidateRule(np.ingress[i], Index("spec.ingress", i), "from", errors);
  for (size_t i = 0; i < np.egress.size(); ++i) ValidateRule(np.egress[i], Index("spec.egress", i), "to", errors);
  ValidatePolicyTypes(np.policy_types, errors);
}

}  // namespace netfence::k8s
