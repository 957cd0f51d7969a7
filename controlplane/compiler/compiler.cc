#include "controlplane/compiler/compiler.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <unordered_map>

#include "controlplane/compiler/cidr_flatten.h"
#include "controlplane/compiler/cluster_index.h"
#include "controlplane/compiler/port_flatten.h"
#include "controlplane/compiler/rows.h"

namespace netfence::compiler {

namespace {

using k8s::Direction;

constexpr uint8_t kL4Protocols[] = {6, 17, 132};
const IpPrefix kEverywhere = *IpPrefix::Parse("::/0");

std::string Bytes(const IpAddr& a) { return std::string(a.bytes.begin(), a.bytes.end()); }

// What one rule's peers match, independent of the table it is compiled into.
struct PeerSet {
  bool everyone = false;             // no peers listed: every address
  bool all_pods = false;             // some peer selects every pod of the cluster
  std::vector<uint32_t> identities;  // identity indexes, sorted, unique
  std::vector<CidrBlock> blocks;     // ipBlocks (rule_bit filled in per table)
};

// One rule, decoded once for every table it is compiled into.
struct RuleSpec {
  PeerSet peers;
  bool every_port = false;                              // no ports listed
  std::vector<PortSpan> numeric;                        // numbers, ranges, whole protocols
  std::vector<std::pair<std::string, uint8_t>> named;   // (name, protocol)
};

// A policy's rules, decoded on first use.
struct PolicySpec {
  bool ready = false;
  bool covers[2] = {false, false};  // by Direction
  bool named_ingress = false;       // ingress rules use named ports
  std::vector<RuleSpec> rules[2];   // by Direction
};

// The rule bits of one direction of one table while they are being collected.
// One instance is reused for every direction of every table, so its buffers are
// allocated once per compile, not once per table.
struct DirectionBuild {
  std::vector<uint32_t> rule_policy, rule_index;       // by bit
  std::vector<std::pair<uint32_t, uint32_t>> id_bits;  // (identity index, bit)
  std::vector<uint32_t> all_pod_bits;
  std::vector<CidrBlock> blocks;
  std::vector<PortSpan> spans;
  std::vector<uint32_t> other_bits;
  std::vector<FlatPortRange> ports;                    // flattened spans
  PortFlattener port_flattener;
  std::vector<uint32_t> out_a, out_b;                  // output staging

  void Clear() {
    for (auto* v : {&rule_policy, &rule_index, &all_pod_bits, &other_bits, &out_a, &out_b}) v->clear();
    id_bits.clear();
    blocks.clear();
    spans.clear();
  }
  uint32_t NewBit(uint32_t policy, uint32_t rule) {
    rule_policy.push_back(policy);
    rule_index.push_back(rule);
    return static_cast<uint32_t>(rule_policy.size() - 1);
  }
  void AddPeers(const PeerSet& ps, uint32_t bit) {
    if (ps.everyone) blocks.push_back({kEverywhere, {}, bit});
    if (ps.all_pods) all_pod_bits.push_back(bit);
    for (uint32_t i : ps.identities) id_bits.emplace_back(i, bit);
    for (const auto& b : ps.blocks) blocks.push_back({b.cidr, b.except, bit});
  }
};

class Compiler {
 public:
  Compiler(const ClusterIndex& index, v1::RuleTables* out)
      : idx_(index), out_(out), specs_(index.policies.size()) {}

  void Run();

 private:
  const PolicySpec& Spec(uint32_t policy);
  PeerSet Peers(const k8s::NetworkPolicy& np, const k8s::NetworkPolicyRule& rule) const;
  void CollectRule(uint32_t policy, uint32_t rule, const RuleSpec& spec, Direction dir, const IdentityInfo& self,
                   DirectionBuild* b);
  void CollectNamedEgress(uint32_t policy, uint32_t rule, const PeerSet& ps,
                          const std::vector<std::pair<std::string, uint8_t>>& named, DirectionBuild* b);
  void BuildDirection(const IdentityInfo& self, Direction dir, v1::DirectionTable* dt);
  std::string TableKey(const IdentityInfo& id, Direction dir);

  const ClusterIndex& idx_;
  v1::RuleTables* out_;
  std::vector<PolicySpec> specs_;  // per policy
  DirectionBuild scratch_;
  std::vector<uint64_t> words_;    // the row arena, moved into the tables at the end
  RowWriter rows_writer_{&words_, 0};
  uint64_t rows_ = 0;
};

PeerSet Compiler::Peers(const k8s::NetworkPolicy& np, const k8s::NetworkPolicyRule& rule) const {
  PeerSet ps;
  ps.everyone = rule.peers.empty();
  for (const auto& peer : rule.peers) {
    if (peer.ip_block) {
      CidrBlock block{*IpPrefix::Parse(peer.ip_block->cidr), {}, 0};
      for (const auto& e : peer.ip_block->except) block.except.push_back(*IpPrefix::Parse(e));
      ExcludeV4Mapped(&block);
      ps.blocks.push_back(std::move(block));
    } else {
      idx_.SelectPeer(peer, np.meta.ns, &ps.all_pods, &ps.identities);
    }
  }
  if (ps.all_pods) {
    ps.identities.clear();
  } else {
    std::sort(ps.identities.begin(), ps.identities.end());
    ps.identities.erase(std::unique(ps.identities.begin(), ps.identities.end()), ps.identities.end());
  }
  return ps;
}

const PolicySpec& Compiler::Spec(uint32_t policy) {
  PolicySpec& spec = specs_[policy];
  if (spec.ready) return spec;
  spec.ready = true;
  const auto& np = *idx_.policies[policy];
  for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
    const int d = static_cast<int>(dir);
    spec.covers[d] = np.Covers(dir);
    if (!spec.covers[d]) continue;
    for (const auto& rule : np.Rules(dir)) {
      RuleSpec rs;
      rs.peers = Peers(np, rule);
      rs.every_port = rule.ports.empty();
      for (const auto& p : rule.ports) {
        uint8_t proto = static_cast<uint8_t>(p.protocol_or_default());
        if (!p.port) {
          rs.numeric.push_back({proto, 0, 65535, 0});
        } else if (p.port->is_int) {
          auto first = static_cast<uint16_t>(p.port->int_value);
          rs.numeric.push_back({proto, first, static_cast<uint16_t>(p.end_port.value_or(first)), 0});
        } else {
          rs.named.emplace_back(p.port->str_value, proto);
          spec.named_ingress |= dir == Direction::kIngress;
        }
      }
      spec.rules[d].push_back(std::move(rs));
    }
  }
  return spec;
}

// Egress rules with named ports: the number depends on the destination pod, so the rule
// gets one extra bit per (protocol, number) the names resolve to, whose peers are only
// the destinations resolving to it: identities, and pod IPs reached through an ipBlock.
void Compiler::CollectNamedEgress(uint32_t policy, uint32_t rule, const PeerSet& ps,
                                  const std::vector<std::pair<std::string, uint8_t>>& named,
                                  DirectionBuild* b) {
  struct Group {
    std::vector<uint32_t> identities;
    std::vector<IpAddr> hosts;
  };
  std::map<std::pair<uint8_t, uint16_t>, Group> groups;
  auto resolve = [&](const k8s::Pod& pod, auto&& add) {
    for (const auto& [name, proto] : named) {
      if (auto n = pod.ResolveNamedPort(name, static_cast<k8s::Protocol>(proto))) add(groups[{proto, *n}]);
    }
  };
  auto add_identity = [&](uint32_t i) {
    resolve(*idx_.identities[i].example, [&](Group& g) {
      if (g.identities.empty() || g.identities.back() != i) g.identities.push_back(i);
    });
  };
  if (ps.everyone || ps.all_pods) {
    for (uint32_t i = 0; i < idx_.identities.size(); ++i) add_identity(i);
  } else {
    for (uint32_t i : ps.identities) add_identity(i);
  }
  if (!ps.everyone && !ps.blocks.empty()) {
    for (uint32_t e = 0; e < idx_.endpoints.size(); ++e) {
      const k8s::Pod& pod = *idx_.endpoints[e];
      for (const IpAddr& addr : idx_.EndpointIps(e)) {
        const IpAddr* ip = &addr;
        bool inside = std::any_of(ps.blocks.begin(), ps.blocks.end(), [&](const CidrBlock& blk) {
          return blk.cidr.contains(*ip) &&
                 std::none_of(blk.except.begin(), blk.except.end(), [&](const IpPrefix& x) { return x.contains(*ip); });
        });
        if (inside) resolve(pod, [&](Group& g) { g.hosts.push_back(*ip); });
      }
    }
  }
  for (const auto& [proto_port, g] : groups) {
    uint32_t bit = b->NewBit(policy, rule);
    for (uint32_t i : g.identities) b->id_bits.emplace_back(i, bit);
    for (const auto& h : g.hosts) b->blocks.push_back({IpPrefix::Host(h), {}, bit});
    b->spans.push_back({proto_port.first, proto_port.second, proto_port.second, bit});
  }
}

void Compiler::CollectRule(uint32_t policy, uint32_t rule, const RuleSpec& spec, Direction dir,
                           const IdentityInfo& self, DirectionBuild* b) {
  if (spec.every_port) {  // every protocol, every port
    uint32_t bit = b->NewBit(policy, rule);
    b->AddPeers(spec.peers, bit);
    for (uint8_t proto : kL4Protocols) b->spans.push_back({proto, 0, 65535, bit});
    b->other_bits.push_back(bit);
    return;
  }
  // Ingress named ports resolve on the destination, the selected pod itself (tables are
  // per named-port set), so they become numbers here. Egress ones resolve per peer.
  const bool resolve_here = dir == Direction::kIngress;
  bool numeric = !spec.numeric.empty();
  if (resolve_here) {
    for (const auto& [name, proto] : spec.named) {
      numeric |= self.example->ResolveNamedPort(name, static_cast<k8s::Protocol>(proto)).has_value();
    }
  }
  if (numeric) {
    uint32_t bit = b->NewBit(policy, rule);
    b->AddPeers(spec.peers, bit);
    for (PortSpan s : spec.numeric) {
      s.rule_bit = bit;
      b->spans.push_back(s);
    }
    if (resolve_here) {
      for (const auto& [name, proto] : spec.named) {
        if (auto n = self.example->ResolveNamedPort(name, static_cast<k8s::Protocol>(proto))) {
          b->spans.push_back({proto, *n, *n, bit});
        }
      }
    }
  }
  if (!resolve_here && !spec.named.empty()) CollectNamedEgress(policy, rule, spec.peers, spec.named, b);
}

// Appends a scratch vector to a packed repeated field in one allocation.
template <typename T>
void Put(google::protobuf::RepeatedField<uint32_t>* field, const std::vector<T>& values) {
  field->Reserve(static_cast<int>(values.size()));
  for (T v : values) field->AddAlreadyReserved(static_cast<uint32_t>(v));
}

void Compiler::BuildDirection(const IdentityInfo& self, Direction dir, v1::DirectionTable* dt) {
  DirectionBuild& b = scratch_;
  b.Clear();
  const int d = static_cast<int>(dir);
  for (uint32_t p : self.policies) {
    const PolicySpec& spec = Spec(p);
    if (!spec.covers[d]) continue;
    dt->set_isolated(true);
    dt->add_isolating_policies(p);
    for (uint32_t r = 0; r < spec.rules[d].size(); ++r) CollectRule(p, r, spec.rules[d][r], dir, self, &b);
  }
  const auto nbits = static_cast<uint32_t>(b.rule_policy.size());
  const uint32_t row_words = (nbits + 63) / 64;
  dt->set_rule_count(nbits);
  dt->set_row_words(row_words);
  dt->set_summary_words(SummaryWords(row_words));
  dt->set_all_pods_row(kEmptyRow);
  dt->set_other_protocols_row(kEmptyRow);
  if (nbits == 0) return;
  Put(dt->mutable_rule_policy(), b.rule_policy);
  Put(dt->mutable_rule_index(), b.rule_index);

  RowWriter& rows = rows_writer_;
  rows.Reset(row_words);
  Bits all_pods(nbits);
  for (uint32_t bit : b.all_pod_bits) all_pods.set(bit);
  dt->set_all_pods_row(rows.Put(all_pods.data()));

  // Identity dimension: one row per listed identity (all-pods rules included).
  auto& ids = b.out_a;
  auto& id_rows = b.out_b;
  std::sort(b.id_bits.begin(), b.id_bits.end());
  for (size_t i = 0; i < b.id_bits.size();) {
    uint32_t ident = b.id_bits[i].first;
    Bits row = all_pods;
    for (; i < b.id_bits.size() && b.id_bits[i].first == ident; ++i) row.set(b.id_bits[i].second);
    ids.push_back(idx_.identities[ident].id);
    id_rows.push_back(rows.Put(row.data()));
  }
  Put(dt->mutable_identity_ids(), ids);
  Put(dt->mutable_identity_rows(), id_rows);

  if (!b.blocks.empty()) {
    auto flat_cidrs = FlattenCidrs(b.blocks, nbits);
    std::string* addrs = dt->mutable_cidr_addrs();
    addrs->reserve(16 * flat_cidrs.size());
    dt->mutable_cidr_lengths()->Reserve(static_cast<int>(flat_cidrs.size()));
    dt->mutable_cidr_rows()->Reserve(static_cast<int>(flat_cidrs.size()));
    for (const auto& fp : flat_cidrs) {
      addrs->append(fp.prefix.addr.bytes.begin(), fp.prefix.addr.bytes.end());
      dt->add_cidr_lengths(fp.prefix.len);
      dt->add_cidr_rows(rows.Put(fp.rules.data()));
    }
  }

  b.port_flattener.Flatten(b.spans, nbits, &b.ports);
  const int nports = static_cast<int>(b.ports.size());
  for (auto* f : {dt->mutable_port_protocols(), dt->mutable_port_firsts(), dt->mutable_port_lasts(),
                  dt->mutable_port_rows()}) {
    f->Reserve(nports);
  }
  for (const auto& fr : b.ports) {
    dt->add_port_protocols(fr.protocol);
    dt->add_port_firsts(fr.first);
    dt->add_port_lasts(fr.last);
    dt->add_port_rows(rows.Put(fr.rules.data()));
  }
  Bits other(nbits);
  for (uint32_t bit : b.other_bits) other.set(bit);
  dt->set_other_protocols_row(rows.Put(other.data()));
  rows_ += rows.rows();
}

// Endpoints share a direction's table when the same policies covering that direction
// select them and, for ingress with named ports, the names resolve alike on them.
std::string Compiler::TableKey(const IdentityInfo& id, Direction dir) {
  const int d = static_cast<int>(dir);
  std::string key(1, static_cast<char>('0' + d));
  bool named = false;
  for (uint32_t p : id.policies) {
    const PolicySpec& spec = Spec(p);
    if (!spec.covers[d]) continue;
    key.append(reinterpret_cast<const char*>(&p), sizeof(p));
    named |= dir == Direction::kIngress && spec.named_ingress;
  }
  if (named) {
    key += "|";
    for (const auto& cp : id.example->ports) {
      if (cp.name.empty()) continue;
      key += cp.name;
      key += '/';
      key += cp.protocol;
      key.append(reinterpret_cast<const char*>(&cp.container_port), sizeof(cp.container_port));
    }
  }
  return key;
}

void Compiler::Run() {
  for (const auto* np : idx_.policies) {
    auto* ref = out_->add_policies();
    ref->set_namespace_(np->meta.ns);
    ref->set_name(np->meta.name);
  }
  for (const auto& info : idx_.identities) {
    auto* id = out_->add_identities();
    id->set_id(info.id);
    id->set_namespace_(info.ns());
    for (const auto& [k, v] : info.labels()) {
      auto* l = id->add_labels();
      l->set_key(k);
      l->set_value(v);
    }
    std::vector<std::tuple<std::string, uint32_t, uint32_t>> named;
    for (const auto& cp : info.example->ports) {
      if (cp.name.empty()) continue;
      named.emplace_back(cp.name, static_cast<uint32_t>(*k8s::ParseProtocol(cp.protocol)),
                         static_cast<uint32_t>(cp.container_port));
    }
    std::sort(named.begin(), named.end());
    for (const auto& [name, proto, port] : named) {
      auto* np = id->add_named_ports();
      np->set_name(name);
      np->set_protocol(proto);
      np->set_port(port);
    }
  }
  std::string* addrs = out_->mutable_ipcache_addrs();
  addrs->reserve(16 * idx_.ipcache.size());
  for (const auto& [ip, identity] : idx_.ipcache) {
    addrs->append(ip.bytes.begin(), ip.bytes.end());
    out_->add_ipcache_identities(identity);
  }

  // One table per distinct key and direction, built from the first identity that needs it.
  std::unordered_map<std::string, uint32_t> tables;
  std::vector<std::array<uint32_t, 2>> identity_table(idx_.identities.size());
  for (uint32_t i = 0; i < idx_.identities.size(); ++i) {
    for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
      auto [it, inserted] = tables.try_emplace(TableKey(idx_.identities[i], dir), out_->tables_size());
      if (inserted) {
        auto* t = out_->add_tables();
        t->set_direction(dir == Direction::kIngress ? v1::INGRESS : v1::EGRESS);
        BuildDirection(idx_.identities[i], dir, t);
      }
      identity_table[i][static_cast<int>(dir)] = it->second;
    }
  }

  for (uint32_t e = 0; e < idx_.endpoints.size(); ++e) {
    const k8s::Pod& pod = *idx_.endpoints[e];
    auto* ep = out_->add_endpoints();
    ep->set_namespace_(pod.meta.ns);
    ep->set_name(pod.meta.name);
    ep->set_node(pod.node_name);
    for (const auto& ip : idx_.EndpointIps(e)) ep->add_ips(Bytes(ip));
    uint32_t ident = idx_.endpoint_identity[e];
    ep->set_identity(idx_.identities[ident].id);
    ep->set_ingress_table(identity_table[ident][0]);
    ep->set_egress_table(identity_table[ident][1]);
  }

  out_->mutable_words()->Add(words_.begin(), words_.end());

  auto* st = out_->mutable_stats();
  st->set_identities(out_->identities_size());
  st->set_endpoints(out_->endpoints_size());
  st->set_tables(out_->tables_size());
  st->set_policies(out_->policies_size());
  st->set_words(words_.size());
  st->set_rows(rows_);
  for (const auto& d : out_->tables()) {
    st->set_rules(st->rules() + d.rule_count());
    st->set_identity_entries(st->identity_entries() + d.identity_ids_size());
    st->set_cidr_entries(st->cidr_entries() + d.cidr_lengths_size());
    st->set_port_entries(st->port_entries() + d.port_rows_size());
  }
}

}  // namespace

void CompileInto(const k8s::ClusterState& state, const Options& options, v1::RuleTables* out) {
  out->Clear();
  ClusterIndex index(state);
  out->set_generation(options.generation);
  Compiler(index, out).Run();
}

v1::RuleTables Compile(const k8s::ClusterState& state, const Options& options) {
  v1::RuleTables out;
  CompileInto(state, options, &out);
  return out;
}

}  // namespace netfence::compiler
