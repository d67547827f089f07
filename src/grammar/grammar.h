// Constrained decoding: a grammar, and which tokens may come next under it.
//
// Every constraint is compiled to one form, llama.cpp's GBNF text:
//   JSON Schema (the subset OpenAI's strict mode and the usual generators
//   use), "any JSON object", and regular expressions are translated to GBNF
//   (json_schema.cc, regex.cc), so a user's `grammar` and a schema meet in
//   one parser (gbnf.cc) and one matcher.
//
// The parsed grammar works on bytes: a literal is its UTF-8 bytes, a
// character class is the alternatives of its UTF-8 byte sequences. Tokens
// then need no decoding, and a token that ends inside a character (byte-level
// BPE does that) simply leaves the matcher inside it.
//
// Matching (matcher.cc) is a pushdown recognizer in the manner of
// llama.cpp's: a state is a set of stacks of grammar positions, and a byte
// moves every stack whose top accepts it. Here stacks are hash-consed linked
// lists, a tail call pushes nothing, and a state (a set of stacks) is
// interned too, so the recognizer becomes a DFA built lazily: after the first
// time, a byte is one table lookup, and a state's token mask is computed once
// (a walk of the vocabulary's byte trie that prunes a subtree as soon as its
// prefix dies) and reused. A JSON string's content is one state, so a long
// string costs one walk, not one per token.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "r1/status.h"

namespace r1::grammar {

// ---- The grammar ----------------------------------------------------------

// A context-free grammar over bytes. Rule 0 is the root. Each alternative is
// a run of symbols in `syms` ending with an end marker.
struct Grammar {
  enum class Kind : uint8_t { kBytes, kRule, kEnd };
  struct Sym {
    Kind kind;
    int32_t arg;           // kBytes: index into sets; kRule: rule index
    bool literal = false;  // kBytes: a byte of a string literal (not of a class)
  };
  using ByteSet = std::array<uint64_t, 4>;
  std::vector<Sym> syms;
  std::vector<ByteSet> sets;
  std::vector<std::vector<int32_t>> rules;  // per rule: where each alternative starts in syms
  std::vector<std::string> rule_names;
  std::vector<std::string> literals;        // the grammar's string literals (control tokens may match only these)
  std::string source;                       // the GBNF text it was parsed from

  static bool Has(const ByteSet& s, uint8_t b) { return (s[b >> 6] >> (b & 63)) & 1; }
};

// Parses GBNF (llama.cpp's grammar format): `name ::= alternatives`, "literals"
// with \n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH escapes, [classes] and [^negated],
// `.`, ( groups ), | alternation, * + ? {m} {m,} {m,n}, # comments. The root
// rule is `root`. Errors name the rule and the offending text; left recursion
// and a repetition of what can be empty are refused (both would never end).
[[nodiscard]] StatusOr<std::shared_ptr<const Grammar>> ParseGbnf(std::string_view text);

// JSON Schema to GBNF. Supported: type (and arrays of types), properties,
// required, additionalProperties, enum, const, items, prefixItems, minItems,
// maxItems, minLength, maxLength, pattern, format (date, time, date-time,
// uuid), anyOf, oneOf (as anyOf), allOf of one schema, $ref to #, #/$defs/..
// and #/definitions/..; annotations (title, description, default, examples,
// $schema, $id, $comment, ...) are ignored. Any other keyword is an
// InvalidArgument naming it and where it is (e.g. "properties.age.minimum").
// Properties come in the schema's order; whitespace is bounded.
// The schema is an ordered_json so that the output follows the declared
// property order (parse the request text with nlohmann::ordered_json).
[[nodiscard]] StatusOr<std::string> JsonSchemaToGbnf(const nlohmann::ordered_json& schema);
// The rules of a schema alone, named PREFIX..., the schema being PREFIXroot;
// to embed in a larger grammar that also includes JsonPrimitivesGbnf() once.
[[nodiscard]] StatusOr<std::string> JsonSchemaRules(const nlohmann::ordered_json& schema, const std::string& prefix);
std::string JsonPrimitivesGbnf();  // ws, json-string, json-value, ... (what the rules refer to)
// Any JSON value whose top level is an object (response_format json_object).
std::string JsonObjectGbnf();
// A regular expression (ECMAScript-like: classes, \d \w \s, groups, |,
// quantifiers; ^ and $ only at the ends) matched whole, as GBNF.
[[nodiscard]] StatusOr<std::string> RegexToGbnf(std::string_view regex);

// ---- Matching against a vocabulary ---------------------------------------

// The vocabulary as the matcher sees it: every token's bytes, and which are
// control tokens (those may be emitted only where the grammar spells their
// text out in a literal, e.g. a tool-call marker; never where a character
// class would merely admit their bytes, such as inside a JSON string).
struct Vocab {
  std::vector<std::string> bytes;  // by token id
  std::vector<bool> control;
  std::vector<int32_t> eos;        // end-of-generation tokens: allowed once the grammar is complete
};

// A vocabulary's tokens in a byte trie, laid out in preorder: node i's
// subtree is [i, end[i]). Shared by every grammar over that vocabulary.
class TokenTrie {
 public:
  explicit TokenTrie(const Vocab& vocab);
  const Vocab& vocab() const { return vocab_; }

 private:
  friend class Matcher;
  Vocab vocab_;
  std::vector<uint8_t> byte_;
  std::vector<uint16_t> depth_;  // 0 for the first byte of a token
  std::vector<int32_t> end_;
  std::vector<int32_t> tok_begin_;  // tokens ending at node i: toks_[tok_begin_[i] .. tok_begin_[i + 1])
  std::vector<int32_t> toks_;
  std::vector<int32_t> control_;  // control tokens (matched one by one)
};

// The allowed tokens of one state: one bit per token id.
using TokenMask = std::vector<uint64_t>;
inline bool MaskHas(const TokenMask& m, int32_t id) { return (m[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1; }

// A grammar bound to a vocabulary; shared by every request that uses the
// same constraint, thread-safe. States are small integers; kDead is a state
// no input can continue.
class Matcher {
 public:
  static constexpr int32_t kDead = -1;
  Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie);

  int32_t Start() const { return 0; }
  int32_t Advance(int32_t state, std::string_view bytes);
  int32_t AdvanceToken(int32_t state, int32_t token);  // a token's bytes (kDead for an EOS token)
  // The grammar is satisfied here (an EOS token may come).
  bool Accepting(int32_t state);
  // Nothing may follow: only an EOS token.
  bool Complete(int32_t state);
  // The tokens that may come next: live continuations, and EOS tokens when
  // Accepting. Computed once per state, then cached.
  std::shared_ptr<const TokenMask> Mask(int32_t state);

  const Grammar& grammar() const { return *g_; }
  const TokenTrie& trie() const { return *trie_; }
  int64_t n_states() const;

 private:
  struct Node {
    int32_t pos, parent;
  };
  struct State {
    std::vector<int32_t> nodes;  // stacks whose top is a byte set
    bool accept = false;
    std::unique_ptr<std::array<int32_t, 256>> next;  // -2: not computed yet
    std::shared_ptr<const TokenMask> mask;
  };
  int32_t Intern(int32_t pos, int32_t parent);
  int32_t InternState(std::vector<int32_t> nodes, bool accept);
  void Closure(int32_t pos, int32_t parent, std::vector<int32_t>* out, bool* accept);
  int32_t Step(int32_t state, uint8_t b);         // under mu_
  int32_t StepLiteral(int32_t state, uint8_t b);  // only through literal bytes; under mu_
  int32_t AdvanceControl(int32_t state, const std::string& text);  // under mu_
  std::shared_ptr<const TokenMask> ComputeMask(int32_t state);

  std::shared_ptr<const Grammar> g_;
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<bool> control_ok_;  // by position in trie_->control_: its text is in a literal

  mutable std::mutex mu_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> node_ids_;
  std::vector<State> states_;
  std::unordered_map<std::string, int32_t> state_ids_;
  int64_t masks_cached_ = 0;
};

// A compiled constraint for a request: the GBNF it came from and its matcher.
struct Constraint {
  std::shared_ptr<Matcher> matcher;
  std::string description;  // "json_schema", "grammar", ... for errors and logs
};

}  // namespace r1::grammar
