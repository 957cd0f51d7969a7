/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Classification over the compiled tables, exactly as common/classifier/classifier.cc:
 * a direction of a table matches (peer, proto, dport) iff
 *   (identity_row(peer) | cidr_row(peer)) & port_row(proto, dport) != 0
 * and the lowest set bit of the AND is the rule reported. The AND walks the summary words
 * first and only looks at row words a summary says may be non-zero.
 *
 * Tables with ClusterNetworkPolicy tiers (nf_table.tiered) order their bits Admin,
 * NetworkPolicy, Baseline; the lowest set bit's action decides: an Admin Deny drops, an Admin
 * Pass searches again from the first NetworkPolicy bit, an Admin Accept or a NetworkPolicy bit
 * allows; a table NetworkPolicy isolates denies when no bit below the Baseline tier is set;
 * else the lowest Baseline bit decides (Pass, or no bit: not isolated, allowed). At most two
 * searches, over the same rows. */
#ifndef NETFENCE_XDP_CLASSIFY_H
#define NETFENCE_XDP_CLASSIFY_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "netfence_abi.h"
#include "parsing.h"

/* Lowest set bit by De Bruijn multiply (__builtin_ctzll crashes clang 14 for BPF). */
#define NF_DEBRUIJN64 0x03f79d71b4cb0a89ULL
static const __u8 nf_debruijn_index[64] = {0,  1,  48, 2,  57, 49, 28, 3,  61, 58, 50, 42, 38, 29, 17, 4,
                                           62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
                                           63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
                                           46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,  13, 8,  7,  6};

static __always_inline __u32 nf_lowest_bit(__u64 v) { return nf_debruijn_index[((v & -v) * NF_DEBRUIJN64) >> 58]; }

/* Word `idx` of a row (0 for the empty row or an index past the arena). */
static __always_inline __u64 nf_word(void *words, __u32 row, __u32 idx) {
  if (row == NF_EMPTY_ROW) return 0;
  __u32 k = row + idx;
  __u64 *w = bpf_map_lookup_elem(words, &k);
  return w ? *w : 0;
}

/* The AND of three rows as a bpf_loop state machine: one step loads the next summary word
 * (when the current one is exhausted) or tests one candidate row word. At most
 * S + 64 * S steps, so nr_loops = 65 * S + 1 always reaches the end. */
struct nf_and_ctx {
  void *words; /* the live slot's arena */
  __u32 id_row;
  __u32 cidr_row;
  __u32 port_row;
  __u32 summary_words;
  __u32 next_summary; /* index of the next summary word to load */
  __u32 found;
  __u32 rule;
  __u32 start;   /* the search ignores bits below this one */
  __u64 summary; /* candidate words of summary word next_summary - 1 not yet tested */
};

/* Bits of word `v` at positions >= `from` (0..63). */
static __always_inline __u64 nf_bits_from(__u64 v, __u32 from) { return v & (~0ULL << (from & 63)); }

static long nf_and_step(__u32 index, void *arg) {
  struct nf_and_ctx *c = arg;
  (void)index;
  __u32 first_word = c->start / 64;
  if (c->summary == 0) {
    __u32 j = c->next_summary;
    if (j >= c->summary_words) return 1;
    void *words = c->words;
    __u64 s = (nf_word(words, c->id_row, j) | nf_word(words, c->cidr_row, j)) & nf_word(words, c->port_row, j);
    c->summary = j == first_word / 64 ? nf_bits_from(s, first_word) : s;
    c->next_summary = j + 1;
    return 0;
  }
  __u32 w = 64 * (c->next_summary - 1) + nf_lowest_bit(c->summary);
  __u32 at = c->summary_words + w;
  void *words = c->words;
  __u64 v = (nf_word(words, c->id_row, at) | nf_word(words, c->cidr_row, at)) & nf_word(words, c->port_row, at);
  if (w == first_word) v = nf_bits_from(v, c->start);
  if (v) {
    c->found = 1;
    c->rule = 64 * w + nf_lowest_bit(v);
    return 1;
  }
  c->summary &= c->summary - 1;
  return 0;
}

/* The lowest set bit at or above `start` of the AND of q->rows over the slot's arena: 1 and
 * q->rows.rule, or 0 when there is none. A global function: the verifier checks the search
 * loop once, not at each of nf_match()'s call sites (a tiered table searches twice). */
__attribute__((noinline)) int nf_search(struct nf_query *q, __u32 start) {
  if (!q) return 0;
  __u32 slot = q->slot;
  void *words = bpf_map_lookup_elem(&words_slots, &slot);
  __u32 summary_words = q->rows.summary_words;
  if (!words || summary_words > NF_MAX_SUMMARY_WORDS) return 0;
  struct nf_and_ctx c = {
      .words = words,
      .id_row = q->rows.id_row,
      .cidr_row = q->rows.cidr_row,
      .port_row = q->rows.port_row,
      .summary_words = summary_words,
      .next_summary = start / 4096,
      .start = start,
  };
  bpf_loop(65 * summary_words + 1, nf_and_step, &c, 0);
  q->rows.rule = c.rule;
  return c.found ? 1 : 0;
}

/* The action of rule bit `bit` of tiered table `t`: 0 accept, 1 deny, 2 pass; -1 when the
 * arena lacks a word it should hold (fail closed). */
#define NF_ACT_ACCEPT 0
#define NF_ACT_DENY 1
#define NF_ACT_PASS 2
static __always_inline int nf_action_bit(void *words, __u32 bitmap, __u32 bit) {
  if (bitmap == NF_EMPTY_ROW) return 0;
  __u32 k = bitmap + bit / 64;
  __u64 *w = bpf_map_lookup_elem(words, &k);
  if (!w) return -1;
  return (int)((*w >> (bit & 63)) & 1);
}
static __always_inline int nf_rule_action(void *words, const struct nf_table *t, __u32 bit) {
  int deny = nf_action_bit(words, t->deny_words, bit);
  int pass = nf_action_bit(words, t->pass_words, bit);
  if (deny < 0 || pass < 0) return -1;
  return deny ? NF_ACT_DENY : pass ? NF_ACT_PASS : NF_ACT_ACCEPT;
}

/* Whether rule bit `bit`'s action decides (r filled); 0 for Pass. */
static __always_inline int nf_decide_tiered(void *words, const struct nf_table *t, __u32 bit, struct nf_dir_result *r) {
  int action = nf_rule_action(words, t, bit);
  if (action < 0) {
    r->outcome = NF_DENIED;
    r->internal = 1;
    return 1;
  }
  if (action == NF_ACT_PASS) return 0;
  r->outcome = action == NF_ACT_DENY ? NF_DENIED_BY_RULE : NF_ALLOWED;
  r->rule = bit;
  return 1;
}

/* The verdict of a tiered table over q->rows (`any`: some row is non-empty). */
static __always_inline void nf_match_tiered(struct nf_query *q, void *words, const struct nf_table *t, int any) {
  struct nf_dir_result *r = &q->r;
  int found = any && nf_search(q, 0);
  __u32 bit = q->rows.rule;
  if (found && bit < t->np_first) { /* Admin tier */
    if (nf_decide_tiered(words, t, bit, r)) return;
    found = nf_search(q, t->np_first); /* Pass: on to the NetworkPolicy tier */
    bit = q->rows.rule;
  }
  if (found && bit < t->bl_first) { /* NetworkPolicy tier: a bit allows */
    r->outcome = NF_ALLOWED;
    r->rule = bit;
    return;
  }
  if (t->isolated) { /* isolated by NetworkPolicy, no bit allowed: the tier boundary */
    r->outcome = NF_DENIED;
    return;
  }
  r->outcome = NF_NOT_ISOLATED; /* Baseline tier, or nothing: the default */
  if (found && nf_decide_tiered(words, t, bit, r)) return;
  r->outcome = NF_NOT_ISOLATED;
  r->rule = 0;
}

static __always_inline int nf_is_port_proto(__u32 proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == NF_IPPROTO_SCTP;
}

/* One direction of one table of the query's slot against a peer (the query's source or its
 * destination, and its identity): the result in q->r. */
static __always_inline int nf_match(struct nf_query *q, __u32 table, __u32 peer_is_src, __u32 peer_identity) {
  struct nf_dir_result *r = &q->r;
  const __u8 *peer = peer_is_src ? q->q.src : q->q.dst;
  __u32 slot = q->slot, proto = q->q.proto, dport = q->q.dport;
  r->outcome = NF_NOT_ISOLATED;
  r->table = 0;
  r->rule = 0;
  r->internal = 0;
  void *tables = bpf_map_lookup_elem(&tables_slots, &slot);
  void *port_rows = bpf_map_lookup_elem(&port_rows_slots, &slot);
  void *id_rows = bpf_map_lookup_elem(&id_rows_slots, &slot);
  void *cidr_rows = bpf_map_lookup_elem(&cidr_rows_slots, &slot);
  void *words = bpf_map_lookup_elem(&words_slots, &slot);
  struct nf_table *t = tables ? bpf_map_lookup_elem(tables, &table) : 0;
  if (!t || !port_rows || !id_rows || !cidr_rows || !words) {
    r->outcome = NF_DENIED;
    r->table = table;
    r->internal = 1;
    return 0;
  }
  if (!t->isolated && !t->tiered) return 0;
  r->table = table;
  r->outcome = NF_DENIED;
  struct nf_rows *rows = &q->rows;
  rows->id_row = NF_EMPTY_ROW;
  rows->cidr_row = NF_EMPTY_ROW;

  /* Port dimension. */
  __u32 port_row = t->other_row;
  if (nf_is_port_proto(proto)) {
    struct nf_port_key pk = {};
    pk.prefixlen = NF_PORT_FULL_PREFIX;
    pk.table_be = bpf_htonl(table);
    pk.proto = (__u8)proto;
    pk.port_be[0] = (__u8)(dport >> 8);
    pk.port_be[1] = (__u8)dport;
    __u32 *v = bpf_map_lookup_elem(port_rows, &pk);
    port_row = v ? *v : NF_EMPTY_ROW;
  }
  rows->port_row = port_row;
  int any = port_row != NF_EMPTY_ROW;

  /* Peer dimension: identity row (pods only), longest-prefix CIDR row. */
  if (any) {
    if (peer_identity >= NF_FIRST_POD_IDENTITY) {
      struct nf_id_key ik = {.table = table, .identity = peer_identity};
      __u32 *v = bpf_map_lookup_elem(id_rows, &ik);
      rows->id_row = v ? *v : t->all_pods_row;
    }
    struct nf_cidr_key *ck = &q->cidr_key; /* off the stack */
    ck->prefixlen = NF_CIDR_TABLE_BITS + 128;
    ck->table_be = bpf_htonl(table);
    __builtin_memcpy(ck->addr, peer, 16);
    __u32 *cv = bpf_map_lookup_elem(cidr_rows, ck);
    rows->cidr_row = cv ? *cv : NF_EMPTY_ROW;
    any = rows->id_row != NF_EMPTY_ROW || rows->cidr_row != NF_EMPTY_ROW;
  }

  __u32 summary_words = t->summary_words;
  if (summary_words > NF_MAX_SUMMARY_WORDS) {
    r->internal = 1;
    return 0;
  }
  rows->summary_words = summary_words;
  if (t->tiered) {
    nf_match_tiered(q, words, t, any);
    return 0;
  }
  if (any && nf_search(q, 0)) {
    r->outcome = NF_ALLOWED;
    r->rule = rows->rule;
  }
  return 0;
}

#endif /* NETFENCE_XDP_CLASSIFY_H */
