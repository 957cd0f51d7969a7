#include "controlplane/compiler/compiler.h"

#include <algorithm>
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

// The rule bits of one direction of one table while they are being collected.
struct DirectionBuild {
  std::vector<v1::RuleRef> rules;                      // by bit
  std::vector<std::pair<uint32_t, uint32_t>> id_bits;  // (identity index, bit)
  std::vector<uint32_t> all_pod_bits;
  std::vector<CidrBlock> blocks;
  std::vector<PortSpan> spans;
  std::vector<uint32_t> other_bits;

  uint32_t NewBit(uint32_t policy, uint32_t rule_index) {
    v1::RuleRef ref;
    ref.set_policy(policy);
    ref.set_rule_index(rule_index);
    rules.push_back(ref);
    return static_cast<uint32_t>(rules.size() - 1);
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
  Compiler(const ClusterIndex& index, v1::RuleTables* out) : idx_(index), out_(out) {
    peer_cache_.resize(idx_.policies.size());
  }

  void Run();

 private:
  const PeerSet& Peers(uint32_t policy, Direction dir, uint32_t rule);
  void CollectRule(uint32_t policy, Direction dir, uint32_t rule, const IdentityInfo& self, DirectionBuild* b);
  void CollectNamedEgress(uint32_t policy, uint32_t rule, const PeerSet& ps,
                          const std::vector<std::pair<std::string, uint8_t>>& named, DirectionBuild* b);
  void BuildDirection(const IdentityInfo& self, Direction dir, v1::DirectionTable* dt);
  std::string TableKey(const IdentityInfo& id) const;

  const ClusterIndex& idx_;
  v1::RuleTables* out_;
  std::vector<std::map<std::pair<int, uint32_t>, PeerSet>> peer_cache_;  // per policy: (dir, rule)
  std::vector<uint64_t> words_;  // the row arena, moved into the tables at the end
  uint64_t rows_ = 0;
};

const PeerSet& Compiler::Peers(uint32_t policy, Direction dir, uint32_t rule) {
  auto key = std::pair(static_cast<int>(dir), rule);
  auto& cache = peer_cache_[policy];
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const auto& np = *idx_.policies[policy];
  const auto& r = np.Rules(dir)[rule];
  PeerSet ps;
  ps.everyone = r.peers.empty();
  for (const auto& peer : r.peers) {
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
  return cache.emplace(key, std::move(ps)).first->second;
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
      for (const auto& text : pod.pod_ips) {
        auto ip = IpAddr::Parse(text);
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

void Compiler::CollectRule(uint32_t policy, Direction dir, uint32_t rule, const IdentityInfo& self,
                           DirectionBuild* b) {
  const auto& r = idx_.policies[policy]->Rules(dir)[rule];
  const PeerSet& ps = Peers(policy, dir, rule);
  if (r.ports.empty()) {  // every protocol, every port
    uint32_t bit = b->NewBit(policy, rule);
    b->AddPeers(ps, bit);
    for (uint8_t proto : kL4Protocols) b->spans.push_back({proto, 0, 65535, bit});
    b->other_bits.push_back(bit);
    return;
  }
  std::vector<PortSpan> numeric;
  std::vector<std::pair<std::string, uint8_t>> named;
  for (const auto& p : r.ports) {
    uint8_t proto = static_cast<uint8_t>(p.protocol_or_default());
    if (!p.port) {
      numeric.push_back({proto, 0, 65535, 0});
    } else if (p.port->is_int) {
      auto first = static_cast<uint16_t>(p.port->int_value);
      numeric.push_back({proto, first, static_cast<uint16_t>(p.end_port.value_or(first)), 0});
    } else if (dir == Direction::kIngress) {
      // Ingress: the destination is the selected pod itself (tables are per named-port set).
      if (auto n = self.example->ResolveNamedPort(p.port->str_value, p.protocol_or_default())) {
        numeric.push_back({proto, *n, *n, 0});
      }
    } else {
      named.emplace_back(p.port->str_value, proto);
    }
  }
  if (!numeric.empty()) {
    uint32_t bit = b->NewBit(policy, rule);
    b->AddPeers(ps, bit);
    for (auto& s : numeric) {
      s.rule_bit = bit;
      b->spans.push_back(s);
    }
  }
  if (!named.empty()) CollectNamedEgress(policy, rule, ps, named, b);
}

void Compiler::BuildDirection(const IdentityInfo& self, Direction dir, v1::DirectionTable* dt) {
  DirectionBuild b;
  for (uint32_t p : self.policies) {
    if (!idx_.policies[p]->Covers(dir)) continue;
    dt->set_isolated(true);
    dt->add_isolating_policies(p);
    const auto& rules = idx_.policies[p]->Rules(dir);
    for (uint32_t r = 0; r < rules.size(); ++r) CollectRule(p, dir, r, self, &b);
  }
  const auto nbits = static_cast<uint32_t>(b.rules.size());
  const uint32_t row_words = (nbits + 63) / 64;
  dt->set_rule_count(nbits);
  dt->set_row_words(row_words);
  dt->set_summary_words(SummaryWords(row_words));
  dt->set_all_pods_row(kEmptyRow);
  dt->set_other_protocols_row(kEmptyRow);
  if (nbits == 0) return;
  for (auto& r : b.rules) *dt->add_rules() = std::move(r);

  RowWriter rows(&words_, row_words);

  Bits all_pods(nbits);
  for (uint32_t bit : b.all_pod_bits) all_pods.set(bit);
  dt->set_all_pods_row(rows.Put(all_pods.data()));

  std::sort(b.id_bits.begin(), b.id_bits.end());
  for (size_t i = 0; i < b.id_bits.size();) {
    uint32_t ident = b.id_bits[i].first;
    Bits row = all_pods;
    for (; i < b.id_bits.size() && b.id_bits[i].first == ident; ++i) row.set(b.id_bits[i].second);
    auto* e = dt->add_identities();
    e->set_identity(idx_.identities[ident].id);
    e->set_row(rows.Put(row.data()));
  }
  for (const auto& fp : FlattenCidrs(b.blocks, nbits)) {
    auto* c = dt->add_cidrs();
    c->set_prefix(Bytes(fp.prefix.addr));
    c->set_length(fp.prefix.len);
    c->set_row(rows.Put(fp.rules.data()));
  }
  for (const auto& fr : FlattenPorts(b.spans, nbits)) {
    auto* pr = dt->add_ports();
    pr->set_protocol(fr.protocol);
    pr->set_first(fr.first);
    pr->set_last(fr.last);
    pr->set_row(rows.Put(fr.rules.data()));
  }
  Bits other(nbits);
  for (uint32_t bit : b.other_bits) other.set(bit);
  dt->set_other_protocols_row(rows.Put(other.data()));
  rows_ += rows.rows();
}

// Endpoints share a table when the same policies select them and, if those policies use
// named ports in ingress rules, the names resolve the same way on them.
std::string Compiler::TableKey(const IdentityInfo& id) const {
  std::string key;
  bool named_ingress = false;
  for (uint32_t p : id.policies) {
    key += std::to_string(p) + ",";
    for (const auto& r : idx_.policies[p]->ingress) {
      for (const auto& port : r.ports) named_ingress |= port.port && !port.port->is_int;
    }
  }
  if (named_ingress) {
    key += "|";
    for (const auto& cp : id.example->ports) {
      if (!cp.name.empty()) key += cp.name + "/" + cp.protocol + "/" + std::to_string(cp.container_port) + ",";
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
    id->set_namespace_(info.ns);
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
  for (const auto& [ip, identity] : idx_.ipcache) {
    auto* e = out_->add_ipcache();
    e->set_ip(Bytes(ip));
    e->set_identity(identity);
  }

  // One table per distinct key, built from the first identity that needs it.
  std::unordered_map<std::string, uint32_t> tables;
  std::vector<uint32_t> identity_table(idx_.identities.size());
  for (uint32_t i = 0; i < idx_.identities.size(); ++i) {
    auto [it, inserted] = tables.try_emplace(TableKey(idx_.identities[i]), out_->tables_size());
    if (inserted) {
      auto* t = out_->add_tables();
      BuildDirection(idx_.identities[i], Direction::kIngress, t->mutable_ingress());
      BuildDirection(idx_.identities[i], Direction::kEgress, t->mutable_egress());
    }
    identity_table[i] = it->second;
  }

  for (uint32_t e = 0; e < idx_.endpoints.size(); ++e) {
    const k8s::Pod& pod = *idx_.endpoints[e];
    auto* ep = out_->add_endpoints();
    ep->set_namespace_(pod.meta.ns);
    ep->set_name(pod.meta.name);
    ep->set_node(pod.node_name);
    for (const auto& ip : pod.pod_ips) ep->add_ips(Bytes(*IpAddr::Parse(ip)));
    uint32_t ident = idx_.endpoint_identity[e];
    ep->set_identity(idx_.identities[ident].id);
    ep->set_table(identity_table[ident]);
  }

  out_->mutable_words()->Add(words_.begin(), words_.end());

  auto* st = out_->mutable_stats();
  st->set_identities(out_->identities_size());
  st->set_endpoints(out_->endpoints_size());
  st->set_tables(out_->tables_size());
  st->set_policies(out_->policies_size());
  st->set_words(words_.size());
  st->set_rows(rows_);
  for (const auto& t : out_->tables()) {
    for (const auto* d : {&t.ingress(), &t.egress()}) {
      st->set_rules(st->rules() + d->rule_count());
      st->set_identity_entries(st->identity_entries() + d->identities_size());
      st->set_cidr_entries(st->cidr_entries() + d->cidrs_size());
      st->set_port_entries(st->port_entries() + d->ports_size());
    }
  }
}

}  // namespace

v1::RuleTables Compile(const k8s::ClusterState& state, const Options& options) {
  ClusterIndex index(state);
  v1::RuleTables out;
  out.set_generation(options.generation);
  Compiler(index, &out).Run();
  return out;
}

}  // namespace netfence::compiler
