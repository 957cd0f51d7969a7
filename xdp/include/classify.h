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
 * searches, over the same rows.
 *
 * Audit mode: one lookup of the rows gives two decisions per direction. The enforced one
 * (traffic follows it) leaves out the rule bits of policies in audit (nf_table.audit_words) and
 * uses nf_table.isolated; the audited one uses every bit and audit_isolated, and is only
 * searched for when the table has something in audit (else it is the enforced one). */
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

/* Word `idx` of a row (0 for the empty row or an index past the arena); `key`: where the
 * lookup key is built (the query's, off the stack). */
static __always_inline __u64 nf_word(void *words, __u32 row, __u32 idx, __u32 *key) {
  if (row == NF_EMPTY_ROW) return 0;
  *key = row + idx;
  __u64 *w = bpf_map_lookup_elem(words, key);
  return w ? *w : 0;
}

/* The AND of three rows as a bpf_loop state machine: one step loads the next summary word
 * (when the current one is exhausted) or tests one candidate row word. At most
 * S + 64 * S steps, so nr_loops = 65 * S + 1 always reaches the end. The state lives in the
 * query (q->rows), off the stack. */
struct nf_and_ctx {
  void *words; /* the live slot's arena */
  struct nf_rows *s;
};

/* Bits of word `v` at positions >= `from` (0..63). */
static __always_inline __u64 nf_bits_from(__u64 v, __u32 from) { return v & (~0ULL << (from & 63)); }

/* Word s->idx of the AND of the rows, into s->acc. Kept in the query rather than in registers:
 * with no value live across the lookups but the context, the callback needs no stack. */
static __always_inline void nf_and_word(void *words, struct nf_rows *s) {
  s->acc = nf_word(words, s->id_row, s->idx, &s->key);
  s->acc |= nf_word(words, s->cidr_row, s->idx, &s->key);
  s->acc &= nf_word(words, s->port_row, s->idx, &s->key);
}

static long nf_and_step(__u32 index, void *arg) {
  struct nf_and_ctx *c = arg;
  struct nf_rows *s = c->s;
  void *words = c->words;
  (void)index;
  if (s->summary == 0) { /* load summary word next_summary */
    __u32 j = s->next_summary;
    if (j >= s->summary_words) return 1;
    s->idx = j;
    nf_and_word(words, s);
    __u32 first_word = s->start / 64;
    s->summary = j == first_word / 64 ? nf_bits_from(s->acc, first_word) : s->acc;
    s->next_summary = j + 1;
    return 0;
  }
  /* test the lowest candidate row word of the summary word */
  __u32 w = 64 * (s->next_summary - 1) + nf_lowest_bit(s->summary);
  s->idx = s->summary_words + w;
  nf_and_word(words, s);
  __u64 v = s->acc;
  if (w == s->start / 64) v = nf_bits_from(v, s->start);
  v &= ~nf_word(words, s->skip_row, w, &s->key); /* 0 for NF_EMPTY_ROW: nothing left out */
  if (v) {
    s->found = 1;
    s->rule = 64 * w + nf_lowest_bit(v);
    return 1;
  }
  s->summary &= s->summary - 1;
  return 0;
}

/* Bit `bit` of a bitmap of row_words words at arena index `bitmap`: 1 or 0, 0 for NF_EMPTY_ROW,
 * -1 when the arena lacks the word (fail closed). */
static __always_inline int nf_action_bit(void *words, __u32 bitmap, __u32 bit, __u32 *key) {
  if (bitmap == NF_EMPTY_ROW) return 0;
  *key = bitmap + bit / 64;
  __u64 *w = bpf_map_lookup_elem(words, key);
  if (!w) return -1;
  return (int)((*w >> (bit & 63)) & 1);
}

/* The lowest set bit at or above `start` of the AND of q->rows over the slot's arena, the bits
 * of q->rows.skip_row left out: 1 and q->rows.rule, or 0 when there is none. A global function:
 * the verifier checks the search loop once, not at each call site (a tiered table searches
 * twice; the loop at two call sites of one function is more than the verifier follows). A
 * search with skip_row after an unmasked one over the same rows starts from its answer
 * (rows.memo_*): two decisions cost one AND and, at most, the rest of a second. */
__attribute__((noinline)) int nf_search(struct nf_query *q, __u32 start) {
  if (!q) return 0;
  void *words = bpf_map_lookup_elem(&words_slots, &q->slot); /* keys off the stack */
  struct nf_rows *s = &q->rows;
  __u32 summary_words = s->summary_words;
  if (!words || summary_words > NF_MAX_SUMMARY_WORDS) return 0;
  const int masked = s->skip_row != NF_EMPTY_ROW;
  if (masked && s->memo_valid && s->memo_start <= start) {
    /* The audited decision searched these rows unmasked first (nf_match): the masked answer
     * is never below the unmasked one, and is it unless that bit is skipped. */
    if (!s->memo_found) return 0;
    if (s->memo_rule >= start) {
      int skipped = nf_action_bit(words, s->skip_row, s->memo_rule, &s->key);
      if (skipped == 0) {
        s->rule = s->memo_rule;
        return 1;
      }
      if (skipped > 0) start = s->memo_rule + 1;
    }
  }
  const __u32 asked = start;
  s->start = start;
  s->next_summary = start / 4096;
  s->found = 0;
  s->summary = 0;
  struct nf_and_ctx c = {.words = words, .s = s};
  bpf_loop(65 * summary_words + 1, nf_and_step, &c, 0);
  if (!masked && (!s->memo_valid || asked <= s->memo_start)) {
    s->memo_valid = 1;
    s->memo_start = asked;
    s->memo_found = s->found;
    s->memo_rule = s->rule;
  }
  return s->found ? 1 : 0;
}

/* The action of rule bit `bit` of tiered table `t`: 0 accept, 1 deny, 2 pass; -1 when the
 * arena lacks a word it should hold (fail closed). */
#define NF_ACT_ACCEPT 0
#define NF_ACT_DENY 1
#define NF_ACT_PASS 2
static __always_inline int nf_rule_action(void *words, const struct nf_table *t, __u32 bit, __u32 *key) {
  int deny = nf_action_bit(words, t->deny_words, bit, key);
  int pass = nf_action_bit(words, t->pass_words, bit, key);
  if (deny < 0 || pass < 0) return -1;
  return deny ? NF_ACT_DENY : pass ? NF_ACT_PASS : NF_ACT_ACCEPT;
}

/* Whether rule bit `bit`'s action decides (r filled); 0 for Pass. */
static __always_inline int nf_decide_tiered(void *words, const struct nf_table *t, __u32 bit, struct nf_dir_result *r,
                                            __u32 *key) {
  int action = nf_rule_action(words, t, bit, key);
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

/* One decision of table `table` over q->rows (`any`: some row is non-empty): the enforced one
 * into q->r (`audited` 0: the bits of policies in audit left out, isolation by enforced
 * NetworkPolicies), or the audited one into q->ar (every bit, audit_isolated). A global
 * function: the verifier checks the decision once, whether it is taken once or twice. */
__attribute__((noinline)) int nf_decide_rows(struct nf_query *q, __u32 table, __u32 audited, __u32 any) {
  if (!q) return 0;
  struct nf_dir_result *r = audited ? &q->ar : &q->r;
  void *tables = bpf_map_lookup_elem(&tables_slots, &q->slot); /* keys off the stack */
  void *words = bpf_map_lookup_elem(&words_slots, &q->slot);
  q->rows.table = table;
  struct nf_table *t = tables ? bpf_map_lookup_elem(tables, &q->rows.table) : 0;
  r->table = table;
  r->rule = 0;
  r->internal = 0;
  if (!t || !words) {
    r->outcome = NF_DENIED;
    r->internal = 1;
    return 0;
  }
  __u32 isolated = audited ? t->audit_isolated : t->isolated;
  q->rows.skip_row = audited ? NF_EMPTY_ROW : t->audit_words;
  int found = any && nf_search(q, 0);
  __u32 bit = q->rows.rule;
  if (!t->tiered) { /* every bit a NetworkPolicy allow */
    r->outcome = !isolated ? NF_NOT_ISOLATED : found ? NF_ALLOWED : NF_DENIED;
    if (isolated && found) r->rule = bit;
    return 0;
  }
  if (found && bit < t->np_first) { /* Admin tier */
    if (nf_decide_tiered(words, t, bit, r, &q->rows.key)) return 0;
    found = nf_search(q, t->np_first); /* Pass: on to the NetworkPolicy tier */
    bit = q->rows.rule;
  }
  if (found && bit < t->bl_first) { /* NetworkPolicy tier: a bit allows */
    r->outcome = NF_ALLOWED;
    r->rule = bit;
    return 0;
  }
  if (isolated) { /* isolated by NetworkPolicy, no bit allowed: the tier boundary */
    r->outcome = NF_DENIED;
    return 0;
  }
  r->outcome = NF_NOT_ISOLATED; /* Baseline tier, or nothing: the default */
  if (found && nf_decide_tiered(words, t, bit, r, &q->rows.key)) return 0;
  r->outcome = NF_NOT_ISOLATED;
  r->rule = 0;
  return 0;
}

static __always_inline int nf_is_port_proto(__u32 proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == NF_IPPROTO_SCTP;
}

/* One direction of one table of the query's slot against a peer (the query's source or its
 * destination, and its identity): the enforced decision in q->r, the audited one in q->ar. */
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
  struct nf_table *t = tables ? bpf_map_lookup_elem(tables, &table) : 0;
  if (!t || !port_rows || !id_rows || !cidr_rows) {
    r->outcome = NF_DENIED;
    r->table = table;
    r->internal = 1;
    q->ar = *r;
    return 0;
  }
  if (!t->isolated && !t->audit_isolated && !t->tiered) { /* nothing to look up */
    q->ar = *r;
    return 0;
  }
  struct nf_rows *rows = &q->rows;
  rows->id_row = NF_EMPTY_ROW;
  rows->cidr_row = NF_EMPTY_ROW;

  /* Port dimension. */
  __u32 port_row = t->other_row;
  if (nf_is_port_proto(proto)) {
    struct nf_port_key *pk = &q->port_key; /* off the stack */
    pk->prefixlen = NF_PORT_FULL_PREFIX;
    pk->table_be = bpf_htonl(table);
    pk->proto = (__u8)proto;
    pk->port_be[0] = (__u8)(dport >> 8);
    pk->port_be[1] = (__u8)dport;
    pk->pad = 0;
    __u32 *v = bpf_map_lookup_elem(port_rows, pk);
    port_row = v ? *v : NF_EMPTY_ROW;
  }
  rows->port_row = port_row;
  int any = port_row != NF_EMPTY_ROW;

  /* Peer dimension: identity row (pods only), longest-prefix CIDR row. */
  if (any) {
    if (peer_identity >= NF_FIRST_POD_IDENTITY) {
      struct nf_id_key *ik = &q->id_key;
      ik->table = table;
      ik->identity = peer_identity;
      __u32 *v = bpf_map_lookup_elem(id_rows, ik);
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
    r->outcome = NF_DENIED;
    r->table = table;
    r->internal = 1;
    q->ar = *r;
    return 0;
  }
  rows->summary_words = summary_words;
  rows->memo_valid = 0;
  if (t->audit_words != NF_EMPTY_ROW || t->audit_isolated != t->isolated) {
    /* The audited decision first: its unmasked searches let the enforced one skip most of
     * its own (nf_search's memo). */
    nf_decide_rows(q, table, 1, any);
    nf_decide_rows(q, table, 0, any);
  } else {
    nf_decide_rows(q, table, 0, any);
    q->ar = *r; /* nothing in audit: the same decision */
  }
  return 0;
}

#endif /* NETFENCE_XDP_CLASSIFY_H */
