// The grammar engine: the language each construct accepts, JSON Schema
// compilation on a corpus of valid and invalid documents, and token masks
// against a brute-force check of every token.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"

namespace r1::grammar {
namespace {

using json = nlohmann::ordered_json;  // keeps a schema's property order

std::shared_ptr<const TokenTrie> ByteVocab() {
  Vocab v;
  for (int b = 0; b < 256; ++b) v.bytes.push_back(std::string(1, static_cast<char>(b)));
  v.control.assign(256, false);
  return std::make_shared<TokenTrie>(v);
}

std::shared_ptr<Matcher> Compile(const std::string& gbnf) {
  auto g = ParseGbnf(gbnf);
  EXPECT_TRUE(g.ok()) << g.status().message() << "\n" << gbnf;
  if (!g.ok()) return nullptr;
  static auto trie = ByteVocab();
  return std::make_shared<Matcher>(g.value(), trie);
}

bool Accepts(Matcher& m, std::string_view text) {
  const int32_t s = m.Advance(m.Start(), text);
  return s >= 0 && m.Accepting(s);
}

std::shared_ptr<Matcher> Schema(const json& schema) {
  auto g = JsonSchemaToGbnf(schema);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? Compile(g.value()) : nullptr;
}

TEST(Gbnf, LiteralsClassesAndRepetition) {
  auto m = Compile(R"(root ::= "a" [0-9]+ ( "x" | "yz" )? [^a-c]{2,3} # comment
)");
  ASSERT_TRUE(m);
  for (const char* ok : {"a1xdd", "a12yzddd", "a0dd", "a0\xc3\xa9z"}) EXPECT_TRUE(Accepts(*m, ok)) << ok;
  for (const char* bad : {"a", "ax", "a1d", "a1xdddd", "a1xad", "b1dd", "a1x\xc3"}) EXPECT_FALSE(Accepts(*m, bad)) << bad;
}

TEST(Gbnf, Utf8ClassesMatchWholeCharacters) {
  auto m = Compile("root ::= [α-ω]+ [^\\x00-\\x7F]\n");
  ASSERT_TRUE(m);
  EXPECT_TRUE(Accepts(*m, "αβ€"));
  EXPECT_TRUE(Accepts(*m, "ω\xF0\x9F\x98\x80"));
  EXPECT_FALSE(Accepts(*m, "αa"));
  EXPECT_FALSE(Accepts(*m, "α\xCE"));        // a cut character
  EXPECT_FALSE(Accepts(*m, "α\xED\xA0\x80"));  // a surrogate's encoding is not UTF-8
  // A byte at a time: the middle of a character is a live state.
  EXPECT_NE(m->Advance(m->Start(), "\xCE"), Matcher::kDead);
}

TEST(Gbnf, RulesRecursionAndAmbiguity) {
  auto m = Compile(R"g(
root ::= list
list ::= "(" ( item ( "," item )* )? ")"
item ::= [a-z]+ | list
)g");
  ASSERT_TRUE(m);
  for (const char* ok : {"()", "(a)", "(a,(b,()),c)", "((((((x))))))"}) EXPECT_TRUE(Accepts(*m, ok)) << ok;
  for (const char* bad : {"(", "(a,)", "(a))", "a"}) EXPECT_FALSE(Accepts(*m, bad)) << bad;
  auto amb = Compile("root ::= \"a\" x | \"a\" \"b\"\nx ::= \"b\" | \"bc\"\n");
  ASSERT_TRUE(amb);
  EXPECT_TRUE(Accepts(*amb, "ab"));
  EXPECT_TRUE(Accepts(*amb, "abc"));
}

TEST(Gbnf, LongRepetitionRunsInConstantStates) {
  auto m = Compile("root ::= \"\\\"\" [a-z]* \"\\\"\"\n");
  ASSERT_TRUE(m);
  int32_t s = m->Advance(m->Start(), "\"");
  const int32_t inside = s;
  for (int k = 0; k < 10000; ++k) s = m->Advance(s, "q");
  EXPECT_EQ(s, inside);  // a tail call: the same state every time
  EXPECT_LT(m->n_states(), 10);
  EXPECT_TRUE(m->Accepting(m->Advance(s, "\"")));
}

TEST(Gbnf, BadGrammarsAreErrorsNamingTheRule) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"x ::= \"a\"\n", "no 'root'"},
      {"root ::= y\n", "'y' is used but not defined"},
      {"root ::= root \"a\" | \"b\"\n", "'root' is left-recursive"},
      {"root ::= e \"a\"\ne ::= \"\" | e \"b\"\n", "left-recursive"},
      {"root ::= (\"a\"?)*\n", "empty string"},
      {"root ::= \"abc\n", "unterminated string"},
      {"root ::= [b-a]\n", "out of order"},
      {"root ::= \"a\"{3,2}\n", "n < m"},
      {"root ::= \"a\"\nroot ::= \"b\"\n", "defined twice"},
      {"root ::= \"\\q\"\n", "unknown escape"},
      {"root ::= ( \"a\"\n", "expected ')'"},
  };
  for (const Case& c : cases) {
    auto g = ParseGbnf(c.text);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_NE(g.status().message().find(c.says), std::string::npos) << g.status().message();
  }
}

TEST(Regex, TranslatesToTheSameLanguage) {
  struct Case {
    const char* re;
    std::vector<const char*> ok, bad;
  } cases[] = {
      {"^\\d{3}-\\d{4}$", {"555-1234"}, {"5551234", "55-1234", "555-12345"}},
      {"(cat|dog)s?", {"cat", "dogs"}, {"cow", "cats!"}},
      {"[A-Z][a-z]*( [A-Z][a-z]*)*", {"Ada", "Ada Lovelace"}, {"ada", "Ada  L"}},
      {"a.c", {"abc", "a-c"}, {"a\nc", "ac"}},
      {"\\w+@\\w+\\.com", {"a_1@b.com"}, {"a@b.org", "@b.com"}},
      {"x{2,}", {"xx", "xxxxx"}, {"x"}},
      {"[^0-9]+", {"abc"}, {"a1"}},
  };
  for (const Case& c : cases) {
    auto g = RegexToGbnf(c.re);
    ASSERT_TRUE(g.ok()) << c.re << ": " << g.status().message();
    auto m = Compile(g.value());
    ASSERT_TRUE(m);
    for (const char* s : c.ok) EXPECT_TRUE(Accepts(*m, s)) << c.re << " on " << s;
    for (const char* s : c.bad) EXPECT_FALSE(Accepts(*m, s)) << c.re << " on " << s;
  }
  for (const char* bad : {"(a", "a)", "a**b", "+a", "(?=x)", "\\1", "[z-a]", "a{2"}) {
    EXPECT_FALSE(RegexToGbnf(bad).ok()) << bad;
  }
}

// A corpus: each schema with documents it accepts and rejects.
TEST(JsonSchema, AcceptsExactlyTheValidDocuments) {
  struct Case {
    json schema;
    std::vector<std::string> ok, bad;
  };
  const std::vector<Case> cases = {
      {json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},
                      "required":["name","age"],"additionalProperties":false})"),
       {R"({"name":"Ada","age":36})", R"({ "name" : "A\"b\u00e9" , "age" : -0 })", "\n\n{\"name\":\"\",\"age\":7}"},
       {R"({"age":36,"name":"Ada"})", R"({"name":"Ada"})", R"({"name":"Ada","age":36,"x":1})", R"({"name":1,"age":2})",
        R"({"name":"Ada","age":3.5})", R"({"name":"Ada","age":012})", R"({"name":"a\qb","age":1})"}},
      {json::parse(R"({"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"null"},"c":{"enum":["x",2,null]}}})"),
       {"{}", R"({"a":true})", R"({"b":null,"c":2})", R"({"a":false,"b":null,"c":"x"})", R"({"c":null,"zz":[1,{"q":"r"}]})"},
       {R"({"b":null,"a":true})", R"({"c":"y"})", R"({"b":null,"c":3})", R"({"c:1})", R"({"zz:1})", R"({"a":true,})", R"({,"a":true})"}},
      {json::parse(R"({"type":"array","items":{"type":"number"},"minItems":2,"maxItems":3})"),
       {"[1,2]", "[1.5e3, -2, 0.25]"},
       {"[]", "[1]", "[1,2,3,4]", "[1,]", "[01]", "[1.]"}},
      {json::parse(R"({"anyOf":[{"type":"string","maxLength":3},{"type":"integer"}]})"),
       {R"("abc")", R"("")", "42"},
       {R"("abcd")", "4.5", "true"}},
      {json::parse(R"({"type":"string","pattern":"^[a-z]+-\\d+$"})"), {R"("ab-12")"}, {R"("ab12")", R"("AB-1")"}},
      {json::parse(R"({"type":"string","format":"date-time"})"),
       {R"("2025-01-20T12:30:00Z")", R"("2025-12-31T23:59:59.5+05:30")"},
       {R"("2025-13-01T00:00:00Z")", R"("2025-01-20 12:30:00Z")"}},
      {json::parse(R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
                      "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"],"additionalProperties":false}},
                      "$ref":"#/$defs/node"})"),
       {R"({"v":1})", R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4}]}]})"},
       {R"({"kids":[]})", R"({"v":1,"kids":[{}]})"}},
      {json::parse(R"({"type":["string","null"]})"), {R"("a")", "null"}, {"1"}},
      {json::parse(R"({"const":{"k":[1,"two"]}})"), {R"({"k":[1,"two"]})"}, {R"({"k":[1,"tw"]})"}},
      {json::parse(R"({})"), {"1", R"({"a":[true,null,"x",-1.5e-3]})"}, {"{", "[1,,2]", "nul"}},
  };
  for (const Case& c : cases) {
    auto m = Schema(c.schema);
    ASSERT_TRUE(m) << c.schema.dump();
    for (const std::string& s : c.ok) EXPECT_TRUE(Accepts(*m, s)) << c.schema.dump() << " should accept " << s;
    for (const std::string& s : c.bad) EXPECT_FALSE(Accepts(*m, s)) << c.schema.dump() << " should reject " << s;
  }
}

TEST(JsonSchema, UnsupportedAndInvalidSchemasNameTheKeyword) {
  struct Case {
    const char* schema;
    const char* says;
  } cases[] = {
      {R"({"type":"object","properties":{"age":{"type":"integer","minimum":0}}})", "properties.age.minimum"},
      {R"({"type":"strin"})", "unknown type 'strin'"},
      {R"({"type":"object","required":["x"]})", "'x' is not in properties"},
      {R"({"$ref":"#/$defs/missing"})", "does not resolve"},
      {R"({"type":"string","format":"email"})", "format 'email' is not supported"},
      {R"g({"type":"string","pattern":"(?=a)"})g", "pattern"},
      {R"({"allOf":[{"type":"string"},{"maxLength":2}]})", "allOf"},
      {R"({"type":"array","maxItems":-1})", "maxItems"},
      {R"({"properties":{"a":false}})", "properties.a"},
      {R"({"enum":[]})", "enum"},
      {R"({"not":{"type":"string"}})", "'not' is not supported"},
  };
  for (const Case& c : cases) {
    auto g = JsonSchemaToGbnf(json::parse(c.schema));
    ASSERT_FALSE(g.ok()) << c.schema;
    EXPECT_NE(g.status().message().find(c.says), std::string::npos) << c.schema << " -> " << g.status().message();
  }
}

// A vocabulary of multi-byte tokens, some straddling JSON structure.
std::shared_ptr<const TokenTrie> JsonVocab() {
  Vocab v;
  for (const char* t : {"{", "}", "\"", ":", ",", " ", "\n", "\"}", "\",", "{\"", "\":", "\": \"", "name", "na", "me",
                        "age", "\"name\"", "12", "3", "-", "0", ".", "true", "tr", "ue", "Ada", "a", "\\", "\\\"", "é",
                        "\xC3", "\xA9", "[", "]", "],", "null", "x", "<tool>"}) {
    v.bytes.push_back(t);
    v.control.push_back(false);
  }
  for (char c = ' '; c < 0x7F; ++c) {  // every character spelled alone too, as real vocabularies have
    if (std::find(v.bytes.begin(), v.bytes.end(), std::string(1, c)) != v.bytes.end()) continue;
    v.bytes.push_back(std::string(1, c));
    v.control.push_back(false);
  }
  v.bytes.push_back("<|ctl|>");
  v.control.push_back(true);
  v.bytes.push_back("");  // EOS
  v.control.push_back(true);
  v.eos = {static_cast<int32_t>(v.bytes.size() - 1)};
  return std::make_shared<TokenTrie>(v);
}

int32_t Id(const TokenTrie& t, const std::string& text) {
  const auto& b = t.vocab().bytes;
  return static_cast<int32_t>(std::find(b.begin(), b.end(), text) - b.begin());
}

TEST(Mask, AgreesWithCheckingEveryToken) {
  auto trie = JsonVocab();
  auto g = JsonSchemaToGbnf(json::parse(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"],"additionalProperties":false})"));
  ASSERT_TRUE(g.ok());
  auto parsed = ParseGbnf(g.value());
  ASSERT_TRUE(parsed.ok());
  Matcher m(parsed.value(), trie);
  const int32_t n = static_cast<int32_t>(trie->vocab().bytes.size());
  const int32_t eos = trie->vocab().eos[0];
  std::mt19937 rng(7);
  for (int run = 0; run < 30; ++run) {
    int32_t s = m.Start();
    for (int step = 0; step < 60; ++step) {
      auto mask = m.Mask(s);
      std::vector<int32_t> allowed;
      for (int32_t t = 0; t < n; ++t) {
        // The reference: a token is allowed when its bytes keep the grammar alive.
        const bool want = t == eos ? m.Accepting(s) : m.AdvanceToken(s, t) != Matcher::kDead;
        EXPECT_EQ(MaskHas(*mask, t), want) << "token '" << trie->vocab().bytes[static_cast<size_t>(t)] << "'";
        if (want) allowed.push_back(t);
      }
      ASSERT_FALSE(allowed.empty());
      const int32_t t = allowed[rng() % allowed.size()];
      if (t == eos) break;
      s = m.AdvanceToken(s, t);
    }
  }
  // Straddling tokens: after {"name": "Ada the token "} both closes the string and the object.
  int32_t s = m.Advance(m.Start(), "{\"name\": \"Ada");
  auto mask = m.Mask(s);
  EXPECT_TRUE(MaskHas(*mask, 7));   // "}
  EXPECT_TRUE(MaskHas(*mask, 8));   // ",
  EXPECT_FALSE(MaskHas(*mask, 10));  // ": (a key's end, not a value's)
  EXPECT_FALSE(MaskHas(*mask, Id(*trie, "<|ctl|>")));  // the control token is not in any literal
  EXPECT_FALSE(MaskHas(*mask, eos));
  EXPECT_TRUE(m.Accepting(m.Advance(s, "\"}")));
}

TEST(Mask, ControlTokensOnlyWhereTheGrammarSpellsThem) {
  auto trie = JsonVocab();
  auto parsed = ParseGbnf("root ::= \"<|ctl|>\" [a-z]+\n");
  ASSERT_TRUE(parsed.ok());
  Matcher m(parsed.value(), trie);
  auto mask = m.Mask(m.Start());
  const int32_t ctl = Id(*trie, "<|ctl|>");
  EXPECT_TRUE(MaskHas(*mask, ctl));
  EXPECT_FALSE(MaskHas(*mask, 26));  // "a" cannot come first
  const int32_t after = m.AdvanceToken(m.Start(), ctl);
  EXPECT_NE(after, Matcher::kDead);
  EXPECT_TRUE(MaskHas(*m.Mask(after), 26));
  // Where only a class admits its bytes (a JSON string's content), a control
  // token stays out, even though the grammar spells it elsewhere.
  auto p2 = ParseGbnf("root ::= \"<|ctl|>\" \"\\\"\" [^\"]* \"\\\"\"\n");
  ASSERT_TRUE(p2.ok()) << p2.status().message();
  Matcher m2(p2.value(), trie);
  const int32_t in_string = m2.Advance(m2.AdvanceToken(m2.Start(), ctl), "\"ab");
  ASSERT_NE(in_string, Matcher::kDead);
  EXPECT_FALSE(MaskHas(*m2.Mask(in_string), ctl));
  EXPECT_EQ(m2.AdvanceToken(in_string, ctl), Matcher::kDead);
  EXPECT_TRUE(MaskHas(*m2.Mask(in_string), 26));
}

// Random walks through masks always end in a document the schema accepts
// (checked by parsing it, and its required keys).
TEST(Mask, RandomWalksProduceValidJson) {
  auto trie = JsonVocab();
  auto g = JsonSchemaToGbnf(json::parse(
      R"({"type":"object","properties":{"name":{"type":"string","maxLength":5},"tags":{"type":"array","items":{"enum":["x","a"]},"maxItems":3},
          "ok":{"type":"boolean"}},"required":["name","tags","ok"],"additionalProperties":false})"));
  ASSERT_TRUE(g.ok());
  auto parsed = ParseGbnf(g.value());
  ASSERT_TRUE(parsed.ok());
  Matcher m(parsed.value(), trie);
  const int32_t eos = trie->vocab().eos[0];
  for (uint32_t seed = 0; seed < 50; ++seed) {
    std::mt19937 rng(seed);
    int32_t s = m.Start();
    std::string text;
    bool ended = false;
    for (int step = 0; step < 400 && !ended; ++step) {
      auto mask = m.Mask(s);
      std::vector<int32_t> allowed;
      for (int32_t t = 0; t < static_cast<int32_t>(trie->vocab().bytes.size()); ++t)
        if (MaskHas(*mask, t)) allowed.push_back(t);
      ASSERT_FALSE(allowed.empty()) << text;
      // Prefer ending when possible, so walks finish.
      const int32_t t = (m.Accepting(s) && rng() % 2) ? eos : allowed[rng() % allowed.size()];
      if (t == eos) {
        ended = true;
      } else {
        text += trie->vocab().bytes[static_cast<size_t>(t)];
        s = m.AdvanceToken(s, t);
      }
    }
    ASSERT_TRUE(ended) << text;
    const json doc = json::parse(text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << text;
    EXPECT_TRUE(doc.contains("name") && doc["name"].is_string() && doc["name"].get<std::string>().size() <= 10) << text;
    EXPECT_TRUE(doc.contains("tags") && doc["tags"].is_array() && doc["tags"].size() <= 3) << text;
    EXPECT_TRUE(doc.contains("ok") && doc["ok"].is_boolean()) << text;
  }
}

}  // namespace
}  // namespace r1::grammar
